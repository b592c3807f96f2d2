"""Readers for web corpora: WARC/WET, JSONL (plain, gzip, zstd) and Parquet.

``plan_file`` inspects one input (format, compression layout, checksum) and cuts it into splits so a
big file never becomes one straggler task; ``read_split`` yields what one split holds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any

from curation.readers.records import InputFailed, RawRecord, RecordRejected, Split

__all__ = ["InputFailed", "RawRecord", "RecordRejected", "Split", "plan_file", "read_split", "source_name", "splits_of"]

_EXTENSIONS = (".gz", ".zst", ".zstd", ".warc", ".wet", ".jsonl", ".json", ".ndjson", ".parquet")


def source_name(path: str) -> str:
    """Default `source` of a file's documents: its name without format/compression extensions."""
    name = os.path.basename(path)
    changed = True
    while changed:
        changed = False
        for ext in _EXTENSIONS:
            if name.lower().endswith(ext) and len(name) > len(ext):
                name, changed = name[: -len(ext)], True
    return name


def _ranges(boundaries: list[int], end: int | None) -> list[tuple[int, int | None]]:
    return [(start, boundaries[i + 1] if i + 1 < len(boundaries) else end) for i, start in enumerate(boundaries)]


def _layout(path: str, fmt: str) -> str:
    from curation.readers.streams import compression_of, gzip_has_many_members

    compression = compression_of(path)
    if fmt == "warc":
        if compression == "gzip":
            return "members" if gzip_has_many_members(path) else "stream"
        return "plain" if compression == "none" else compression
    return compression


def plan_file(path: str, fmt_option: str, split_bytes: int, source: str | None) -> dict[str, Any]:
    """Inspect one input and cut it into (unit, start, stop) ranges. Runs on an executor."""
    from curation.readers.detect import detect_format
    from curation.storage import content_identity
    from curation.storage import size as file_size

    size = file_size(path)
    info: dict[str, Any] = {
        "path": path,
        "size": size,
        **content_identity(path),
        "source": source or source_name(path),
    }
    fmt = detect_format(path) if fmt_option == "auto" else fmt_option
    if fmt is None:
        info.update(format="unknown", layout="none", ranges=[("all", 0, None)])
        return info
    layout = "none" if fmt == "parquet" else _layout(path, fmt)
    ranges: list[tuple[str, int, int | None]] = [("all", 0, None)]
    if fmt == "parquet":
        from curation.readers.parquet import row_group_sizes

        try:
            sizes = row_group_sizes(path)
        except Exception:  # noqa: BLE001 - the reader reports an unreadable file
            sizes = []
        if len(sizes) > 1 and sum(sizes) > split_bytes:
            starts, acc = [0], 0
            for i, group_size in enumerate(sizes[:-1]):
                acc += group_size
                if acc >= split_bytes:
                    starts.append(i + 1)
                    acc = 0
            ranges = [("row_group", a, b) for a, b in _ranges(starts, len(sizes))]
    elif size > split_bytes:
        if fmt == "warc" and layout == "members":
            from curation.readers.streams import gzip_member_start_after

            starts = [0]
            while (start := gzip_member_start_after(path, starts[-1] + split_bytes)) is not None:
                starts.append(start)
            if len(starts) > 1:
                ranges = [("byte", a, b) for a, b in _ranges(starts, None)]
        elif fmt == "warc" and layout == "plain":
            from curation.readers.warc import record_offsets

            offsets, starts, target = record_offsets(path), [], 0
            for offset in offsets:
                if offset >= target:
                    starts.append(offset)
                    target = offset + split_bytes
            if len(starts) > 1:
                ranges = [("byte", a, b) for a, b in _ranges(starts, None)]
        elif fmt == "jsonl" and layout == "none":
            from curation.readers.jsonl import line_start_offsets

            starts = line_start_offsets(path, split_bytes)
            if len(starts) > 1:
                ranges = [("byte", a, b) for a, b in _ranges(starts, None)]
        else:
            from curation.readers.jsonl import count_lines
            from curation.readers.warc import count_records

            n_records = (
                count_records(path, "gzip" if layout == "stream" else layout)
                if fmt == "warc"
                else count_lines(path, layout)
            )
            per_split = max(1, math.ceil(n_records * split_bytes / size))
            if n_records > per_split:
                # The last range is open-ended so records past the count (if any) are still read.
                ranges = [("record", a, b) for a, b in _ranges(list(range(0, n_records, per_split)), None)]
    info.update(format=fmt, layout=layout, ranges=ranges)
    return info


def splits_of(plans: list[dict[str, Any]]) -> list[Split]:
    """The splits of planned files (`plan_file`), numbered in order across them."""
    splits: list[Split] = []
    for plan in plans:
        for unit, start, stop in plan["ranges"]:
            splits.append(
                Split(len(splits), plan["path"], plan["format"], plan["layout"], unit, start, stop, plan["source"])
            )
    return splits


def read_split(
    split: Split, fields: dict[str, str], max_record_bytes: int, max_html_bytes: int
) -> Iterator[RawRecord | RecordRejected | InputFailed]:
    if split.fmt == "warc":
        from curation.readers.warc import read_warc

        yield from read_warc(split, max_html_bytes)
    elif split.fmt == "jsonl":
        from curation.readers.jsonl import read_jsonl

        yield from read_jsonl(split, fields, max_record_bytes)
    elif split.fmt == "parquet":
        from curation.readers.parquet import read_parquet

        yield from read_parquet(split, fields)
    else:
        yield InputFailed(
            "byte=0", "unknown_format", "format not recognised by extension or magic bytes; pass --format"
        )
