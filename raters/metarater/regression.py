"""The regressor from weights to proxy loss: LightGBM, with the paper's settings (those of RegMix, whose
regression Meta-rater reuses): gbdt, L1 and L2 metrics, learning rate 1e-2, up to 1000 rounds, early stopping
after 5 rounds without improvement on the held-out 20%, whose Spearman correlation is reported.

One deviation, for small numbers of runs: LightGBM's default ``min_data_in_leaf`` of 20 allows almost no split
with a few dozen runs (the paper had 256), so it is ``min(20, max(2, n_train // 10))``, recorded in the fit.
The model is kept in LightGBM's text format (no pickle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from curation.errors import ConfigError

BOOTSTRAP_RESAMPLES = 1000  # for the 95% interval of the held-out Spearman


@dataclass(frozen=True)
class RegressionSettings:
    valid_fraction: float = 0.2
    learning_rate: float = 1e-2
    rounds: int = 1000
    early_stopping: int = 5
    seed: int = 0


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman rank correlation (average ranks for ties); None when either side is constant."""
    from scipy.stats import spearmanr

    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return None
    return float(spearmanr(a, b).statistic)


def bootstrap_interval(
    predicted: np.ndarray, actual: np.ndarray, seed: int, resamples: int = BOOTSTRAP_RESAMPLES
) -> list[float] | None:
    """95% percentile bootstrap interval of the Spearman correlation over resampled (predicted, actual) pairs;
    resamples where either side is constant are skipped. None when fewer than 4 pairs or no usable resample."""
    n = len(actual)
    if n < 4:
        return None
    rng = np.random.default_rng([seed, n])
    values = []
    for _ in range(resamples):
        pick = rng.integers(0, n, n)
        value = spearman(predicted[pick], actual[pick])
        if value is not None and np.isfinite(value):
            values.append(value)
    if not values:
        return None
    low, high = np.percentile(values, [2.5, 97.5])
    return [float(low), float(high)]


def check_run_count(n: int, valid_fraction: float) -> None:
    """Enough runs to fit on one part and rank the other (at least 3 to fit, 2 to rank)."""
    n_valid = int(round(valid_fraction * n))
    if n_valid < 2 or n - n_valid < 3:
        raise ConfigError(
            f"{n} proxy runs are too few to fit and check a regressor on a {valid_fraction:g} held-out share "
            "(at least 8 with the default 0.2; paper: 256)"
        )


def min_data_in_leaf(n_train: int) -> int:
    return min(20, max(2, n_train // 10))


@dataclass
class FittedRegressor:
    booster: Any  # lightgbm.Booster
    metrics: dict[str, Any]
    train_index: np.ndarray
    valid_index: np.ndarray

    def predict(self, weights: np.ndarray, threads: int = 0) -> np.ndarray:
        return self.booster.predict(weights, num_iteration=self.booster.best_iteration or None, num_threads=threads)


def fit_regressor(weights: np.ndarray, losses: np.ndarray, settings: RegressionSettings) -> FittedRegressor:
    """Fit on a seeded 80%, early-stop and report on the other 20%."""
    import lightgbm as lgb

    n = len(losses)
    check_run_count(n, settings.valid_fraction)
    n_valid = int(round(settings.valid_fraction * n))
    order = np.random.default_rng(settings.seed).permutation(n)
    valid, train = np.sort(order[:n_valid]), np.sort(order[n_valid:])
    leaf = min_data_in_leaf(len(train))
    params = {
        "objective": "regression",
        "boosting_type": "gbdt",
        "metric": ["l1", "l2"],
        "learning_rate": settings.learning_rate,
        "min_data_in_leaf": leaf,
        "min_data_in_bin": 1,
        "seed": settings.seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "verbosity": -1,
    }
    train_set = lgb.Dataset(weights[train], losses[train], params={"min_data_in_bin": 1, "verbosity": -1})
    valid_set = lgb.Dataset(weights[valid], losses[valid], reference=train_set)
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=settings.rounds,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(settings.early_stopping, first_metric_only=False, verbose=False)],
    )
    predicted = booster.predict(weights[valid], num_iteration=booster.best_iteration)
    metrics = {
        "runs": n,
        "train_runs": int(len(train)),
        "valid_runs": int(len(valid)),
        "valid_spearman": spearman(predicted, losses[valid]),
        "valid_spearman_ci95": bootstrap_interval(predicted, losses[valid], settings.seed),
        "valid_mae": float(np.mean(np.abs(predicted - losses[valid]))),
        "best_iteration": int(booster.best_iteration or settings.rounds),
        "min_data_in_leaf": leaf,
    }
    return FittedRegressor(booster, metrics, train, valid)
