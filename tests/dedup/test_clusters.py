"""Clusters: connected components with the smallest id as cluster id, independent of every input order;
and the keep flag: exactly one document per cluster, chosen deterministically."""

import itertools
import random

import pytest

from curation.dedup import cluster_map, clusters_from_keys, clusters_from_pairs, keep_flags


def by_id(ids, cluster_ids):
    return dict(zip(ids, cluster_ids, strict=True))


def components(ids, pairs):
    """Reference: connected components by graph search, cluster id = min id, written independently."""
    neighbours = {i: set() for i in range(len(ids))}
    for i, j in pairs:
        neighbours[i].add(j)
        neighbours[j].add(i)
    out = [None] * len(ids)
    for start in range(len(ids)):
        if out[start] is not None:
            continue
        seen, stack = {start}, [start]
        while stack:
            for nxt in neighbours[stack.pop()] - seen:
                seen.add(nxt)
                stack.append(nxt)
        smallest = min(ids[k] for k in seen)
        for k in seen:
            out[k] = smallest
    return out


# ----------------------------------------------------------------------------- clusters_from_pairs


def test_transitive_chain_is_one_cluster():
    # A~B and B~C: A, B, C in one cluster although A and C were never paired; D alone.
    ids = ["c", "a", "b", "d"]
    assert clusters_from_pairs(ids, [(1, 2), (2, 0)]) == ["a", "a", "a", "d"]


def test_two_chains_joined_by_a_late_edge():
    ids = ["e", "d", "c", "b", "a", "f"]
    # {e, d} and {c, b} are built first with roots e→d and c→b, then a bridges them.
    assert clusters_from_pairs(ids, [(0, 1), (2, 3), (1, 4), (4, 2)]) == ["a", "a", "a", "a", "a", "f"]


def test_singletons_are_their_own_cluster():
    ids = ["x", "b", "a"]
    assert clusters_from_pairs(ids, []) == ids
    assert clusters_from_pairs(ids, [(1, 1)]) == ids  # a self-pair changes nothing
    assert clusters_from_pairs([], []) == []


def test_cluster_id_is_smallest_by_str_ordering_not_numeric():
    ids = ["doc-9", "doc-10", "doc-2"]
    assert clusters_from_pairs(ids, [(0, 1), (1, 2)]) == ["doc-10"] * 3  # "doc-10" < "doc-2" < "doc-9"


def test_cluster_ids_independent_of_pair_order_direction_and_id_order():
    ids = ["d3", "a1", "c7", "b2", "e5", "f0"]
    edges = [("d3", "c7"), ("c7", "b2"), ("e5", "f0")]  # {b2, c7, d3} and {e5, f0}; a1 alone
    expected = {"d3": "b2", "c7": "b2", "b2": "b2", "a1": "a1", "e5": "e5", "f0": "e5"}
    rng = random.Random(0)
    seen = 0
    for order in itertools.permutations(ids):
        pos = {doc_id: k for k, doc_id in enumerate(order)}
        for pair_order in itertools.permutations(edges):
            pairs = [(pos[a], pos[b]) if rng.random() < 0.5 else (pos[b], pos[a]) for a, b in pair_order]
            assert by_id(order, clusters_from_pairs(list(order), pairs)) == expected
            seen += 1
    assert seen == 720 * 6


def test_matches_reference_components_on_random_graphs():
    rng = random.Random(12345)
    for _ in range(200):
        n = rng.randint(1, 30)
        ids = [f"id{rng.randrange(10**6):06d}-{k}" for k in range(n)]
        pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(0, n))]
        assert clusters_from_pairs(ids, pairs) == components(ids, pairs)


def test_accepts_any_iterable_of_pairs():
    assert clusters_from_pairs(["b", "a"], iter([(0, 1)])) == ["a", "a"]


@pytest.mark.parametrize("pair", [(0, 3), (3, 0), (-1, 0), (0, -1), (5, 7)])
def test_out_of_range_pair_raises(pair):
    with pytest.raises(ValueError, match="out of range"):
        clusters_from_pairs(["a", "b", "c"], [pair])


def test_duplicate_id_raises_with_the_id():
    with pytest.raises(ValueError, match="'b'"):
        clusters_from_pairs(["a", "b", "c", "b"], [])
    with pytest.raises(ValueError, match="unique"):
        clusters_from_keys(["a", "a"], ["k1", "k2"])
    with pytest.raises(ValueError, match="unique"):
        keep_flags(["a", "a"], ["a", "a"])


# ----------------------------------------------------------------------------- cluster_map


def test_cluster_map_from_id_pairs():
    mapping = cluster_map([("d", "c"), ("c", "b"), ("z", "y")])
    assert mapping == {"d": "b", "c": "b", "b": "b", "z": "y", "y": "y"}
    assert "a" not in mapping  # absent documents are singletons, left to the caller
    assert cluster_map([]) == {}


