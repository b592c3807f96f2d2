"""From scores to per-sequence weights within a batch."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class BatchSoftmaxWeights:
    """The paper's weights: softmax of the scores over the batch, summing to 1 (no temperature, no clamp).

    ``temperature`` is a deviation from the paper, off (None) by default: weights = softmax(scores / T).
    """

    temperature: float | None = None

    def __call__(self, scores: torch.Tensor) -> torch.Tensor:
        logits = scores if self.temperature is None else scores / self.temperature
        return torch.softmax(logits, dim=0)
