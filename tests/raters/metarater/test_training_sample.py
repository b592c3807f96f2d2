"""What a Meta-rater proxy run trains on: its selection, taken in one fixed per-document priority order."""

from __future__ import annotations

import numpy as np

from raters.metarater.proxy_runs import document_priority, top_documents, training_sample


def _pool(count=400, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(500, 5000, count), document_priority(count, seed=7)


def test_the_sample_depends_on_the_selected_set_not_its_order():
    n_bytes, priority = _pool()
    chosen = np.arange(0, 400, 3)
    allowance = int(n_bytes[chosen].sum() // 4)
    first = training_sample(chosen, n_bytes, priority, allowance)
    shuffled = training_sample(np.random.default_rng(1).permutation(chosen), n_bytes, priority, allowance)
    assert np.array_equal(first, shuffled)
    # a prefix of the selection in priority order, ending with the document that crosses the allowance
    ordered = chosen[np.argsort(priority[chosen])]
    assert np.array_equal(first, ordered[: len(first)])
    assert n_bytes[first[:-1]].sum() < allowance <= n_bytes[first].sum()


def test_close_weightings_train_on_close_samples():
    """Two weightings whose selections share most documents train on samples that share most documents;
    the old draw (a permutation of the selection's positions) gave unrelated samples."""
    rng = np.random.default_rng(3)
    scores = rng.random((2000, 5))
    n_bytes, priority = _pool(2000)
    weights = np.array([0.3, 0.2, 0.2, 0.2, 0.1])
    nudged = weights + np.array([0.01, -0.01, 0.0, 0.0, 0.0])
    a, b = top_documents(scores, weights, 0.15), top_documents(scores, nudged, 0.15)
    assert len(set(a) & set(b)) / len(a) > 0.9
    allowance = int(n_bytes[a].sum() // 5)
    sample_a = set(training_sample(a, n_bytes, priority, allowance))
    sample_b = set(training_sample(b, n_bytes, priority, allowance))
    assert len(sample_a & sample_b) / len(sample_a) > 0.8

    def positional(chosen):  # v1's draw, for contrast
        order = np.random.default_rng(0).permutation(len(chosen))
        picked = chosen[order]
        return set(picked[np.cumsum(n_bytes[picked]) - n_bytes[picked] < allowance])

    assert len(positional(a) & positional(b)) / len(positional(a)) < 0.5


def test_priority_is_a_seeded_permutation():
    assert sorted(document_priority(50, 1)) == list(range(50))
    assert np.array_equal(document_priority(50, 1), document_priority(50, 1))
    assert not np.array_equal(document_priority(50, 1), document_priority(50, 2))
