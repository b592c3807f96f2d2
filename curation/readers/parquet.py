"""Parquet inputs with configurable column names, read row group by row group (bounded memory)."""

from __future__ import annotations

from collections.abc import Iterator

from curation.readers.jsonl import record_from_mapping
from curation.readers.records import InputFailed, RawRecord, RecordRejected, Split


def row_group_sizes(path: str) -> list[int]:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    return [meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)]


def read_parquet(split: Split, fields: dict[str, str]) -> Iterator[RawRecord | RecordRejected | InputFailed]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(split.path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid/OSError on damaged footers
        yield InputFailed("row=0", "unreadable_input", f"not a readable Parquet file: {exc}")
        return
    schema = pf.schema_arrow
    text_field = fields["text"]
    if text_field not in schema.names:
        yield InputFailed(
            "row=0",
            "wrong_schema",
            f"no column {text_field!r} (columns: {', '.join(schema.names)}); {pf.metadata.num_rows} rows not ingested",
        )
        return
    if not (
        pa.types.is_string(schema.field(text_field).type) or pa.types.is_large_string(schema.field(text_field).type)
    ):
        yield InputFailed(
            "row=0",
            "wrong_schema",
            f"column {text_field!r} is {schema.field(text_field).type}, expected string; {pf.metadata.num_rows} rows not ingested",
        )
        return
    if pf.metadata.num_rows == 0:
        yield InputFailed("row=0", "empty_input", "Parquet file has no rows")
        return
    wanted = [name for name in dict.fromkeys(fields.values()) if name in schema.names]
    groups = range(pf.metadata.num_row_groups)
    if split.unit == "row_group":
        groups = range(split.start, split.stop if split.stop is not None else pf.metadata.num_row_groups)
    row = sum(pf.metadata.row_group(i).num_rows for i in range(groups.start)) if groups else 0
    locator = f"row={row}"
    try:
        for group in groups:
            table = pf.read_row_group(group, columns=wanted)
            for obj in table.to_pylist():
                locator = f"row={row}"
                row += 1
                yield record_from_mapping(obj, locator, fields)
    except Exception as exc:  # noqa: BLE001 - a damaged page or row group
        yield InputFailed(locator, "unreadable_input", f"cannot read Parquet after {locator}: {exc}")
