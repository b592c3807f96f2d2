"""`curate demo`: build a small real input set offline from what any Python install has, then curate it.

Inputs (written under ``DIR/input/``):
- ``stdlib-pages.warc.gz``: HTML pages that ``pydoc`` renders for ~80 standard-library modules, as
  WARC ``response`` records (real HTML with navigation tables around the text, so the extractor works);
- ``stdlib-docstrings.jsonl.gz``: each module's docstring as a JSON line;
- ``broken.jsonl``: a handful of deliberately malformed records (labelled below) so the run shows
  rejects/ at work.

Everything is generated on the machine; nothing is downloaded.
"""

from __future__ import annotations

import gzip
import importlib
import io
import json
import pydoc
from datetime import UTC, datetime
from pathlib import Path

MODULES = (
    "abc argparse array ast base64 binascii bisect bz2 calendar cmd codecs collections configparser contextlib copy "
    "csv dataclasses datetime decimal difflib dis doctest enum errno fnmatch fractions functools getopt gettext glob "
    "gzip hashlib heapq hmac html html.parser http.client inspect io ipaddress itertools json keyword locale logging "
    "lzma math mimetypes netrc numbers operator pathlib pkgutil platform plistlib pprint queue random re reprlib runpy "
    "sched secrets shlex shutil signal socket sqlite3 statistics string struct subprocess sysconfig tarfile tempfile "
    "textwrap threading timeit tokenize tomllib trace traceback unicodedata urllib.parse uuid warnings weakref "
    "xml.dom.minidom zipfile zlib"
).split()

# What the demo keeps: datatrove's repetition and FineWeb verdicts, and one document per duplicate cluster.
DEMO_RULE = "gopher_repetition.pass and fineweb_quality.pass and is_dup_keep"

# Deliberately broken records, each labelled with the reason ingest must give it.
BROKEN_RECORDS = [
    (b'{"id": "demo-malformed", "text": "an unterminated string', "malformed_json"),
    (b'{"id": "demo-empty", "text": "   "}', "empty_text"),
    (b'{"id": "demo-no-text", "title": "a record without its text field"}', "missing_text"),
    (b'["not", "an", "object"]', "not_an_object"),
    (b'{"id": "demo-number", "text": 42}', "bad_field_type"),
]


def _pages() -> list[tuple[str, str, str]]:
    pages = []
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        html = pydoc.html.page(pydoc.describe(module), pydoc.html.document(module, name))
        pages.append((name, html, pydoc.getdoc(module)))
    return pages


def build_demo_inputs(root: Path) -> Path:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    folder = root / "input"
    folder.mkdir(parents=True, exist_ok=True)
    pages = _pages()
    date = datetime(2026, 1, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    for name, html, _ in pages:
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        record = writer.create_warc_record(
            f"https://docs.invalid/stdlib/{name}.html",
            "response",
            payload=io.BytesIO(html.encode("utf-8")),
            http_headers=headers,
            warc_headers_dict={"WARC-Date": date, "WARC-Record-ID": f"<urn:demo:page:{name}>"},
        )
        writer.write_record(record)
    (folder / "stdlib-pages.warc.gz").write_bytes(buffer.getvalue())
    lines = [
        json.dumps(
            {"id": f"doc-{name}", "text": doc, "url": f"https://docs.invalid/stdlib/{name}#doc", "timestamp": date}
        )
        for name, _, doc in pages
    ]
    (folder / "stdlib-docstrings.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode(), mtime=0))
    (folder / "broken.jsonl").write_bytes(b"\n".join(line for line, _ in BROKEN_RECORDS) + b"\n")
    return folder
