"""Duplicate clusters from pairs or keys, and the deterministic choice of the one document each cluster keeps.

A *cluster* is a connected component of the duplicate graph (documents are nodes, detected duplicate
pairs are edges): if A~B and B~C then A, B and C form one cluster even when A and C were never compared.
Its id is the **smallest document id** in it (plain ``str`` ordering), so cluster ids do not depend on
input order, partitioning or the order in which pairs arrive. A document in no pair is its own cluster.

``keep_flags`` keeps exactly one document per cluster (``is_dup_keep``): by default the one with the
smallest id; with a priority (e.g. text length) the highest priority, ties broken by the smallest id.

These run on a driver or inside one partition. On Spark, the same results come from: edges collected
to the driver and ``cluster_map`` (fine while the duplicate edges fit in driver memory: tens of millions),
a join of the map back to the documents (missing → own id), then ``row_number()`` over
``Window.partitionBy(cluster_id).orderBy(priority.desc(), id.asc())`` == 1 for the keep flag.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any


class _UnionFind:
    """Union-find over 0..n-1 whose root is always the member with the smallest key."""

    def __init__(self, keys: Sequence[Any]):
        self.keys = keys
        self.parent = list(range(len(keys)))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]  # path halving: keeps trees shallow without ranks
            i = parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri == rj:
            return
        # Attaching the larger key under the smaller one makes every root its component's minimum,
        # which is what makes cluster ids deterministic.
        if self.keys[rj] < self.keys[ri]:
            ri, rj = rj, ri
        self.parent[rj] = ri


def _check_unique(ids: Sequence[str]) -> None:
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        for doc_id in ids:
            if doc_id in seen:
                raise ValueError(f"document ids must be unique; {doc_id!r} appears more than once")
            seen.add(doc_id)


def clusters_from_pairs(ids: Sequence[str], pairs: Iterable[tuple[int, int]]) -> list[str]:
    """Cluster id (smallest member id) of every document, from duplicate pairs given as positions in ``ids``."""
    _check_unique(ids)
    n = len(ids)
    forest = _UnionFind(ids)
    for i, j in pairs:
        if not (0 <= i < n and 0 <= j < n):
            raise ValueError(f"pair ({i}, {j}) is out of range for {n} documents (pairs are positions in ids)")
        forest.union(i, j)
    return [ids[forest.find(i)] for i in range(n)]


def cluster_map(id_pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Cluster id of every document that appears in some pair, from pairs of document ids.

    The driver-side step of a distributed run: collect the (verified) duplicate edges, call this, and
    join the result back; documents absent from the map are singletons (cluster id = own id).
    """
    index: dict[str, int] = {}
    edges: list[tuple[int, int]] = []
    for a, b in id_pairs:
        ia = index.setdefault(a, len(index))
        ib = index.setdefault(b, len(index))
        edges.append((ia, ib))
    ids = list(index)
    return dict(zip(ids, clusters_from_pairs(ids, edges), strict=True))


def clusters_from_keys(ids: Sequence[str], keys: Sequence[Hashable]) -> list[str]:
    """Cluster id of every document when duplicates share a key (exact dedup): the smallest id with that key."""
    if len(ids) != len(keys):
        raise ValueError(f"{len(ids)} ids but {len(keys)} keys")
    _check_unique(ids)
    smallest: dict[Hashable, str] = {}
    for doc_id, key in zip(ids, keys, strict=True):
        if key not in smallest or doc_id < smallest[key]:
            smallest[key] = doc_id
    return [smallest[key] for key in keys]


def keep_flags(ids: Sequence[str], cluster_ids: Sequence[str], priority: Sequence[Any] | None = None) -> list[bool]:
    """``is_dup_keep``: True for exactly one document per cluster.

    Without ``priority`` the kept document is the one with the smallest id (the cluster id itself).
    With ``priority`` (one comparable value per document, e.g. ``len(text)`` or a quality score) the
    highest value wins and ties go to the smallest id, so the choice never depends on input order.
    """
    if len(ids) != len(cluster_ids) or (priority is not None and len(priority) != len(ids)):
        raise ValueError("ids, cluster_ids and priority must have one entry per document")
    _check_unique(ids)
    best: dict[str, int] = {}
    for i, cluster in enumerate(cluster_ids):
        j = best.get(cluster)
        if j is None:
            best[cluster] = i
        elif priority is None:
            if ids[i] < ids[j]:
                best[cluster] = i
        elif priority[i] > priority[j] or (priority[i] == priority[j] and ids[i] < ids[j]):
            best[cluster] = i
    kept = set(best.values())
    return [i in kept for i in range(len(ids))]
