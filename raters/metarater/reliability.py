"""How much of a proxy run's loss is about the data its weighting selects, and how much is run noise.

The regression can only learn what the runs' losses say about their data. Some weightings are trained a
second time with another proxy seed (initialisation, batch order and the part of the selection trained on):
if a run's loss moves as much between its two seeds as between weightings, the losses are noise to the
regression. ICC(1), the intraclass correlation of a one-way ANOVA over weightings, puts that in one number:
the share of a single run's loss variance that is about its weighting (1: all of it; 0 or below: none).
"""

from __future__ import annotations

import numpy as np

# Below this a fit warns that its runs are mostly noise (half the variance of a run is about its data).
LOW_RELIABILITY = 0.5


def icc1(losses: np.ndarray) -> float | None:
    """ICC(1) of a (weightings x seeds) table of losses; None when undefined (fewer than 2 x 2, no variance)."""
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 2 or losses.shape[0] < 2 or losses.shape[1] < 2:
        return None
    k, s = losses.shape
    means = losses.mean(axis=1)
    msb = s * np.sum((means - losses.mean()) ** 2) / (k - 1)
    msw = np.sum((losses - means[:, None]) ** 2) / (k * (s - 1))
    denominator = msb + (s - 1) * msw
    return None if denominator == 0 else float((msb - msw) / denominator)


def icc1_interval(losses: np.ndarray, seed: int, resamples: int = 1000) -> list[float] | None:
    """95 % percentile bootstrap interval of ICC(1), resampling weightings; None when too few of them."""
    losses = np.asarray(losses, dtype=np.float64)
    if len(losses) < 4:
        return None
    rng = np.random.default_rng([seed, len(losses)])
    values = [icc1(losses[rng.integers(0, len(losses), len(losses))]) for _ in range(resamples)]
    values = [v for v in values if v is not None]
    if not values:
        return None
    return [float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))]


def reliability_summary(first: np.ndarray, second: np.ndarray, seed: int) -> dict:
    """ICC(1) with its interval and the spread between and within weightings, from two seeds' losses."""
    table = np.column_stack([first, second])
    means = table.mean(axis=1)
    return {
        "weightings": len(table),
        "icc1": icc1(table),
        "icc1_ci95": icc1_interval(table, seed),
        "between_sd": float(means.std(ddof=1)) if len(table) > 1 else None,
        "within_sd": float(np.sqrt(np.mean(table.var(axis=1, ddof=1)))),
    }
