"""HTML main-text extraction: quality and single-core speed on the trafilatura evaluation pages.

Input (read-only, never copied): ``../shared/data/web/trafilatura-eval-pages.warc.gz`` (WARC
``response`` records; the page URL is ``WARC-Target-URI``) and
``trafilatura-eval-pages.expected.json.gz`` (URL -> ``with``: snippets the main text must contain,
``without``: snippets it must not contain: boilerplate, navigation, comments, dates...).

What is measured, per row
-------------------------
* ``ours/<extractor>`` — exactly what ``curate ingest`` does to an HTML record: the WARC is read
  by the project's reader (``curation.readers.read_split``: same HTTP-header parsing, charset and
  size limits), then ``curation.text.extract.html_to_str`` (declared charset, else UTF-8 when the
  bytes are valid UTF-8 with a non-ASCII byte, else Resiliparse's detector) → ``HtmlExtractor(name).extract`` (same options and 30 s timeout as ingest) →
  ``curation.text.normalize.normalize_text``. A page that ingest would reject (no main text,
  extraction error/timeout, text over --max-text-mb) counts as an empty extraction.
  Language ID is not run: it does not change the text.
* ``datatrove/Trafilatura (defaults), our decoding`` — reference: ``datatrove.pipeline.extractors.
  Trafilatura()`` with its default settings (favour_precision=True, deduplicate=True, timeout=1 s,
  extraction in its sandboxed subprocess), fed the same decoded HTML strings as our rows, so
  only the extractor differs.
* ``datatrove/WarcReader + Trafilatura (defaults)`` — datatrove's whole path: its own
  ``WarcReader`` (UTF-8 then cchardet decoding, libmagic MIME sniffing when the record has no
  ``WARC-Identified-Payload-Type``) then the same default extractor. Pages its reader drops count
  as empty extractions.

Matching pages to expectations
------------------------------
A page is scored when its WARC-Target-URI matches an expected.json key after ``strip()`` and
replacing spaces by ``%20`` (some keys carry trailing whitespace, and warcio percent-encodes spaces
in WARC-Target-URI). Pages without an entry (e.g. ``http://example.invalid/...`` pages) and entries
without a page are counted and listed in the JSON, never scored.

Snippet matching
----------------
Both the extracted text and every snippet are Unicode-NFC normalised and their whitespace runs
(spaces, tabs, newlines) collapsed to one space before a plain substring test. An empty extraction
contains no snippet (all ``with`` missed, all ``without`` absent).

Scores (over scored pages, micro-averaged over snippets)
--------------------------------------------------------
* ``with_found``   = found ``with`` snippets / all ``with`` snippets       (recall of main text)
* ``without_absent`` = absent ``without`` snippets / all ``without`` snippets (boilerplate removed)
* ``f1`` = harmonic mean of those two (precision := without_absent, recall := with_found). This is
  the headline number.
* Also reported, for comparison with trafilatura's published evaluation (its
  ``tests/comparison.py``): tp = with found, fn = with missed, fp = without present, tn = without
  absent; ``precision_t = tp/(tp+fp)``, ``recall_t = tp/(tp+fn)``, ``f1_t``, ``accuracy_t =
  (tp+tn)/all``.

Speed: the process is pinned to one CPU (``--no-pin`` to disable; datatrove's sandbox child
inherits the pin, so it is one core too). Our rows time decode + extract + normalise per page
(WARC reading excluded; one untimed warm-up page first); datatrove rows time the extractor step
over all its input documents, including starting its sandbox subprocess and the IPC per page.
docs/s = documents handed to the extractor / seconds; HTML MB/s uses the raw payload bytes.

Usage::

    python benchmarks/extraction_quality.py            # all rows, writes benchmarks/results/
    python benchmarks/extraction_quality.py --limit 100 --no-datatrove   # quick look
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

from common import (
    RESULTS,
    SHARED_DATA,
    format_versions,
    machine_info,
    markdown_table,
    missing_datatrove_io,
    provenance,
    write_results,
)

DATA = SHARED_DATA / "web"
MB = 1_000_000


# ----------------------------------------------------------------------------- inputs


def url_key(url: str) -> str:
    return url.strip().replace(" ", "%20")


def squash(text: str) -> str:
    """NFC + whitespace runs collapsed to one space: how snippets and texts are compared."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def load_expected(path: Path) -> dict[str, dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        raw = json.load(fh)
    expected: dict[str, dict] = {}
    for url, entry in raw.items():
        key = url_key(url)
        if key in expected:
            raise SystemExit(f"two expected.json keys normalise to {key!r}")
        expected[key] = {"url": url, "with": entry["with"], "without": entry["without"]}
    return expected


