"""Generated malformed inputs, each with the outcome ingest must produce (reason -> count).

Built from scratch so the tests know the exact answer; the real quirky files in ../shared/data/web
are tested beside them. Sizes are scaled down with the matching --max-*-mb options in the tests.
``tests/reliability_bad_inputs/corpus.py`` builds the whole-pipeline corpus (every kind of bad input,
one file or more per kind) from the pieces defined here.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

GOOD_TEXT = "A perfectly ordinary paragraph about bread baking, with enough words to be a document."

# The options the tests pass so that the "enormous" cases stay small on disk.
OPTIONS = {"max_record_mb": 0.05, "max_text_mb": 0.02}

# JSON Lines by kind of problem: (line, the reason ingest rejects it with, or None when it is kept).
JSONL_KINDS: dict[str, list[tuple[bytes, str | None]]] = {
    "jsonl_valid": [
        (json.dumps({"id": "good-1", "text": GOOD_TEXT, "url": "https://a.example/1"}).encode(), None),
        (json.dumps({"text": GOOD_TEXT + " no id given", "url": "https://a.example/2"}).encode(), None),
        (json.dumps({"id": 7, "text": "Integer ids are accepted and stored as strings."}).encode(), None),
    ],
    "nul_bytes": [
        (json.dumps({"id": "nul", "text": "NUL\u0000bytes\u0000inside are removed."}).encode(), None),
        (json.dumps({"id": "control-only", "text": "\u0000\u0001\u0002"}).encode(), "empty_text"),
    ],
    "invalid_utf8": [
        (
            b'{"id": "bad-utf8-light", "text": "one bad byte \xff in a long enough line of otherwise fine text, '
            b'long enough that a single replacement stays under the one percent threshold of the limit........."}',
            None,
        ),
        (b'{"id": "bad-utf8-heavy", "text": "\xff\xfe\xfd\xfc\xfb\xfa garbage \xff\xfe\xfd"}', "invalid_utf8"),
    ],
    "malformed_json": [
        (b'{"id": "broken", "text": "unterminated', "malformed_json"),
        (b"[1, 2, 3]", "not_an_object"),
    ],
    "json_wrong_types": [
        (json.dumps({"id": "no-text", "body": "wrong field"}).encode(), "missing_text"),
        (json.dumps({"id": "null-text", "text": None}).encode(), "missing_text"),
        (json.dumps({"id": "int-text", "text": 12345}).encode(), "bad_field_type"),
        (json.dumps({"id": {"nested": 1}, "text": GOOD_TEXT}).encode(), "bad_field_type"),
        (json.dumps({"id": "url-int", "text": GOOD_TEXT, "url": 5}).encode(), "bad_field_type"),
    ],
    "empty_text": [
        (json.dumps({"id": "empty", "text": ""}).encode(), "empty_text"),
        (json.dumps({"id": "blank", "text": " \n\t \u00a0 \n"}).encode(), "empty_text"),
    ],
    "oversized_records": [
        (json.dumps({"id": "huge-line", "text": "x" * 60_000}).encode(), "record_too_large"),
        (json.dumps({"id": "big-doc", "text": "word " * 8_000}).encode(), "too_large"),
    ],
    "duplicate_ids": [
        (json.dumps({"id": "good-1", "text": "same id as the first line, so a duplicate"}).encode(), "duplicate_id"),
    ],
    "unicode_edge_cases": [
        (json.dumps({"id": "unicode", "text": "Cafe\u0301 \u2028 \ud83d\ude00 \u202e edge cases"}).encode(), None),
    ],
}
JSONL_LINES: list[tuple[bytes, str | None]] = [line for lines in JSONL_KINDS.values() for line in lines]


def warc_page(title: str = "Sourdough") -> str:
    """An article page with boilerplate around it: the extractor keeps the article."""
    return (
        f"<html><head><title>T</title></head><body><nav>Home | About</nav><article><h1>{title}</h1>"
        + "".join(
            f"<p>Paragraph {i} explains how a starter ferments flour and water over several days.</p>" for i in range(8)
        )
        + "</article><footer>Copyright</footer></body></html>"
    )


def generated_warc() -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)

    def response(url: str, status: str, content_type: str, body: bytes) -> None:
        headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers))

    page = warc_page()
    response("https://w.example/page", "200 OK", "text/html; charset=utf-8", page.encode())
    response("https://w.example/image.png", "200 OK", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    response("https://w.example/missing", "404 Not Found", "text/html", b"<html><body>Not found</body></html>")
    response("https://w.example/empty", "200 OK", "text/html", b"<html><body></body></html>")
    response(
        "https://w.example/odd-charset",
        "200 OK",
        "text/html; charset=utf8mb4",
        page.replace("Sourdough", "Rye").encode(),
    )
    writer.write_record(
        writer.create_warc_record("https://w.example/page", "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"))
    )
    return buffer.getvalue()


# reason -> count expected from the WARC file above
WARC_EXPECTED = {"kept": 2, "non_html_payload": 1, "http_status": 1, "no_main_text": 1, "warc_record_skipped": 1}


def mixed_jsonl() -> bytes:
    return b"\n".join(line for line, _ in JSONL_LINES) + b"\n\n"


CUT_GZIP_LINES = 50


def cut_jsonl_gz() -> bytes:
    """50 good lines, gzip-compressed, cut in the middle of the compressed stream."""
    good = "\n".join(json.dumps({"id": f"gz-{i}", "text": f"{GOOD_TEXT} number {i}"}) for i in range(CUT_GZIP_LINES))
    compressed = gzip.compress(good.encode(), mtime=0)
    return compressed[: len(compressed) // 2]


def cut_jsonl_gz_kept() -> int:
    """How many whole lines the cut stream above still holds (the partial last one is lost with the cut)."""
    import zlib

    return zlib.decompressobj(wbits=31).decompress(cut_jsonl_gz()).count(b"\n")


def fine_jsonl_zst() -> bytes:
    import zstandard

    lines = "\n".join(json.dumps({"id": f"zst-{i}", "text": f"{GOOD_TEXT} zstd {i}"}) for i in range(5))
    return zstandard.ZstdCompressor().compress(lines.encode())


def parquet_bytes(columns: dict) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


# file name -> its bytes
BAD_FILES = {
    "mixed.jsonl": mixed_jsonl,
    "cut.jsonl.gz": cut_jsonl_gz,
    "fine.jsonl.zst": fine_jsonl_zst,
    "empty.jsonl": lambda: b"",
    "noise.bin": lambda: bytes(range(256)) * 4,
    "pages.warc.gz": generated_warc,
    "wrong-schema.parquet": lambda: parquet_bytes({"content": ["no text column here"], "id": ["p1"]}),
    "rows.parquet": lambda: parquet_bytes({"text": [GOOD_TEXT + " parquet", None], "id": ["pq-1", "pq-2"]}),
}


def write_bad_inputs(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, build in BAD_FILES.items():
        (root / name).write_bytes(build())
    return root


def jsonl_expected() -> dict[str, int]:
    expected: dict[str, int] = {}
    for _, reason in JSONL_LINES:
        key = reason or "kept"
        expected[key] = expected.get(key, 0) + 1
    return expected
