"""`curate demo`: build a small mixed-quality input set offline from what any Python install has, then run the
whole pipeline on it (``curate run`` with the config written to ``DIR/pipeline.yaml``).

Inputs (written under ``DIR/input/``), all generated on the machine, nothing downloaded:
- ``stdlib-pages.warc.gz``: WARC ``response`` records of the HTML pages ``pydoc`` renders for ~90 standard-library
  modules (real HTML with navigation tables around the text, so the extractor works), plus, in the same WARC
  as any crawl would have them, **web-junk variants**: the plain-text documentation of ~40 other modules,
  damaged by one of the labelled corruptions of ``curation.text.corruption`` at 50% (random characters,
  shuffled words, cookie/navigation boilerplate, mojibake) and wrapped in a bare HTML page. Each junk page's
  URL says what it is: ``https://junk.invalid/<module>?kind=<corruption>``;
- ``stdlib-docstrings.jsonl.gz``: each module's docstring as a JSON line (short, clean; the mixture stage
  up-samples them);
- ``broken.jsonl``: a handful of deliberately malformed records (labelled below), so rejects/ is at work.

Held-out text, never in the pool: the plain-text documentation of 20 further modules is the DataRater's
outer-loss target (``target.jsonl``) and of 20 others the validation set (``heldout.jsonl``).
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

# Modules whose plain-text documentation becomes the web-junk variants, the DataRater's target, the validation set.
JUNK_MODULES = (
    "asyncio bdb cProfile cmath code codeop colorsys compileall concurrent.futures contextvars copyreg dbm email "
    "filecmp fileinput ftplib getpass graphlib imaplib importlib linecache mailbox mmap modulefinder multiprocessing "
    "opcode optparse pickle pickletools poplib pstats py_compile pyclbr quopri rlcompleter selectors shelve smtplib "
    "socketserver ssl"
).split()
TARGET_MODULES = (
    "stat stringprep symtable tabnanny token tracemalloc types typing unittest urllib.request wave webbrowser "
    "wsgiref.simple_server xml.etree.ElementTree xmlrpc.client zipapp zipimport zoneinfo sys builtins"
).split()
HELDOUT_MODULES = (
    "os time ntpath urllib.error http.server http.cookies email.message logging.handlers unittest.mock "
    "importlib.metadata ctypes xml.sax html.entities email.utils encodings.idna json.encoder urllib.robotparser "
    "http.cookiejar logging.config email.policy"
).split()
JUNK_FRACTION = 0.5  # share of each junk page's characters / words / lines / words damaged
JUNK_CHARS = 6000  # each junk page is cut to this many characters before it is damaged
HELDOUT_CHARS = 20000

# What the demo's rule keeps: datatrove's repetition and FineWeb verdicts, and one document per duplicate
# cluster; the pipeline adds the DataRater's keep flags to it.
DEMO_RULE = ["gopher_repetition.pass", "fineweb_quality.pass", "is_dup_keep"]

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


def plain_documentation(names: list[str], limit: int) -> list[tuple[str, str]]:
    """(module, the first ``limit`` characters of its plain-text pydoc) for each importable module."""
    import re
    import warnings

    docs = []
    for name in names:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = importlib.import_module(name)
            text = pydoc.plaintext.document(module, name)
        except Exception:  # noqa: BLE001 - a module this Python lacks, or one pydoc cannot render, is left out
            continue
        text = re.sub(r"\nFILE\n.*?\n\n", "\n", pydoc.plain(text), flags=re.S)  # no install paths in the text
        docs.append((name, text[:limit]))
    return docs


def junk_page(name: str, kind: str, text: str) -> str:
    """A bare HTML page around damaged text, the way spam and broken pages look in a crawl."""
    from html import escape

    paragraphs = "".join(f"<p>{escape(block)}</p>\n" for block in text.split("\n\n") if block.strip())
    return f"<html><head><title>{escape(name)}</title></head><body><article>\n{paragraphs}</article></body></html>"


def build_demo_inputs(root: Path) -> dict[str, Path]:
    """Write the inputs and held-out sets; returns their paths (``inputs``, ``target``, ``heldout``)."""
    import random

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from curation.text.corruption import CORRUPTIONS

    folder = root / "input"
    folder.mkdir(parents=True, exist_ok=True)
    pages = _pages()
    rng = random.Random(0)
    kinds = sorted(CORRUPTIONS)
    junk = [
        (f"https://junk.invalid/{name}?kind={kinds[i % len(kinds)]}", name, kinds[i % len(kinds)], text)
        for i, (name, text) in enumerate(plain_documentation(JUNK_MODULES, JUNK_CHARS))
    ]
    date = datetime(2026, 1, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    records = [(f"https://docs.invalid/stdlib/{name}.html", f"page:{name}", html) for name, html, _ in pages]
    records += [
        (url, f"junk:{name}", junk_page(name, kind, CORRUPTIONS[kind](text, JUNK_FRACTION, rng)))
        for url, name, kind, text in junk
    ]
    for url, record_id, html in records:
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        record = writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(html.encode("utf-8")),
            http_headers=headers,
            warc_headers_dict={"WARC-Date": date, "WARC-Record-ID": f"<urn:demo:{record_id}>"},
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
    held = {}
    for key, names in (("target", TARGET_MODULES), ("heldout", HELDOUT_MODULES)):
        held[key] = root / f"{key}.jsonl"
        docs = plain_documentation(names, HELDOUT_CHARS)
        held[key].write_text("".join(json.dumps({"text": text}) + "\n" for _, text in docs), encoding="utf-8")
    return {"inputs": folder, **held}


def demo_pipeline(root: Path, paths: dict[str, Path]) -> dict:
    """The demo's pipeline config: every stage, sized for a few minutes on 2 CPU cores."""
    return {
        "name": "demo",
        "workdir": str(root),
        "ingest": {"inputs": [str(paths["inputs"])], "shards": 4},
        "signals": {},
        "dedup": {},
        "datarater": {
            "train": {
                "heldout": str(paths["target"]),
                "settings": {"outer_steps": 40, "population": 2, "lifetime": 20, "outer_warmup": 10, "seq_len": 128},
                "checkpoint_every": 10,
            },
            "filter": {"rho": 0.5, "batch_size": 16},
        },
        "select": {"rule": DEMO_RULE},
        "mix": {
            "column": "source",
            "targets": {"stdlib-pages": 0.8, "stdlib-docstrings": 0.2},
            "tokens": "400k",
        },
        "validate": {
            "heldout": {"stdlib-docs": str(paths["heldout"])},
            "tokens": "100k",
            "seeds": 2,
            "size": "tiny",
            "evaluations": 4,
            "heldout_bytes": 100_000,
        },
        "export": {"format": "parquet"},
    }
