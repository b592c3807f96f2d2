"""``curate dedup``: corpus-wide exact and near-duplicate clusters as an attribute set, with Spark.

Columns written (one part per corpus shard, rows aligned with the shard, keyed by ``id``):

=====================  ==================================================================================
``exact_key``          ``curation.dedup.exact.exact_key`` of the text (casefold, NFKC, whitespace collapsed)
``exact_cluster_size`` documents in the corpus with this exact key (1: no exact duplicate)
``is_exact_dup_keep``  True for one document per exact key: the smallest id
``cluster_id``         near-duplicate cluster: smallest id of the connected component of exact and
                       verified MinHash-LSH duplicate pairs (the document's own id when it has none)
``cluster_size``       documents in that cluster
``is_dup_keep``        True for exactly one document per cluster, the one whose id is the cluster id
=====================  ==================================================================================

Steps (parameters and the similarity threshold they give: ``curation.dedup.minhash``):

1. **Keys**, one Spark task per shard: exact key, MinHash signature and LSH band keys of every document,
   written by the task under ``OUT/_work/<config hash>/keys/`` (a rerun after a crash reuses finished shards).
2. **Exact groups**: ``groupBy(exact_key)``. Only one representative per exact group (its smallest id)
   goes on to LSH; the others join its cluster through their exact edge.
3. **Candidates**: the representatives' ``(band, key, id, signature)`` rows grouped by ``(band, key)``; every
   bucket of two or more ids gives all its pairs (a bucket larger than ``max_bucket`` gives a star to its
   smallest id instead, so a template shared by 100k pages costs 100k pairs, not 5 billion).
4. **Verification**, inside the bucket (its signatures travel with it): a pair is a duplicate when the
   fraction of equal signature rows (estimated Jaccard) is at least ``verify_threshold``; a pair met in
   several bands is checked in each and counted once.
5. **Clusters**: connected components of the exact and verified edges. Up to ``driver_max_edges`` edges
   (default 1,000,000) they are collected and joined on the driver (``curation.dedup.clusters.cluster_map``,
   a second or two); above it, in Spark (``curation.dedup.components``), so the driver never holds a
   graph that grows with the corpus. Both give each component its smallest id (tested equal).
6. **Parts**, one Spark task per shard: the documents with a duplicate (exact group, cluster and their
   sizes) are partitioned by their shard, so each task receives its own shard's rows alone and reads the
   rest from its keys file; parts are committed under their final names, the manifest last, ``_work``
   removed. Nothing is broadcast: the driver's memory does not grow with the number of duplicates.

``OUT`` is a local directory or a URL (``s3://...``, any fsspec filesystem; ``curation.destination``). Every
file, the ``_work`` keys included, is written by the task that makes it and committed through a
``Destination``: by rename locally, uploaded whole under its final name remotely. So executors on other nodes
need no shared disk when ``OUT`` is on an object store: they read the corpus and the keys from the store too.
Spark reads local keys files itself; keys on an object store are read by Python tasks through fsspec (Spark's
own ``s3a://`` reader needs the hadoop-aws jar, which a cluster may lack).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.attributes import part_name
from curation.corpus import WORK_DIR, Corpus
from curation.dedup.minhash import MinHashParams
from curation.destination import Destination
from curation.errors import ConfigError, CorpusError
from curation.parquet_stream import open_parquet_stream

STAGE = "dedup"
VERSION = "v1"

DESCRIPTIONS = {
    "exact_key": "BLAKE2b-128 of the text casefolded, NFKC-normalised, whitespace collapsed (exact-v2)",
    "exact_cluster_size": "documents in the corpus with the same exact_key",
    "is_exact_dup_keep": "one document per exact_key keeps True: the smallest id",
    "cluster_id": "near-duplicate cluster (exact + verified MinHash-LSH pairs, transitive): its smallest id",
    "cluster_size": "documents in the near-duplicate cluster",
    "is_dup_keep": "one document per near-duplicate cluster keeps True: the one whose id is the cluster_id",
}


def output_schema():
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("exact_key", pa.string()),
            pa.field("exact_cluster_size", pa.int64()),
            pa.field("is_exact_dup_keep", pa.bool_()),
            pa.field("cluster_id", pa.string()),
            pa.field("cluster_size", pa.int64()),
            pa.field("is_dup_keep", pa.bool_()),
        ]
    )


@dataclass(frozen=True)
class DedupConfig:
    """What decides the result (``params``, ``max_bucket``) plus how work is batched (not in the hash)."""

    params: MinHashParams = field(default_factory=MinHashParams)
    max_bucket: int = 1000
    batch_rows: int = 1024
    driver_max_edges: int = 1_000_000  # duplicate edges joined on the driver; more: components in Spark

    def __post_init__(self) -> None:
        if self.max_bucket < 2:
            raise ConfigError(f"max_bucket must be at least 2, got {self.max_bucket}")
        if self.driver_max_edges < 0:
            raise ConfigError(f"driver_max_edges must be 0 or more, got {self.driver_max_edges}")
        if self.batch_rows < 1:
            raise ConfigError(f"batch_rows must be positive, got {self.batch_rows}")

    def to_dict(self) -> dict[str, Any]:
        from importlib.metadata import version

        from curation.dedup.exact import EXACT_KEY_VERSION

        return {
            "producer": STAGE,
            "version": VERSION,
            "exact_key": EXACT_KEY_VERSION,
            "minhash": self.params.to_dict(),
            "max_bucket": self.max_bucket,
            "datasketch": version("datasketch"),
        }


@dataclass
class DedupResult:
    attributes: Any  # curation.attributes.AttributeSet
    counts: dict[str, int]
    seconds: float


# ----------------------------------------------------------------------------- per-shard tasks


KEYS_SPARK_SCHEMA = "id string, exact_key string, signature binary, bands array<bigint>"
SHARD_COLUMN = "shard"  # added when the keys are read: the index of the keys file (= the corpus shard)


def keys_schema():
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("exact_key", pa.string()),
            pa.field("signature", pa.binary()),
            pa.field("bands", pa.list_(pa.int64())),
        ]
    )


def committed_rows(out: Destination, relative: str) -> int | None:
    """Rows of the Parquet file ``relative`` when an earlier run committed it, else None."""
    if not out.exists(relative):
        return None
    return open_parquet_stream(out.url(relative)).metadata.num_rows


def commit_parquet(out: Destination, relative: str, write: Callable[[Path], int]) -> int:
    """Write a file through ``write(path)`` (which returns its rows) and commit it under ``relative``."""
    rows: list[int] = []
    out.commit_file(relative, lambda path: rows.append(write(path)), str(os.getpid()))
    return rows[0]


def compute_keys(shard_path: str, out: Destination, keys_name: str, params: MinHashParams, batch_rows: int) -> int:
    """Step 1 for one shard: id, exact key, signature (uint64 bytes) and band keys in ``out``'s file
    ``keys_name``; skipped when done."""
    done = committed_rows(out, keys_name)
    if done is not None:
        return done
    return commit_parquet(out, keys_name, lambda path: write_keys(shard_path, path, params, batch_rows))


def write_keys(shard_path: str, path: Path, params: MinHashParams, batch_rows: int) -> int:
    """The keys of one shard as a local Parquet file; returns its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation.dedup.exact import exact_keys
    from curation.dedup.minhash import band_keys, minhash_signatures

    schema = keys_schema()
    rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in open_parquet_stream(shard_path).iter_batches(batch_size=batch_rows, columns=["id", "text"]):
            texts = batch.column("text").to_pylist()
            signatures = minhash_signatures(texts, params.num_perm, params.seed, params.ngram)
            bands = band_keys(signatures, params.bands, params.rows)
            table = pa.Table.from_arrays(
                [
                    batch.column("id"),
                    pa.array(exact_keys(texts), pa.string()),
                    pa.array([row.tobytes() for row in signatures.astype("<u8", copy=False)], pa.binary()),
                    pa.array(bands.tolist(), pa.list_(pa.int64())),
                ],
                schema=schema,
            )
            writer.write_table(table)
            rows += batch.num_rows
        if rows == 0:
            writer.write_table(schema.empty_table())
    return rows


