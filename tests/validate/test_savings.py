"""Token savings from two held-out curves."""

from __future__ import annotations

import pytest

from curation.validate.savings import token_savings, tokens_to_reach


def test_crossing_is_interpolated_between_evaluations():
    # Reaches 3.0 halfway between 100 (4.0) and 200 (2.0).
    assert tokens_to_reach([0, 100, 200], [8.0, 4.0, 2.0], 3.0) == pytest.approx(150)
    assert tokens_to_reach([0, 100, 200], [8.0, 4.0, 2.0], 4.0) == pytest.approx(100)
    assert tokens_to_reach([0, 100, 200], [8.0, 4.0, 3.5], 3.0) is None


def test_savings_against_a_baseline():
    baseline = ([0, 100, 200, 300, 400], [8.0, 5.0, 4.0, 3.5, 3.2])
    better = ([0, 100, 200, 300, 400], [8.0, 4.0, 3.2, 3.0, 2.9])
    result = token_savings(*better, *baseline)
    assert result.target_bpb == 3.2
    assert result.tokens_needed == pytest.approx(200)
    assert result.fraction == pytest.approx(0.5) and result.savings == pytest.approx(0.5)
    assert result.describe() == "+50.0%"

    itself = token_savings(*baseline, *baseline)
    assert itself.savings == pytest.approx(0.0)

    worse = token_savings([0, 100, 200, 300, 400], [8.0, 6.0, 5.0, 4.5, 4.0], *baseline)
    assert worse.savings is None and worse.describe() == "not reached"


def test_a_curve_needs_matching_lengths():
    with pytest.raises(ValueError):
        tokens_to_reach([0, 1], [1.0], 0.5)


def test_held_out_documents_are_removed_from_training():
    from curation.proxy.text_source import TextSource, text_hash
    from curation.validate.job import _without_heldout

    train = TextSource("t", "t.jsonl", ["a", "b", "c"])
    kept, removed = _without_heldout(train, {text_hash("b")})
    assert kept.texts == ["a", "c"] and removed == 1
    with pytest.raises(Exception, match="every document"):
        _without_heldout(train, {text_hash(t) for t in "abc"})
