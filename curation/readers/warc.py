"""WARC and WET: ``response``/``resource`` records with HTML or text, and WET ``conversion`` records.

Two layouts: one gzip member per record (or uncompressed) can be split at record offsets and read
from any of them; a file compressed as ONE gzip stream (or several such streams concatenated) is read
through a decompressing stream and split by record index. Truncation is detected per record: warcio
reads a cut record silently, so the bytes still owed by its declared Content-Length are checked after
reading.

Damage stays with the record that has it wherever the layout allows. A record whose headers cannot be
parsed (WARC headers, HTTP headers, an invalid Content-Length) is rejected as ``malformed_record``; a
record not followed by the blank line that ends every record has a wrong Content-Length
(``wrong_content_length``). In the seekable layouts reading then resumes at the next record start found
after it (the next gzip member holding a WARC record, or the next ``WARC/1.x`` line); in a single gzip
stream nothing can be searched, so the first unparseable record ends the file (``unreadable_input``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from zlib_ng import zlib_ng  # here, not in _inflate_gzip_member: a missing module must fail loudly, not per record

from curation.readers.records import InputFailed, RawRecord, RecordRejected, Split, one_line
from curation.readers.streams import OneReadAtATime, open_decompressed
from curation.schema import sample_of
from curation.storage import open_binary
from curation.storage import size as file_size

DOCUMENT_TYPES = ("response", "resource", "conversion")
HTTP_PROTOCOLS = ["HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/2.0"]
_PLAIN_RECORD_START = re.compile(rb"\nWARC/1\.[01]\r?\n")
_SCAN_WINDOW = 1 << 20


def _inflate_gzip_member():
    """A gzip member's decompressor for warcio, from zlib-ng: zlib's streaming behaviour (every byte that can be
    decoded from a cut member, ``unused_data`` after the member) at 1.7x zlib's speed on the trafilatura pages,
    where zlib's inflating was three quarters of the reader's time. The reader's output is compared with
    zlib's on a real file and on cut and corrupted files (tests/readers/test_warc_inflate.py). ISA-L, faster
    still, holds back the last bytes of a member cut short, so a truncated record's reject would change."""
    return zlib_ng.decompressobj(wbits=31)


def _iterator(stream, arc: bool = False):
    """warcio's ArchiveIterator without its multi-line stderr warning (and without parsing HTTP headers,
    which the reader does per record so that a bad one costs only its record): a record not followed by
    the blank line that ends it is counted in ``misaligned`` instead, for the reader to reject. gzip
    members are inflated by zlib-ng (``_inflate_gzip_member``); warcio's framing is unchanged."""
    import logging

    from warcio.archiveiterator import ArchiveIterator
    from warcio.bufferedreaders import DecompressingBufferedReader

    logging.getLogger("warcio").setLevel(logging.ERROR)  # "Replacing spaces in invalid WARC-Target-URI"

    class _Reader(DecompressingBufferedReader):
        DECOMPRESSORS = {**DecompressingBufferedReader.DECOMPRESSORS, "gzip": _inflate_gzip_member}

    class _Iterator(ArchiveIterator):
        misaligned = 0

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.reader = _Reader(self.fh, block_size=self.reader.block_size)  # nothing read yet

        def _consume_blanklines(self):  # warcio's logic, minus sys.stderr.write
            empty_size, first_line = 0, True
            while True:
                line = self.reader.readline()
                if not line:
                    return None, empty_size
                if not line.rstrip() or first_line:
                    empty_size += len(line)
                    if line.rstrip():
                        self.misaligned += 1
                    first_line = False
                    continue
                return line, empty_size

    iterator = _Iterator(stream, no_record_parse=True)
    if not arc:
        iterator.known_format = "warc"  # else a damaged record may pass for an ARC one, and so every record after it
    return iterator


def _is_arc(path: str) -> bool:
    """An ARC file (the WARC predecessor), by name: its records are parsed as ARC."""
    return path.lower().removesuffix(".gz").endswith(".arc")


