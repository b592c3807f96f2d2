"""Parquet inputs with configurable column names, read row group by row group (bounded memory)."""

from __future__ import annotations

from collections.abc import Iterator

from curation.parquet_stream import open_parquet_stream
from curation.readers.jsonl import record_from_mapping
from curation.readers.records import InputFailed, RawRecord, RecordRejected, Split, one_line
from curation.storage import PROBE_READ_AHEAD, open_binary


def row_group_sizes(path: str) -> list[int]:
    import pyarrow.parquet as pq

    with open_binary(path, PROBE_READ_AHEAD) as fh:
        meta = pq.ParquetFile(fh).metadata
    return [meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)]


def _is_text(arrow_type) -> bool:
    """A string column, plain or dictionary-encoded (as pandas categoricals and some writers store it)."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def read_parquet(split: Split, fields: dict[str, str]) -> Iterator[RawRecord | RecordRejected | InputFailed]:
    try:
        pf = open_parquet_stream(split.path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid/OSError on damaged footers
        yield InputFailed("row=0", "unreadable_input", f"not a readable Parquet file: {one_line(exc)}")
        return
    schema = pf.schema_arrow
    text_field = fields["text"]
    if text_field not in schema.names:
        yield InputFailed(
            "row=0",
            "wrong_schema",
            f"no column {text_field!r} (columns: {one_line(', '.join(schema.names), 200)}); "
            f"{pf.metadata.num_rows} rows not ingested",
        )
        return
    if not _is_text(schema.field(text_field).type):
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
        yield InputFailed(locator, "unreadable_input", f"cannot read Parquet after {locator}: {one_line(exc)}")