def read_keys(spark, out: Destination, keys_names: list[str], batch_rows: int):
    """All shards' keys as one DataFrame, with the ``shard`` each row's file belongs to. Spark reads local
    files itself; files on an object store are read by one Python task each through fsspec (``mapInArrow``),
    so the cluster needs no hadoop-aws jar."""
    from pyspark.sql import functions as F

    urls = [out.url(name) for name in keys_names]
    if not out.remote:
        file_name = F.col("_metadata.file_name")
        shard = F.regexp_extract(file_name, r"^part-(\d+)\.parquet$", 1).cast("int")
        return spark.read.parquet(*urls).withColumn(SHARD_COLUMN, shard)

    def read(indices):
        import pyarrow as pa

        for batch in indices:
            for index in batch.column(0).to_pylist():
                for keys in open_parquet_stream(urls[index]).iter_batches(batch_size=batch_rows):
                    yield keys.append_column(SHARD_COLUMN, pa.array([index] * keys.num_rows, pa.int32()))

    schema = f"{KEYS_SPARK_SCHEMA}, {SHARD_COLUMN} int"
    return spark.range(len(urls), numPartitions=max(1, len(urls))).mapInArrow(read, schema)


def bucket_pairs(ids: list[str], max_bucket: int) -> list[tuple[int, int]]:
    """Candidate pairs of one LSH bucket as positions in ``ids`` (sorted, unique): all pairs, or a star to the
    smallest id when the bucket holds more than ``max_bucket`` documents."""
    if len(ids) > max_bucket:
        return [(0, j) for j in range(1, len(ids))]
    return [(i, j) for i in range(len(ids)) for j in range(i + 1, len(ids))]


