"""Writing the final shards from the cached splits, inside Spark.

Documents are hash-partitioned by their shard index and sorted by (shard, id, input order) within
each partition, so a shard's bytes depend only on its documents, never on task timing. Row groups
have a fixed row count for the same reason. Rows repeating the id of the row before them are
duplicate ids: the first in input order is kept, the others go to ``rejects/`` with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from curation.corpus import shard_name, temporary_path
from curation.ingest.process import ORDER_COLUMN, SHARD_COLUMN

RESULT_SCHEMA = "shard long, path string, rows long, bytes long, dup_path string, dups long"


def _attempt_tag() -> str:
    from pyspark import TaskContext

    context = TaskContext.get()
    return f"a{context.taskAttemptId()}" if context else "driver"


class _ShardFile:
    """One shard being written: fixed-size row groups, duplicate ids split off to rejects."""

    def __init__(self, shard: int, staging: Path, row_group_rows: int):
        import pyarrow.parquet as pq

        from curation.schema import DOCUMENT_SCHEMA

        self.shard = shard
        self.row_group_rows = row_group_rows
        self.tmp = temporary_path(staging / "shards" / shard_name(shard), _attempt_tag())
        self.tmp.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(self.tmp, DOCUMENT_SCHEMA, compression="zstd")
        self.pending = []
        self.pending_rows = 0
        self.rows = 0
        self.bytes = 0
        self.last_id: str | None = None
        self.dups: list[dict[str, str]] = []

    def add(self, batch) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        ids = batch.column("id")
        previous = pa.concat_arrays(
            [pa.array([self.last_id], pa.string()), ids.cast(pa.string()).slice(0, len(ids) - 1)]
        )
        is_dup = pc.fill_null(pc.equal(ids.cast(pa.string()), previous), False)
        self.last_id = ids[-1].as_py()
        if pc.any(is_dup).as_py():
            self._record_duplicates(batch, is_dup)
            batch = batch.filter(pc.invert(is_dup))
        self.pending.append(_to_document_batch(batch))
        self.pending_rows += batch.num_rows
        self.rows += batch.num_rows
        self.bytes += pc.sum(batch.column("n_bytes")).as_py() or 0
        while self.pending_rows >= self.row_group_rows:
            self._flush(self.row_group_rows)

    def _record_duplicates(self, batch, is_dup) -> None:
        from curation.schema import sample_of

        for index in [i for i, dup in enumerate(is_dup.to_pylist()) if dup]:
            doc_id = batch.column("id")[index].as_py()
            meta = json.loads(batch.column("meta")[index].as_py() or "{}")
            self.dups.append(
                {
                    "source_file": meta.get("input", ""),
                    "locator": meta.get("locator", ""),
                    "reason": "duplicate_id",
                    "detail": f"id {doc_id!r} repeats a record earlier in input order (the first is kept)",
                    "sample": sample_of(batch.column("text")[index].as_py()),
                }
            )

    def _flush(self, n_rows: int) -> None:
        import pyarrow as pa

        table = pa.Table.from_batches(self.pending).combine_chunks()
        self.writer.write_table(table.slice(0, n_rows), row_group_size=n_rows)
        rest = table.slice(n_rows)
        self.pending = rest.to_batches() if rest.num_rows else []
        self.pending_rows = rest.num_rows

    def close(self, staging: Path) -> dict:
        import pyarrow as pa

        from curation.corpus import write_parquet_atomic
        from curation.schema import REJECT_SCHEMA

        if self.pending_rows:
            self._flush(self.pending_rows)
        self.writer.close()
        dup_path = ""
        if self.dups:
            final = staging / "rejects" / f"duplicates-{self.shard:05d}.parquet"
            tmp = temporary_path(final, _attempt_tag())
            write_parquet_atomic(pa.Table.from_pylist(self.dups, schema=REJECT_SCHEMA), tmp, self.row_group_rows)
            dup_path = str(tmp)
        return {
            "shard": self.shard,
            "path": str(self.tmp),
            "rows": self.rows,
            "bytes": self.bytes,
            "dup_path": dup_path,
            "dups": len(self.dups),
        }


def _to_document_batch(batch):
    """Drop the helper columns and restore the exact document schema (Spark loses nullability and zones)."""
    import pyarrow as pa

    from curation.schema import DOCUMENT_SCHEMA

    arrays = [batch.column(field.name).cast(field.type) for field in DOCUMENT_SCHEMA]
    return pa.RecordBatch.from_arrays(arrays, schema=DOCUMENT_SCHEMA)


def shard_writer(staging: str, row_group_rows: int):
    """The mapInArrow function: consumes one sorted partition, writes the shards it holds."""

    def write_partition(batches: Iterator) -> Iterator:
        import pyarrow as pa

        current: _ShardFile | None = None
        for batch in batches:
            shards = batch.column(SHARD_COLUMN).to_numpy()
            start = 0
            while start < batch.num_rows:
                shard = int(shards[start])
                end = start
                while end < batch.num_rows and shards[end] == shard:
                    end += 1
                if current is None or current.shard != shard:
                    if current is not None:
                        yield pa.RecordBatch.from_pylist([current.close(Path(staging))])
                    current = _ShardFile(shard, Path(staging), row_group_rows)
                current.add(batch.slice(start, end - start).drop_columns([SHARD_COLUMN, ORDER_COLUMN]))
                start = end
        if current is not None:
            yield pa.RecordBatch.from_pylist([current.close(Path(staging))])

    return write_partition


def write_shards(spark, doc_files: list[str], staging: Path, n_shards: int, row_group_rows: int) -> list[dict]:
    """Shuffle cached documents into `n_shards` sorted shards; return one result per non-empty shard."""
    if not doc_files:
        return []
    frame = spark.read.parquet(*doc_files)
    frame = frame.repartition(n_shards, SHARD_COLUMN).sortWithinPartitions(SHARD_COLUMN, "id", ORDER_COLUMN)
    rows = frame.mapInArrow(shard_writer(str(staging), row_group_rows), RESULT_SCHEMA).collect()
    return sorted((row.asDict() for row in rows), key=lambda r: r["shard"])


def write_empty_shard(staging: Path, shard: int) -> dict:
    import pyarrow.parquet as pq

    from curation.schema import DOCUMENT_SCHEMA

    tmp = temporary_path(staging / "shards" / shard_name(shard), "driver")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(DOCUMENT_SCHEMA.empty_table(), tmp, compression="zstd")
    return {"shard": shard, "path": str(tmp), "rows": 0, "bytes": 0, "dup_path": "", "dups": 0}
