"""The bad-input corpus: every kind of malformed input issue #8 names, each with the outcome ingest must give.

Every file is generated here (from the pieces in ``tests/bad_inputs.py``), so each kind's outcome is known
exactly: how many records are kept, how many are rejected for each reason, which input errors are reported.
``KINDS`` lists them; ``write_corpus(root)`` writes them under ``root``, one or more files per kind, named
``NN-kind-...`` so that input order (which decides the first of two duplicate ids) is kind order. The real
quirky files of ../shared/data/web (``REAL_FILES``) are run beside them: their outcome is not known in advance,
but their counts must reconcile too.

Scale. The "50 MB single document" is generated at full size (``full_size=True``: 50 MiB, as the benchmark
``benchmarks/reliability_bad_inputs.py`` does) or, in CI, at 1.5 MiB; the limits it exceeds (``options()``:
--max-record-mb, --max-html-mb) are scaled with it, so the outcome is the same at both sizes. The other
"enormous" cases (a 60 kB line, a 40 kB text) are sized for ``tests.bad_inputs.OPTIONS``.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.bad_inputs import (
    GOOD_TEXT,
    JSONL_KINDS,
    OPTIONS,
    WARC_EXPECTED,
    cut_jsonl_gz,
    cut_jsonl_gz_kept,
    fine_jsonl_zst,
    generated_warc,
    parquet_bytes,
    warc_page,
)

HUGE_MB = {False: 1.5, True: 50.0}  # the "50 MB single document": CI size, full size
# The real quirky files of ../shared/data/web: Common Crawl WARCs with request/metadata/non-HTML records, a WET
# compressed as one gzip stream, a WET cut short. The clean bulk ones (1,000 C4 lines, 923 trafilatura pages,
# 26 MB) only cost time in CI, so the benchmark adds them.
REAL_FILES = (
    "cc-sample-a.warc.gz",
    "cc-sample-b.warc.gz",
    "cc-main-2016-50-sample.warc.wet.gz",
    "cc-main-2017-30-sample.truncated.warc.wet.gz",
)
BIG_REAL_FILES = ("c4-en-sample-1000.jsonl.gz", "trafilatura-eval-pages.warc.gz")


def options(full_size: bool = False) -> dict[str, float]:
    """Ingest options for the corpus: ``OPTIONS``, and an HTML limit under the huge document's size."""
    return {**OPTIONS, "max_html_mb": 8.0 if full_size else 1.0}


@dataclass(frozen=True)
class Outcome:
    """What ingest must make of a kind's files: documents kept, rejects by reason, input errors by reason."""

    kept: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    input_errors: dict[str, int] = field(default_factory=dict)

    @property
    def records(self) -> int:
        return self.kept + sum(self.rejected.values())

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(
            self.kept + other.kept,
            dict(Counter(self.rejected) + Counter(other.rejected)),
            dict(Counter(self.input_errors) + Counter(other.input_errors)),
        )


Builder = Callable[[bool], bytes]  # full_size -> the file's bytes


@dataclass(frozen=True)
class Kind:
    name: str
    covers: str  # what of the list it is
    files: dict[str, tuple[Builder, Outcome]]  # file name suffix -> (bytes, its outcome)
    control: bool = False  # well-formed input kept beside the bad ones, not a kind of bad input

    @property
    def expected(self) -> Outcome:
        total = Outcome()
        for _, outcome in self.files.values():
            total = total + outcome
        return total


# ---------------------------------------------------------------------------------------------- JSON Lines
def _lines(*lines: bytes, end: bytes = b"\n") -> bytes:
    return b"\n".join(lines) + end


def _json(**fields) -> bytes:
    return json.dumps(fields).encode()


def _jsonl_kind(kind: str, extra: list[tuple[bytes, str | None]] = ()) -> tuple[Builder, Outcome]:
    """The lines of ``JSONL_KINDS[kind]`` (shared with tests/bad_inputs.py's mixed.jsonl), plus `extra`."""
    pairs = [*JSONL_KINDS[kind], *extra]
    reasons = Counter(reason for _, reason in pairs if reason)
    kept = sum(1 for _, reason in pairs if reason is None)
    return (lambda full: _lines(*(line for line, _ in pairs))), Outcome(kept, dict(reasons))


def _doc(doc_id: str, words: str = "") -> bytes:
    return _json(id=doc_id, text=f"{GOOD_TEXT} {words or doc_id}")


