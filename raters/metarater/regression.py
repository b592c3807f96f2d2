"""The regressor from weights to proxy loss, fitted on 80% of the runs; its Spearman correlation on the other
20% is reported.

``lightgbm`` (the default, the paper's): the settings of RegMix, whose regression Meta-rater reuses: gbdt, L1
and L2 metrics, learning rate 1e-2, up to 1000 rounds, early stopping after 5 rounds without improvement on
the held-out 20%. One deviation, for small numbers of runs: LightGBM's default ``min_data_in_leaf`` of 20
allows almost no split with a few dozen runs (the paper had 256), so it is ``min(20, max(2, n_train // 10))``,
recorded in the fit. Kept in LightGBM's text format (no pickle).

``linear`` (not in the paper; RegMix also tried it): ridge regression of the loss on the weights, its penalty
chosen by leave-one-out cross-validation on the 80%. With a hundred-odd runs a tree ensemble predicts in
steps and cannot say that more of a good score keeps helping; a linear model can (docs/metarater.md has the
measurement). Kept as JSON (coefficients and intercept).

``compare_regressors`` measures both on the same runs by repeated k-fold cross-validation, so a fit reports
which one predicts its runs better.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curation.errors import ConfigError

BOOTSTRAP_RESAMPLES = 1000  # for the 95% interval of the held-out Spearman
REGRESSORS = ("lightgbm", "linear")
RIDGE_PENALTIES = tuple(float(x) for x in np.logspace(-4, 2, 25))  # searched by leave-one-out
CV_FOLDS, CV_REPEATS = 5, 3  # compare_regressors


@dataclass(frozen=True)
class RegressionSettings:
    model: str = "lightgbm"  # or "linear"
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


def check_model(model: str) -> None:
    if model not in REGRESSORS:
        raise ConfigError(f"--regressor must be one of {', '.join(REGRESSORS)}, not {model!r}")


@dataclass(frozen=True)
class LinearModel:
    """loss ≈ intercept + weights · coefficients."""

    coefficients: np.ndarray
    intercept: float
    penalty: float

    def predict(self, weights: np.ndarray) -> np.ndarray:
        return np.asarray(weights, dtype=np.float64) @ self.coefficients + self.intercept

    def to_dict(self) -> dict[str, Any]:
        return {"coefficients": self.coefficients.tolist(), "intercept": self.intercept, "penalty": self.penalty}


@dataclass
class FittedRegressor:
    model: Any  # lightgbm.Booster, or LinearModel
    metrics: dict[str, Any]
    train_index: np.ndarray
    valid_index: np.ndarray

    def predict(self, weights: np.ndarray, threads: int = 0) -> np.ndarray:
        if isinstance(self.model, LinearModel):
            return self.model.predict(weights)
        return self.model.predict(weights, num_iteration=self.model.best_iteration or None, num_threads=threads)

    def save(self, directory: Path) -> str:
        """Write the model into ``directory`` (LightGBM text, or JSON); returns the file's name."""
        from curation.corpus import write_json_atomic

        if isinstance(self.model, LinearModel):
            write_json_atomic(directory / "regressor.json", self.model.to_dict())
            return "regressor.json"
        self.model.save_model(str(directory / "regressor.txt"))
        return "regressor.txt"


def _split(n: int, settings: RegressionSettings) -> tuple[np.ndarray, np.ndarray]:
    check_run_count(n, settings.valid_fraction)
    n_valid = int(round(settings.valid_fraction * n))
    order = np.random.default_rng(settings.seed).permutation(n)
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])


def fit_regressor(weights: np.ndarray, losses: np.ndarray, settings: RegressionSettings) -> FittedRegressor:
    """Fit on a seeded 80% and report on the other 20% (LightGBM also early-stops on it)."""
    check_model(settings.model)
    train, valid = _split(len(losses), settings)
    if settings.model == "linear":
        model, extra = _fit_linear(weights[train], losses[train])
        predicted = model.predict(weights[valid])
    else:
        model, extra = _fit_lightgbm(weights, losses, train, valid, settings)
        predicted = model.predict(weights[valid], num_iteration=model.best_iteration)
    metrics = {
        "model": settings.model,
        "runs": len(losses),
        "train_runs": int(len(train)),
        "valid_runs": int(len(valid)),
        "valid_spearman": spearman(predicted, losses[valid]),
        "valid_spearman_ci95": bootstrap_interval(predicted, losses[valid], settings.seed),
        "valid_mae": float(np.mean(np.abs(predicted - losses[valid]))),
        **extra,
    }
    return FittedRegressor(model, metrics, train, valid)


def _fit_linear(weights: np.ndarray, losses: np.ndarray) -> tuple[LinearModel, dict[str, Any]]:
    from sklearn.linear_model import RidgeCV

    ridge = RidgeCV(alphas=RIDGE_PENALTIES).fit(weights, losses)
    model = LinearModel(np.asarray(ridge.coef_, dtype=np.float64), float(ridge.intercept_), float(ridge.alpha_))
    return model, {"penalty": model.penalty}


def _fit_lightgbm(weights, losses, train, valid, settings: RegressionSettings):
    import lightgbm as lgb

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
    return booster, {"best_iteration": int(booster.best_iteration or settings.rounds), "min_data_in_leaf": leaf}


def compare_regressors(weights: np.ndarray, losses: np.ndarray, settings: RegressionSettings) -> dict[str, Any]:
    """Each regressor's Spearman between its out-of-fold predictions and the runs' losses, over ``CV_REPEATS``
    seeded ``CV_FOLDS``-fold splits (mean and spread over repeats). Each fold's model is fitted exactly as
    ``fit_regressor`` fits the whole (its own 80/20 split inside the fold's training runs). Empty when there
    are too few runs for every fold to be fitted."""
    from dataclasses import replace

    n = len(losses)
    try:
        check_run_count(n - -(-n // CV_FOLDS), settings.valid_fraction)
    except ConfigError:
        return {}
    result: dict[str, Any] = {"folds": CV_FOLDS, "repeats": CV_REPEATS}
    for model in REGRESSORS:
        values = []
        for repeat in range(CV_REPEATS):
            order = np.random.default_rng([settings.seed, repeat]).permutation(n)
            predicted = np.empty(n)
            for fold in np.array_split(order, CV_FOLDS):
                train = np.setdiff1d(order, fold)
                fitted = fit_regressor(weights[train], losses[train], replace(settings, model=model))
                predicted[fold] = fitted.predict(weights[fold], threads=1)
            value = spearman(predicted, losses)
            values.append(np.nan if value is None else value)
        finite = [v for v in values if np.isfinite(v)]
        result[model] = {
            "cv_spearman": float(np.mean(finite)) if finite else None,
            "cv_spearman_sd": float(np.std(finite)) if len(finite) > 1 else None,
        }
    return result