def record_offsets(path: str) -> list[int]:
    """Offsets of every record start (seekable layouts only); used to plan splits of big files."""
    offsets: list[int] = []
    with open_binary(path) as fh:
        iterator = _iterator(fh, arc=_is_arc(path))
        try:
            for _ in iterator:
                offsets.append(iterator.get_record_offset())
        except Exception:  # noqa: BLE001 - the reader reports the break with its offset
            pass
    return offsets


def count_records(path: str, compression: str) -> int:
    count = 0
    try:
        with open_decompressed(path, compression) as fh:
            for _ in _iterator(fh, arc=_is_arc(path)):
                count += 1
    except Exception:  # noqa: BLE001 - counted up to the break; the reader reports it
        pass
    return count


def plain_record_start_after(path: str, target: int) -> int | None:
    """Offset of the first ``WARC/1.x`` line starting after `target` (> 0) in an uncompressed WARC."""
    with open_binary(path) as fh:
        position = target - 1  # the newline before a record start at `target` counts
        while True:
            fh.seek(position)
            chunk = fh.read(_SCAN_WINDOW + 16)  # a match starting in the window ends inside the chunk
            match = _PLAIN_RECORD_START.search(chunk)
            if match is not None:
                return position + match.start() + 1
            if len(chunk) <= _SCAN_WINDOW:
                return None
            position += _SCAN_WINDOW


def next_record_start(split: Split, after: int) -> int | None:
    """Where reading can resume after damage at `after` (seekable layouts), or None past the last record."""
    if split.layout == "members":
        from curation.readers.streams import gzip_member_start_after

        return gzip_member_start_after(split.path, after + 1)
    return plain_record_start_after(split.path, after + 1)


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"' ").lower()
    return None


@dataclass
class _Progress:
    index: int = -1  # records seen, across restarts
    locator: str = ""
    failed: bool = False  # an InputFailed was yielded
    last_start: int = -1  # offset of the last record read (seekable layouts)

    def resume_after(self, split: Split, start: int) -> int | None:
        """The next record start after damage at `start`, never at or before a record already read (warcio's
        offsets can go back after a wrong length, and reading would go round in circles), nor past the split."""
        resume = next_record_start(split, max(start, self.last_start))
        return resume if resume is not None and (split.stop is None or resume < split.stop) else None


def read_warc(split: Split, max_html_bytes: int) -> Iterator[RawRecord | RecordRejected | InputFailed]:
    seekable = split.layout in ("members", "plain")
    progress = _Progress(locator=f"offset={split.start}" if seekable else "record=0")
    position: int | None = split.start if (seekable and split.unit == "byte") else 0
    while position is not None:
        position = yield from _read_from(split, position, max_html_bytes, progress)
        if position is not None and position <= progress.last_start:
            position = None  # cannot happen (see _Progress.resume_after); never loop
    if progress.index < 0 and split.start == 0 and not progress.failed:
        yield InputFailed(progress.locator, "empty_input", "no WARC records in file")


