"""Deployment filtering: the batch rule and its per-document acceptance probability."""

from __future__ import annotations

import numpy as np
import pytest

from curation.errors import ConfigError
from raters.datarater.filtering import (
    acceptance_probability,
    empirical_cdf,
    hashed_uniform,
    keep_by_batches,
    keep_by_probability,
    oversampled_batch,
)


@pytest.mark.parametrize("rho", [0.1, 0.25, 0.5, 0.75, 0.9])
def test_acceptance_keeps_one_minus_rho_on_average(rho):
    cdf = np.linspace(0, 1, 200_001)
    p_accept = acceptance_probability(cdf, 64, rho)
    assert p_accept.mean() == pytest.approx(64 / oversampled_batch(64, rho), abs=1e-4)
    assert np.all(np.diff(p_accept) >= -1e-12)  # a better score never lowers the chance
    assert p_accept[0] < 1e-6 and p_accept[-1] == pytest.approx(1.0)


def test_acceptance_matches_the_batch_rule_by_simulation():
    """P_accept is the chance a document with CDF p is in the top N of a random batch of B."""
    rng = np.random.default_rng(0)
    n, b, p = 4, 8, 0.6
    others = rng.random((200_000, b - 1))
    simulated = ((others > p).sum(axis=1) < n).mean()
    assert acceptance_probability(np.array([p]), n, 1 - n / b)[0] == pytest.approx(simulated, abs=0.005)


def test_nothing_dropped_when_rho_is_zero():
    assert np.all(acceptance_probability(np.array([0.0, 0.5, 1.0]), 16, 0.0) == 1.0)


def test_batch_rule_drops_the_bottom_of_each_group():
    scores = np.arange(100, dtype=float)
    keep = keep_by_batches(scores, 3, 0.25, seed=0)  # groups of 4, keep 3
    assert keep.sum() == 75
    order = np.random.default_rng(0).permutation(100)
    for start in range(0, 100, 4):
        group = order[start : start + 4]
        assert not keep[group[np.argmin(scores[group])]]


def test_probability_mode_is_deterministic_and_prefers_high_scores():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=5000)
    ids = [f"doc-{i}" for i in range(5000)]
    keep, cdf, _ = keep_by_probability(ids, scores, 32, 0.5, seed=3)
    again, _, _ = keep_by_probability(ids, scores, 32, 0.5, seed=3)
    assert np.array_equal(keep, again)
    assert keep.mean() == pytest.approx(0.5, abs=0.03)
    assert scores[keep].mean() > scores[~keep].mean() + 1.0
    assert np.array_equal(hashed_uniform(ids[:5], 3), hashed_uniform(ids[:5], 3))


def test_a_document_without_a_score_is_never_kept():
    scores = np.array([np.nan] * 50 + list(range(50)), dtype=float)
    keep, _, p_accept = keep_by_probability([str(i) for i in range(100)], scores, 4, 0.5, seed=0)
    assert not keep[:50].any() and np.all(p_accept[:50] == 0)


def test_empirical_cdf_puts_nan_lowest():
    cdf = empirical_cdf(np.array([0.5, np.nan, 2.0, 1.0]))
    assert cdf.tolist() == pytest.approx([1 / 3, 0.0, 1.0, 2 / 3])


def test_bad_rho_is_refused():
    with pytest.raises(ConfigError, match="rho"):
        oversampled_batch(16, 1.0)
