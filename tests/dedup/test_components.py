"""Connected components in Spark (``curation.dedup.components``) give the driver's union-find clusters: every
node its component's smallest id, on graphs shaped like duplicate graphs (chains, stars, cliques), in few
rounds; and the dedup stage writes the same parts whichever joins its clusters."""

from __future__ import annotations

import random

import pytest

from curation.dedup.clusters import cluster_map
from curation.dedup.components import connected_components


@pytest.fixture(autouse=True)
def few_shuffle_partitions(spark):
    """As the dedup stage sets them (Spark's default of 200 makes every round 200 tasks per join)."""
    spark.conf.set("spark.sql.shuffle.partitions", "4")
    yield
    spark.conf.unset("spark.sql.shuffle.partitions")


def duplicate_like_graph(seed: int) -> list[tuple[str, str]]:
    """A 300-node chain (page revisions) and a 60-node star (a template) under random ids, cliques of 2-6
    (copies) and random sparse edges, shuffled, some repeated and some reversed."""
    rng = random.Random(seed)
    fresh_ids = iter(rng.sample(range(10**8), 2_000))

    def new_id() -> str:
        return f"doc-{next(fresh_ids):08d}"

    chain = [new_id() for _ in range(300)]
    edges = list(zip(chain, chain[1:], strict=False))
    hub = new_id()
    edges += [(hub, new_id()) for _ in range(60)]
    for _ in range(40):
        clique = [new_id() for _ in range(rng.randint(2, 6))]
        edges += [(a, b) for i, a in enumerate(clique) for b in clique[i + 1 :]]
    pool = [new_id() for _ in range(200)]
    edges += [tuple(rng.sample(pool, 2)) for _ in range(150)]
    edges += rng.sample(edges, 30) + [(b, a) for a, b in rng.sample(edges, 30)]
    rng.shuffle(edges)
    return edges


@pytest.mark.parametrize("seed", [0, 1])
def test_spark_components_equal_the_driver_union_find(spark, seed):
    edges = duplicate_like_graph(seed)
    frame = spark.createDataFrame(edges, "a string, b string").repartition(3)
    components, rounds = connected_components(frame)
    got = {row["id"]: row["cluster_id"] for row in components.collect()}
    expected = cluster_map(edges)
    assert got == expected
    assert len(set(expected.values())) > 40  # many components, not one
    # the chain alone would take about 300 rounds of label propagation; hooking and jumping need few
    assert rounds <= 12, rounds


def test_no_edges_no_components(spark):
    components, rounds = connected_components(spark.createDataFrame([], "a string, b string"))
    assert components.count() == 0 and rounds == 1


def test_a_round_limit_that_is_reached_is_an_error(spark):
    chain = [(f"n{i:03d}", f"n{i + 1:03d}") for i in range(64)]
    with pytest.raises(RuntimeError, match="did not converge in 1 rounds"):
        connected_components(spark.createDataFrame(chain, "a string, b string"), max_rounds=1)


def test_spark_s_default_shuffle_partitions_are_merged_and_the_session_keeps_its_settings(spark):
    """With 200 shuffle partitions (Spark's default, and a cluster's thousands of shards) the rounds run with
    adaptive query execution, which merges them: the same components; AQE is off again afterwards."""
    spark.conf.set("spark.sql.shuffle.partitions", "200")
    edges = duplicate_like_graph(2)
    before = spark.conf.get("spark.sql.adaptive.enabled")
    components, _ = connected_components(spark.createDataFrame(edges, "a string, b string").repartition(3))
    assert {row["id"]: row["cluster_id"] for row in components.collect()} == cluster_map(edges)
    assert spark.conf.get("spark.sql.adaptive.enabled") == before == "false"
