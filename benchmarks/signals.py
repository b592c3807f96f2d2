"""Signals throughput: our signals stage (Spark, ``local[W]``) against datatrove's ``LocalPipelineExecutor``
running the same four heuristic filters on the same documents with the same number of workers, in one run.

Documents (``--docs N``, ``--wiki-share S``, ``--seed``)
-------------------------------------------------------
A seeded replication of real text from the shared data (read-only, never copied into the repository):
``web/c4-en-sample-1000.jsonl.gz`` (1,000 C4 pages) and ``reference/enwiki-6514-articles.jsonl.gz``
(6,514 Wikipedia articles, 4 of them empty and left out). Every text is first normalised with our
``curation.text.normalize.normalize_text`` — the normalisation our ingest applies — so both systems see
byte-identical text (checked: every corpus text is compared with its JSONL line). ``round(N × S)``
documents come from Wikipedia and the rest from C4; each source is drawn copy after copy, every copy a
fresh seeded permutation of that source, until enough documents are drawn (so a text occurs at most
``ceil(n / pool)`` times). Copy ``k`` of a text gets the id ``c4/k/LINE`` or ``<wiki id>/k``; the rest
(text, url) is the original. All documents are then shuffled (same seed) and written to ``F = W ×
--tasks-per-worker`` JSONL files (plain by default, ``--gzip`` for gzip) in a temporary work directory:
file j holds exactly the documents our ingest assigns to corpus shard j (``curation.ids.shard_of``), so
datatrove's task j and our task j process the same documents; files are named largest first (UTF-8 text
bytes), the order in which our stage schedules shards, so datatrove (which takes files in name order)
schedules them the same way. Our corpus is built from those files once by ``curate ingest --no-langid
--shards F`` (not timed; checked: same texts, same shard per document). The filters' cost grows with
text length and Wikipedia articles are ~7× longer than C4 pages, so ``S`` (default 0.1: ~44 % of the
characters) sets how heavy an average document is (both are reported).

Rows (same documents, same W; in each trial every row runs once, in this order, each in a fresh process)
--------------------------------------------------------------------------------------------------------
* ``datatrove-chain`` — ``JsonlReader → GopherQualityFilter → GopherRepetitionFilter → C4QualityFilter →
  FineWebQualityFilter``, datatrove's natural use: a document dropped by a filter is never seen by the later
  ones (and C4QualityFilter's line removal changes the text FineWeb sees), so it does less work than ours.
* ``datatrove-verdicts`` — ``JsonlReader → AllVerdicts``: one PipelineStep (defined here) that calls each of
  the four filters' ``filter(doc)`` on a fresh ``Document`` copy per filter, stores pass and reason in
  ``doc.metadata`` and yields every document: the same work as our stage. **The goal comparison is
  ``ours-filters`` vs this row.**
* ``datatrove-verdicts-parquet`` — the same plus ``ParquetWriter(compression="zstd")`` with an adapter that
  writes what our stage writes (id + 4 × pass/reason), so the output side matches too.
* ``datatrove-verdicts-c4-last`` — ``AllVerdicts`` with the C4 filter run last, the order our stage runs the
  filters in. Datatrove keeps the results of its last 5 split calls (an ``lru_cache`` over all texts); C4's
  filter splits every line into sentences and pushes the document's word split out of it, so in the columns'
  order FineWeb's filter splits the whole document into words again. This row shows what a datatrove user
  gains from the same order.
* ``ours-filters`` — ``run_attribute_stage(corpus, HeuristicSignals(numeric=False), out, master=local[W])``:
  the four filters (datatrove's classes as a library, fresh ``Document`` per filter), one Spark task per
  shard, Parquet parts + manifest written.
* ``ours-full`` — ``HeuristicSignals()``: the four filters plus the 11 numeric RedPajama-v2 signals (what
  ``curate signals`` computes); ours does more work here than any datatrove row.

Datatrove runs ``LocalPipelineExecutor(tasks=F, workers=W)`` (one JSONL file per task); datatrove rows other
than ``-parquet`` write no output. Filters use datatrove's default thresholds on both sides.

Timings (per row and trial; every time column is the minimum over ``--trials``: other load only adds time)
----------------------------------------------------------------------------------------------------------
* ``warm s`` — ours: ``run_attribute_stage`` with the Spark session already started (session created and
  one trivial job run on W partitions first, in the same process); it still includes loading the producer
  (datatrove's filters) in each Python worker, reading the shards, writing parts, summary and manifest.
  Datatrove: ``LocalPipelineExecutor.run()`` (multiprocess pool start-up included: datatrove has no
  long-lived session).
* ``cold s`` — from the start of the job function in a fresh process, before importing pyspark/curation
  or datatrove, to the end of the stage / ``run()``. Ours: JVM + session start-up + the stage; datatrove:
  imports + building the pipeline + ``run()``.
* ``start-up s`` — ours only: session + the trivial job (``cold s − warm s``).
* ``wall s`` — the whole child process as seen by this script (interpreter start, imports, exit).
* Rates count input documents (every row reads all N; the chain forwards fewer), per core = ÷ W.
  ``ours/dt`` = ours' docs/s ÷ ``datatrove-verdicts`` docs/s (same column): ≥ 0.90 meets the goal.

Checks (reported in the JSON and the Markdown): corpus texts equal the JSONL texts; ``ours-filters`` and
``ours-full`` give the same verdicts for every document; ``datatrove-verdicts``' per-filter pass counts (all
documents) equal ours; and on ``--verify-docs`` sampled documents, read back with datatrove's JsonlReader,
the ``AllVerdicts`` verdicts (pass and reason) equal the ones our stage wrote.

Usage::

    PYSPARK_PYTHON=.venv/bin/python .venv/bin/python benchmarks/signals.py   # full run: ~2 h on 2 cores (~1 h with --trials 1)
    .venv/bin/python benchmarks/signals.py --docs 1500 --trials 1 --out-dir /tmp/sigbench   # smoke test
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    RESULTS,
    ROOT,
    SHARED_DATA,
    child_env,
    format_versions,
    load_average,
    machine_info,
    markdown_table,
    missing_datatrove_io,
    provenance,
    write_results,
)

DATA = SHARED_DATA
MB = 1_000_000

# The filters of curation.signals.heuristics.FILTERS (checked at start-up): (column prefix, datatrove class).
FILTERS = (
    ("gopher_quality", "GopherQualityFilter"),
    ("gopher_repetition", "GopherRepetitionFilter"),
    ("c4_quality", "C4QualityFilter"),
    ("fineweb_quality", "FineWebQualityFilter"),
)

VERDICT_COLUMNS = [f"{prefix}_{what}" for prefix, _ in FILTERS for what in ("pass", "reason")]

# name -> (system, variant)
ROWS = {
    "datatrove-chain": ("datatrove", "chain"),
    "datatrove-verdicts": ("datatrove", "verdicts"),
    "datatrove-verdicts-parquet": ("datatrove", "verdicts-parquet"),
    "datatrove-verdicts-c4-last": ("datatrove", "verdicts-c4-last"),
    "ours-filters": ("ours", "filters"),
    "ours-full": ("ours", "full"),
}
BASELINE = "datatrove-verdicts"
GOAL_RATIO = 0.9

DESCRIPTIONS = {
    "datatrove-chain": "JsonlReader → GopherQuality → GopherRepetition → C4Quality → FineWebQuality (drops at first "
    "failure)",
    "datatrove-verdicts": "JsonlReader → AllVerdicts (4 filters on every doc, fresh Document each; no output)",
    "datatrove-verdicts-parquet": "JsonlReader → AllVerdicts → ParquetWriter(zstd; id + verdicts)",
    "datatrove-verdicts-c4-last": "JsonlReader → AllVerdicts with C4's filter run last, as ours runs them (no output)",
    "ours-filters": "run_attribute_stage(HeuristicSignals(numeric=False)): 4 filters → Parquet parts",
    "ours-full": "run_attribute_stage(HeuristicSignals()): 4 filters + 11 numeric signals → Parquet parts",
}


# ----------------------------------------------------------------------------- documents


def _read_source(path: Path, name: str) -> list[dict]:
    """Every non-empty document of one source, text normalised as our ingest does."""
    from curation.text.normalize import normalize_text

    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            text = normalize_text(record.get("text") or "")
            if text:
                base = f"{name}/{{k}}/{line_no}" if "id" not in record else f"{record['id']}/{{k}}"
                docs.append({"base": base, "text": text, "url": record.get("url")})
    return docs


def _draw(pool: list[dict], n: int, rng: random.Random) -> list[tuple[int, dict]]:
    """n (copy, document) pairs: copy 0 is a seeded permutation of the pool, then copy 1, ..."""
    drawn: list[tuple[int, dict]] = []
    for k in range(math.ceil(n / len(pool)) if n else 0):
        order = list(range(len(pool)))
        rng.shuffle(order)
        drawn += [(k, pool[i]) for i in order[: n - len(drawn)]]
    return drawn


def prepare_documents(
    c4: Path, wiki: Path, out_dir: Path, n_docs: int, wiki_share: float, files: int, seed: int, compress: bool
) -> tuple[dict, dict[str, str]]:
    """Write the JSONL files; return their description and id -> sha256(text) for the corpus check."""
    rng = random.Random(seed)
    pools = {"c4": _read_source(c4, "c4"), "enwiki": _read_source(wiki, "enwiki")}
    wanted = {"enwiki": round(n_docs * wiki_share)}
    wanted["c4"] = n_docs - wanted["enwiki"]
    docs = []
    sources: dict = {}
    for name in ("c4", "enwiki"):
        drawn = _draw(pools[name], wanted[name], rng)
        docs += [
            {"id": doc["base"].format(k=k), "text": doc["text"], "url": doc["url"], "source": name} for k, doc in drawn
        ]
        chars = [len(doc["text"]) for _, doc in drawn]
        sources[name] = {
            "pool": len(pools[name]),
            "documents": len(drawn),
            "distinct_texts": len({id(doc) for _, doc in drawn}),
            "chars": sum(chars),
            "mean_chars": round(statistics.mean(chars)) if chars else 0,
            "median_chars": round(statistics.median(chars)) if chars else 0,
        }
    rng.shuffle(docs)
    from curation.ids import shard_of

    # File j holds exactly the documents our ingest puts in corpus shard j (shard_of), so datatrove's task j
    # and our task j get the same documents; files are named largest first (text bytes), the order in which
    # our stage schedules shards, so datatrove (which takes files in name order) schedules them alike.
    parts: list[list[dict]] = [[] for _ in range(files)]
    for doc in docs:
        parts[shard_of(doc["id"], files)].append(doc)
    sizes = [sum(len(doc["text"].encode("utf-8")) for doc in part) for part in parts]
    order = sorted(range(files), key=lambda j: (-sizes[j], j))
    out_dir.mkdir(parents=True)
    suffix = ".jsonl.gz" if compress else ".jsonl"
    paths = []
    for position, j in enumerate(order):
        body = "".join(json.dumps(doc, ensure_ascii=False) + "\n" for doc in parts[j]).encode("utf-8")
        path = out_dir / f"docs-{position:03d}-shard-{j:05d}{suffix}"
        path.write_bytes(gzip.compress(body, compresslevel=6, mtime=0) if compress else body)
        paths.append(path)
    digests = {doc["id"]: hashlib.sha256(doc["text"].encode("utf-8")).hexdigest() for doc in docs}
    if len(digests) != len(docs):
        raise SystemExit("duplicate document ids in the replication (a bug in this script)")
    info = {
        "documents": len(docs),
        "files": files,
        "dir": str(out_dir),
        "format": "jsonl.gz" if compress else "jsonl",
        "bytes": sum(p.stat().st_size for p in paths),
        "text_chars": sum(s["chars"] for s in sources.values()),
        "docs_per_file": [len(parts[j]) for j in order],
        "text_bytes_per_file": [sizes[j] for j in order],
        "seed": seed,
        "wiki_share": wiki_share,
        "sources": {"c4": str(c4), "enwiki": str(wiki)},
        "by_source": sources,
    }
    return info, digests


def build_corpus(jsonl_dir: Path, corpus: Path, shards: int, workers: int, log: Path) -> dict:
    """``curate ingest --no-langid --shards F`` over the JSONL files (not timed)."""
    cmd = [sys.executable, "-m", "pipelines.cli", "ingest", str(jsonl_dir), "--out", str(corpus), "--no-tracking"]
    cmd += ["--no-langid", "--shards", str(shards), "--master", f"local[{workers}]"]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), cwd=ROOT)
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        raise SystemExit(f"curate ingest failed ({done.returncode}); log: {log}\n{done.stderr[-3000:]}")
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    return {
        "command": " ".join(["python", "-m", "pipelines.cli", *cmd[3:]]),
        "seconds": round(time.perf_counter() - started, 1),
        "documents": manifest["counts"]["documents"],
        "rejected": manifest["counts"]["rejected"],
        "shards": len(manifest["shards"]),
        "shard_rows": [s["rows"] for s in manifest["shards"]],
        "bytes": manifest["counts"]["bytes_out"],
    }


def check_corpus(corpus: Path, digests: dict[str, str]) -> dict:
    """Every corpus text equals its JSONL text, and corpus shard j holds the documents of JSONL file j."""
    import pyarrow.parquet as pq

    from curation.corpus import Corpus
    from curation.ids import shard_of

    paths = Corpus.open(corpus).shard_paths
    documents = equal = placed = 0
    for shard, path in enumerate(paths):
        table = pq.read_table(path, columns=["id", "text"])
        for doc_id, text in zip(table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True):
            documents += 1
            equal += digests.get(doc_id) == hashlib.sha256(text.encode("utf-8")).hexdigest()
            placed += shard_of(doc_id, len(paths)) == shard
    ok = documents == equal == placed == len(digests)
    return {"documents": documents, "text_equal": equal, "same_shard_as_file": placed, "ok": ok}


# ----------------------------------------------------------------------------- datatrove side


def _verdicts_step_class():
    """``AllVerdicts``, built lazily so that ``--help`` works without datatrove."""
    import datatrove.pipeline.filters as filters
    from datatrove.data import Document
    from datatrove.pipeline.base import PipelineStep

    class AllVerdicts(PipelineStep):
        """Every filter's verdict on every document (fresh Document per filter), kept in doc.metadata."""

        name = "all verdicts"
        type = "🔻 - FILTER"

        def __init__(self, c4_last: bool = False):
            super().__init__()
            self.filters = [(prefix, getattr(filters, cls)()) for prefix, cls in FILTERS]
            if c4_last:  # the order our stage runs them in
                from curation.signals.heuristics import in_run_order

                self.filters = in_run_order(self.filters)

        def verdicts(self, doc) -> dict:
            out = {}
            for prefix, step in self.filters:
                result = step.filter(Document(text=doc.text, id=doc.id, metadata=dict(doc.metadata)))
                ok, reason = (result, None) if isinstance(result, bool) else (bool(result[0]), result[1])
                out[f"{prefix}_pass"] = ok
                out[f"{prefix}_reason"] = None if ok else reason
            return out

        def run(self, data, rank: int = 0, world_size: int = 1):
            for doc in data:
                with self.track_time():
                    verdicts = self.verdicts(doc)
                doc.metadata.update(verdicts)
                self.stat_update("total")
                for prefix, _ in FILTERS:
                    if verdicts[f"{prefix}_pass"]:
                        self.stat_update(f"{prefix}_pass")
                yield doc

    return AllVerdicts