def test_cluster_map_independent_of_pair_order_and_direction():
    edges = [("p", "q"), ("q", "m"), ("x", "w"), ("m", "n")]
    expected = {"p": "m", "q": "m", "m": "m", "n": "m", "x": "w", "w": "w"}
    for order in itertools.permutations(edges):
        assert cluster_map(order) == expected
        assert cluster_map((b, a) for a, b in order) == expected


# ----------------------------------------------------------------------------- clusters_from_keys


def test_clusters_from_keys_smallest_id_per_key():
    ids = ["d", "b", "c", "a", "e"]
    keys = ["k1", "k2", "k1", "k2", "k3"]
    assert clusters_from_keys(ids, keys) == ["c", "a", "c", "a", "e"]


def test_clusters_from_keys_independent_of_order():
    ids = ["d", "b", "c", "a", "e"]
    keys = ["k1", "k2", "k1", "k2", "k3"]
    expected = by_id(ids, clusters_from_keys(ids, keys))
    for perm in itertools.permutations(range(5)):
        assert by_id([ids[k] for k in perm], clusters_from_keys([ids[k] for k in perm], [keys[k] for k in perm])) == (
            expected
        )


def test_clusters_from_keys_length_mismatch():
    with pytest.raises(ValueError, match="2 ids but 1 keys"):
        clusters_from_keys(["a", "b"], ["k"])


# ----------------------------------------------------------------------------- keep_flags


def test_keep_flags_default_keeps_smallest_id():
    ids = ["c", "a", "b", "d", "e"]
    clusters = ["a", "a", "a", "d", "d"]
    assert keep_flags(ids, clusters) == [False, True, False, True, False]


def test_keep_flags_singletons_all_kept():
    assert keep_flags(["b", "a", "c"], ["b", "a", "c"]) == [True, True, True]
    assert keep_flags([], []) == []


def test_keep_flags_default_does_not_trust_cluster_label():
    # The kept document is the smallest id of the cluster even when the label is not one of its ids.
    assert keep_flags(["m", "k", "z"], ["L", "L", "L"]) == [False, True, False]


def test_keep_flags_priority_highest_wins():
    ids = ["a", "b", "c", "d"]
    clusters = ["a", "a", "a", "d"]
    assert keep_flags(ids, clusters, priority=[10, 30, 20, 1]) == [False, True, False, True]


def test_keep_flags_priority_tie_goes_to_smallest_id():
    ids = ["c", "b", "a", "d"]
    clusters = ["a", "a", "a", "a"]
    # b and c tie on the highest priority; a has less. b wins (smallest id among the tied).
    assert keep_flags(ids, clusters, priority=[5, 5, 1, 2]) == [False, True, False, False]


def test_keep_flags_independent_of_input_order():
    ids = ["e", "b", "d", "a", "c", "f"]
    clusters = ["a", "a", "a", "a", "c", "c"]
    priority = [7, 9, 9, 3, 4, 4]
    kept_default = {"a", "c"}
    kept_priority = {"b", "c"}  # b and d tie at 9 → b; c and f tie at 4 → c
    for perm in itertools.permutations(range(6)):
        p_ids = [ids[k] for k in perm]
        p_clusters = [clusters[k] for k in perm]
        p_priority = [priority[k] for k in perm]
        flags = keep_flags(p_ids, p_clusters)
        assert {i for i, keep in zip(p_ids, flags, strict=True) if keep} == kept_default
        flags = keep_flags(p_ids, p_clusters, p_priority)
        assert {i for i, keep in zip(p_ids, flags, strict=True) if keep} == kept_priority


def test_keep_flags_exactly_one_per_cluster_on_random_input():
    rng = random.Random(7)
    for _ in range(100):
        n = rng.randint(1, 40)
        ids = [f"{rng.randrange(10**6):06d}-{k}" for k in range(n)]
        pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(n)]
        clusters = clusters_from_pairs(ids, pairs)
        priority = [rng.randint(0, 3) for _ in range(n)]
        for prio in (None, priority):
            flags = keep_flags(ids, clusters, prio)
            kept = [c for c, keep in zip(clusters, flags, strict=True) if keep]
            assert sorted(kept) == sorted(set(clusters))
        # Default: the kept document is the cluster id itself.
        assert keep_flags(ids, clusters) == [i == c for i, c in zip(ids, clusters, strict=True)]


def test_keep_flags_with_text_length_priority():
    ids = ["a", "b", "c"]
    texts = ["short", "the longest text", "medium text"]
    assert keep_flags(ids, ["a", "a", "a"], [len(t) for t in texts]) == [False, True, False]


@pytest.mark.parametrize(
    ("ids", "clusters", "priority"),
    [(["a", "b"], ["a"], None), (["a", "b"], ["a", "a"], [1]), (["a"], ["a"], [1, 2])],
)
def test_keep_flags_length_mismatch(ids, clusters, priority):
    with pytest.raises(ValueError, match="one entry per document"):
        keep_flags(ids, clusters, priority)
