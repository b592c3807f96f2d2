"""Ingest throughput: ``curate ingest`` (Spark) against datatrove's own pipeline doing the same work.

Inputs (read-only, never copied into the repository): ``../shared/data/web/trafilatura-eval-pages.warc.gz``
(923 HTML ``response`` records, ~25 MiB gzip) and ``c4-en-sample-1000.jsonl.gz`` (1,000 C4 documents).

Replication (``--repeat R`` for the WARC, ``--jsonl-repeat J`` for the JSONL)
--------------------------------------------------------------------------------
The shared inputs are small, so each is replicated into a temporary directory (outside the
repository, deleted afterwards unless ``--keep-work``), deterministically:

* WARC: every copy ``warc/copy-k.warc.gz`` is the original file, gzip member by member (one member per
  record, as in the original), recompressed with gzip level 6 and mtime 0, with two header changes:
  - copy ``k >= 1``: the ``WARC-Record-ID`` is rewritten to
    ``<urn:uuid:UUID5(NAMESPACE_URL, "<original id>#copy-k")>`` (same length; block digests do not cover
    WARC headers). Without new ids, our ingest would reject every copy's records as ``duplicate_id`` (it
    keeps the first record of an id); with them every copy counts as new documents, as it does in
    datatrove (which never deduplicates).
  - every copy: each ``response`` record gets ``WARC-Identified-Payload-Type: text/html`` (all 923 pages
    are HTML). Common Crawl's WARCs carry this header and the shared file does not. Datatrove's WarcReader
    keeps a record by that header when it is there; without it, it sniffs the payload with libmagic, which
    costs time and calls 93 of the 923 pages JavaScript, XML, binary or plain text, so those pages were
    never extracted. With the header both sides extract the same pages (but for 2 a copy that datatrove
    cannot decode), as they would on Common Crawl. Our reader does not read the header (it goes by the
    HTTP Content-Type).
  ``--warc-as-is`` leaves the payload-type header out (copy 0 is then the original file byte for byte),
  for comparison with runs before 2026-12-07.
* JSONL: C4 lines have no ``id``, so our ingest ids them by a hash of url+text, and copies would
  again be duplicates. Every copy ``k`` (``k = 0`` included, so all copies are alike) gets the
  field ``"id": "c4-en-sample-1000/k/LINE"`` inserted at the start of each JSON object; all other
  bytes of the line are unchanged. Both pipelines read the same files and take the ids from them.

Rows (same input directory, same number of workers W, run one after another)
----------------------------------------------------------------------------
* ``ours`` — the real CLI, ``python -m pipelines.cli ingest DIR --out OUT --no-tracking --master
  local[W]`` (plus ``--extractor``/``--no-langid`` per row; default shards, split size, limits).
  Language ID (fastText lid.176) is on by default in ours and absent from datatrove's pipeline, so
  each input also has a ``--no-langid`` row for like-for-like. The WARC comparison has two pairs,
  each with the same extractor and options on both sides: trafilatura (``--extractor trafilatura``),
  which datatrove ships, and Resiliparse, our default, which datatrove does not ship
  (``datatrove.pipeline.extractors`` offers Trafilatura and ReadabilityInscriptis) and runs here
  through ``datatrove_resiliparse.Resiliparse``, the ``BaseExtractor`` subclass a datatrove user
  would write.
* ``datatrove`` — ``LocalPipelineExecutor(tasks=W, workers=W)`` in a fresh Python process:
  WARC: ``WarcReader → Trafilatura(favour_precision=True, include_tables=True, deduplicate=False,
  timeout=30)`` or ``→ Resiliparse(timeout=30)``, then ``→ ParquetWriter(compression="zstd")`` (the
  options of our ``HtmlExtractor`` and our default 30 s ``--extraction-timeout``; its sandboxed
  extraction subprocess is kept: that is its real cost). JSONL: ``JsonlReader → ParquetWriter(compression="zstd")``. Datatrove hands whole
  files to tasks (file i goes to task i mod W), so keep R and J multiples of W.

Timings
-------
* ``wall s`` — the whole command, from process start to exit: Python start-up, imports, JVM and
  Spark start-up for ours, multiprocess pool start-up for datatrove, the work, writing, exit.
* ``reported s`` (ours) — the total the CLI prints (``run_ingest``: from before the Spark session is
  created to the committed manifest, so it still contains the JVM/Spark start-up).
* ``net s`` — the work without start-up. Ours: ``reported s`` minus the Spark start-up measured once
  per run in a separate process (create the session with the same master, run one trivial job that
  starts W Python workers), an estimate. Datatrove: ``LocalPipelineExecutor.run()`` timed inside its
  process (pool start-up included, interpreter start-up and imports excluded).
* ``--trials N`` runs every row N times and reports the fastest run by wall time (other load on the
  machine can only add time); all trials' wall times are in the JSON, and their net times for the
  runs on the main inputs. The trials go round the rows (A, B, A, B, ...), so a machine whose speed
  drifts during the run weighs on every row alike.
* ``--jsonl-large-repeat M`` runs every JSONL row again on M copies. Both runs pay the same start-up, so
  (documents of the larger run − of the smaller) / (difference of their wall times) is what each extra
  document costs, start-up cancelled out rather than estimated: the issue's measure of per-document cost.
  ``--warc-large-repeat M`` does the same for the WARC rows (M copies of the WARC against ``--repeat``), in
  records read as well as documents written: what a record costs once a job is long enough that its fixed
  costs (Spark's start-up, the Python workers' imports, the shard stage's start; datatrove's pool and
  extraction sandboxes) no longer count.
* Rates: ``records/s`` counts every input record read, ``docs/s`` the documents written; "per core"
  divides by W. ``MB/s`` is input bytes as stored (gzip) and, in the JSON, also uncompressed.

The WARC input is the same for every WARC row. With ``--warc-as-is`` (no payload-type header),
datatrove's WarcReader skips the pages that libmagic does not call HTML: it then extracts fewer pages than
ours; compare docs/s and records/s with that in mind (both are in the table).

Usage::

    python benchmarks/ingest.py                       # default run (~6 min on 2 cores)
    python benchmarks/ingest.py --trials 2 --jsonl-large-repeat 160   # the README's run (~15 min)
    python benchmarks/ingest.py --trials 3 --repeat 8 --warc-large-repeat 24 \
        --rows ours-warc-resiliparse-nolangid,datatrove-warc-resiliparse   # WARC per extra record (~12 min)
    python benchmarks/ingest.py --repeat 2 --jsonl-repeat 4 --rows ours-warc-trafilatura-nolangid,datatrove-warc-trafilatura
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path

from common import (
    RESULTS,
    ROOT,
    SHARED_DATA,
    child_env,
    format_versions,
    machine_info,
    markdown_table,
    missing_datatrove_io,
    provenance,
    write_results,
)

DATA = SHARED_DATA / "web"
MB = 1_000_000

# name -> (input kind, system, extractor, langid)
ROWS = {
    "ours-warc-resiliparse": ("warc", "ours", "resiliparse", True),
    "ours-warc-resiliparse-nolangid": ("warc", "ours", "resiliparse", False),
    "ours-warc-trafilatura": ("warc", "ours", "trafilatura", True),
    "ours-warc-trafilatura-nolangid": ("warc", "ours", "trafilatura", False),
    "datatrove-warc-trafilatura": ("warc", "datatrove", "trafilatura", False),
    "datatrove-warc-resiliparse": ("warc", "datatrove", "resiliparse", False),
    "ours-jsonl": ("jsonl", "ours", None, True),
    "ours-jsonl-nolangid": ("jsonl", "ours", None, False),
    "datatrove-jsonl": ("jsonl", "datatrove", None, False),
}


# ----------------------------------------------------------------------------- replication

_RECORD_ID = re.compile(rb"^(WARC-Record-ID:[ \t]*<urn:uuid:)([0-9a-fA-F-]{36})(>)", re.MULTILINE)
_RESPONSE = re.compile(rb"^WARC-Type:[ \t]*response[ \t]*\r?$", re.MULTILINE | re.IGNORECASE)
_PAYLOAD_TYPE = re.compile(rb"^WARC-Identified-Payload-Type:", re.MULTILINE | re.IGNORECASE)


def _member_spans(path: Path) -> list[tuple[int, int]]:
    from warcio.archiveiterator import ArchiveIterator

    spans = []
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh)
        for _ in iterator:
            spans.append((iterator.get_record_offset(), iterator.get_record_length()))
    return spans


def replicate_warc(src: Path, dest_dir: Path, copies: int, add_payload_type: bool = True) -> list[Path]:
    """``copies`` copies of the WARC, gzip member by member. Copy 0 keeps the records' ids, copy k >= 1 gets
    ids derived from them. With ``add_payload_type``, every ``response`` record without a
    ``WARC-Identified-Payload-Type`` gets ``text/html``, as Common Crawl's records carry one (all pages of the
    source are HTML). Without it, copy 0 is the original file byte for byte."""
    dest_dir.mkdir(parents=True)
    first = dest_dir / "copy-000.warc.gz"
    if not add_payload_type:
        shutil.copyfile(src, first)
        if copies == 1:
            return [first]
    raw = src.read_bytes()
    spans = _member_spans(src)
    position = 0
    for offset, length in spans:
        if offset != position:
            raise SystemExit(f"{src}: bytes between WARC records at {position}; cannot replicate member by member")
        position = offset + length
    if position != len(raw):
        raise SystemExit(f"{src}: {len(raw) - position} trailing bytes after the last WARC record")
    members = [zlib.decompress(raw[offset : offset + length], wbits=31) for offset, length in spans]
    paths = [first] if not add_payload_type else []
    for k in range(0 if add_payload_type else 1, copies):
        path = dest_dir / f"copy-{k:03d}.warc.gz"
        with open(path, "wb") as out:
            for member in members:
                head_end = member.find(b"\r\n\r\n")
                if head_end < 0:
                    raise SystemExit(f"{src}: a record whose WARC headers do not end in a blank line")
                header = member[:head_end]
                if k:

                    def new_id(match: re.Match, k: int = k) -> bytes:
                        original = match.group(2).decode()
                        derived = uuid.uuid5(uuid.NAMESPACE_URL, f"{original}#copy-{k}")
                        return match.group(1) + str(derived).encode() + match.group(3)

                    header, n = _RECORD_ID.subn(new_id, header, count=1)
                    if n != 1:
                        raise SystemExit(f"{src}: a record without a urn:uuid WARC-Record-ID; cannot derive ids")
                if add_payload_type and _RESPONSE.search(header) and not _PAYLOAD_TYPE.search(header):
                    header += b"\r\nWARC-Identified-Payload-Type: text/html"
                out.write(gzip.compress(header + member[head_end:], compresslevel=6, mtime=0))
        paths.append(path)
    return paths


def replicate_jsonl(src: Path, dest_dir: Path, copies: int) -> list[Path]:
    """copy-k: every line gets "id": "<stem>/k/<line>" inserted first; the rest of the line is unchanged."""
    dest_dir.mkdir(parents=True)
    stem = src.name.split(".")[0]
    with gzip.open(src, "rb") as fh:
        lines = [line for line in fh.read().split(b"\n") if line.strip()]
    for line in lines:
        record = json.loads(line)
        if not isinstance(record, dict) or "id" in record or not line.lstrip().startswith(b"{"):
            raise SystemExit(f"{src}: a line that is not a JSON object without an id; cannot add ids")
    paths = []
    for k in range(copies):
        body = b"".join(
            b'{"id":' + json.dumps(f"{stem}/{k}/{i}").encode() + b"," + line.lstrip()[1:] + b"\n"
            for i, line in enumerate(lines, 1)
        )
        path = dest_dir / f"copy-{k:03d}.jsonl.gz"
        path.write_bytes(gzip.compress(body, compresslevel=6, mtime=0))
        paths.append(path)
    return paths


def uncompressed_bytes(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                total += len(chunk)
    return total


# ----------------------------------------------------------------------------- running


def measure_spark_startup(workers: int) -> float:
    """Seconds to create the session (same master and defaults as the CLI) and run one trivial job on W workers."""
    code = (
        "import time; t = time.perf_counter()\n"
        "from curation.spark import get_spark\n"
        f"spark = get_spark('local[{workers}]', 'bench-startup')\n"
        f"spark.sparkContext.parallelize(range({workers}), {workers}).map(lambda x: x).collect()\n"
        "print('STARTUP', time.perf_counter() - t)\n"
        "spark.stop()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), cwd=ROOT)
    match = re.search(r"STARTUP ([\d.]+)", done.stdout)
    if not match:
        raise SystemExit(f"could not measure Spark start-up:\n{done.stderr[-3000:]}")
    return float(match.group(1))


def run_ours(input_dir: Path, out: Path, workers: int, extractor: str | None, langid: bool, log: Path) -> dict:
    cmd = [sys.executable, "-m", "pipelines.cli", "ingest", str(input_dir), "--out", str(out), "--no-tracking"]
    cmd += ["--master", f"local[{workers}]"]
    if extractor:
        cmd += ["--extractor", extractor]
    if not langid:
        cmd += ["--no-langid"]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), cwd=ROOT)
    wall = time.perf_counter() - started
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        raise SystemExit(f"curate ingest failed ({done.returncode}); log: {log}\n{done.stderr[-3000:]}")
    flat = " ".join((done.stdout + done.stderr).split())
    match = re.search(r"rejected; ([\d,.]+) s", flat)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    counts = manifest["counts"]
    return {
        "command": " ".join(["python", "-m", "pipelines.cli", *cmd[3:]]),
        "wall_s": round(wall, 3),
        "reported_s": float(match.group(1).replace(",", "")) if match else None,
        "records_read": counts["records_read"],
        "documents": counts["documents"],
        "rejected": counts["rejected"],
        "input_errors": counts["input_errors"],
        "splits": sum(entry["splits"] for entry in manifest["inputs"]),
        "shards": len(manifest["shards"]),
        "bytes_out": counts["bytes_out"],
    }


def run_datatrove(kind: str, input_dir: Path, out: Path, workers: int, extractor: str | None, log: Path) -> dict:
    job = {"kind": kind, "input": str(input_dir), "out": str(out), "workers": workers, "extractor": extractor}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--datatrove-job", json.dumps(job)]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), cwd=ROOT)
    wall = time.perf_counter() - started
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    lines = [line for line in done.stdout.splitlines() if line.startswith("DATATROVE_RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"datatrove job failed ({done.returncode}); log: {log}\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1].removeprefix("DATATROVE_RESULT "))
    return {
        "command": f"LocalPipelineExecutor(tasks={workers}, workers={workers}): {result['pipeline']}",
        "wall_s": round(wall, 3),
        **result,
    }


def datatrove_extractor(name: str):
    """Datatrove's extraction step with the options of our ``HtmlExtractor`` and our default 30 s timeout.

    Datatrove ships Trafilatura; Resiliparse is ``datatrove_resiliparse.Resiliparse``, a ``BaseExtractor``
    subclass with our options.
    """
    if name == "trafilatura":
        from datatrove.pipeline.extractors import Trafilatura

        options = "favour_precision=True, include_tables=True, deduplicate=False, timeout=30"
        return Trafilatura(favour_precision=True, include_tables=True, deduplicate=False, timeout=30), (
            f"Trafilatura({options})"
        )
    from datatrove_resiliparse import Resiliparse

    return Resiliparse(timeout=30), (
        "Resiliparse(extract_plain_text(main_content=True, alt_texts=False, links=False, noscript=False), "
        "timeout=30; a BaseExtractor subclass)"
    )


def datatrove_job(job: dict) -> None:
    """Runs in its own process (``--datatrove-job``): the datatrove pipeline, timed around executor.run()."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.writers import ParquetWriter

    out = Path(job["out"])
    writer = ParquetWriter(str(out / "data"), compression="zstd")
    if job["kind"] == "warc":
        from datatrove.pipeline.readers import WarcReader

        extractor, extractor_described = datatrove_extractor(job["extractor"])
        pipeline = [WarcReader(job["input"]), extractor, writer]
        described = f"WarcReader → {extractor_described} → ParquetWriter(zstd)"
    else:
        from datatrove.pipeline.readers import JsonlReader

        pipeline = [JsonlReader(job["input"]), writer]
        described = "JsonlReader → ParquetWriter(zstd)"
    executor = LocalPipelineExecutor(
        pipeline, tasks=job["workers"], workers=job["workers"], logging_dir=str(out / "logs")
    )
    started = time.perf_counter()
    executor.run()
    seconds = time.perf_counter() - started
    stats = json.loads((out / "logs" / "stats.json").read_text(encoding="utf-8"))
    reader, last = stats[0], stats[-1]

    def total(block: dict, name: str) -> int:
        value = block.get("stats", {}).get(name, 0)
        return int(value["total"] if isinstance(value, dict) else value)

    records = reader["time_stats"]["n"] if job["kind"] == "warc" else total(reader, "documents")
    for block in stats:
        block.get("stats", {}).pop("doc_len", None)
    result = {
        "pipeline": described,
        "run_s": round(seconds, 3),
        "records_read": records,
        "documents": total(last, "total"),
        "reader_documents": total(reader, "documents"),
        "step_stats": {block["name"]: block.get("stats", {}) for block in stats},
    }
    print("DATATROVE_RESULT " + json.dumps(result, ensure_ascii=False))


