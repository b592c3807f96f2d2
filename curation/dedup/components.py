"""Connected components of a duplicate graph in Spark: the cluster id (smallest member id) of every document
that has a duplicate, without collecting the graph on the driver.

The graph is a DataFrame of edges ``(a, b)`` between document ids. Every node points to a node of its
component (its *parent*): at first the smallest of itself and its neighbours. Each round (hook and jump,
after Shiloach and Vishkin):

1. **hook**: for every edge whose ends point to different parents, the larger parent is pointed at the
   smaller one, so whole trees join in one step, not one node at a time;
2. **jump**: every node points to its parent's parent.

Pointers only ever move to smaller ids within the component. When a round changes none, both ends of every
edge share a parent that points to itself, so each component points to its smallest id: the result of
``curation.dedup.clusters.cluster_map`` (tested against it). Trees at least double in size each round, so
a chain of near-duplicates (page revisions, a templated series) takes a number of rounds about the
logarithm of its length, not its length.

The rounds run with adaptive query execution on (``adaptive_shuffles``), whatever the session says: each
round's shuffles are small, and AQE merges the ``spark.sql.shuffle.partitions`` (200 by default) partitions
of each into a few, where a fixed 200 made the rounds many times slower than 4 did. The session keeps AQE off
elsewhere (``curation.spark``), and the labels do not depend on partitioning.

Each round's labels are materialised (``localCheckpoint``) and handed on as a plan without the size
estimates of the rounds before: a checkpoint keeps its plan's estimate, the jump joins the labels with
themselves, so the estimate would square every round until its arithmetic fills the driver's heap.
"""

from __future__ import annotations

from contextlib import contextmanager

MAX_ROUNDS = 200  # far above what a real duplicate graph needs; reaching it means a bug, not a big graph


def connected_components(edges, max_rounds: int = MAX_ROUNDS):
    """``id, cluster_id`` for every node of ``edges`` (a DataFrame with string columns ``a`` and ``b``);
    ``cluster_id`` is the smallest id of the node's component. Returns ``(components, rounds)``."""
    with adaptive_shuffles(edges.sparkSession):
        return _hook_and_jump(edges, max_rounds)


def _hook_and_jump(edges, max_rounds: int):
    from pyspark.sql import functions as F

    both = (
        edges.select("a", "b")
        .union(edges.select(F.col("b").alias("a"), F.col("a").alias("b")))
        .where(F.col("a") != F.col("b"))
        .distinct()
    )
    both = fresh(both)
    parents = (
        both.groupBy("a").agg(F.min("b").alias("m")).select(F.col("a").alias("id"), F.least("a", "m").alias("parent"))
    )
    parents = fresh(parents)
    for rounds in range(1, max_rounds + 1):
        ends = (
            both.join(parents.select(F.col("id").alias("a"), F.col("parent").alias("pa")), "a")
            .join(parents.select(F.col("id").alias("b"), F.col("parent").alias("pb")), "b")
            .where(F.col("pa") < F.col("pb"))
        )
        hooks = ends.groupBy(F.col("pb").alias("id")).agg(F.min("pa").alias("hook"))
        hooked = parents.join(hooks, "id", "left").select(
            "id", F.col("parent").alias("old"), F.least("parent", F.coalesce("hook", "parent")).alias("parent")
        )
        hooked = fresh(hooked)
        grand = hooked.select(F.col("id").alias("parent"), F.col("parent").alias("grand"))
        jumped = fresh(hooked.join(grand, "parent").select("id", "old", F.col("grand").alias("parent")))
        parents = jumped.select("id", "parent")
        if not jumped.where(F.col("old") != F.col("parent")).limit(1).count():
            return parents.withColumnRenamed("parent", "cluster_id"), rounds
    raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")


ADAPTIVE = {"spark.sql.adaptive.enabled": "true", "spark.sql.adaptive.coalescePartitions.enabled": "true"}


@contextmanager
def adaptive_shuffles(spark):
    """AQE on in ``spark``'s session for the block, its settings as they were after it."""
    before = {key: spark.conf.get(key, None) for key in ADAPTIVE}
    for key, value in ADAPTIVE.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            spark.conf.unset(key) if value is None else spark.conf.set(key, value)


def fresh(frame):
    """``frame`` computed once and returned as a plan of its rows alone: no lineage and no size estimate
    (the JVM's ``createDataFrame(rdd, schema)`` over the checkpoint, as GraphFrames does in Scala)."""
    from pyspark.sql import DataFrame

    computed = frame.localCheckpoint()._jdf
    session = frame.sparkSession
    return DataFrame(session._jsparkSession.createDataFrame(computed.rdd(), computed.schema()), session)
