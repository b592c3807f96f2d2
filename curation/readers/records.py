"""What readers yield: a raw record, a rejected record, or a failure of the input itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Split:
    """A unit of ingest work: a whole input file or a range of its records.

    ``unit`` says how ``start``/``stop`` count: ``byte`` (seekable offsets of record starts),
    ``record`` (record index in a stream that cannot seek), ``row_group`` (Parquet), or ``all``.
    """

    index: int
    path: str
    fmt: str
    layout: str
    unit: str = "all"
    start: int = 0
    stop: int | None = None
    source: str = ""

    @property
    def key(self) -> str:
        return f"{self.index:06d}"


@dataclass
class RawRecord:
    locator: str
    payload: bytes | str
    is_html: bool
    url: str | None = None
    source_id: str | None = None
    timestamp: Any = None
    charset: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class RecordRejected:
    """An input record that cannot become a document, with a reason code from REJECT_REASONS."""

    locator: str
    reason: str
    detail: str
    sample: str = ""


@dataclass
class InputFailed:
    """The input itself broke (cut short, unreadable); records after this point cannot be read."""

    locator: str
    reason: str
    detail: str


def one_line(message: object, limit: int = 300) -> str:
    """An error message as one printable line of at most `limit` characters: libraries quote what they could
    not parse (control bytes, whole header lines) and some span several lines."""
    from curation.schema import sample_of

    return sample_of(" ".join(str(message).split()), limit)


# Record-level reasons: each rejected record carries exactly one.
REJECT_REASONS = {
    "warc_record_skipped": "WARC record that is not a document (request, metadata, warcinfo, revisit)",
    "http_status": "HTTP response whose status is not 2xx",
    "non_html_payload": "response whose payload is neither HTML nor plain text (images, PDF, ...)",
    "truncated_record": "record cut short by the end of its input (declared length not reached)",
    "malformed_record": "a WARC record whose headers cannot be parsed (WARC or HTTP headers, Content-Length); "
    "reading goes on at the next record where the file can be searched for one",
    "wrong_content_length": "a WARC record not followed by the blank line that ends a record: its Content-Length "
    "is wrong, so its content is not trusted",
    "html_too_large": "HTML payload larger than --max-html-mb; not extracted",
    "extraction_failed": "the HTML extractor raised an error",
    "extraction_timeout": "the HTML extractor exceeded --extraction-timeout",
    "html_too_deep": "HTML nested deeper than the extractor handles in bounded time (see curation.text.extract)",
    "no_main_text": "the extractor found no main text in the page",
    "malformed_json": "a JSONL line that is not valid JSON",
    "not_an_object": "a JSONL line whose value is not a JSON object",
    "missing_text": "no text field, or a null one",
    "bad_field_type": "a field of the wrong type (text not a string, id not a string or integer, ...)",
    "record_too_large": "a raw record larger than --max-record-mb; skipped without being parsed",
    "invalid_utf8": "more undecodable bytes than --max-invalid-utf8 allows",
    "too_large": "document text larger than --max-text-mb after normalisation",
    "empty_text": "no text left after normalisation (empty or whitespace only)",
    "processing_failed": "an unexpected error while converting this record (the detail names it)",
    "duplicate_id": "a second record with an id already kept (the first by input order is kept)",
}

# Input-level reasons: the file itself, not a record.
INPUT_FAILURES = {
    "truncated_input": "the compressed stream ended early; records before the cut were read",
    "unreadable_input": "the file could not be parsed past this point",
    "wrong_schema": "a Parquet file without the configured text column (or of the wrong type)",
    "empty_input": "the file holds no records",
    "unknown_format": "the format could not be told by extension or magic bytes (use --format)",
}
