"""Writing the final shards from the cached splits: a Spark task writes one shard, or a few small ones in turn.

Every split file holds row groups of a single shard each (see ``process._RowWriter``), so the
driver maps each shard to the exact row groups it needs from each split by reading footers only,
and each task reads just those. A shard is sorted by (id, input order) in memory with Arrow: its
bytes depend only on its documents, never on task timing or splitting. Pick ``--shards`` so that
one shard's text fits comfortably in an executor's memory (the summary prints the largest shard).
Rows repeating the id of the row before them are duplicate ids: the first in input order is kept,
the others go to ``rejects/`` with the reason.
"""

from __future__ import annotations

import json

from curation.corpus import REJECTS_DIR, SHARDS_DIR, shard_name
from curation.destination import Destination
from curation.ingest.process import ORDER_COLUMN, SHARD_COLUMN


def _parquet_file(path: str, metadata=None):
    """A split file to read row groups from. On a store, reads fetch little beyond what Arrow asks for (the
    byte ranges of the column chunks), and a footer the driver already read is not fetched again."""
    import pyarrow.parquet as pq

    from curation.storage import PROBE_READ_AHEAD, is_remote, open_binary

    if not is_remote(path):
        return pq.ParquetFile(path)
    return pq.ParquetFile(open_binary(path, PROBE_READ_AHEAD), metadata=metadata)


def shard_plan(doc_files: list[str]) -> tuple[dict[int, list[tuple[str, list[int], object]]], dict[int, int]]:
    """shard -> [(split file, [row group indexes], its footer for a remote file else None)], from the files'
    footers (statistics of _shard); and shard -> the uncompressed bytes of its row groups."""
    from curation.storage import is_remote

    plan: dict[int, list[tuple[str, list[int], object]]] = {}
    sizes: dict[int, int] = {}
    for path in doc_files:
        meta = _parquet_file(path).metadata
        column = meta.schema.names.index(SHARD_COLUMN)
        groups: dict[int, list[int]] = {}
        for index in range(meta.num_row_groups):
            row_group = meta.row_group(index)
            stats = row_group.column(column).statistics
            if stats is None or not stats.has_min_max or stats.min != stats.max:
                raise ValueError(f"{path}: row group {index} is not confined to one shard")
            groups.setdefault(int(stats.min), []).append(index)
            sizes[int(stats.min)] = sizes.get(int(stats.min), 0) + row_group.total_byte_size
        for shard, indexes in groups.items():
            plan.setdefault(shard, []).append((path, indexes, meta if is_remote(path) else None))
    return plan, sizes


def _attempt_tag() -> str:
    from pyspark import TaskContext

    context = TaskContext.get()
    return f"a{context.taskAttemptId()}" if context else "driver"


def _duplicate_rejects(duplicates) -> list[dict[str, str]]:
    from curation.schema import sample_of

    rows = []
    for doc in duplicates.select(["id", "text", "meta"]).to_pylist():
        meta = json.loads(doc["meta"] or "{}")
        rows.append(
            {
                "source_file": meta.get("input", ""),
                "locator": meta.get("locator", ""),
                "reason": "duplicate_id",
                "detail": f"id {doc['id']!r} repeats a record earlier in input order (the first is kept)",
                "sample": sample_of(doc["text"]),
            }
        )
    return rows


def write_shard(
    shard: int, pieces: list[tuple[str, list[int], object]], dest: Destination, row_group_rows: int
) -> dict:
    """Read a shard's row groups, sort, split off duplicate ids, commit the shard (and its duplicates) under
    their final names in ``dest``. Every attempt writes the same bytes, so a retried task changes nothing."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from curation.schema import DOCUMENT_SCHEMA, REJECT_SCHEMA

    tables = [_parquet_file(path, meta).read_row_groups(groups) for path, groups, meta in pieces]
    table = pa.concat_tables(tables) if tables else None
    tag = _attempt_tag()
    relative = f"{SHARDS_DIR}/{shard_name(shard)}"
    result = {"shard": shard, "path": relative, "rows": 0, "bytes": 0, "dup_path": "", "dups": 0}
    if table is None or table.num_rows == 0:
        empty = DOCUMENT_SCHEMA.empty_table()
        result["sha256"] = dest.commit_file(relative, lambda p: pq.write_table(empty, p, compression="zstd"), tag)
        return result
    table = table.sort_by([("id", "ascending"), (ORDER_COLUMN, "ascending")])
    ids = table.column("id")
    repeats = pc.equal(ids.slice(1), ids.slice(0, len(ids) - 1))
    is_dup = pa.concat_arrays([pa.array([False]), *repeats.chunks]) if len(ids) > 1 else pa.array([False])
    if pc.any(is_dup).as_py():
        duplicates = table.filter(is_dup)
        table = table.filter(pc.invert(is_dup))
        rejects = pa.Table.from_pylist(_duplicate_rejects(duplicates), schema=REJECT_SCHEMA)
        dup_relative = f"{REJECTS_DIR}/duplicates-{shard:05d}.parquet"
        dest.commit_file(
            dup_relative,
            lambda p: pq.write_table(rejects, p, compression="zstd", row_group_size=row_group_rows),
            tag,
        )
        result.update(dup_path=dup_relative, dups=duplicates.num_rows)
    table = table.drop_columns([SHARD_COLUMN, ORDER_COLUMN]).cast(DOCUMENT_SCHEMA)
    result["sha256"] = dest.commit_file(
        relative, lambda p: pq.write_table(table, p, compression="zstd", row_group_size=row_group_rows), tag
    )
    result.update(rows=table.num_rows, bytes=pc.sum(table.column("n_bytes")).as_py() or 0)
    return result


# Shards are packed into tasks of about this much cached text (curation.ingest.tasks), at least one task per core:
# a task's fixed cost (about 40 ms in local mode) weighed on shards of a few MB. 8 shards of 6 MB on 2 cores:
# 0.40 s as 8 tasks, 0.31 s as 4, 0.22 s as 2. A shard bigger than this is a task of its own.
SHARD_TASK_BYTES = 64 * 1024 * 1024


def write_shards(sc, doc_files: list[str], dest: Destination, n_shards: int, row_group_rows: int) -> dict[int, dict]:
    """Every shard 0..n_shards-1 committed in ``dest`` (empty ones too), a task writing one or a few of them in
    turn; results by shard."""
    from curation.ingest.tasks import pack, task_count

    plan, sizes = shard_plan(doc_files)
    work = [(shard, plan.get(shard, [])) for shard in range(n_shards)]
    weights = [1 + sizes.get(shard, 0) for shard in range(n_shards)]  # + 1: empty shards spread, not all in one
    # The biggest shards first, so the slowest tasks start early.
    groups = pack(work, weights, task_count(n_shards, sum(weights), SHARD_TASK_BYTES, sc.defaultParallelism))
    results = sc.parallelize(groups, max(1, len(groups))).flatMap(
        lambda group: [write_shard(shard, pieces, dest, row_group_rows) for shard, pieces in group]
    )
    return {result["shard"]: result for result in results.collect()}
