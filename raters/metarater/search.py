"""The final weights: predict the loss of many Dirichlet candidates with the regressor and average the best.

The paper predicts 1,000,000 candidates and averages the 128 with the lowest predicted loss. Prediction runs
in chunks (bounded memory) with LightGBM's own threads: on 2 cores, a million candidates take seconds
(``benchmarks/metarater.py`` measures it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from raters.metarater.dirichlet import sample_weights

CHUNK = 200_000


@dataclass
class SearchResult:
    weights: np.ndarray  # float64 [k], sums to 1
    best_predicted: np.ndarray  # the predicted losses of the averaged candidates, lowest first
    candidates: int
    seconds: float


def best_weights(
    regressor, dimensions: int, candidates: int, top: int, seed: int, threads: int = 0, alpha: float = 1.0
) -> SearchResult:
    """Average of the ``top`` candidates (of ``candidates`` Dirichlet(alpha) draws, the distribution the proxy
    runs' weightings came from, so the regressor is not asked about weightings unlike any it saw) with the
    lowest predicted loss."""
    started = time.perf_counter()
    pool = sample_weights(candidates, dimensions, seed, alpha)
    predicted = np.empty(candidates, dtype=np.float64)
    for start in range(0, candidates, CHUNK):
        predicted[start : start + CHUNK] = regressor.predict(pool[start : start + CHUNK], threads=threads)
    top = min(top, candidates)
    best = np.argpartition(predicted, top - 1)[:top] if top < candidates else np.arange(candidates)
    best = best[np.argsort(predicted[best], kind="stable")]
    weights = pool[best].mean(axis=0)
    return SearchResult(weights / weights.sum(), predicted[best], candidates, time.perf_counter() - started)