def rates(result: dict, seconds: float | None, size: int, raw_size: int, workers: int) -> dict:
    if not seconds:
        return {}
    return {
        "records_per_s": round(result["records_read"] / seconds, 1),
        "docs_per_s": round(result["documents"] / seconds, 1),
        "docs_per_s_per_core": round(result["documents"] / seconds / workers, 1),
        "mb_per_s_per_core": round(size / MB / seconds / workers, 3),
        "uncompressed_mb_per_s_per_core": round(raw_size / MB / seconds / workers, 3),
    }


def extra_document_rates(name: str, small: dict, large: dict, workers: int, large_trials_wall_s: list) -> dict:
    """What each document (and each record read) beyond the smaller input costs: both runs pay the same
    start-up, so the difference of their wall times is the work of the extra documents alone."""
    extra_docs = large["documents"] - small["documents"]
    extra_records = large["records_read"] - small["records_read"]
    extra_s = large["wall_s"] - small["wall_s"]
    per_s = extra_docs / extra_s if extra_s > 0 else None
    records_per_s = extra_records / extra_s if extra_s > 0 else None
    return {
        "row": name,
        "documents": [small["documents"], large["documents"]],
        "records_read": [small["records_read"], large["records_read"]],
        "wall_s": [small["wall_s"], large["wall_s"]],
        "large_trials_wall_s": large_trials_wall_s,
        "extra_documents": extra_docs,
        "extra_records": extra_records,
        "extra_s": round(extra_s, 3),
        "docs_per_s": round(per_s, 1) if per_s else None,
        "docs_per_s_per_core": round(per_s / workers, 1) if per_s else None,
        "records_per_s_per_core": round(records_per_s / workers, 1) if records_per_s else None,
    }


