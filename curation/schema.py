"""The one versioned Arrow schema for documents, and the schema of reject rows."""

from __future__ import annotations

import pyarrow as pa

DOCUMENT_SCHEMA_VERSION = 1
REJECT_SCHEMA_VERSION = 1

DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("source", pa.string()),
        pa.field("timestamp", pa.timestamp("us", tz="UTC")),
        pa.field("lang", pa.string()),
        pa.field("lang_score", pa.float32()),
        pa.field("n_bytes", pa.int64(), nullable=False),
        pa.field("meta", pa.string()),
    ],
    metadata={"curation.schema": "document", "curation.schema_version": str(DOCUMENT_SCHEMA_VERSION)},
)

# Every input record that does not become a document becomes one of these rows.
REJECT_SCHEMA = pa.schema(
    [
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("locator", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
        pa.field("sample", pa.string()),
    ],
    metadata={"curation.schema": "reject", "curation.schema_version": str(REJECT_SCHEMA_VERSION)},
)

SAMPLE_CHARS = 200


def sample_of(value: str | bytes | None, limit: int = SAMPLE_CHARS) -> str:
    """A short, printable excerpt of a rejected record for humans reading rejects/."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value[: limit * 4].decode("utf-8", errors="replace")
    excerpt = value[:limit]
    return "".join(ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in excerpt)
