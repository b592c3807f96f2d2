"""JSON Lines, plain or compressed (gzip, zstd). Field names are configurable.

Plain files are split at byte offsets aligned to line starts (locator ``byte=N``); compressed
ones cannot seek and are split by line index (locator ``line=N``, 1-based). Blank lines are not
records and are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson

from curation.readers.records import InputFailed, RawRecord, RecordRejected, Split, one_line
from curation.readers.streams import CORRUPT_DEFLATE, open_decompressed
from curation.schema import sample_of
from curation.storage import PROBE_READ_AHEAD, READ_BLOCK_BYTES
from curation.text.normalize import decode_bytes


def line_start_offsets(path: str, split_bytes: int) -> list[int]:
    """Offsets of line starts near every multiple of split_bytes (no full scan needed)."""
    from curation.storage import open_binary
    from curation.storage import size as file_size

    size = file_size(path)
    offsets = [0]
    with open_binary(path, PROBE_READ_AHEAD) as fh:
        target = split_bytes
        while target < size:
            fh.seek(target - 1)
            fh.readline()  # finish the line that crosses the boundary
            position = fh.tell()
            if position >= size:
                break
            if position > offsets[-1]:
                offsets.append(position)
            target = max(position, target) + split_bytes
    return offsets


def count_lines(path: str, compression: str) -> int:
    count = 0
    try:
        with open_decompressed(path, compression, line_reader=True) as fh:
            for _ in fh:
                count += 1
    except Exception:  # noqa: BLE001 - the reader reports the break
        pass
    return count


def _read_line(fh, limit: int) -> tuple[bytes, bool]:
    """One line of at most `limit` bytes; (prefix, True) when longer, with the rest consumed."""
    line = fh.readline(limit + 1)
    if len(line) <= limit or line.endswith(b"\n"):
        return line, False
    while True:
        rest = fh.readline(1 << 20)
        if not rest or rest.endswith(b"\n"):
            return line, True


def read_jsonl(
    split: Split, fields: dict[str, str], max_record_bytes: int
) -> Iterator[RawRecord | RecordRejected | InputFailed]:
    seekable = split.layout == "none"
    # A byte range reads ahead no further than its end (and the line it ends in, fetched as needed).
    ranged = seekable and split.unit == "byte" and split.stop is not None
    read_ahead = min(READ_BLOCK_BYTES, split.stop - split.start + PROBE_READ_AHEAD) if ranged else READ_BLOCK_BYTES
    fh = open_decompressed(split.path, split.layout, read_ahead, line_reader=True)
    position = split.start if (seekable and split.unit == "byte") else 0
    fh.seek(position) if position else None
    line_no = 0
    seen_any = False
    locator = f"byte={position}" if seekable else "line=1"
    try:
        while True:
            if seekable and split.stop is not None and position >= split.stop:
                return
            line, oversized = _read_line(fh, max_record_bytes)
            if not line:
                break
            line_no += 1
            locator = f"byte={position}" if seekable else f"line={line_no}"
            position += len(line)
            if not seekable and split.unit == "record":
                if line_no - 1 < split.start:
                    continue
                if split.stop is not None and line_no - 1 >= split.stop:
                    return
            if oversized:
                seen_any = True
                yield RecordRejected(
                    locator, "record_too_large", f"line over {max_record_bytes} bytes", sample_of(line)
                )
                continue
            if not line.strip():
                continue
            seen_any = True
            if not line.endswith(b"\n") and _at_cut(fh):
                yield RecordRejected(
                    locator, "truncated_record", "last line cut by the end of the stream", sample_of(line)
                )
                continue
            yield _parse_line(line, locator, fields)
        if not seen_any and split.start == 0:
            yield InputFailed(locator, "empty_input", "no JSON lines in file")
    except EOFError as exc:
        yield InputFailed(locator, "truncated_input", f"compressed stream ends early after {locator} ({one_line(exc)})")
    except OSError as exc:  # gzip.BadGzipFile: a CRC or header that does not check out
        yield InputFailed(locator, "unreadable_input", f"corrupt compressed stream after {locator} ({one_line(exc)})")
    except CORRUPT_DEFLATE as exc:  # deflate data that does not decode
        yield InputFailed(locator, "unreadable_input", f"corrupt compressed stream after {locator} ({one_line(exc)})")
    except Exception as exc:  # noqa: BLE001 - zstandard raises its own error type on a corrupt frame
        yield InputFailed(
            locator,
            "truncated_input" if "frame" in str(exc).lower() else "unreadable_input",
            f"{type(exc).__name__}: {one_line(exc)}",
        )
    finally:
        fh.close()


def _at_cut(fh) -> bool:
    """After a last line without newline: does the stream end cleanly (False) or raise (True)?"""
    try:
        fh.read(1)
    except (EOFError, OSError):
        return True
    except Exception:  # noqa: BLE001
        return True
    return False


def _parse_line(line: bytes, locator: str, fields: dict[str, str]) -> RawRecord | RecordRejected:
    try:  # strict JSON (RFC 8259) in valid UTF-8, as most lines are: the objects json.loads gives, 2x faster
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:  # the lenient path below decides: a BOM, bad UTF-8, NaN, lone surrogate
        pass  # escapes, or not JSON at all (its message, not orjson's, names the fault)
    else:
        if isinstance(obj, dict) and not _maybe_wide_integer(obj):
            return record_from_mapping(obj, locator, fields)
    text_line, invalid = decode_bytes(line)
    try:
        obj = json.loads(text_line.lstrip("\ufeff"))  # a byte-order mark starts some files (or each part)
    except json.JSONDecodeError as exc:
        return RecordRejected(
            locator, "malformed_json", f"invalid JSON: {exc.msg} at column {exc.colno}", sample_of(text_line)
        )
    except RecursionError:
        return RecordRejected(locator, "malformed_json", "JSON nested too deeply to parse", sample_of(text_line))
    if not isinstance(obj, dict):
        return RecordRejected(
            locator, "not_an_object", f"JSON {type(obj).__name__}, expected an object", sample_of(text_line)
        )
    return record_from_mapping(obj, locator, fields, invalid_bytes=invalid)


def _maybe_wide_integer(value) -> bool:
    """Could orjson have read an integer literal beyond 64 bits (json: an int) as a float? Such a float is
    whole and at least 2**63 in size; a float literal of that size is read again by json too, harmlessly."""
    if isinstance(value, float):
        return abs(value) >= 2.0**63 and value.is_integer()
    if isinstance(value, (dict, list)):
        for item in value.values() if isinstance(value, dict) else value:  # a loop: once per record, mostly strings
            if not isinstance(item, (str, int)) and _maybe_wide_integer(item):
                return True
    return False


def record_from_mapping(
    obj: dict[str, Any], locator: str, fields: dict[str, str], invalid_bytes: int = 0
) -> RawRecord | RecordRejected:
    """A raw record from a JSON object or a Parquet row, using the configured field names."""
    text = obj.get(fields["text"])
    if text is None:
        return RecordRejected(
            locator, "missing_text", f"no {fields['text']!r} field", sample_of(json.dumps(obj, default=str)[:400])
        )
    if not isinstance(text, str):
        return RecordRejected(
            locator,
            "bad_field_type",
            f"{fields['text']!r} is {type(text).__name__}, expected string",
            sample_of(str(text)),
        )
    source_id = obj.get(fields["id"])
    if source_id is not None and (isinstance(source_id, bool) or not isinstance(source_id, (str, int))):
        return RecordRejected(
            locator,
            "bad_field_type",
            f"{fields['id']!r} is {type(source_id).__name__}, expected string or integer",
            sample_of(text),
        )
    url = obj.get(fields["url"])
    if url is not None and not isinstance(url, str):
        return RecordRejected(
            locator, "bad_field_type", f"{fields['url']!r} is {type(url).__name__}, expected string", sample_of(text)
        )
    named = (fields["text"], fields["id"], fields["url"], fields["timestamp"])
    meta = {k: v for k, v in obj.items() if k not in named}
    if invalid_bytes:
        meta["invalid_utf8_sequences"] = invalid_bytes
    return RawRecord(
        locator=locator,
        payload=text,
        is_html=False,
        url=url,
        source_id=str(source_id) if source_id not in (None, "") else None,
        timestamp=obj.get(fields["timestamp"]),
        meta=meta,
    )