def _reference(row: str, marginal: list[dict]) -> dict | None:
    """Datatrove's row that ``row`` is compared with: the same input kind and extractor."""
    kind, _, extractor, _ = ROWS[row]
    return next((m for m in marginal if ROWS[m["row"]][:3] == (kind, "datatrove", extractor)), None)


def extra_document_table(marginal: list[dict]) -> list[str]:
    """The per-extra-document table, each of our rows against datatrove's with the same input and extractor
    (by documents written for JSONL, by records read for WARC, as the goals count them)."""
    if not marginal:
        return []
    rows = []
    for m in marginal:
        reference = _reference(m["row"], marginal)
        counted, unit = (
            ("records", "records_per_s_per_core") if ROWS[m["row"]][0] == "warc" else ("docs", "docs_per_s_per_core")
        )
        ratio = m[unit] / reference[unit] if reference and reference[unit] and m[unit] else None
        rows.append(
            [
                f"`{m['row']}`",
                f"{m['records_read'][0]:,} → {m['records_read'][1]:,}",
                f"{m['documents'][0]:,} → {m['documents'][1]:,}",
                f"{m['wall_s'][0]:.2f} → {m['wall_s'][1]:.2f}",
                m["extra_s"],
                m["records_per_s_per_core"],
                m["docs_per_s_per_core"],
                f"{ratio:.2f}× ({counted})" if ratio else "–",
            ]
        )
    headers = ["row", "records read", "docs", "wall s", "extra s", "records/s/core per extra record",
               "docs/s/core per extra doc", "vs datatrove"]  # fmt: skip
    return [
        "## Per extra document",
        "",
        "Each row run again on more copies (`--jsonl-large-repeat`, `--warc-large-repeat`); start-up is paid by both "
        "runs alike, so *extra s* is the work of the extra records alone (fastest trial at each size). Ours is "
        "compared with datatrove's row of the same input and extractor: JSONL by documents written, WARC by records "
        "read.",
        "",
        markdown_table(headers, rows),
        "",
    ]


