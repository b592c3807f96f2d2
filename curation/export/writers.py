"""One writer per output format. Each writes one file from a stream of Arrow record batches.

Both are deterministic: fixed compression level, no timestamps or host names in the bytes, row
groups (Parquet) cut by row count alone, so the same rows and options give byte-identical files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from curation.errors import ConfigError

# A row group is also flushed early when its buffered Arrow data reaches this size, so very long
# documents cannot make one row group (and the memory holding it) unbounded.
ROW_GROUP_MAX_BYTES = 64 << 20


class ShardWriter:
    """Writes one output file; ``write`` takes record batches already in the output schema."""

    def __init__(self, path: Path, schema, zstd_level: int):
        self.path = path
        self.schema = schema
        self.zstd_level = zstd_level
        self.rows = 0

    def write(self, batch) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ParquetShardWriter(ShardWriter):
    """zstd Parquet with row groups of exactly ``row_group_rows`` rows (the last one shorter)."""

    def __init__(self, path: Path, schema, zstd_level: int, row_group_rows: int):
        import pyarrow.parquet as pq

        super().__init__(path, schema, zstd_level)
        self.row_group_rows = row_group_rows
        self._buffer: list = []
        self._buffered_rows = 0
        self._buffered_bytes = 0
        self._writer = pq.ParquetWriter(
            path,
            schema,
            compression="zstd",
            compression_level=zstd_level,
            write_statistics=True,
            use_dictionary=True,
        )

    def write(self, batch) -> None:
        if not batch.num_rows:
            return
        self._buffer.append(batch)
        self._buffered_rows += batch.num_rows
        self._buffered_bytes += batch.nbytes
        self.rows += batch.num_rows
        while self._buffered_rows >= self.row_group_rows:
            self._flush(self.row_group_rows)
        if self._buffered_bytes >= ROW_GROUP_MAX_BYTES:
            self._flush(self._buffered_rows)

    def _flush(self, rows: int) -> None:
        import pyarrow as pa

        table = pa.Table.from_batches(self._buffer, schema=self.schema)
        head, rest = table.slice(0, rows), table.slice(rows)
        self._writer.write_table(head, row_group_size=max(1, rows))
        self._buffer = rest.to_batches()
        self._buffered_rows = rest.num_rows
        self._buffered_bytes = sum(b.nbytes for b in self._buffer)

    def close(self) -> None:
        if self._writer is None:
            return
        if self._buffered_rows:
            self._flush(self._buffered_rows)
        self._writer.close()
        self._writer = None


def _json_converter(arrow_type):
    """How a column's Python values become JSON values (None: as they are)."""
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        # ISO 8601, "Z" for UTC: what JSON readers (pyarrow, pandas, datasets) parse as a timestamp.
        return lambda v: None if v is None else v.isoformat().replace("+00:00", "Z")
    if pa.types.is_float32(arrow_type):
        import numpy as np

        # The shortest decimal that reads back as the same float32 (0.9123456, not 0.91234564781188965).
        return lambda v: None if v is None or math.isnan(v) else float(str(np.float32(v)))
    if pa.types.is_floating(arrow_type):
        return lambda v: None if v is None or math.isnan(v) else v
    if pa.types.is_date(arrow_type) or pa.types.is_time(arrow_type):
        return lambda v: None if v is None else v.isoformat()
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        raise ConfigError(f"a {arrow_type} column cannot be written as JSON Lines; drop it from --columns")
    return None


def check_json_schema(schema) -> None:
    """Fail before any work when a column has no JSON form."""
    for field in schema:
        try:
            _json_converter(field.type)
        except ConfigError as exc:
            raise ConfigError(f"column {field.name!r}: {exc}") from None


class JsonlZstShardWriter(ShardWriter):
    """JSON Lines (one object per document, keys in column order, UTF-8) in one zstd frame."""

    def __init__(self, path: Path, schema, zstd_level: int):
        import zstandard

        super().__init__(path, schema, zstd_level)
        self._converters: list[Any] = [_json_converter(field.type) for field in schema]
        self._names = schema.names
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()
        compressor = zstandard.ZstdCompressor(level=zstd_level, write_checksum=True, threads=0)
        self._stream = compressor.stream_writer(self._file, closefd=False)

    def write(self, batch) -> None:
        if not batch.num_rows:
            return
        columns = []
        for column, convert in zip(batch.columns, self._converters, strict=True):
            values = column.to_pylist()
            columns.append(values if convert is None else [convert(v) for v in values])
        lines = [
            json.dumps(
                dict(zip(self._names, row, strict=True)), ensure_ascii=False, separators=(",", ":"), allow_nan=False
            )
            for row in zip(*columns, strict=True)
        ]
        self._stream.write(("\n".join(lines) + "\n").encode("utf-8"))
        self.rows += batch.num_rows

    def close(self) -> None:
        if self._file is None:
            return
        self._stream.close()
        self._file.flush()
        self._file.close()
        self._file = None


def open_writer(fmt: str, path: Path, schema, zstd_level: int, row_group_rows: int) -> ShardWriter:
    if fmt == "parquet":
        return ParquetShardWriter(path, schema, zstd_level, row_group_rows)
    if fmt == "jsonl.zst":
        return JsonlZstShardWriter(path, schema, zstd_level)
    raise ValueError(f"unknown export format {fmt!r}")