def read_pages(warc: Path, limit: int | None) -> tuple[list[dict], dict]:
    """The WARC through the project's own reader; one dict per record, in file order."""
    from warcio.archiveiterator import ArchiveIterator

    from curation.ingest.config import IngestConfig, MiB
    from curation.readers import InputFailed, RawRecord, Split, plan_file, read_split

    cfg = IngestConfig(inputs=[str(warc)], out=tempfile.gettempdir())
    plan = plan_file(str(warc), "auto", 1 << 62, None)  # one split: the whole file
    unit, start, stop = plan["ranges"][0]
    split = Split(0, plan["path"], plan["format"], plan["layout"], unit, start, stop, plan["source"])
    with open(warc, "rb") as fh:  # URLs by record index, also for records the reader rejects
        urls = [record.rec_headers.get_header("WARC-Target-URI") for record in ArchiveIterator(fh)]
    pages: list[dict] = []
    input_errors: list[str] = []
    items = read_split(split, cfg.fields, int(cfg.max_record_mb * MiB), int(cfg.max_html_mb * MiB))
    for item in items:
        if isinstance(item, InputFailed):
            input_errors.append(f"{item.reason}: {item.detail}")
            continue
        index = len(pages)
        if isinstance(item, RawRecord):
            pages.append({"url": item.url, "raw": item, "reject": None})
        else:
            pages.append({"url": urls[index], "raw": None, "reject": item.reason})
        if limit and len(pages) >= limit:
            break
    if not limit and len(pages) != len(urls):
        raise SystemExit(f"reader yielded {len(pages)} records, warcio sees {len(urls)}")
    return pages, {"records": len(pages), "input_errors": input_errors, "layout": plan["layout"]}


def decoded_html(pages: list[dict]) -> None:
    """Attach the decoded HTML string that ingest hands to the extractor (``html_to_str``)."""
    from curation.text.extract import html_to_str

    for page in pages:
        raw = page["raw"]
        if raw is not None and raw.is_html:
            page["html"] = html_to_str(raw.payload, raw.charset) if isinstance(raw.payload, bytes) else raw.payload
            page["html_bytes"] = len(raw.payload) if isinstance(raw.payload, bytes) else len(raw.payload.encode())


# ----------------------------------------------------------------------------- extractors


def run_ours(name: str, pages: list[dict]) -> dict:
    """decode + extract + normalise per page, as DocumentBuilder.build does; returns texts and timings."""
    from curation.ingest.config import IngestConfig, MiB
    from curation.text.extract import ExtractionTimeout, HtmlExtractor, html_to_str
    from curation.text.normalize import decode_bytes, normalize_text

    cfg = IngestConfig(inputs=["-"], out=tempfile.gettempdir(), extractor=name, langid=False)
    extractor = HtmlExtractor(cfg.extractor, cfg.extraction_timeout_s)
    max_text_bytes = int(cfg.max_text_mb * MiB)
    first = next(p for p in pages if p.get("html"))
    extractor.extract(first["html"])  # warm-up: imports, lazy initialisation (not timed)

    texts: dict[str, str] = {}
    rejected: dict[str, int] = {}
    seconds: list[float] = []
    html_bytes = 0
    for page in pages:
        raw = page["raw"]
        if raw is None:
            rejected[page["reject"]] = rejected.get(page["reject"], 0) + 1
            continue
        reason = None
        started = time.perf_counter()
        if raw.is_html:
            html = html_to_str(raw.payload, raw.charset) if isinstance(raw.payload, bytes) else raw.payload
            try:
                text = extractor.extract(html)
            except ExtractionTimeout:
                text, reason = "", "extraction_timeout"
            except Exception:  # noqa: BLE001 - ingest rejects the record, so do we
                text, reason = "", "extraction_failed"
            if not reason and not text.strip():
                reason = "no_main_text"
        else:
            text = decode_bytes(raw.payload, raw.charset)[0] if isinstance(raw.payload, bytes) else raw.payload
        text = normalize_text(text) if not reason else ""
        seconds.append(time.perf_counter() - started)
        html_bytes += page.get("html_bytes", 0)
        if not reason and not text:
            reason = "empty_text"
        if not reason and len(text.encode("utf-8")) > max_text_bytes:
            text, reason = "", "too_large"
        if reason:
            rejected[reason] = rejected.get(reason, 0) + 1
        texts[url_key(page["url"])] = text
    total = sum(seconds)
    ordered = sorted(seconds)
    return {
        "texts": texts,
        "speed": {
            "docs_in": len(seconds),
            "seconds": round(total, 3),
            "docs_per_s": round(len(seconds) / total, 2),
            "html_mb_per_s": round(html_bytes / MB / total, 3),
            "ms_per_doc_mean": round(1000 * total / len(seconds), 2),
            "ms_per_doc_p50": round(1000 * statistics.median(ordered), 2),
            "ms_per_doc_p95": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 2),
            "ms_per_doc_max": round(1000 * ordered[-1], 2),
        },
        "rejected": dict(sorted(rejected.items())),
    }


