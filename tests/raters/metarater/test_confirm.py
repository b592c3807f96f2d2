"""The fit's confirmation step: which finalists it trains again, and how it chooses among them."""

from __future__ import annotations

import numpy as np
import pytest

from raters.metarater.confirm import confirm_seeds, confirmation_summary, finalists, planned_runs

COLUMNS = ["a", "b", "c"]


def test_finalists_are_the_search_the_best_singles_and_the_best_runs_without_repeats():
    search = np.array([0.2, 0.5, 0.3])
    single_losses = np.array([4.0, 3.5, 3.9])  # b, then c, then a
    run_weights = np.array([[0.1, 0.1, 0.8], [0.0, 1.0, 0.0], [0.3, 0.3, 0.4], [0.6, 0.2, 0.2]])
    run_losses = np.array([3.7, 3.6, 3.65, 3.9])  # run 1 (b alone, already a finalist), then run 2, then run 0
    chosen = finalists(search, COLUMNS, single_losses, run_weights, run_losses, singles=2, observed=3)
    assert [f.name for f in chosen] == ["search", "single:b", "single:c", "run:2", "run:0"]
    assert chosen[0].screening_loss is None and chosen[1].screening_loss == 3.5 and chosen[3].screening_loss == 3.65
    np.testing.assert_array_equal(chosen[2].weights, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(chosen[4].weights, run_weights[0])
    # None asked: the search's answer alone.
    assert [f.name for f in finalists(search, COLUMNS, single_losses, run_weights, run_losses, 0, 0)] == ["search"]


def test_the_lowest_mean_over_the_fresh_seeds_is_chosen_with_paired_differences():
    losses = np.array([[3.90, 3.80, 3.85], [3.88, 3.79, 3.83], [3.70, 4.10, 3.90]])
    summary = confirmation_summary(["search", "single:a", "run:4"], losses, [2, 3, 4])
    assert summary["chosen"] == "single:a" and summary["seeds"] == [2, 3, 4]
    rows = {row["name"]: row for row in summary["finalists"]}
    assert rows["single:a"]["mean"] == pytest.approx(np.mean([3.88, 3.79, 3.83]))
    assert rows["single:a"]["se"] == pytest.approx(np.std([3.88, 3.79, 3.83], ddof=1) / np.sqrt(3))
    difference = losses[1] - losses[0]
    assert rows["single:a"]["vs_search"] == pytest.approx(difference.mean())
    assert rows["single:a"]["vs_search_se"] == pytest.approx(difference.std(ddof=1) / np.sqrt(3))
    assert rows["search"]["vs_search"] == 0
    # Equal means keep the earlier finalist: the search's answer first.
    tied = confirmation_summary(["search", "single:a"], np.array([[3.8, 3.9], [3.9, 3.8]]), [2, 3])
    assert tied["chosen"] == "search"
    # One seed: means, no standard errors.
    one = confirmation_summary(["search", "run:0"], np.array([[3.8], [3.7]]), [2])
    assert one["chosen"] == "run:0" and one["finalists"][1]["se"] is None


def test_seeds_skip_the_reliability_checks_and_the_plan_counts_every_run():
    from raters.metarater.fit import MetaraterConfig

    assert confirm_seeds(0, 3) == [2, 3, 4]  # seed 1 is the reliability check's second run
    assert confirm_seeds(5, 2) == [7, 8]
    cfg = MetaraterConfig(runs=16, confirm_seeds=3, confirm_singles=2, confirm_observed=2)
    assert planned_runs(19, cfg) == 19 + (1 + 2 + 2) * 3
    assert planned_runs(1, cfg) == 1 + (1 + 1 + 2) * 3  # at most as many singles as scores
    assert planned_runs(19, MetaraterConfig(runs=16, confirm_seeds=0)) == 0


def test_bad_confirmation_settings_fail_before_any_work():
    from curation.errors import ConfigError
    from raters.metarater.fit import MetaraterConfig

    with pytest.raises(ConfigError, match="--confirm-seeds"):
        MetaraterConfig(runs=16, confirm_seeds=-1).check()
    with pytest.raises(ConfigError, match="--confirm-observed"):
        MetaraterConfig(runs=16, confirm_observed=17).check()
