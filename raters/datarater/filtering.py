"""Deployment: from scores to keep/drop, the two equivalent ways the paper gives.

*Batch-level*: a trainer wanting batches of N documents draws N / (1 - rho), scores them, and drops the
bottom rho. Over a corpus: documents in a seeded random order, cut into groups of B = round(N / (1 - rho)),
the top N of each group kept.

*Per document* (distributed filtering, no batches needed): with p = the empirical CDF of a document's score,
the chance it survives the batch rule is the chance that fewer than N of the other B - 1 documents of its
batch score higher: P_accept = sum_{s=0}^{N-1} C(B-1, s) (1-p)^s p^(B-1-s), a binomial CDF. Each document is
kept when a uniform number drawn from a hash of (seed, id) falls below P_accept. Both keep 1 - rho on average.
"""

from __future__ import annotations

import hashlib

import numpy as np

from curation.errors import ConfigError


def oversampled_batch(batch_size: int, rho: float) -> int:
    if not 0 <= rho < 1:
        raise ConfigError("--rho (the fraction dropped) must be in [0, 1)")
    if batch_size < 1:
        raise ConfigError("--batch-size must be at least 1")
    return max(batch_size, round(batch_size / (1 - rho)))


def empirical_cdf(scores: np.ndarray) -> np.ndarray:
    """Share of the other documents that score below each one (ties count half); NaN scores count as lowest."""
    from scipy.stats import rankdata

    filled = np.where(np.isnan(scores), -np.inf, scores)
    n = len(filled)
    return (rankdata(filled, method="average") - 1) / max(n - 1, 1)


def acceptance_probability(cdf: np.ndarray, batch_size: int, rho: float) -> np.ndarray:
    """P_accept for each document's CDF value, for batches of ``batch_size`` kept out of B = N / (1 - rho)."""
    from scipy.stats import binom

    oversampled = oversampled_batch(batch_size, rho)
    return binom.cdf(batch_size - 1, oversampled - 1, 1 - np.asarray(cdf, dtype=np.float64))


def hashed_uniform(ids: list[str], seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per id, the same on every machine and every run for a seed."""
    values = [int.from_bytes(hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).digest(), "big") for i in ids]
    return np.asarray(values, dtype=np.float64) / 2.0**64


def keep_by_probability(ids: list[str], scores: np.ndarray, batch_size: int, rho: float, seed: int):
    cdf = empirical_cdf(scores)
    p_accept = np.where(np.isnan(scores), 0.0, acceptance_probability(cdf, batch_size, rho))  # no score: never kept
    return hashed_uniform(ids, seed) < p_accept, cdf, p_accept


def keep_by_batches(scores: np.ndarray, batch_size: int, rho: float, seed: int) -> np.ndarray:
    """The batch rule applied to the corpus in a seeded order: top ``batch_size`` of every oversampled group."""
    oversampled = oversampled_batch(batch_size, rho)
    filled = np.where(np.isnan(scores), -np.inf, scores)
    order = np.random.default_rng(seed).permutation(len(scores))
    keep = np.zeros(len(scores), dtype=bool)
    for start in range(0, len(order), oversampled):
        group = order[start : start + oversampled]
        quota = round(len(group) * batch_size / oversampled)  # a short last group keeps its share
        ranked = group[np.argsort(-filled[group], kind="stable")]
        keep[ranked[:quota]] = True
    return keep