def _gzip_members(*parts: bytes) -> bytes:
    return b"".join(gzip.compress(part, mtime=0) for part in parts)


def _cut_zstd() -> bytes:
    """Two zstd frames of 5 lines each, the second cut in half: the first frame's lines survive."""
    import zstandard

    frames = [
        zstandard.ZstdCompressor().compress(
            _lines(*(_doc(f"zcut-{f}-{i}", f"zstd frame {f} line {i}") for i in range(5)))
        )
        for f in range(2)
    ]
    return frames[0] + frames[1][: len(frames[1]) // 2]


def _strings(values: list[str]):
    import pyarrow as pa

    return pa.array(values, pa.string())


def _noise(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(n))


def _noise_jsonl_outcome() -> Outcome:
    """Random bytes read as JSON Lines: every line with something besides whitespace is malformed JSON."""
    lines = [line for line in _noise(4096, 2).split(b"\n") if line.strip()]
    return Outcome(0, {"malformed_json": len(lines)})


# ---------------------------------------------------------------------------------------------- WARC / WET
_ids = Counter()


def warc_record(
    block: bytes,
    *,
    rtype: str = "response",
    uri: str = "https://w.example/page",
    content_type: str = "application/http; msgtype=response",
    length: str | int | None = None,
    version: str = "WARC/1.0",
    date: str = "2024-01-01T00:00:00Z",
    extra: bytes = b"",
) -> bytes:
    """One WARC record, written by hand so that any header can be wrong."""
    _ids[uri] += 1
    record_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{uri}#{_ids[uri]}")
    head = (
        f"{version}\r\nWARC-Type: {rtype}\r\nWARC-Record-ID: <urn:uuid:{record_id}>\r\nWARC-Date: {date}\r\n"
        f"WARC-Target-URI: {uri}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(block) if length is None else length}\r\n"
    ).encode()
    return head + extra + b"\r\n" + block + b"\r\n\r\n"


def http_block(body: bytes, status: str = "200 OK", content_type: str = "text/html; charset=utf-8") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def page(uri: str, title: str | None = None, **options) -> bytes:
    """A good HTML response (kept): an article whose title is the last part of its URI."""
    return warc_record(http_block(warc_page(title or uri.rsplit("/", 1)[-1]).encode()), uri=uri, **options)


def conversion(uri: str, text: bytes, content_type: str = "text/plain") -> bytes:
    return warc_record(text, rtype="conversion", uri=uri, content_type=content_type)


def members(*records: bytes) -> bytes:
    """One gzip member per record: the usual .warc.gz layout (seekable)."""
    return _gzip_members(*records)


def one_stream(*records: bytes) -> bytes:
    """All records in ONE gzip stream, as some WET excerpts are."""
    return gzip.compress(b"".join(records), mtime=0)


def _warcinfo() -> bytes:
    return warc_record(
        b"software: curation-tests\r\n", rtype="warcinfo", uri="", content_type="application/warc-fields"
    )


def _nested(depth: int, closed: bool = True) -> bytes:
    text = "<p>Deep text inside many elements, with enough words to be a document of its own.</p>"
    if closed:
        return f"<html><body>{'<div>' * depth}{text}{'</div>' * depth}</body></html>".encode()
    return f"<html><body>{'<div><span><b>' * depth}{text}".encode()


def _huge(full: bool) -> int:
    return int(HUGE_MB[full] * (1 << 20))


def too_long(record: bytes, extra: int) -> bytes:
    """`record` with a Content-Length `extra` bytes longer than its block."""
    head, _, rest = record.partition(b"Content-Length: ")
    length, _, tail = rest.partition(b"\r\n")
    return head + b"Content-Length: " + str(int(length) + extra).encode() + b"\r\n" + tail


def too_short(record: bytes, length: int) -> bytes:
    head, _, rest = record.partition(b"Content-Length: ")
    _, _, tail = rest.partition(b"\r\n")
    return head + b"Content-Length: " + str(length).encode() + b"\r\n" + tail


def cut_stream(records: list[bytes], keep: float = 0.5) -> bytes:
    """`records` in one gzip stream, flushed after each, cut `keep` of the way into the last one's bytes:
    what a reader can decompress is exactly the records before it and that part of the last."""
    import zlib

    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = b"".join(deflate.compress(record) + deflate.flush(zlib.Z_FULL_FLUSH) for record in records[:-1])
    last = records[-1]
    return data + deflate.compress(last[: int(len(last) * keep)]) + deflate.flush(zlib.Z_FULL_FLUSH)


def _cut_warc_members() -> bytes:
    """Three records, one gzip member each, the file cut in the middle of the third record's page."""
    return members(page("https://cut.example/a"), page("https://cut.example/b")) + cut_stream(
        [page("https://cut.example/c")], keep=0.6
    )


def _cut_wet_stream() -> bytes:
    """A single-stream WET cut in the middle of its third record's text."""
    texts = [f"Converted text {i}. " * 40 for i in range(3)]
    return cut_stream([conversion(f"https://cutwet.example/{i}", text.encode()) for i, text in enumerate(texts)])


def _http_with_encoding(body: bytes, encoding: str, raw: bytes | None = None) -> bytes:
    compressed = raw if raw is not None else gzip.compress(body, mtime=0)
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: {encoding}\r\n"
        f"Content-Length: {len(compressed)}\r\n\r\n"
    )
    return head.encode() + compressed


