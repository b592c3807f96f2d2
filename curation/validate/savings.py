"""Token savings: how much of the budget a run needs to reach the baseline's final held-out loss.

Both curves are means over seeds, evaluated at the same token counts. The run reaches the target at
the first evaluation at or below it, with the crossing linearly interpolated between that evaluation
and the one before. ``fraction`` is the tokens needed / the baseline's tokens; savings = 1 - fraction.
A run that never gets there has no fraction ("not reached"); it may still be close, so the table
also shows final bits per byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TokenSavings:
    target_bpb: float
    tokens_needed: float | None  # None: never reached the baseline's final loss
    budget: int

    @property
    def fraction(self) -> float | None:
        return None if self.tokens_needed is None else self.tokens_needed / self.budget

    @property
    def savings(self) -> float | None:
        return None if self.fraction is None else 1.0 - self.fraction

    def describe(self) -> str:
        return "not reached" if self.savings is None else f"{100 * self.savings:+.1f}%"


def tokens_to_reach(tokens: Sequence[float], values: Sequence[float], target: float) -> float | None:
    """First token count at which the piecewise-linear curve (tokens, values) is at or below ``target``."""
    if len(tokens) != len(values) or not tokens:
        raise ValueError("a curve needs as many values as token counts, and at least one")
    for index, (x, y) in enumerate(zip(tokens, values, strict=True)):
        if y <= target:
            if index == 0:
                return float(x)
            x0, y0 = tokens[index - 1], values[index - 1]
            return float(x0 + (x - x0) * (y0 - target) / (y0 - y)) if y0 != y else float(x)
    return None


def token_savings(
    tokens: Sequence[float], values: Sequence[float], baseline_tokens: Sequence[float], baseline_values: Sequence[float]
) -> TokenSavings:
    target = float(baseline_values[-1])
    return TokenSavings(target, tokens_to_reach(tokens, values, target), int(baseline_tokens[-1]))