def check_bucket(members, max_bucket: int, threshold: float | None) -> list[tuple[str, str, bool]]:
    """Steps 3-4 for one bucket of ``(id, signature bytes)``: its candidate pairs ``(a, b, duplicate)``, a < b,
    ``duplicate`` when the estimated Jaccard (fraction of equal signature rows) is >= ``threshold``."""
    import numpy as np

    by_id = {member["id"]: member["signature"] for member in members}
    ids = sorted(by_id)
    signatures = np.stack([np.frombuffer(by_id[doc_id], dtype="<u8") for doc_id in ids])
    out = []
    for i, j in bucket_pairs(ids, max_bucket):
        duplicate = threshold is None or float(np.mean(signatures[i] == signatures[j])) >= threshold
        out.append((ids[i], ids[j], duplicate))
    return out


def write_part(out: Destination, keys_name: str, part: str, duplicates) -> int:
    """Step 6 for one shard: the attribute part ``part`` of ``out`` from its keys file and ``duplicates``,
    this shard's ``(id, exact root, exact size, cluster id, cluster size)`` rows; skipped when done."""
    done = committed_rows(out, part)
    if done is not None:
        return done
    exact = {}  # id -> (smallest id with its exact key, group size): documents with an exact duplicate
    clusters = {}  # id -> (cluster id, cluster size): documents with a duplicate
    for doc_id, root, exact_size, cluster, cluster_size in duplicates:
        if root is not None:
            exact[doc_id] = (root, exact_size)
        clusters[doc_id] = (cluster, cluster_size)
    return commit_parquet(out, part, lambda path: write_part_file(out.url(keys_name), path, exact, clusters))