# ---------------------------------------------------------------------------------------------- the kinds
def _kinds() -> list[Kind]:
    ok = Outcome(1)
    return [
        Kind(
            "jsonl_valid",
            "well-formed JSON Lines (a control; its ids are repeated by duplicate_ids)",
            {"lines.jsonl": _jsonl_kind("jsonl_valid")},
            control=True,
        ),
        Kind(
            "nul_bytes",
            "NUL bytes: escaped in JSON strings (removed), raw in a JSON string or a line, in an HTML page",
            {
                "lines.jsonl": _jsonl_kind(
                    "nul_bytes",
                    [
                        (b'{"id": "raw-nul", "text": "a raw NUL \x00 inside a JSON string"}', "malformed_json"),
                        (b"\x00\x00\x00", "malformed_json"),
                    ],
                ),
                "page.warc.gz": (
                    lambda full: members(
                        warc_record(
                            http_block(warc_page("NUL bytes").replace("<p>", "<p>\x00").encode()),
                            uri="https://nul.example/page",
                        )
                    ),
                    ok,
                ),
            },
        ),
        Kind(
            "invalid_utf8",
            "invalid UTF-8: a stray byte (kept), mostly garbage, overlong and surrogate encodings, in WET text",
            {
                "lines.jsonl": _jsonl_kind(
                    "invalid_utf8",
                    [(b'{"id": "overlong", "text": "\xc0\xaf\xe0\x80\xaf\xed\xa0\x80\xed\xbf\xbf"}', "invalid_utf8")],
                ),
                "text.warc.wet.gz": (
                    lambda full: one_stream(
                        conversion("https://utf8.example/bad", b"\xff\xfe garbage \xfd\xfc" * 5),
                        conversion("https://utf8.example/ok", "Caf\u00e9 na\u00efve text, fine.".encode()),
                    ),
                    Outcome(1, {"invalid_utf8": 1}),
                ),
            },
        ),
        Kind(
            "malformed_json",
            "JSON that does not parse: cut, trailing garbage, 20,000 levels of nesting, not an object",
            {
                "lines.jsonl": _jsonl_kind(
                    "malformed_json",
                    [
                        (_doc("trailing") + b" and then some", "malformed_json"),
                        (b'{"id": "deep", "n": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", "malformed_json"),
                        (b'"just a string"', "not_an_object"),
                        (b"null", "not_an_object"),
                        (_doc("after-the-bad-ones"), None),
                    ],
                )
            },
        ),
        Kind(
            "json_wrong_types",
            "JSON with wrong types: text null/number/list, id object/bool, url number, odd timestamps",
            {
                "lines.jsonl": _jsonl_kind(
                    "json_wrong_types",
                    [
                        (_json(id=True, text=GOOD_TEXT), "bad_field_type"),
                        (_json(id="list-text", text=["a", "b"]), "bad_field_type"),
                        (_json(id="ts-object", text=GOOD_TEXT + " ts", timestamp={"year": 2024}), None),
                        (_json(id="ts-huge", text=GOOD_TEXT + " huge ts", timestamp=1e300), None),
                        (_json(id=10**30, text=GOOD_TEXT + " big integer id"), None),
                        (_json(id="", text=GOOD_TEXT + " empty id"), None),
                    ],
                )
            },
        ),
        Kind(
            "empty_text",
            "records with no text: empty, whitespace and control characters only",
            {"lines.jsonl": _jsonl_kind("empty_text")},
        ),
        Kind(
            "oversized_records",
            "a line over --max-record-mb, a text over --max-text-mb",
            {"lines.jsonl": _jsonl_kind("oversized_records")},
        ),
        Kind(
            "duplicate_ids",
            "duplicate ids: of an earlier kind's line, three times in one file, across two files, 7 and '7'",
            {
                "a.jsonl": _jsonl_kind(
                    "duplicate_ids",
                    [
                        (_doc("dup-x", "first"), None),
                        (_doc("dup-x", "second"), "duplicate_id"),
                        (_doc("dup-x", "third"), "duplicate_id"),
                        (_doc("dup-y", "in file a"), None),
                        (_json(id="7", text="the string id 7 repeats the integer id 7 of jsonl_valid"), "duplicate_id"),
                    ],
                ),
                "b.jsonl": (lambda full: _lines(_doc("dup-y", "in file b")), Outcome(0, {"duplicate_id": 1})),
            },
        ),
        Kind(
            "unicode_edge_cases",
            "Unicode edge cases: byte-order mark, lone surrogates in id/url/keys, NFD, RTL, U+2028, CRLF, emoji",
            {
                "lines.jsonl": _jsonl_kind(
                    "unicode_edge_cases",
                    [
                        (b'{"id": "lone-\\ud800", "text": "a lone surrogate in the id"}', None),
                        (b'{"id": "lone-url", "text": "one in the url", "url": "https://x.example/\\udc80"}', None),
                        (b'{"id": "lone-key", "text": "and one in a key", "k\\udc00": 1}', None),
                        (b'{"id": "lone-text", "text": "and one in the text \\udfff"}', None),
                        (_json(id="nfd", text="e\u0301te\u0301 de\u0301compose\u0301"), None),
                        (_json(id="noncharacters", text="\ufffe\uffff\U0010ffff and text"), None),
                        ('{"id": "raw-u2028", "text": "raw\u2028separator"}'.encode(), None),
                        (_json(id="crlf", text=GOOD_TEXT) + b"\r", None),
                    ],
                ),
                "bom.jsonl": (lambda full: b"\xef\xbb\xbf" + _lines(_doc("bom-1"), _doc("bom-2")), Outcome(2)),
            },
        ),
        Kind(
            "truncated_gzip",
            "truncated gzip: JSON Lines, a one-member-per-record WARC and a single-stream WET, each cut",
            {
                "cut.jsonl.gz": (lambda full: cut_jsonl_gz(), Outcome(cut_jsonl_gz_kept(), {}, {"truncated_input": 1})),
                "cut.warc.gz": (lambda full: _cut_warc_members(), Outcome(2, {"truncated_record": 1})),
                "cut.warc.wet.gz": (lambda full: _cut_wet_stream(), Outcome(2, {"truncated_record": 1})),
            },
        ),
        Kind(
            "truncated_zstd",
            "a zstd JSON Lines file whose second frame is cut",
            {"cut.jsonl.zst": (lambda full: _cut_zstd(), Outcome(5, {}, {"truncated_input": 1}))},
        ),
        Kind(
            "concatenated_gzip",
            "concatenated (multi-member) gzip: JSON Lines in 3 members, a WET made of 2 single-stream files",
            {
                "lines.jsonl.gz": (
                    lambda full: _gzip_members(
                        *(_lines(*(_doc(f"member-{m}-{i}") for i in range(3))) for m in range(3))
                    ),
                    Outcome(9),
                ),
                "two-streams.warc.wet.gz": (
                    lambda full: (
                        one_stream(
                            _warcinfo(),
                            *(conversion(f"https://cat.example/a{i}", GOOD_TEXT.encode()) for i in range(2)),
                        )
                        + one_stream(*(conversion(f"https://cat.example/b{i}", GOOD_TEXT.encode()) for i in range(2)))
                    ),
                    Outcome(4, {"warc_record_skipped": 1}),
                ),
            },
        ),
        Kind(
            "compressed_zstd",
            "zstd-compressed JSON Lines (a control)",
            {"fine.jsonl.zst": (lambda full: fine_jsonl_zst(), Outcome(5))},
            control=True,
        ),
        Kind(
            "empty_files",
            "empty files: 0-byte JSONL, WARC.gz and Parquet, gzip of nothing, blank lines only, a 0-row Parquet",
            {
                "empty.jsonl": (lambda full: b"", Outcome(0, {}, {"empty_input": 1})),
                "empty.warc.gz": (lambda full: b"", Outcome(0, {}, {"empty_input": 1})),
                "empty.parquet": (lambda full: b"", Outcome(0, {}, {"unreadable_input": 1})),
                "nothing.jsonl.gz": (lambda full: gzip.compress(b"", mtime=0), Outcome(0, {}, {"empty_input": 1})),
                "blank-lines.jsonl": (lambda full: b"\n \n\t\r\n\n", Outcome(0, {}, {"empty_input": 1})),
                "no-rows.parquet": (
                    lambda full: parquet_bytes({"text": _strings([])}),
                    Outcome(0, {}, {"empty_input": 1}),
                ),
            },
        ),
        Kind(
            "zero_byte_records",
            "zero-byte records: WARC response/resource/conversion with Content-Length 0, empty JSONL lines",
            {
                "records.warc.gz": (
                    lambda full: members(
                        page("https://zero.example/before"),
                        warc_record(b"", uri="https://zero.example/response"),
                        warc_record(
                            b"", rtype="resource", uri="https://zero.example/resource", content_type="text/html"
                        ),
                        warc_record(b"", rtype="request", uri="https://zero.example/request"),
                        page("https://zero.example/after"),
                    ),
                    Outcome(2, {"empty_text": 2, "warc_record_skipped": 1}),
                ),
                "records.warc.wet.gz": (
                    lambda full: one_stream(
                        conversion("https://zero.example/wet-before", GOOD_TEXT.encode()),
                        conversion("https://zero.example/wet-empty", b""),
                        conversion("https://zero.example/wet-after", GOOD_TEXT.encode() + b" after"),
                    ),
                    Outcome(2, {"empty_text": 1}),
                ),
                "lines.jsonl": (
                    lambda full: b"\n\n" + _doc("between-blank-1") + b"\n\n\n" + _doc("between-blank-2") + b"\n\n",
                    Outcome(2),
                ),
            },
        ),
        Kind(
            "binary_noise",
            "binary noise: unknown format, random bytes named .jsonl / .warc.gz, gzip magic then garbage",
            {
                "noise.bin": (lambda full: bytes(range(256)) * 4, Outcome(0, {}, {"unknown_format": 1})),
                "noise.jsonl": (lambda full: _noise(4096, 2), _noise_jsonl_outcome()),
                "noise.warc.gz": (lambda full: _noise(4096, 3), Outcome(0, {}, {"unreadable_input": 1})),
                "noise.jsonl.gz": (
                    lambda full: b"\x1f\x8b\x08\x00" + _noise(4096, 4),
                    Outcome(0, {}, {"unreadable_input": 1}),
                ),
            },
        ),
        Kind(
            "binary_payloads",
            "binary payloads in WARC: PNG, PDF, binary labelled text/html or unlabelled; gzip Content-Encoding",
            {
                "payloads.warc.gz": (
                    lambda full: members(
                        warc_record(
                            http_block(_noise(3000, 5), content_type="image/png"), uri="https://bin.example/png"
                        ),
                        warc_record(
                            http_block(b"%PDF-1.4\n" + _noise(3000, 6), content_type="application/pdf"),
                            uri="https://bin.example/pdf",
                        ),
                        warc_record(http_block(_noise(3000, 7)), uri="https://bin.example/labelled-html"),
                        warc_record(http_block(_noise(3000, 8), content_type=""), uri="https://bin.example/unlabelled"),
                        warc_record(
                            _http_with_encoding(warc_page("Gzip encoded").encode(), "gzip"),
                            uri="https://bin.example/gzip-encoded",
                        ),
                    ),
                    Outcome(1, {"non_html_payload": 4}),
                ),
            },
        ),
        Kind(
            "warc_http_and_charset",
            "WARC with a 404, an image, a page with no main text, an unknown charset, a request record",
            {
                "pages.warc.gz": (
                    lambda full: generated_warc(),
                    Outcome(WARC_EXPECTED["kept"], {k: v for k, v in WARC_EXPECTED.items() if k != "kept"}, {}),
                )
            },
        ),
        Kind(
            "corrupted_warc_headers",
            "corrupted WARC headers: bad version lines, no colon, bad WARC-Date, Content-Length 'abc', "
            "unknown WARC-Type, garbage HTTP headers; per-record gzip, uncompressed, and one stream",
            {
                "members.warc.gz": (
                    lambda full: members(
                        page("https://hdr.example/m1"),
                        page("https://hdr.example/m-bad-version", version="WARC/9.9"),
                        page("https://hdr.example/m2"),
                        page("https://hdr.example/m-no-colon", extra=b"This header line has no colon\r\n"),
                        page("https://hdr.example/m-bad-date", date="yesterday at noon"),
                        page("https://hdr.example/m-bad-length", length="abc"),
                        page("https://hdr.example/m-unknown-type", rtype="frobnicate"),
                        warc_record(
                            b"\x00\x01 not an HTTP status line\r\n\x7f\r\n\r\nbody",
                            uri="dns:hdr.example",
                        ),
                        page("https://hdr.example/m3"),
                    ),
                    Outcome(5, {"malformed_record": 3, "warc_record_skipped": 1}),
                ),
                "plain.warc": (
                    lambda full: (
                        page("https://hdr.example/p1")
                        + page("https://hdr.example/p-garbage", version="GARBAGE LINE")
                        + page("https://hdr.example/p2")
                    ),
                    Outcome(2, {"malformed_record": 1}),
                ),
                "stream.warc.gz": (
                    lambda full: one_stream(
                        page("https://hdr.example/s1"),
                        page("https://hdr.example/s-bad-version", version="WARC/0.0"),
                        page("https://hdr.example/s-lost"),
                    ),
                    Outcome(1, {}, {"unreadable_input": 1}),
                ),
            },
        ),
        Kind(
            "wrong_content_length",
            "wrong Content-Length, too short and too long, mid-file: later records are still read",
            {
                "plain.warc": (
                    lambda full: (
                        page("https://len.example/p1")
                        + too_short(page("https://len.example/p-short"), 60)
                        + page("https://len.example/p2")
                        + too_long(page("https://len.example/p-long"), 37)
                        + page("https://len.example/p3")
                        + page("https://len.example/p4")
                    ),
                    Outcome(4, {"wrong_content_length": 2}),
                ),
                "members.warc.gz": (
                    lambda full: members(
                        page("https://len.example/m1"),
                        too_short(page("https://len.example/m-short"), 60),
                        page("https://len.example/m2"),
                        too_long(page("https://len.example/m-long"), 37),
                        page("https://len.example/m3"),
                    ),
                    Outcome(3, {"wrong_content_length": 2}),
                ),
            },
        ),
        Kind(
            "deeply_nested_html",
            "deeply nested HTML: 20,000 nested <div>, 20,000 unclosed <div><span><b>; 300 levels are fine",
            {
                "nested.warc.gz": (
                    lambda full: members(
                        warc_record(http_block(_nested(20_000)), uri="https://deep.example/20000"),
                        warc_record(http_block(_nested(20_000, closed=False)), uri="https://deep.example/unclosed"),
                        warc_record(http_block(_nested(300)), uri="https://deep.example/300"),
                    ),
                    Outcome(1, {"html_too_deep": 2}),
                )
            },
        ),
        Kind(
            "huge_document",
            "a 50 MB single document (1.5 MiB in CI, with the limits scaled): a JSONL line, an HTML page, a WET text",
            {
                "line.jsonl": (
                    lambda full: _json(id="huge", text="All work and no play. " * (_huge(full) // 22)) + b"\n",
                    Outcome(0, {"record_too_large": 1}),
                ),
                "page.warc.gz": (
                    lambda full: members(
                        warc_record(
                            http_block(("<p>All work and no play.</p>" * (_huge(full) // 28)).encode()),
                            uri="https://huge.example/page",
                        ),
                        page("https://huge.example/after"),
                    ),
                    Outcome(1, {"html_too_large": 1}),
                ),
                "text.warc.wet.gz": (
                    lambda full: one_stream(
                        conversion("https://huge.example/wet", b"All work and no play. " * (_huge(full) // 22)),
                        conversion("https://huge.example/wet-after", GOOD_TEXT.encode()),
                    ),
                    Outcome(1, {"html_too_large": 1}),
                ),
            },
        ),
        Kind(
            "wet_quirks",
            "WET quirks: uncompressed .wet, warcinfo first, conversions without Content-Type, Latin-1, NULs",
            {
                "plain.wet": (
                    lambda full: (
                        _warcinfo()
                        + conversion("https://wet.example/1", GOOD_TEXT.encode())
                        + conversion("https://wet.example/no-type", GOOD_TEXT.encode() + b" untyped", content_type="")
                        + conversion(
                            "https://wet.example/latin1",
                            "Na\u00efve caf\u00e9 text in Latin-1.".encode("latin-1"),
                            content_type="text/plain; charset=iso-8859-1",
                        )
                        + conversion("https://wet.example/nul", b"Text\x00 with a NUL byte in it, otherwise fine.")
                    ),
                    Outcome(4, {"warc_record_skipped": 1}),
                ),
            },
        ),
        Kind(
            "wrong_parquet_schema",
            "wrong Parquet schema: no text column, text as integers, text dictionary-encoded, null texts",
            {
                "no-text-column.parquet": (
                    lambda full: parquet_bytes({"content": ["no text column here"], "id": ["p1"]}),
                    Outcome(0, {}, {"wrong_schema": 1}),
                ),
                "int-text.parquet": (
                    lambda full: parquet_bytes({"text": [1, 2], "id": ["p2", "p3"]}),
                    Outcome(0, {}, {"wrong_schema": 1}),
                ),
                "dictionary-text.parquet": (
                    lambda full: parquet_bytes(
                        {
                            "text": _strings([f"{GOOD_TEXT} dict {i}" for i in range(3)]).dictionary_encode(),
                            "id": [f"dict-{i}" for i in range(3)],
                        }
                    ),
                    Outcome(3),
                ),
                "null-text.parquet": (
                    lambda full: parquet_bytes({"text": [GOOD_TEXT + " parquet", None], "id": ["pq-1", "pq-2"]}),
                    Outcome(1, {"missing_text": 1}),
                ),
            },
        ),
        Kind(
            "parquet_wrong_types",
            "Parquet rows with wrong types: id a struct, url a number; null ids are fine",
            {
                "rows.parquet": (
                    lambda full: parquet_bytes(
                        {
                            "text": [f"{GOOD_TEXT} row {i}" for i in range(4)],
                            "id": [{"x": 1}, {"x": 2}, None, None],
                            "url": [None, None, 5, None],
                        }
                    ),
                    Outcome(1, {"bad_field_type": 3}),
                ),
            },
        ),
        Kind(
            "corrupt_parquet",
            "corrupt Parquet: cut in half, random bytes named .parquet",
            {
                "cut.parquet": (
                    lambda full: (lambda data: data[: len(data) // 2])(
                        parquet_bytes({"text": [GOOD_TEXT] * 10, "id": [f"cut-{i}" for i in range(10)]})
                    ),
                    Outcome(0, {}, {"unreadable_input": 1}),
                ),
                "noise.parquet": (lambda full: _noise(2048, 9), Outcome(0, {}, {"unreadable_input": 1})),
            },
        ),
        Kind(
            "non_utf8_file_name",
            "a file name that is not UTF-8 (byte 0xff)",
            {os.fsdecode(b"name-\xff.jsonl"): (lambda full: _lines(_doc("from-a-latin1-name")), ok)},
        ),
    ]


KINDS: list[Kind] = _kinds()


def kind_files(root: Path) -> dict[str, list[Path]]:
    """kind name -> its files under `root` (as ``write_corpus`` names them)."""
    return {
        kind.name: [root / f"{index:02d}-{kind.name}-{suffix}" for suffix in kind.files]
        for index, kind in enumerate(KINDS)
    }


def file_outcomes(root: Path) -> dict[Path, Outcome]:
    """Every generated file -> the outcome ingest must give for it."""
    paths = kind_files(root)
    return {
        path: outcome
        for kind in KINDS
        for path, (_, outcome) in zip(paths[kind.name], kind.files.values(), strict=True)
    }


def write_corpus(root: Path, full_size: bool = False) -> dict[str, list[Path]]:
    """Write every kind's files under `root`; return kind name -> files."""
    root.mkdir(parents=True, exist_ok=True)
    paths = kind_files(root)
    for kind in KINDS:
        for path, (build, _) in zip(paths[kind.name], kind.files.values(), strict=True):
            path.write_bytes(build(full_size))
    return paths