def _datatrove_extract(docs: list, html_bytes: int) -> dict:
    from datatrove.pipeline.extractors import Trafilatura

    step = Trafilatura()  # datatrove's defaults
    started = time.perf_counter()
    out = list(step.run(iter(docs)))
    total = time.perf_counter() - started
    counters = {
        label: int(step.stats[label].total)
        for label in ("extracted", "forwarded", "dropped", "timeout", "broken_process", "clean_error")
        if label in step.stats.stats
    }
    return {
        "texts": {url_key(doc.metadata["url"]): doc.text or "" for doc in out},
        "speed": {
            "docs_in": len(docs),
            "seconds": round(total, 3),
            "docs_per_s": round(len(docs) / total, 2),
            "html_mb_per_s": round(html_bytes / MB / total, 3),
            "ms_per_doc_mean": round(1000 * total / len(docs), 2),
        },
        "datatrove_stats": counters,
        "settings": {
            "favour_precision": step.favour_precision,
            "deduplicate": step.deduplicate,
            "timeout_s": step.timeout,
            **step.kwargs,
        },
    }


def run_datatrove_same_html(pages: list[dict]) -> dict:
    from datatrove.data import Document

    docs = [
        Document(text=page["html"], id=str(i), metadata={"url": page["url"]})
        for i, page in enumerate(pages)
        if page.get("html")
    ]
    return _datatrove_extract(docs, sum(p.get("html_bytes", 0) for p in pages if p.get("html")))


def run_datatrove_reader(warc: Path, limit: int | None) -> dict:
    """datatrove's WarcReader over the file (with --limit: over the same first records as our rows)."""
    from datatrove.pipeline.readers import WarcReader

    reader = WarcReader(str(warc.parent), glob_pattern=warc.name)
    docs = []
    for doc in reader.read_file(warc.name):
        if limit and reader.stats.time_stats.n > limit:
            break
        docs.append(doc)
    records = min(reader.stats.time_stats.n, limit or reader.stats.time_stats.n)  # records it looked at
    result = _datatrove_extract(docs, sum(len(doc.text.encode("utf-8")) for doc in docs))
    result["reader"] = {"records_seen": records, "documents": len(docs), "dropped_by_reader": records - len(docs)}
    return result


# ----------------------------------------------------------------------------- scoring


