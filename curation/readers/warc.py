"""WARC and WET: ``response``/``resource`` records with HTML or text, and WET ``conversion`` records.

Two layouts: one gzip member per record (or uncompressed) can be split at record offsets and read
from any of them; a file compressed as ONE gzip stream is read through a decompressing stream and
split by record index. Truncation is detected per record: warcio reads a cut record silently, so
the bytes still owed by its declared Content-Length are checked after reading.
"""

from __future__ import annotations

from collections.abc import Iterator

from curation.readers.records import InputFailed, RawRecord, RecordRejected, Split
from curation.readers.streams import open_decompressed
from curation.schema import sample_of

DOCUMENT_TYPES = ("response", "resource", "conversion")


def record_offsets(path: str) -> list[int]:
    """Offsets of every record start (seekable layouts only); used to plan splits of big files."""
    from warcio.archiveiterator import ArchiveIterator

    offsets: list[int] = []
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh)
        try:
            for _ in iterator:
                offsets.append(iterator.get_record_offset())
        except Exception:  # noqa: BLE001 - the reader reports the break with its offset
            pass
    return offsets


def count_records(path: str, compression: str) -> int:
    from warcio.archiveiterator import ArchiveIterator

    count = 0
    try:
        with open_decompressed(path, compression) as fh:
            for _ in ArchiveIterator(fh):
                count += 1
    except Exception:  # noqa: BLE001 - counted up to the break; the reader reports it
        pass
    return count


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"' ").lower()
    return None


def read_warc(split: Split, max_html_bytes: int) -> Iterator[RawRecord | RecordRejected | InputFailed]:
    from warcio.archiveiterator import ArchiveIterator

    seekable = split.layout in ("members", "plain")
    if seekable:
        stream = open(split.path, "rb")
        stream.seek(split.start if split.unit == "byte" else 0)  # warcio's offsets start at tell()
    else:
        stream = open_decompressed(split.path, "gzip" if split.layout == "stream" else split.layout)
    index = -1
    locator = f"offset={split.start}" if seekable else "record=0"
    try:
        iterator = ArchiveIterator(stream)
        for record in iterator:
            index += 1
            # Read the payload first: warcio's get_record_offset() skips to the record's end.
            result = _read_record(record, max_html_bytes)
            if seekable:
                offset = iterator.get_record_offset()
                if split.unit == "byte" and split.stop is not None and offset >= split.stop:
                    return
                locator = f"offset={offset}"
            else:
                if split.unit == "record" and index < split.start:
                    continue
                if split.unit == "record" and split.stop is not None and index >= split.stop:
                    return
                locator = f"record={index}"
            result.locator = locator
            yield result
        if index < 0 and split.start == 0:
            yield InputFailed(locator, "empty_input", "no WARC records in file")
    except (EOFError, OSError) as exc:
        yield InputFailed(locator, "truncated_input", f"compressed stream ends early after {locator} ({exc})")
    except Exception as exc:  # noqa: BLE001 - warcio raises many types on corrupt headers
        yield InputFailed(locator, "unreadable_input", f"cannot parse WARC after {locator}: {exc}".replace("\n", " "))
    finally:
        stream.close()


def _read_record(record, max_html_bytes: int) -> RawRecord | RecordRejected:
    headers = record.rec_headers
    rec_type = record.rec_type
    if rec_type not in DOCUMENT_TYPES:
        return RecordRejected("", "warc_record_skipped", f"WARC-Type {rec_type}", "")
    url = headers.get_header("WARC-Target-URI")
    record_id = (headers.get_header("WARC-Record-ID") or "").strip("<>").removeprefix("urn:uuid:") or None
    meta = {"warc_type": rec_type}
    http_headers = record.http_headers
    if (
        rec_type == "response"
        and http_headers is None
        and "application/http" in (headers.get_header("Content-Type") or "")
    ):
        # warcio parses HTTP headers only for http(s) target URIs; other URIs still carry them.
        from warcio.statusandheaders import StatusAndHeadersParser, StatusAndHeadersParserException

        try:
            http_headers = StatusAndHeadersParser(["HTTP/1.0", "HTTP/1.1"]).parse(record.raw_stream)
        except StatusAndHeadersParserException as exc:
            return RecordRejected("", "non_html_payload", f"unparseable HTTP headers ({exc}) ({url})", "")
    if rec_type == "response" and http_headers is not None:
        status = http_headers.get_statuscode()
        content_type = http_headers.get_header("Content-Type")
        meta["http_status"] = status
        if not str(status).startswith("2"):
            return RecordRejected("", "http_status", f"HTTP status {status} for {url}", "")
    else:
        content_type = headers.get_header("Content-Type")
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