def _read_from(split: Split, position: int, max_html_bytes: int, progress: _Progress):
    """Read records from `position` on; return where to resume after damage (seekable layouts), else None."""
    seekable = split.layout in ("members", "plain")
    if seekable:
        stream = open_binary(split.path)
        stream.seek(position)  # warcio's offsets start at tell()
    else:
        stream = OneReadAtATime(open_decompressed(split.path, "gzip" if split.layout == "stream" else split.layout))
    start = position
    try:
        iterator = _iterator(stream, arc=_is_arc(split.path))
        while True:
            start = iterator.offset  # where the next record starts
            if seekable and split.unit == "byte" and split.stop is not None and start >= split.stop:
                return None
            try:
                record = next(iterator)
            except StopIteration:
                reached = split.unit != "record" or progress.index + 1 >= split.start  # else another split reports
                if not seekable and reached and not _ends_cleanly(stream):  # warcio takes a cut header for the end
                    raise EOFError("the stream is cut inside a record's headers") from None
                return None
            progress.index += 1
            index = progress.index
            if not seekable and split.unit == "record" and split.stop is not None and index >= split.stop:
                return None
            if seekable:
                progress.last_start = max(progress.last_start, start)
            mine = not (not seekable and split.unit == "record" and index < split.start)
            if mine:
                progress.locator = f"offset={start}" if seekable else f"record={index}"
            declared = (record.rec_headers.get_header("Content-Length") or "").strip()
            if record.format == "warc" and not re.fullmatch(r"[0-9]+", declared):
                # Without a length warcio takes the rest of the input for this record: never read it.
                if not mine:
                    return None  # the split that owns this record reports it
                url = record.rec_headers.get_header("WARC-Target-URI")
                detail = f"invalid Content-Length {declared!r} ({url})"
                yield RecordRejected(progress.locator, "malformed_record", detail, "")
                if seekable:
                    return progress.resume_after(split, start)
                progress.failed = True
                yield InputFailed(
                    progress.locator, "unreadable_input", f"{detail}: the records after it cannot be found"
                )
                return None
            misaligned = iterator.misaligned
            try:
                result = _read_record(record, max_html_bytes)
            except EOFError:
                result = RecordRejected(
                    "", "truncated_record", "the input ends inside this record (file cut short)", ""
                )
            except Exception as exc:  # noqa: BLE001 - e.g. a broken chunked or gzip content encoding
                result = RecordRejected("", "malformed_record", f"cannot read its content: {one_line(exc)}", "")
            try:
                iterator.get_record_offset()  # reads to the record's end: a wrong Content-Length shows here
            except EOFError:
                if not mine:
                    return None  # the split that owns this record reports the cut
                if getattr(result, "reason", None) != "truncated_record":
                    raise  # the stream ends early after this record
                result.locator = progress.locator
                yield result  # the record cut by the end of the stream says it all
                return None
            if not mine:
                continue
            if iterator.misaligned > misaligned and getattr(result, "reason", None) != "malformed_record":
                declared = record.rec_headers.get_header("Content-Length")
                result = RecordRejected(
                    "",
                    "wrong_content_length",
                    f"not followed by the blank line that ends a record: its Content-Length {declared} is wrong",
                    "",
                )
            elif seekable and getattr(result, "reason", None) == "truncated_record":
                if start + iterator.get_record_length() < file_size(split.path):
                    result.reason = "wrong_content_length"
                    result.detail = result.detail.replace("(file cut short)", "(more records follow)")
            result.locator = progress.locator
            yield result
            if seekable and getattr(result, "reason", None) == "wrong_content_length":
                # the rest of this record is not to be parsed, and warcio's offsets are off from here on
                return progress.resume_after(split, start)
    except EOFError as exc:
        progress.failed = True
        yield InputFailed(
            progress.locator,
            "truncated_input",
            f"compressed stream ends early after {progress.locator} ({one_line(exc)})",
        )
    except Exception as exc:  # noqa: BLE001 - warcio and zlib raise many types on corrupt headers or data
        if not seekable:
            progress.failed = True
            what = "corrupt compressed stream" if isinstance(exc, OSError) else "cannot parse WARC"
            yield InputFailed(progress.locator, "unreadable_input", f"{what} after {progress.locator}: {one_line(exc)}")
            return None
        at = max(start, progress.last_start)  # warcio's offset can go back after a wrong length
        resume = next_record_start(split, at)
        if resume is None:
            progress.failed = True
            yield InputFailed(
                f"offset={at}", "unreadable_input", f"cannot parse WARC from offset={at}: {one_line(exc)}"
            )
            return None
        progress.index += 1
        progress.locator = f"offset={at}"
        yield RecordRejected(
            progress.locator,
            "malformed_record",
            f"cannot parse the record: {one_line(exc)}; skipped {resume - at} bytes to the next record",
            "",
        )
        return resume if split.stop is None or resume < split.stop else None
    finally:
        stream.close()
    return None


