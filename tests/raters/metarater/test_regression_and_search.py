"""LightGBM regression of proxy loss on weights, the candidate search, and the budgeted top-k."""

from __future__ import annotations

import json

import numpy as np
import pytest

from curation.errors import ConfigError
from curation.select.budget import document_tokens, keep_within_budget
from raters.metarater.dirichlet import sample_weights
from raters.metarater.regression import RegressionSettings, fit_regressor, min_data_in_leaf
from raters.metarater.search import best_weights


def _losses(weights: np.ndarray, rng) -> np.ndarray:
    # A loss that falls as weight moves to score 0 and rises with score 2, plus noise.
    return 3.0 - 0.8 * weights[:, 0] + 0.5 * weights[:, 2] ** 2 + rng.normal(0, 0.02, len(weights))


def test_regressor_ranks_held_out_runs():
    weights = sample_weights(128, 4, seed=1)
    losses = _losses(weights, np.random.default_rng(0))
    fitted = fit_regressor(weights, losses, RegressionSettings(seed=0))
    assert fitted.metrics["valid_runs"] == 26 and fitted.metrics["train_runs"] == 102
    assert fitted.metrics["valid_spearman"] > 0.8, fitted.metrics
    again = fit_regressor(weights, losses, RegressionSettings(seed=0))
    np.testing.assert_array_equal(fitted.predict(weights), again.predict(weights))  # deterministic
    # Noise instead of signal: the held-out ranking is no better than chance.
    noise = fit_regressor(weights, np.random.default_rng(1).normal(size=128), RegressionSettings(seed=0))
    assert noise.metrics["valid_spearman"] is None or noise.metrics["valid_spearman"] < 0.5


def test_linear_regressor_ranks_held_out_runs_and_is_saved_as_json(tmp_path):
    from raters.metarater.regression import compare_regressors

    weights = sample_weights(128, 4, seed=1)
    losses = _losses(weights, np.random.default_rng(0))
    fitted = fit_regressor(weights, losses, RegressionSettings(model="linear", seed=0))
    assert fitted.metrics["model"] == "linear" and fitted.metrics["valid_runs"] == 26
    assert fitted.metrics["valid_spearman"] > 0.8, fitted.metrics
    # The learned direction: more of score 0 lowers the loss, the most of any score.
    assert int(np.argmin(fitted.model.coefficients)) == 0
    assert fitted.save(tmp_path) == "regressor.json"
    saved = json.loads((tmp_path / "regressor.json").read_text())
    np.testing.assert_allclose(
        np.asarray(weights) @ saved["coefficients"] + saved["intercept"], fitted.predict(weights)
    )
    # Both regressors, cross-validated on the same runs; on a loss this smooth both rank well.
    comparison = compare_regressors(weights, losses, RegressionSettings(seed=0))
    assert comparison["folds"] == 5 and comparison["repeats"] == 3
    for model in ("lightgbm", "linear"):
        assert comparison[model]["cv_spearman"] > 0.7, comparison
    # On pure noise neither does.
    noise = compare_regressors(weights, np.random.default_rng(1).normal(size=128), RegressionSettings(seed=0))
    assert all(abs(noise[m]["cv_spearman"]) < 0.3 for m in ("lightgbm", "linear")), noise
    assert compare_regressors(weights[:9], losses[:9], RegressionSettings()) == {}  # too few runs to fold


def test_an_unknown_regressor_fails_before_any_work():
    from raters.metarater.fit import MetaraterConfig

    with pytest.raises(ConfigError, match="--regressor must be one of lightgbm, linear"):
        MetaraterConfig(regression=RegressionSettings(model="xgboost")).check()
    with pytest.raises(ConfigError, match="--regressor"):
        fit_regressor(sample_weights(16, 3, seed=0), np.arange(16.0), RegressionSettings(model="svm"))