# ----------------------------------------------------------------------------- main


def _payload_type_note(inp: dict) -> str:
    if "payload_type_header" not in inp:
        return ""
    if inp["payload_type_header"]:
        return "; every response record with `WARC-Identified-Payload-Type: text/html`, as in Common Crawl"
    return "; records as in the source, without `WARC-Identified-Payload-Type` (--warc-as-is)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Ingest throughput of `curate ingest` (Spark, local[W]) vs datatrove's LocalPipelineExecutor "
        "on the shared WARC and JSONL samples, replicated. Writes benchmarks/results/ingest.{json,md}.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Rows: " + ", ".join(ROWS) + ". Replication and timing rules: see this script's docstring.",
    )
    parser.add_argument("--workers", "-w", type=int, default=2, help="W: Spark local[W] and datatrove tasks=workers=W")
    parser.add_argument("--repeat", "-r", type=int, default=4, help="copies of the WARC (default 4: 3,692 pages)")
    parser.add_argument("--jsonl-repeat", type=int, default=None, help="copies of the C4 JSONL (default 10 x --repeat)")
    parser.add_argument(
        "--jsonl-large-repeat",
        type=int,
        default=None,
        help="copies of the C4 JSONL for a second, larger run of each JSONL row: the table then also gives the cost "
        "of each extra document, (docs_large - docs) / (wall_large - wall), start-up cancelled out",
    )
    parser.add_argument(
        "--warc-large-repeat",
        type=int,
        default=None,
        help="copies of the WARC for a second, larger run of each WARC row: the table then also gives the cost of "
        "each extra record, start-up cancelled out",
    )
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated subset of the rows (default: all)")
    parser.add_argument("--trials", type=int, default=1, help="runs per row; the table shows the fastest (by wall)")
    parser.add_argument("--warc", type=Path, default=DATA / "trafilatura-eval-pages.warc.gz")
    parser.add_argument(
        "--warc-as-is",
        action="store_true",
        help="do not add Common Crawl's WARC-Identified-Payload-Type header to the WARC's records (the setup of runs "
        "before 2026-12-07, where datatrove sniffs every page with libmagic and skips 10 %% of them)",
    )
    parser.add_argument("--jsonl", type=Path, default=DATA / "c4-en-sample-1000.jsonl.gz")
    parser.add_argument("--work-dir", type=Path, default=None, help="where copies and outputs go (default: a temp dir)")
    parser.add_argument("--keep-work", action="store_true", help="keep the copies, outputs and logs")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="where ingest.json and ingest.md go")
    parser.add_argument("--datatrove-job", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.datatrove_job:
        datatrove_job(json.loads(args.datatrove_job))
        return 0

    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    if any(ROWS[r][1] == "datatrove" for r in rows) and (missing := missing_datatrove_io()):
        parser.error(
            f"the datatrove rows need datatrove's io extra: pip install {' '.join(missing)} (or leave them out with --rows)"
        )
    jsonl_repeat = args.jsonl_repeat or 10 * args.repeat
    if args.jsonl_large_repeat is not None and args.jsonl_large_repeat <= jsonl_repeat:
        parser.error(f"--jsonl-large-repeat must be more than the {jsonl_repeat} copies of --jsonl-repeat")
    if args.warc_large_repeat is not None and args.warc_large_repeat <= args.repeat:
        parser.error(f"--warc-large-repeat must be more than the {args.repeat} copies of --repeat")
    for count in [c for c in (args.repeat, jsonl_repeat, args.warc_large_repeat) if c is not None]:
        if count < 1:
            parser.error("--repeat and --jsonl-repeat must be >= 1")
        if count % args.workers:
            print(f"note: {count} copies over {args.workers} datatrove tasks is unbalanced", file=sys.stderr)
    kinds = {ROWS[r][0] for r in rows}
    for kind, path in (("warc", args.warc), ("jsonl", args.jsonl)):
        if kind in kinds and not path.is_file():
            parser.error(f"{path} not found (the shared data lives in ../shared/data from the project root)")

    def replicate_warc_copies(src: Path, dest_dir: Path, copies: int) -> list[Path]:
        return replicate_warc(src, dest_dir, copies, add_payload_type=not args.warc_as_is)

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="curation-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    begun = time.perf_counter()
    try:
        inputs: dict[str, dict] = {}
        for kind, src, copies, replicate in (
            ("warc", args.warc, args.repeat, replicate_warc_copies),
            ("warc-large", args.warc, args.warc_large_repeat, replicate_warc_copies),
            ("jsonl", args.jsonl, jsonl_repeat, replicate_jsonl),
            ("jsonl-large", args.jsonl, args.jsonl_large_repeat, replicate_jsonl),
        ):
            if kind.split("-")[0] not in kinds or not copies:
                continue
            print(f"preparing {copies} copies of {src.name} ...", file=sys.stderr)
            t = time.perf_counter()
            paths = replicate(src, work / kind, copies)
            inputs[kind] = {
                "source": str(src),
                "copies": copies,
                "dir": str(work / kind),
                "files": len(paths),
                "bytes": sum(p.stat().st_size for p in paths),
                "uncompressed_bytes": uncompressed_bytes(paths),
                **({"payload_type_header": not args.warc_as_is} if kind.startswith("warc") else {}),
                "prepare_s": round(time.perf_counter() - t, 1),
            }
        startup = None
        if any(ROWS[r][1] == "ours" for r in rows):
            startup = [measure_spark_startup(args.workers) for _ in range(2)]
            print(f"Spark start-up (local[{args.workers}]): {startup} s", file=sys.stderr)
        spark_startup = min(startup) if startup else None

        def run_once(name: str, input_dir: Path, tag: str, trial: int) -> dict:
            """One run of a row on ``input_dir``."""
            kind, system, extractor, langid = ROWS[name]
            out = work / "out" / f"{name}{tag}-{trial}"
            log = work / "logs" / f"{name}{tag}-{trial}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            print(f"{name}{tag} (trial {trial + 1}/{args.trials}) ...", file=sys.stderr)
            if system == "ours":
                result = run_ours(input_dir, out, args.workers, extractor, langid, log)
                if result["reported_s"] is not None and spark_startup is not None:
                    result["net_s"] = round(result["reported_s"] - spark_startup, 3)
            else:
                result = run_datatrove(kind, input_dir, out, args.workers, extractor, log)
                result["net_s"] = result["run_s"]
            print(
                f"  wall {result['wall_s']:.1f} s, net {result.get('net_s')} s, "
                f"{result['records_read']} read, {result['documents']} docs",
                file=sys.stderr,
            )
            if not args.keep_work:
                shutil.rmtree(out, ignore_errors=True)
            return result

        # Trials go round the rows (row A, row B, row A, row B, ...) rather than row by row, so that a machine
        # that drifts faster or slower during the benchmark weighs on every row alike.
        runs: dict[tuple[str, str], list[dict]] = {}
        for trial in range(args.trials):
            for name in rows:
                kind = ROWS[name][0]
                runs.setdefault((name, ""), []).append(run_once(name, Path(inputs[kind]["dir"]), "", trial))
                if f"{kind}-large" in inputs:
                    large_dir = Path(inputs[f"{kind}-large"]["dir"])
                    runs.setdefault((name, "-large"), []).append(run_once(name, large_dir, "-large", trial))

        def fastest(trials: list[dict]) -> dict:
            return min(trials, key=lambda r: r["wall_s"])  # other load on the machine only adds time

        results, marginal = [], []
        for name in rows:
            kind, system, extractor, langid = ROWS[name]
            trials = runs[(name, "")]
            best = fastest(trials)
            size, raw_size, w = inputs[kind]["bytes"], inputs[kind]["uncompressed_bytes"], args.workers
            results.append(
                {
                    "row": name,
                    "input": kind,
                    "system": system,
                    "extractor": extractor,
                    "langid": langid,
                    "workers": w,
                    **best,
                    "wall": rates(best, best["wall_s"], size, raw_size, w),
                    "net": rates(best, best.get("net_s"), size, raw_size, w),
                    "trials_wall_s": [t["wall_s"] for t in trials],
                    "trials_net_s": [t.get("net_s") for t in trials],
                }
            )
            if (name, "-large") in runs:
                large_trials = runs[(name, "-large")]
                large = fastest(large_trials)
                marginal.append(extra_document_rates(name, best, large, w, [t["wall_s"] for t in large_trials]))
    finally:
        if not args.keep_work and args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    total_s = time.perf_counter() - begun

    machine = machine_info(java=True)
    meta = {
        "benchmark": "ingest",
        **provenance(
            ["pyspark", "datatrove", "trafilatura", "resiliparse", "warcio", "pyarrow", "fasttext-numpy2-wheel"],
            machine=machine,
            argv=argv,
        ),
        "workers": args.workers,
        "inputs": inputs,
        "spark_startup_s": startup,
        "benchmark_total_s": round(total_s, 1),
        "work_dir": str(work) if args.keep_work or args.work_dir else None,
    }
    payload = {**meta, "rows": results, "per_extra_document": marginal}

    def desc(r: dict) -> str:
        parts = [r["system"]]
        if r["extractor"]:
            parts.append(r["extractor"])
        parts.append("langid" if r["langid"] else "no langid")
        return ", ".join(parts)

    table_rows = []
    for r in results:
        inp = inputs[r["input"]]
        table_rows.append(
            [
                f"`{r['row']}`",
                f"{r['input']} ×{inp['copies']}",
                desc(r),
                r["records_read"],
                r["documents"],
                r["wall_s"],
                r.get("reported_s"),
                r.get("net_s"),
                r["wall"].get("docs_per_s"),
                r["net"].get("records_per_s"),
                r["net"].get("docs_per_s"),
                r["net"].get("docs_per_s_per_core"),
                r["net"].get("mb_per_s_per_core"),
            ]
        )
    table = markdown_table(
        [
            "row",
            "input",
            "system",
            "records read",
            "docs out",
            "wall s",
            "reported s",
            "net s",
            "docs/s (wall)",
            "records/s (net)",
            "docs/s (net)",
            "docs/s/core (net)",
            "MB/s/core (net, gzip input)",
        ],
        table_rows,
    )
    v = meta["versions"]
    input_lines = [
        f"- {kind}: {i['copies']} copies of `{Path(i['source']).name}` = {i['files']} files, "
        f"{i['bytes'] / MB:,.1f} MB gzip ({i['uncompressed_bytes'] / MB:,.1f} MB uncompressed); prepared in {i['prepare_s']} s"
        + _payload_type_note(i)
        for kind, i in inputs.items()
    ]
    notes = []
    for r in results:
        if len(r.get("trials_net_s") or []) > 1:
            by_trial = ", ".join("–" if t is None else f"{t:.1f}" for t in r["trials_net_s"])
            notes.append(f"- `{r['row']}`: net s by trial (in run order): {by_trial}")
        if r["system"] == "ours":
            rejected = ", ".join(f"{k} {n:,}" for k, n in r["rejected"].items()) or "none"
            notes.append(f"- `{r['row']}`: {r['splits']} splits, {r['shards']} shards; rejected: {rejected}")
        else:
            steps = "; ".join(
                f"{name.split(':')[-1].strip()}: "
                + ", ".join(
                    f"{k}={(val['total'] if isinstance(val, dict) else val):,}"
                    for k, val in s.items()
                    if k != "doc_len"
                )
                for name, s in r["step_stats"].items()
            )
            notes.append(f"- `{r['row']}`: {r['pipeline']}; {steps}")
    markdown = "\n".join(
        [
            "# Ingest throughput: `curate ingest` vs datatrove",
            "",
            f"- date (UTC): {meta['date']}",
            f"- machine: {machine['cpu_model']}, nproc={machine['nproc']}, {machine['memory_gib']} GiB RAM; {machine['os']}; "
            f"python {machine['python']}; {machine['java']}",
            f"- versions: {format_versions(v)}",
            f"- command: `{meta['command']}`; W = {args.workers} workers (Spark `local[{args.workers}]`, datatrove "
            f"tasks = workers = {args.workers}); {args.trials} trial(s) per row, taken in turn across the rows, the "
            "fastest (by wall) shown",
            *input_lines,
            *(
                [
                    f"- Spark start-up (session + one trivial job on W Python workers, separate process): "
                    f"{', '.join(f'{s:.1f}' for s in startup)} s; the minimum is subtracted for ours' *net s*"
                ]
                if startup
                else []
            ),
            "",
            table,
            "",
            "*wall s*: whole command (interpreter, imports, JVM/pool start-up, work, exit). *reported s*: the total our CLI "
            "prints (includes Spark start-up). *net s*: ours = reported − Spark start-up (estimate); datatrove = "
            "`LocalPipelineExecutor.run()` timed in-process. *records read*: every input record (WARC records, JSONL "
            "lines); *docs out*: rows written. Per core = ÷ W. MB = 10⁶ bytes of input as stored (gzip).",
            "",
            "The like-for-like WARC pairs are `ours-warc-trafilatura-nolangid` vs `datatrove-warc-trafilatura` (same "
            "trafilatura options) and `ours-warc-resiliparse-nolangid` vs `datatrove-warc-resiliparse` (the same "
            "Resiliparse call; datatrove ships no Resiliparse extractor, so it runs through a `BaseExtractor` subclass, "
            "`benchmarks/datatrove_resiliparse.py`). Our language ID (fastText) has no datatrove "
            "counterpart: compare datatrove with the *nolangid* rows. Without the payload-type header (--warc-as-is), "
            "datatrove's WarcReader drops pages libmagic does not identify as HTML (see its reader stats below), so it "
            "extracts fewer pages per record read.",
            "",
            *notes,
            "",
            *extra_document_table(marginal),
        ]
    )
    json_path, md_path = write_results(args.out_dir, "ingest", payload, markdown)
    print(markdown)
    print(f"wrote {json_path} and {md_path} ({total_s:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