def _ends_cleanly(stream) -> bool:
    """After the last record of a decompressing stream: does it end cleanly (True) or raise?"""
    try:
        stream.read(1)
    except Exception:  # noqa: BLE001 - EOFError from gzip, ZstdError from zstandard
        return False
    return True


_CONTROL_BYTES = bytes(range(0, 9)) + bytes(range(14, 32))


def _looks_binary(payload: bytes, probe: int = 4096) -> bool:
    """Binary data under a text or HTML label: over 10 % control bytes (NUL included) in its first 4 KiB.
    UTF-16 text, which is full of NULs, starts with its byte-order mark and is let through."""
    head = payload[:probe]
    if not head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    return len(head) - len(head.translate(None, _CONTROL_BYTES)) > len(head) // 10


def _read_record(record, max_html_bytes: int) -> RawRecord | RecordRejected:
    headers = record.rec_headers
    rec_type = record.rec_type
    if rec_type not in DOCUMENT_TYPES:
        return RecordRejected("", "warc_record_skipped", f"WARC-Type {rec_type}", "")
    url = headers.get_header("WARC-Target-URI")
    if record.format == "warc" and int(headers.get_header("Content-Length")) == 0:  # checked by the caller
        return RecordRejected("", "empty_text", f"empty {rec_type} record (Content-Length 0) ({url})", "")
    record_id = (headers.get_header("WARC-Record-ID") or "").strip("<>").removeprefix("urn:uuid:") or None
    meta = {"warc_type": rec_type}
    content_type = headers.get_header("Content-Type")
    if rec_type == "response" and (
        "application/http" in (content_type or "") or (not content_type and (url or "").startswith(("http:", "https:")))
    ):
        from warcio.statusandheaders import StatusAndHeadersParser

        try:
            record.http_headers = StatusAndHeadersParser(HTTP_PROTOCOLS, verify=False).parse(record.raw_stream)
        except Exception as exc:  # noqa: BLE001 - warcio's parser raises its own type, EOFError, ValueError
            return RecordRejected("", "malformed_record", f"unparseable HTTP headers ({one_line(exc)}) ({url})", "")
        status = record.http_headers.get_statuscode()
        if not re.fullmatch(r"\d{3}", str(status)):
            line = one_line(record.http_headers.statusline, 80)
            return RecordRejected("", "malformed_record", f"HTTP status line {line!r} has no status code ({url})", "")
        content_type = record.http_headers.get_header("Content-Type")
        meta["http_status"] = status
        if not str(status).startswith("2"):
            return RecordRejected("", "http_status", f"HTTP status {status} for {url}", "")
    meta["content_type"] = content_type
    payload = record.content_stream().read(max_html_bytes + 1)
    if len(payload) > max_html_bytes:
        return RecordRejected("", "html_too_large", f"payload over {max_html_bytes} bytes ({url})", sample_of(payload))
    missing = getattr(record.raw_stream, "limit", 0) or 0
    if missing > 0:
        declared = headers.get_header("Content-Length")
        return RecordRejected(
            "",
            "truncated_record",
            f"input ends {missing} bytes short of the declared Content-Length {declared} (file cut short)",
            sample_of(payload),
        )
    kind = (content_type or "").split(";")[0].strip().lower()
    if rec_type == "conversion" or kind == "text/plain":
        is_html = False
    elif "html" in kind or (not kind and payload.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))):
        is_html = True
    else:
        return RecordRejected("", "non_html_payload", f"Content-Type {content_type!r} ({url})", "")
    if _looks_binary(payload):
        return RecordRejected("", "non_html_payload", f"binary content labelled {content_type!r} ({url})", "")
    return RawRecord(
        locator="",
        payload=payload,
        is_html=is_html,
        url=url,
        source_id=record_id,
        timestamp=headers.get_header("WARC-Date"),
        charset=_charset(content_type),
        meta=meta,
    )