def verdict_adapter(self, document) -> dict:
    """ParquetWriter adapter: the columns our stage writes (id + pass/reason per filter)."""
    return {"id": document.id, **{k: document.metadata[k] for k in VERDICT_COLUMNS}}


def datatrove_job(job: dict) -> None:
    """Runs in its own process (``--datatrove-job``): the datatrove pipeline, timed around executor.run()."""
    t0 = time.perf_counter()
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader

    out = Path(job["out"])
    pipeline: list = [JsonlReader(job["input"])]
    if job["variant"] == "chain":
        import datatrove.pipeline.filters as filters

        pipeline += [getattr(filters, cls)() for _, cls in FILTERS]
    else:
        pipeline.append(_verdicts_step_class()(c4_last=job["variant"] == "verdicts-c4-last"))
        if job["variant"] == "verdicts-parquet":
            import pyarrow as pa
            from datatrove.pipeline.writers import ParquetWriter

            schema = pa.schema(
                [pa.field("id", pa.string())]
                + [pa.field(c, pa.bool_() if c.endswith("_pass") else pa.string()) for c in VERDICT_COLUMNS]
            )
            pipeline.append(
                ParquetWriter(str(out / "data"), compression="zstd", adapter=verdict_adapter, schema=schema)
            )
    executor = LocalPipelineExecutor(
        pipeline, tasks=job["tasks"], workers=job["workers"], logging_dir=str(out / "logs")
    )
    t1 = time.perf_counter()
    executor.run()
    t2 = time.perf_counter()
    stats = json.loads((out / "logs" / "stats.json").read_text(encoding="utf-8"))

    def total(block: dict, name: str) -> int:
        value = block.get("stats", {}).get(name, 0)
        return int(value["total"] if isinstance(value, dict) else value)

    for block in stats:
        block.get("stats", {}).pop("doc_len", None)
    result = {
        "warm_s": round(t2 - t1, 3),
        "cold_s": round(t2 - t0, 3),
        "documents": total(stats[0], "documents"),
        "forwarded": total(stats[-1], "forwarded") if job["variant"] == "chain" else total(stats[1], "total"),
        "step_stats": {
            block["name"]: {k: (v["total"] if isinstance(v, dict) else v) for k, v in block.get("stats", {}).items()}
            for block in stats
        },
    }
    print("DATATROVE_RESULT " + json.dumps(result, ensure_ascii=False))


