import numpy as np

from raters.metarater.reliability import icc1, icc1_interval, reliability_summary


def test_icc_is_one_when_seeds_agree_and_about_zero_for_pure_noise():
    data = np.linspace(4.0, 4.5, 20)
    assert icc1(np.column_stack([data, data])) == 1.0
    noise = np.random.default_rng(0).normal(4.3, 0.1, (400, 2))
    assert abs(icc1(noise)) < 0.15


def test_icc_recovers_a_known_signal_share():
    """Between-weighting variance 3x the run noise's: ICC(1) = 3 / (3 + 1) = 0.75."""
    rng = np.random.default_rng(1)
    signal = rng.normal(0, np.sqrt(3), 2000)
    table = signal[:, None] + rng.normal(0, 1, (2000, 2))
    assert abs(icc1(table) - 0.75) < 0.05
    low, high = icc1_interval(table[:200], seed=0)
    assert low < 0.75 < high


def test_undefined_cases():
    assert icc1(np.ones((1, 2))) is None
    assert icc1(np.ones((5, 1))) is None
    assert icc1(np.ones((5, 2))) is None
    assert icc1_interval(np.ones((3, 2)), seed=0) is None


def test_summary_reports_spreads():
    first, second = np.array([4.0, 4.2, 4.4, 4.6]), np.array([4.1, 4.1, 4.5, 4.5])
    out = reliability_summary(first, second, seed=0)
    assert out["weightings"] == 4 and 0 < out["icc1"] < 1
    assert out["within_sd"] > 0 and out["between_sd"] > out["within_sd"]
