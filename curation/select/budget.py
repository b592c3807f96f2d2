"""Keeping the best-scored documents within a budget: what every ranked selection shares (Meta-rater's
``metarater select``, ``curate top``). A budget is tokens under the byte-level tokenizer (``document_tokens``),
a count of documents, or a fraction of them."""

from __future__ import annotations

import numpy as np

from curation.errors import ConfigError


def document_tokens(n_bytes: np.ndarray) -> np.ndarray:
    """Tokens a document costs under the byte-level tokenizer: its UTF-8 bytes plus the separator."""
    return n_bytes.astype(np.int64) + 1


def keep_within_budget(score: np.ndarray, tokens: np.ndarray, budget: int | None, fraction: float | None) -> np.ndarray:
    """Boolean mask: the best-scored documents (ties: corpus order) while their tokens fit the budget."""
    if (budget is None) == (fraction is None):
        raise ConfigError("give exactly one of --tokens and --fraction")
    order = np.argsort(-score, kind="stable")
    if fraction is not None:
        if not 0 < fraction <= 1:
            raise ConfigError(f"--fraction must be in (0, 1], not {fraction}")
        count = int(round(fraction * len(score)))
    else:
        if budget < 1:
            raise ConfigError("--tokens must be positive")
        count = int(np.searchsorted(np.cumsum(tokens[order]), budget, side="right"))
    keep = np.zeros(len(score), dtype=bool)
    keep[order[:count]] = True
    return keep