# ----------------------------------------------------------------------------- our side


def ours_job(job: dict) -> None:
    """Runs in its own process (``--ours-job``): start the session, then the stage; both timed."""
    t0 = time.perf_counter()
    from curation.attribute_stage import run_attribute_stage
    from curation.signals.heuristics import HeuristicSignals
    from curation.spark import get_spark

    master = f"local[{job['workers']}]"
    spark = get_spark(master, "bench-signals")
    w = job["workers"]
    spark.sparkContext.parallelize(range(w), w).map(lambda x: x).collect()  # starts the Python workers
    t1 = time.perf_counter()
    result = run_attribute_stage(
        job["corpus"], HeuristicSignals(numeric=job["numeric"]), job["out"], master=master, tracking=False
    )
    t2 = time.perf_counter()
    summary = result.manifest["summary"]
    print(
        "OURS_RESULT "
        + json.dumps(
            {
                "startup_s": round(t1 - t0, 3),
                "warm_s": round(t2 - t1, 3),
                "cold_s": round(t2 - t0, 3),
                "documents": result.manifest["rows"],
                "shards": result.manifest["shards"],
                "pass_counts": {p: summary[f"{p}_pass"]["true"] for p, _ in FILTERS},
            }
        )
    )
    spark.stop()


def run_child(flag: str, job: dict, marker: str, log: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), flag, json.dumps(job)]
    load = load_average()[0]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), cwd=ROOT)
    wall = time.perf_counter() - started
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    lines = [line for line in done.stdout.splitlines() if line.startswith(marker + " ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{flag} failed ({done.returncode}); log: {log}\n{done.stderr[-3000:]}")
    return {**json.loads(lines[-1].removeprefix(marker + " ")), "wall_s": round(wall, 3), "load_1min_before": load}


# ----------------------------------------------------------------------------- verification


def _read_verdicts(attribute_dir: Path) -> dict[str, tuple]:
    import pyarrow.parquet as pq

    table = pq.read_table(sorted(attribute_dir.glob("part-*.parquet")), columns=["id", *VERDICT_COLUMNS])
    columns = [table.column(c).to_pylist() for c in VERDICT_COLUMNS]
    return {doc_id: tuple(col[i] for col in columns) for i, doc_id in enumerate(table.column("id").to_pylist())}


def verify(jsonl_dir: Path, attributes: dict[str, Path], sample: int, seed: int, dt_pass: dict | None) -> dict:
    """Same verdicts: ours-filters vs ours-full (all docs), vs datatrove's pass counts, vs AllVerdicts (sample)."""
    out: dict = {}
    ours = _read_verdicts(attributes["ours-filters"]) if "ours-filters" in attributes else None
    if ours is not None and "ours-full" in attributes:
        full = _read_verdicts(attributes["ours-full"])
        same = sum(1 for doc_id, v in ours.items() if full.get(doc_id) == v)
        out["ours_filters_vs_full"] = {"documents": len(ours), "equal": same, "ok": same == len(ours) == len(full)}
    ours = ours if ours is not None else (_read_verdicts(attributes["ours-full"]) if attributes else None)
    if ours is None:
        return out
    if dt_pass is not None:
        mine = {p: sum(1 for v in ours.values() if v[2 * i]) for i, (p, _) in enumerate(FILTERS)}
        out["pass_counts_all_docs"] = {"ours": mine, "datatrove_verdicts": dt_pass, "ok": mine == dt_pass}
    if sample <= 0:
        return out
    from datatrove.pipeline.readers import JsonlReader
    from loguru import logger

    logger.disable("datatrove")  # its reader logs every file it opens
    step = _verdicts_step_class()()
    docs = list(JsonlReader(str(jsonl_dir)).run())
    chosen = random.Random(seed).sample(docs, min(sample, len(docs)))
    per_filter = {p: {"pass_equal": 0, "reason_equal": 0, "datatrove_fail": 0} for p, _ in FILTERS}
    all_equal = 0
    mismatches = []
    for doc in chosen:
        theirs = step.verdicts(doc)
        mine = ours.get(doc.id)
        equal = mine is not None
        for i, (prefix, _) in enumerate(FILTERS):
            ok, reason = theirs[f"{prefix}_pass"], theirs[f"{prefix}_reason"]
            expected_reason = None if ok else (reason or f"{prefix}_failed")  # our stage's name for a bare False
            p_eq = mine is not None and mine[2 * i] == ok
            r_eq = mine is not None and mine[2 * i + 1] == expected_reason
            per_filter[prefix]["pass_equal"] += p_eq
            per_filter[prefix]["reason_equal"] += r_eq
            per_filter[prefix]["datatrove_fail"] += not ok
            equal = equal and p_eq and r_eq
            if not (p_eq and r_eq) and len(mismatches) < 5:
                mismatches.append({"id": doc.id, "filter": prefix, "datatrove": [ok, reason], "ours": mine})
        all_equal += equal
    out["sample_vs_datatrove_allverdicts"] = {
        "documents": len(chosen),
        "all_verdicts_equal": all_equal,
        "per_filter": per_filter,
        "mismatches": mismatches,
        "ok": all_equal == len(chosen),
    }
    return out


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Signals throughput: our signals stage (Spark, local[W]) vs datatrove's LocalPipelineExecutor "
        "running the same four filters on the same documents. Writes benchmarks/results/signals.{json,md}.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Rows: " + ", ".join(ROWS) + ". Documents, timing and checks: see this script's docstring.",
    )
    parser.add_argument("--docs", "-n", type=int, default=20_000, help="documents in all (default 20,000)")
    parser.add_argument("--wiki-share", type=float, default=0.1, help="fraction drawn from Wikipedia (default 0.1)")
    parser.add_argument("--workers", "-w", type=int, default=2, help="W: Spark local[W], datatrove workers=W")
    parser.add_argument(
        "--tasks-per-worker", type=int, default=4, help="F = W x this: JSONL files, datatrove tasks, corpus shards"
    )
    parser.add_argument("--trials", type=int, default=2, help="runs per row; every time shown is the minimum")
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated subset of the rows (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the replication and the verification sample")
    parser.add_argument("--gzip", action="store_true", help="write the JSONL files gzip-compressed (default plain)")
    parser.add_argument("--verify-docs", type=int, default=500, help="sampled docs checked against AllVerdicts")
    parser.add_argument("--c4", type=Path, default=DATA / "web" / "c4-en-sample-1000.jsonl.gz")
    parser.add_argument("--wiki", type=Path, default=DATA / "reference" / "enwiki-6514-articles.jsonl.gz")
    parser.add_argument("--work-dir", type=Path, default=None, help="documents, corpus, outputs (default: temp dir)")
    parser.add_argument("--keep-work", action="store_true", help="keep the documents, corpus, outputs and logs")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="where signals.json and signals.md go")
    parser.add_argument("--datatrove-job", help=argparse.SUPPRESS)
    parser.add_argument("--ours-job", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.datatrove_job:
        datatrove_job(json.loads(args.datatrove_job))
        return 0
    if args.ours_job:
        ours_job(json.loads(args.ours_job))
        return 0

    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    if args.docs < 1 or args.workers < 1 or args.tasks_per_worker < 1 or args.trials < 1:
        parser.error("--docs, --workers, --tasks-per-worker and --trials must be >= 1")
    if not 0 <= args.wiki_share <= 1:
        parser.error("--wiki-share must be in [0, 1]")
    if missing := missing_datatrove_io():
        parser.error(f"datatrove's JsonlReader needs its io extra: pip install {' '.join(missing)}")
    for path in (args.c4, args.wiki):
        if not path.is_file():
            parser.error(f"{path} not found (the shared data lives in ../shared/data from the project root)")
    from curation.signals.heuristics import FILTERS as OUR_FILTERS

    if [(p, c) for p, c, _ in OUR_FILTERS] != list(FILTERS):
        raise SystemExit(f"curation.signals.heuristics.FILTERS changed; update FILTERS here: {OUR_FILTERS}")
    if args.workers > (os.cpu_count() or 1):
        print(f"note: {args.workers} workers on {os.cpu_count()} CPUs", file=sys.stderr)

    machine = machine_info(java=True)
    load_before = machine.pop("load_average")
    files = args.workers * args.tasks_per_worker
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="curation-bench-signals-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "logs").mkdir(exist_ok=True)
    begun = time.perf_counter()
    try:
        print(f"preparing {args.docs:,} documents in {files} files ...", file=sys.stderr)
        t = time.perf_counter()
        documents, digests = prepare_documents(
            args.c4, args.wiki, work / "jsonl", args.docs, args.wiki_share, files, args.seed, args.gzip
        )
        documents["prepare_s"] = round(time.perf_counter() - t, 1)
        print(f"ingesting into {files} shards (not timed) ...", file=sys.stderr)
        corpus_dir = work / "corpus"
        corpus = build_corpus(work / "jsonl", corpus_dir, files, args.workers, work / "logs" / "ingest.log")
        if corpus["documents"] != documents["documents"] or corpus["rejected"]:
            raise SystemExit(f"ingest kept {corpus['documents']} of {documents['documents']}: {corpus['rejected']}")
        corpus["text_check"] = check_corpus(corpus_dir, digests)
        if not corpus["text_check"]["ok"]:
            raise SystemExit(f"corpus does not match the JSONL files: {corpus['text_check']}")
        del digests

        trials: dict[str, list[dict]] = {name: [] for name in rows}
        kept: dict[str, Path] = {}
        for trial in range(args.trials):
            for name in rows:
                system, variant = ROWS[name]
                out = work / "out" / f"{name}-{trial}"
                log = work / "logs" / f"{name}-{trial}.log"
                print(f"{name} (trial {trial + 1}/{args.trials}) ...", file=sys.stderr)
                if system == "ours":
                    job = {"corpus": str(corpus_dir), "out": str(out), "workers": args.workers}
                    job["numeric"] = variant == "full"
                    result = run_child("--ours-job", job, "OURS_RESULT", log)
                else:
                    job = {"variant": variant, "input": str(work / "jsonl"), "out": str(out)}
                    job |= {"workers": args.workers, "tasks": files}
                    result = run_child("--datatrove-job", job, "DATATROVE_RESULT", log)
                if result["documents"] != documents["documents"]:
                    raise SystemExit(f"{name} read {result['documents']} documents, not {documents['documents']}")
                print(
                    f"  warm {result['warm_s']:.1f} s, cold {result['cold_s']:.1f} s, wall {result['wall_s']:.1f} s"
                    f" (load {result['load_1min_before']})",
                    file=sys.stderr,
                )
                trials[name].append(result)
                if system == "ours":
                    if name in kept:
                        shutil.rmtree(kept[name], ignore_errors=True)
                    kept[name] = out  # the last trial's attributes are verified below
                elif not args.keep_work:
                    shutil.rmtree(out, ignore_errors=True)

        dt_pass = None
        if BASELINE in trials:
            step = next(s for n, s in trials[BASELINE][-1]["step_stats"].items() if "all verdicts" in n)
            dt_pass = {p: int(step.get(f"{p}_pass", 0)) for p, _ in FILTERS}
        print("verifying verdicts ...", file=sys.stderr)
        checks = verify(work / "jsonl", kept, args.verify_docs, args.seed, dt_pass)
    finally:
        if not args.keep_work and args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    total_s = time.perf_counter() - begun
    load_after = load_average()

    n, w = documents["documents"], args.workers

    def rate(seconds: float | None) -> float | None:
        return round(n / seconds, 1) if seconds else None

    results = []
    for name in rows:
        system, variant = ROWS[name]
        runs = trials[name]
        best = {key: min(r[key] for r in runs) for key in ("warm_s", "cold_s", "wall_s")}
        if system == "ours":
            best["startup_s"] = min(r["startup_s"] for r in runs)
        results.append(
            {
                "row": name,
                "system": system,
                "pipeline": DESCRIPTIONS[name],
                "workers": w,
                "tasks": files,
                "documents": n,
                "forwarded": runs[-1].get("forwarded"),
                **best,
                "docs_per_s": {k.removesuffix("_s"): rate(best[k]) for k in ("warm_s", "cold_s", "wall_s")},
                "docs_per_s_per_core": {
                    k.removesuffix("_s"): round(n / best[k] / w, 2) for k in ("warm_s", "cold_s", "wall_s")
                },
                "trials": runs,
            }
        )
    base = next((r for r in results if r["row"] == BASELINE), None)
    for r in results:
        r["ratio_vs_datatrove_verdicts"] = (
            {k: round(base[f"{k}_s"] / r[f"{k}_s"], 3) for k in ("warm", "cold", "wall")} if base else None
        )
    goal = None
    ours_filters = next((r for r in results if r["row"] == "ours-filters"), None)
    if base and ours_filters:
        ratios = ours_filters["ratio_vs_datatrove_verdicts"]
        goal = {
            "compare": "ours-filters vs datatrove-verdicts, docs/s ratio",
            "target": GOAL_RATIO,
            "warm": ratios["warm"],
            "cold": ratios["cold"],
            "met_warm": ratios["warm"] >= GOAL_RATIO,
            "met_cold": ratios["cold"] >= GOAL_RATIO,
        }

    meta = {
        "benchmark": "signals",
        **provenance(
            ["pyspark", "datatrove", "pyarrow", "spacy", "nltk"],
            machine={**machine, "load_average_before": load_before, "load_average_after": load_after},
            argv=argv,
        ),
        "workers": w,
        "tasks": files,
        "trials": args.trials,
        "reported": "minimum over trials, per time column",
        "documents": documents,
        "corpus": corpus,
        "checks": checks,
        "goal": goal,
        "benchmark_total_s": round(total_s, 1),
        "work_dir": str(work) if args.keep_work or args.work_dir else None,
    }
    payload = {**meta, "rows": results}

    table_rows = []
    for r in results:
        ratio = r["ratio_vs_datatrove_verdicts"] or {}
        table_rows.append(
            [
                f"`{r['row']}`",
                r["pipeline"],
                r.get("startup_s"),
                r["warm_s"],
                r["cold_s"],
                r["wall_s"],
                r["docs_per_s"]["warm"],
                r["docs_per_s_per_core"]["warm"],
                r["docs_per_s_per_core"]["cold"],
                ratio.get("warm"),
                ratio.get("cold"),
            ]
        )
    table = markdown_table(
        [
            "row",
            "pipeline",
            "start-up s",
            "warm s",
            "cold s",
            "wall s",
            "docs/s (warm)",
            "docs/s/core (warm)",
            "docs/s/core (cold)",
            "ours/dt (warm)",
            "ours/dt (cold)",
        ],
        table_rows,
    )
    v = meta["versions"]
    src = documents["by_source"]
    doc_line = (
        f"- documents: {n:,} = {src['c4']['documents']:,} C4 ({src['c4']['distinct_texts']:,} distinct of "
        f"{src['c4']['pool']:,}, mean {src['c4']['mean_chars']:,} chars) + {src['enwiki']['documents']:,} Wikipedia "
        f"({src['enwiki']['distinct_texts']:,} distinct of {src['enwiki']['pool']:,}, mean "
        f"{src['enwiki']['mean_chars']:,} chars); {documents['text_chars'] / MB:,.1f} M chars in "
        f"{documents['files']} {documents['format']} files ({documents['bytes'] / MB:,.1f} MB), seed {args.seed}; "
        f"corpus: {corpus['shards']} shards ({corpus['seconds']} s ingest, not timed), texts identical "
        f"{corpus['text_check']['text_equal']:,}/{n:,}, in the shard of the same number as their JSONL file "
        f"{corpus['text_check']['same_shard_as_file']:,}/{n:,}"
    )
    check_lines = []
    if c := checks.get("sample_vs_datatrove_allverdicts"):
        check_lines.append(
            f"- verdicts, ours vs datatrove `AllVerdicts` on {c['documents']:,} sampled docs (read by JsonlReader): "
            f"{c['all_verdicts_equal']:,} with all 8 values equal; per filter pass/reason equal: "
            + ", ".join(f"{p} {s['pass_equal']}/{s['reason_equal']}" for p, s in c["per_filter"].items())
        )
    if c := checks.get("pass_counts_all_docs"):
        check_lines.append(
            f"- pass counts, all {n:,} docs: ours {c['ours']} vs `datatrove-verdicts` {c['datatrove_verdicts']} "
            f"({'equal' if c['ok'] else 'DIFFERENT'})"
        )
    if c := checks.get("ours_filters_vs_full"):
        check_lines.append(f"- `ours-filters` and `ours-full` verdicts equal on {c['equal']:,}/{c['documents']:,} docs")
    chain_notes = [
        f"- `{r['row']}`: forwarded {r['forwarded']:,} of {n:,}; "
        + "; ".join(
            f"{step.split(':')[-1].strip()}: " + ", ".join(f"{k}={val:,}" for k, val in s.items())
            for step, s in r["trials"][-1]["step_stats"].items()
        )
        for r in results
        if r["row"] == "datatrove-chain"
    ]
    load_line = "- 1-min load average before each run: " + "; ".join(
        f"`{r['row']}` " + ", ".join(f"{t['load_1min_before']:.1f}" for t in r["trials"]) for r in results
    )
    goal_line = (
        f"**Goal** (ours-filters ≥ {GOAL_RATIO:.0%} of datatrove-verdicts' docs/s): warm {goal['warm']:.3f} "
        f"({'met' if goal['met_warm'] else 'NOT met'}), cold {goal['cold']:.3f} "
        f"({'met' if goal['met_cold'] else 'NOT met'})."
        if goal
        else ""
    )
    markdown = "\n".join(
        [
            "# Signals throughput: our signals stage vs datatrove",
            "",
            f"- date (UTC): {meta['date']}",
            f"- machine: {machine['cpu_model']}, nproc={machine['nproc']}, {machine['memory_gib']} GiB RAM; "
            f"{machine['os']}; python {machine['python']}; {machine['java']}; load average before "
            f"{load_before}, after {load_after}",
            f"- versions: {format_versions(v)}",
            f"- command: `{meta['command']}`; W = {w} workers (Spark `local[{w}]`, datatrove "
            f"`LocalPipelineExecutor(tasks={files}, workers={w})`), {files} JSONL files = {files} tasks = {files} "
            f"corpus shards; {args.trials} trial(s) per row, rows interleaved; every time is the minimum over trials",
            doc_line,
            "",
            table,
            "",
            goal_line,
            "",
            "*warm s*: ours = `run_attribute_stage` with the Spark session and its Python workers already started; "
            "datatrove = `LocalPipelineExecutor.run()` (includes its pool start-up). *cold s*: fresh process, from "
            "before importing pyspark/datatrove to the end (ours: JVM + session start-up + stage). *start-up s*: "
            "ours' session + one trivial job. *wall s*: the whole child process. Rates count the N input documents; "
            "per core = ÷ W. *ours/dt*: docs/s ÷ `datatrove-verdicts`' docs/s in the same column (≥ 1: faster).",
            "",
            "`datatrove-verdicts` does the same work as ours (all 4 verdicts for every document) but writes no "
            "output; `datatrove-verdicts-parquet` also writes id + verdicts as zstd Parquet like ours. Ours runs C4's "
            "filter last, so that datatrove's cache of its last 5 split calls still holds the document's word split "
            "for FineWeb's filter (C4's sentence split of every line pushes it out): one whole-document word split "
            "instead of two; `datatrove-verdicts-c4-last` is datatrove in that order. "
            "`datatrove-chain` is datatrove's natural pipeline: a document dropped by one filter is not seen by "
            "the next, so it does less work. `ours-full` adds the 11 numeric signals (more work than any datatrove "
            "row). Ours reads the ingested Parquet corpus; datatrove reads the JSONL files.",
            "",
            *check_lines,
            *chain_notes,
            load_line,
            "",
        ]
    )
    json_path, md_path = write_results(args.out_dir, "signals", payload, markdown)
    print(markdown)
    print(f"wrote {json_path} and {md_path} ({total_s:.0f} s)", file=sys.stderr)
    failed = [name for name, check in checks.items() if not check["ok"]]
    if failed:
        print(f"CHECKS FAILED: {', '.join(failed)} (see signals.json)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
