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

Each round's labels are materialised (``localCheckpoint``) and handed on as a plan without the size
estimates of the rounds before: a checkpoint keeps its plan's estimate, the jump joins the labels with
themselves, so the estimate would square every round until its arithmetic fills the driver's heap.
"""

from __future__ import annotations

MAX_ROUNDS = 200  # far above what a real duplicate graph needs; reaching it means a bug, not a big graph


def connected_components(edges, max_rounds: int = MAX_ROUNDS):
    """``id, cluster_id`` for every node of ``edges`` (a DataFrame with string columns ``a`` and ``b``);
    ``cluster_id`` is the smallest id of the node's component. Returns ``(components, rounds)``."""
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


def fresh(frame):
    """``frame`` computed once and returned as a plan of its rows alone: no lineage and no size estimate
    (the JVM's ``createDataFrame(rdd, schema)`` over the checkpoint, as GraphFrames does in Scala)."""
    from pyspark.sql import DataFrame

    computed = frame.localCheckpoint()._jdf
    session = frame.sparkSession
    return DataFrame(session._jsparkSession.createDataFrame(computed.rdd(), computed.schema()), session)