def test_held_out_spearman_comes_with_a_bootstrap_interval():
    from raters.metarater.regression import bootstrap_interval

    weights = sample_weights(128, 4, seed=1)
    fitted = fit_regressor(weights, _losses(weights, np.random.default_rng(0)), RegressionSettings(seed=0))
    low, high = fitted.metrics["valid_spearman_ci95"]
    assert 0.5 < low <= fitted.metrics["valid_spearman"] <= high <= 1.0
    rng = np.random.default_rng(3)
    low, high = bootstrap_interval(rng.normal(size=40), rng.normal(size=40), seed=0)  # no relation at all
    assert low < 0 < high
    assert bootstrap_interval(np.arange(3.0), np.arange(3.0), seed=0) is None  # too few pairs


def test_regressor_needs_enough_runs():
    with pytest.raises(ConfigError, match="too few"):
        fit_regressor(sample_weights(7, 3, seed=0), np.arange(7.0), RegressionSettings())
    fit_regressor(sample_weights(8, 3, seed=0), np.arange(8.0), RegressionSettings())  # 6 to fit, 2 to rank
    assert min_data_in_leaf(8) == 2 and min_data_in_leaf(100) == 10 and min_data_in_leaf(1000) == 20


def test_search_averages_the_best_predicted_candidates():
    class Bowl:  # predicted loss: squared distance to a known optimum
        target = np.array([0.6, 0.1, 0.1, 0.2])

        def predict(self, weights, threads=0):
            return ((weights - self.target) ** 2).sum(axis=1)

    result = best_weights(Bowl(), 4, candidates=100_000, top=128, seed=0)
    assert result.candidates == 100_000 and len(result.best_predicted) == 128
    assert np.all(np.diff(result.best_predicted) >= 0)
    np.testing.assert_allclose(result.weights.sum(), 1.0)
    np.testing.assert_allclose(result.weights, Bowl.target, atol=0.03)


def test_search_asks_about_weightings_like_the_runs_it_learned_from():
    """With a sparse Dirichlet (alpha < 1) the runs put most weight on a few scores; the candidates the
    regressor predicts are drawn the same way, and a fit's alpha must be positive."""
    from raters.metarater.fit import MetaraterConfig

    class Recorder:
        seen: list[np.ndarray] = []

        def predict(self, weights, threads=0):
            self.seen.append(weights)
            return weights[:, 0]

    for alpha, largest in ((1.0, (0.3, 0.4)), (0.1, (0.6, 0.8))):  # 8 scores: H_8 / 8 ≈ 0.34 at alpha 1
        recorder = Recorder()
        recorder.seen = []
        best_weights(recorder, 8, candidates=20_000, top=16, seed=0, alpha=alpha)
        mean_largest = float(np.concatenate(recorder.seen).max(axis=1).mean())
        assert largest[0] < mean_largest < largest[1], (alpha, mean_largest)
    with pytest.raises(ConfigError, match="alpha"):
        MetaraterConfig(alpha=0.0).check()


def test_budgeted_top_k_keeps_the_best_documents_that_fit():
    score = np.array([0.5, 0.9, 0.1, 0.9, 0.7])
    tokens = document_tokens(np.array([9, 19, 9, 29, 9]))  # 10, 20, 10, 30, 10
    # Best first, ties in corpus order: doc1 (20), doc3 (30), doc4 (10), doc0 (10), doc2 (10).
    assert keep_within_budget(score, tokens, 50, None).tolist() == [False, True, False, True, False]
    assert keep_within_budget(score, tokens, 60, None).tolist() == [False, True, False, True, True]
    assert keep_within_budget(score, tokens, 69, None).tolist() == [False, True, False, True, True]
    assert keep_within_budget(score, tokens, 10_000, None).all()
    assert not keep_within_budget(
        score, tokens, 19, None
    ).any()  # the best does not fit: no smaller one jumps the queue
    assert keep_within_budget(score, tokens, None, 0.4).tolist() == [False, True, False, True, False]
    with pytest.raises(ConfigError):
        keep_within_budget(score, tokens, 10, 0.5)
    with pytest.raises(ConfigError):
        keep_within_budget(score, tokens, None, 1.5)