def score(texts: dict[str, str], expected: dict[str, dict], scored_keys: list[str]) -> dict:
    with_total = with_found = without_total = without_absent = empty = 0
    for key in scored_keys:
        text = squash(texts.get(key, ""))
        empty += not text
        entry = expected[key]
        with_total += len(entry["with"])
        with_found += sum(squash(s) in text for s in entry["with"])
        without_total += len(entry["without"])
        without_absent += sum(squash(s) not in text for s in entry["without"])

    def ratio(a: float, b: float) -> float:
        return a / b if b else 0.0

    recall, precision = ratio(with_found, with_total), ratio(without_absent, without_total)
    tp, fn, fp, tn = with_found, with_total - with_found, without_total - without_absent, without_absent
    precision_t, recall_t = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return {
        "pages_scored": len(scored_keys),
        "pages_empty": empty,
        "with_total": with_total,
        "with_found": with_found,
        "without_total": without_total,
        "without_absent": without_absent,
        "with_found_frac": round(recall, 4),
        "without_absent_frac": round(precision, 4),
        "f1": round(ratio(2 * precision * recall, precision + recall), 4),
        "precision_t": round(precision_t, 4),
        "recall_t": round(recall_t, 4),
        "f1_t": round(ratio(2 * precision_t * recall_t, precision_t + recall_t), 4),
        "accuracy_t": round(ratio(tp + tn, tp + fn + fp + tn), 4),
    }


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Extraction quality (with/without snippets) and one-core speed of curate ingest's HTML "
        "extractors on the trafilatura evaluation pages, with datatrove's Trafilatura as a reference.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Scoring and matching rules: see this script's docstring.",
    )
    parser.add_argument("--warc", type=Path, default=DATA / "trafilatura-eval-pages.warc.gz")
    parser.add_argument("--expected", type=Path, default=DATA / "trafilatura-eval-pages.expected.json.gz")
    parser.add_argument(
        "--extractors", default="resiliparse,trafilatura", help="comma-separated: ours to run (default: both)"
    )
    parser.add_argument("--no-datatrove", action="store_true", help="skip the datatrove reference rows")
    parser.add_argument("--limit", type=int, default=None, help="only the first N WARC records (quick runs)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="where the .json and .md go")
    parser.add_argument("--per-page", type=Path, default=None, help="also write per-page results as JSONL here")
    args = parser.parse_args(argv)

    if not args.no_datatrove and (missing := missing_datatrove_io()):
        parser.error(
            f"the datatrove rows need datatrove's io extra: pip install {' '.join(missing)} (or --no-datatrove)"
        )
    for path in (args.warc, args.expected):
        if not path.is_file():
            parser.error(f"{path} not found (the shared data lives in ../shared/data from the project root)")
    machine = machine_info()  # before pinning: nproc would say 1
    pinned = None
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        pinned = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {pinned})

    expected = load_expected(args.expected)
    pages, read_info = read_pages(args.warc, args.limit)
    decoded_html(pages)
    page_keys = [url_key(p["url"]) for p in pages]
    scored = [k for k in dict.fromkeys(page_keys) if k in expected]
    unmatched_pages = [p["url"] for p in pages if url_key(p["url"]) not in expected]
    pages_set = set(page_keys)
    unmatched_expected = [e["url"] for k, e in expected.items() if k not in pages_set]
    print(
        f"{len(pages)} WARC records, {len(expected)} expected entries: {len(scored)} pages scored, "
        f"{len(unmatched_pages)} pages without expectations, {len(unmatched_expected)} expectations without a page",
        file=sys.stderr,
    )

    rows = []
    for name in [n.strip() for n in args.extractors.split(",") if n.strip()]:
        print(f"ours/{name} ...", file=sys.stderr)
        result = run_ours(name, pages)
        rows.append(
            {"row": f"ours/{name}", "pipeline": "curation reader → html_to_str → extract → normalize_text", **result}
        )
    if not args.no_datatrove:
        print("datatrove/Trafilatura (defaults), our decoding ...", file=sys.stderr)
        rows.append(
            {
                "row": "datatrove/Trafilatura",
                "pipeline": "curation reader → html_to_str → datatrove Trafilatura() defaults",
                **run_datatrove_same_html(pages),
            }
        )
        print("datatrove/WarcReader + Trafilatura (defaults) ...", file=sys.stderr)
        rows.append(
            {
                "row": "datatrove/WarcReader+Trafilatura",
                "pipeline": "datatrove WarcReader → datatrove Trafilatura() defaults",
                **run_datatrove_reader(args.warc, args.limit),
            }
        )

    for row in rows:
        row["quality"] = score(row["texts"], expected, scored)
    if args.per_page:
        with open(args.per_page, "w", encoding="utf-8") as fh:
            for key in scored:
                entry = {"url": expected[key]["url"]}
                for row in rows:
                    text = squash(row["texts"].get(key, ""))
                    entry[row["row"]] = {
                        "chars": len(text),
                        "with_missed": [s for s in expected[key]["with"] if squash(s) not in text],
                        "without_present": [s for s in expected[key]["without"] if squash(s) in text],
                    }
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    meta = {
        "benchmark": "extraction_quality",
        **provenance(
            ["trafilatura", "resiliparse", "datatrove", "warcio", "faust-cchardet"], machine=machine, argv=argv
        ),
        "pinned_cpu": pinned,
        "inputs": {
            "warc": str(args.warc),
            "warc_bytes": args.warc.stat().st_size,
            "expected": str(args.expected),
            "limit": args.limit,
            **read_info,
        },
        "matching": {
            "warc_records": len(pages),
            "expected_entries": len(expected),
            "pages_scored": len(scored),
            "pages_without_expectations": len(unmatched_pages),
            "expectations_without_page": len(unmatched_expected),
            "pages_without_expectations_urls": unmatched_pages,
            "expectations_without_page_urls": unmatched_expected,
        },
    }
    payload = {**meta, "rows": [{k: v for k, v in row.items() if k != "texts"} for row in rows]}

    table = markdown_table(
        [
            "row",
            "pages scored",
            "empty",
            "with found",
            "without absent",
            "F1",
            "P_t / R_t / F1_t",
            "docs in",
            "docs/s (1 core)",
            "HTML MB/s",
        ],
        [
            [
                f"`{row['row']}`",
                row["quality"]["pages_scored"],
                row["quality"]["pages_empty"],
                row["quality"]["with_found_frac"],
                row["quality"]["without_absent_frac"],
                row["quality"]["f1"],
                f"{row['quality']['precision_t']:.3f} / {row['quality']['recall_t']:.3f} / {row['quality']['f1_t']:.3f}",
                row["speed"]["docs_in"],
                row["speed"]["docs_per_s"],
                row["speed"]["html_mb_per_s"],
            ]
            for row in rows
        ],
        digits=3,
        large=10,
        large_digits=1,
    )
    m = meta["machine"]
    v = meta["versions"]
    notes = []
    for row in rows:
        extra = []
        if row.get("rejected"):
            extra.append("ingest would reject " + ", ".join(f"{n} {r}" for r, n in row["rejected"].items()))
        if row.get("datatrove_stats"):
            extra.append("datatrove stats " + ", ".join(f"{k}={n}" for k, n in row["datatrove_stats"].items()))
        if row.get("reader"):
            r = row["reader"]
            extra.append(f"its WarcReader kept {r['documents']} of {r['records_seen']} records")
        if row.get("settings"):
            extra.append("settings " + ", ".join(f"{k}={val}" for k, val in row["settings"].items()))
        if "ms_per_doc_p95" in row["speed"]:
            s = row["speed"]
            extra.append(f"ms/page p50 {s['ms_per_doc_p50']}, p95 {s['ms_per_doc_p95']}, max {s['ms_per_doc_max']}")
        notes.append(f"- `{row['row']}` ({row['pipeline']}): " + "; ".join(extra))
    mt = meta["matching"]
    markdown = "\n".join(
        [
            "# HTML main-text extraction quality (trafilatura evaluation pages)",
            "",
            f"- date (UTC): {meta['date']}",
            f"- machine: {m['cpu_model']}, nproc={m['nproc']}, {m['memory_gib']} GiB RAM; {m['os']}; python {m['python']}",
            f"- versions: {format_versions(v)}",
            f"- command: `{meta['command']}`" + (f"; process pinned to CPU {pinned}" if pinned is not None else ""),
            f"- pages: {mt['warc_records']} WARC records, {mt['expected_entries']} expected.json entries → "
            f"**{mt['pages_scored']} pages scored**; {mt['pages_without_expectations']} pages have no expectations, "
            f"{mt['expectations_without_page']} expectations have no page (URLs listed in the JSON)",
            "",
            table,
            "",
            "**F1** = harmonic mean of *with found* (fraction of `with` snippets present: recall) and *without absent* "
            "(fraction of `without` snippets absent: precision), micro-averaged over all snippets of the scored pages. "
            "*P_t / R_t / F1_t* are trafilatura's own evaluation definitions (tp = with found, fp = without present). "
            "Snippets and texts are compared after NFC and collapsing whitespace runs to one space; an empty extraction "
            "finds no snippet. *docs/s* = documents handed to the extractor per second on one pinned core: our rows time "
            "decode + extract + normalise per page, datatrove rows the whole extractor step (sandbox subprocess and IPC "
            "included); WARC reading is excluded everywhere.",
            "",
            *notes,
            "",
        ]
    )
    json_path, md_path = write_results(args.out_dir, "extraction_quality", payload, markdown)
    print(markdown)
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