def write_part_file(keys_path: str, path: Path, exact: dict, clusters: dict) -> int:
    """The attribute part of one shard as a local Parquet file; returns its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation.corpus import read_parquet

    keys = read_parquet(keys_path, columns=["id", "exact_key"])
    ids = keys.column("id").to_pylist()
    exact_sizes, exact_keep, cluster_ids, sizes, keep = [], [], [], [], []
    for doc_id in ids:
        root, size = exact.get(doc_id, (doc_id, 1))
        exact_sizes.append(size)
        exact_keep.append(root == doc_id)
        cluster, cluster_size = clusters.get(doc_id, (doc_id, 1))
        cluster_ids.append(cluster)
        sizes.append(cluster_size)
        keep.append(cluster == doc_id)
    schema = pa.schema([pa.field("id", pa.string(), nullable=False), *output_schema()])
    table = pa.Table.from_arrays(
        [
            keys.column("id"),
            keys.column("exact_key"),
            pa.array(exact_sizes, pa.int64()),
            pa.array(exact_keep, pa.bool_()),
            pa.array(cluster_ids, pa.string()),
            pa.array(sizes, pa.int64()),
            pa.array(keep, pa.bool_()),
        ],
        schema=schema,
    )
    pq.write_table(table, path, compression="zstd")
    return len(ids)


# ----------------------------------------------------------------------------- the stage


def run_dedup(
    corpus_dir: str | Path,
    out_dir: str | Path,
    config: DedupConfig | None = None,
    *,
    master: str | None = None,
    spark_conf: dict[str, str] | None = None,
    tracking: bool = True,
    overwrite: bool = False,
    console=None,
) -> DedupResult:
    from rich.console import Console

    from curation.attribute_stage import largest_first, prepare_attribute_dir, write_attribute_manifest
    from curation.tracking import stage_run

    console = console or Console(stderr=True)
    config = config or DedupConfig()
    corpus = Corpus.open(corpus_dir)
    described = config.to_dict()
    out, fingerprint, config_hash, finished = prepare_attribute_dir(corpus, out_dir, STAGE, described, overwrite)
    if finished is not None:
        console.print(f"dedup: {out} is already complete for this corpus and config; nothing to do", highlight=False)
        return DedupResult(finished, finished.manifest.get("counts", {}), 0.0)
    directory = Destination(out)
    work = f"{WORK_DIR}/{config_hash}/keys"
    directory.make_folder(work)
    shards = [str(p) for p in corpus.shard_paths]
    keys_names = [f"{work}/{part_name(i)}" for i in range(len(shards))]
    params = {**described, "corpus": str(corpus.root), "out": str(out), "shards": len(shards)}
    with stage_run(STAGE, params, enabled=tracking) as run:
        from pyspark.sql import functions as F

        from curation.spark import get_spark

        spark = get_spark(master, "curation-dedup", spark_conf)
        sc = spark.sparkContext
        mh, batch_rows, max_bucket = config.params, config.batch_rows, config.max_bucket
        threshold = mh.verify_threshold
        console.print(
            f"dedup: {corpus.num_documents:,} documents in {len(shards)} shards on {sc.master}; MinHash "
            f"{mh.ngram}-grams, {mh.bands}x{mh.rows} bands (LSH threshold {mh.threshold:.2f}), "
            + (f"verified at Jaccard >= {threshold}" if threshold is not None else "no verification"),
            highlight=False,
        )
        from curation.progress import TaskProgress

        started = time.perf_counter()
        # Keys, buckets, verification and the parts are several Spark jobs whose later stages are not known
        # up front: the bar counts tasks.
        with TaskProgress(console, sc, "dedup", None):
            order = largest_first(corpus)
            rows = sum(
                sc.parallelize(order, max(1, len(order)))
                .map(lambda i: compute_keys(shards[i], directory, keys_names[i], mh, batch_rows))
                .collect()
            )
            if rows != corpus.num_documents:
                raise CorpusError(f"dedup: keys for {rows} documents, the corpus has {corpus.num_documents}")
            seconds_keys = time.perf_counter() - started

            if "spark.sql.shuffle.partitions" not in (spark_conf or {}):
                # Spark's default of 200 shuffle partitions is 200 Python tasks per step even for a small corpus.
                spark.conf.set("spark.sql.shuffle.partitions", str(max(sc.defaultParallelism, len(shards))))
            keys = read_keys(spark, directory, keys_names, batch_rows)
            groups = (
                keys.groupBy("exact_key")
                .agg(F.min("id").alias("exact_root"), F.count(F.lit(1)).alias("exact_size"))
                .where("exact_size > 1")
            )
            exact = keys.select("id", "exact_key").join(groups, "exact_key").select("id", "exact_root", "exact_size")
            exact = exact.cache()
            followers = exact.where("id != exact_root")
            # LSH runs on representatives: documents without an exact duplicate and the smallest id of each group.
            reps = keys.join(followers.select("id"), "id", "left_anti")
            buckets = (
                reps.select("id", "signature", F.posexplode("bands").alias("band", "key"))
                .groupBy("band", "key")
                .agg(F.collect_list(F.struct("id", "signature")).alias("members"))
                .where(F.size("members") > 1)
            )
            checked = (
                buckets.rdd.flatMap(lambda row: check_bucket(row["members"], max_bucket, threshold))
                .toDF("a string, b string, duplicate boolean")
                .distinct()
                .cache()
            )
            n_candidates = checked.count()
            verified = checked.where("duplicate").select("a", "b")
            edges = followers.select(F.col("id").alias("a"), F.col("exact_root").alias("b")).union(verified)
            components, rounds = clusters_of(spark, edges, config.driver_max_edges)
            sizes = components.groupBy("cluster_id").agg(F.count(F.lit(1)).alias("cluster_size"))
            duplicates = (
                components.join(sizes, "cluster_id")
                .join(keys.select("id", SHARD_COLUMN), "id")
                .join(exact, "id", "left")
                .select(SHARD_COLUMN, "id", "exact_root", "exact_size", "cluster_id", "cluster_size")
                .cache()
            )
            counts = duplicate_counts(duplicates, verified, n_candidates)
            checked.unpersist()
            # partition i holds the rows of shard i alone, so task i writes part i
            by_shard = duplicates.rdd.map(lambda row: (row[0], tuple(row[1:]))).partitionBy(
                len(shards), lambda shard: shard
            )
            written = by_shard.mapPartitionsWithIndex(
                lambda i, rows: [write_part(directory, keys_names[i], part_name(i), (row for _, row in rows))]
            ).sum()
            duplicates.unpersist()
            exact.unpersist()
        seconds = time.perf_counter() - started
        counts = {"documents": written, **counts}
        counts["kept_documents"] = written - counts["near_duplicate_documents"]
        attributes = write_attribute_manifest(
            out,
            corpus,
            producer=STAGE,
            version=VERSION,
            schema=output_schema(),
            descriptions=DESCRIPTIONS,
            config=described,
            config_hash=config_hash,
            fingerprint=fingerprint,
            rows=written,
            run=run,
            extra={"counts": counts},
        )
        run.log_metrics({**counts, "seconds": seconds, "seconds_keys": seconds_keys, "component_rounds": rounds})
        directory.remove_tree(WORK_DIR)
        console.print(
            f"dedup: {written:,} documents in {seconds:,.1f} s: {counts['exact_duplicate_documents']:,} exact and "
            f"{counts['near_duplicate_documents'] - counts['exact_duplicate_documents']:,} more near duplicates; "
            f"{counts['kept_documents']:,} documents have is_dup_keep",
            highlight=False,
        )
        return DedupResult(attributes, counts, seconds)


def clusters_of(spark, edges, driver_max_edges: int):
    """Step 5: ``(id, cluster_id)`` of every document with a duplicate, from the edge DataFrame ``(a, b)``,
    and the Spark rounds it took (0: joined on the driver)."""
    from curation.dedup.clusters import cluster_map
    from curation.dedup.components import connected_components

    edges = edges.cache()
    if edges.count() > driver_max_edges:
        components, rounds = connected_components(edges)
    else:
        pairs = [(row["a"], row["b"]) for row in edges.collect()]
        components = spark.createDataFrame(sorted(cluster_map(pairs).items()), "id string, cluster_id string")
        rounds = 0
    edges.unpersist()
    return components, rounds


def duplicate_counts(duplicates, verified, candidates: int) -> dict[str, int]:
    """The stage's counts of exact and near duplicates, aggregated in Spark."""
    from pyspark.sql import functions as F

    row = duplicates.agg(
        F.sum((F.col("id") != F.col("exact_root")).cast("long")).alias("exact_duplicate_documents"),
        F.countDistinct("exact_root").alias("exact_groups"),
        F.countDistinct("cluster_id").alias("clusters_with_duplicates"),
        F.sum((F.col("id") != F.col("cluster_id")).cast("long")).alias("near_duplicate_documents"),
    ).first()
    return {
        "exact_duplicate_documents": int(row["exact_duplicate_documents"] or 0),
        "exact_groups": int(row["exact_groups"]),
        "lsh_candidate_pairs": candidates,
        "verified_pairs": verified.count(),
        "clusters_with_duplicates": int(row["clusters_with_duplicates"]),
        "near_duplicate_documents": int(row["near_duplicate_documents"] or 0),
    }
