"""Weight sampling and score scaling: the two transformations every Meta-rater step builds on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from curation.errors import ConfigError
from raters.metarater.dirichlet import sample_weights
from raters.metarater.scaling import ScoreScaling


def test_weights_lie_on_the_simplex_and_are_reproducible():
    weights = sample_weights(2000, 5, seed=3)
    assert weights.shape == (2000, 5)
    assert (weights >= 0).all()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(weights, sample_weights(2000, 5, seed=3))
    assert not np.array_equal(weights, sample_weights(2000, 5, seed=4))
    # Raising the number of runs keeps the earlier runs' weights (a resumed fit reuses them).
    np.testing.assert_array_equal(sample_weights(50, 5, seed=3), weights[:50])


def test_weights_follow_a_uniform_dirichlet():
    # Dirichlet(1,...,1) on k=4: each marginal is Beta(1, 3), mean 1/4, variance 3 / (16 * 5) = 0.0375,
    # and P(w_j > 1/2) = (1/2)^3 = 0.125.
    weights = sample_weights(200_000, 4, seed=0)
    np.testing.assert_allclose(weights.mean(axis=0), 0.25, atol=0.003)
    np.testing.assert_allclose(weights.var(axis=0), 0.0375, atol=0.001)
    np.testing.assert_allclose((weights > 0.5).mean(axis=0), 0.125, atol=0.003)
    # A smaller alpha concentrates mass on few scores: the largest weight is larger on average.
    assert sample_weights(20_000, 4, seed=0, alpha=0.1).max(axis=1).mean() > weights[:20_000].max(axis=1).mean() + 0.2


def test_bad_weight_requests_fail():
    with pytest.raises(ConfigError):
        sample_weights(10, 0, seed=0)
    with pytest.raises(ConfigError):
        sample_weights(10, 3, seed=0, alpha=0.0)


def test_scaling_maps_bounds_to_0_and_5_and_flips_lower_is_better():
    values = np.array([[0.0, 10.0, 7.0], [5.0, 20.0, 7.0], [10.0, 30.0, 7.0], [np.nan, 25.0, 7.0]])
    scaling = ScoreScaling.measure(values, ["a", "bpb", "const"], [False, True, False])
    assert scaling.minimum == [0.0, 10.0, 7.0] and scaling.maximum == [10.0, 30.0, 7.0]
    scaled = scaling.apply(values)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled[:, 0], [0.0, 2.5, 5.0, 0.0])  # NaN scales to the worst, 0
    np.testing.assert_allclose(scaled[:, 1], [5.0, 2.5, 0.0, 1.25])  # lower bpb is better
    np.testing.assert_allclose(scaled[:, 2], 0.0)  # a constant score cannot rank
    # Another corpus is scaled with the fit's bounds, clipped to [0, 5].
    np.testing.assert_allclose(scaling.apply(np.array([[-5.0, 40.0, 8.0], [20.0, 0.0, 6.0]])), [[0, 0, 0], [5, 5, 0]])
    # Through JSON as the fit stores it (keys sorted): the columns keep the order they are asked for.
    stored = json.loads(json.dumps(scaling.to_dict(), sort_keys=True))
    assert list(stored) == ["a", "bpb", "const"]
    reordered = ScoreScaling.from_dict(stored, ["const", "bpb", "a"])
    np.testing.assert_array_equal(reordered.apply(values[:, ::-1]), scaled[:, ::-1])
    with pytest.raises(ConfigError, match="no scaling"):
        ScoreScaling.from_dict(stored, ["a", "other"])
