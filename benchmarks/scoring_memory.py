"""Memory of one DataRater scoring worker (``--producer signals``: a signals worker) as its input grows: does it
stay bounded, batch after batch?

``benchmarks/scale.py`` measures whole Spark workers from outside; this looks inside one: the attribute stage's
own task function, ``curation.attribute_stage.compute_part`` (what a Spark Python worker runs for a shard: the
same producer pickling, 1,024-row batches, Parquet reader and writer), run in a fresh Python process on one
shard, with the resident memory recorded after every batch.

Setup (not measured)
--------------------
* the DataRater model: ``curate datarater train`` on the C4 sample exactly as ``scale.py`` trains it (the
  default rater architecture, which is what scoring costs depend on);
* a corpus: ``curate ingest`` (local mode, one shard) of the five shared web files ``scale.py`` uses, whole
  (~1,980 documents, ~8.6 MB of text: C4 pages, HTML pages of the trafilatura benchmark, Common Crawl WARC/WET);
* shards of K copies (``--copies``) of that corpus's documents: copy ``r`` holds them in a seeded order
  (``numpy.random.default_rng([seed, r]).permutation``) with ``#r`` appended to every id, written as ingest
  writes a shard (zstd, 4,096-row row groups). K copies = K times the documents, the same text distribution.

Each case runs in its own process with one torch thread (a 1-core executor). After every batch it records the
batch's rows, UTF-8 text bytes and largest document, the process's RSS, and the batch's own peak (VmHWM, reset
before the batch through ``/proc/self/clear_refs``). A case is a shard size and a variant:

* ``current``: the code as it is;
* ``before`` (``--before-copies``): the four causes of growth this benchmark found put back, to show what
  each case cost before they were fixed: Parquet pre-buffering on (pyarrow's default: the reader keeps every
  row group's column chunks until it is closed), no ``malloc_trim`` between batches (``curation.malloc_trim``:
  glibc keeps freed heap pages, and batches of varying sizes fragment the heap), a whole 1,024-row batch
  tokenized and windowed at once (``chunk_bytes`` unlimited), and oneDNN's CPU kernels in the forward pass
  (it compiles and caches one per input shape, and the shapes vary: ``scoring._without_onednn``). For
  signals only the first two apply.

Bounded means: the peak does not grow with the shard (K), and RSS does not climb from batch to batch (the
growth column: median RSS of the last quarter of batches minus that of the first quarter). Scores of a shard
must not depend on the variant (checked: largest absolute difference).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from common import (
    RESULTS,
    ROOT,
    format_versions,
    load_average,
    machine_info,
    markdown_table,
    package_versions,
    write_results,
)
from scale import DATA, MB, SAMPLE, cli, run_logged, train_model

from curation.signals.heuristics import HeuristicSignals
from raters.datarater.scoring import CHUNK_TEXT_BYTES, DataRaterScores

BATCH_ROWS = 1024  # what the attribute stage reads per batch (run_attribute_stage's default)
ROW_GROUP_ROWS = 4096  # ingest's default row group


# ----------------------------------------------------------------------------- the child: one case


def _status() -> dict[str, float]:
    """VmRSS and VmHWM of this process, MB."""
    values = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                values[key] = int(value.split()[0]) * 1024 / MB
    return values


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")  # resets VmHWM to the current RSS


def _trace(path: str, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as trace:
        trace.write(json.dumps(record) + "\n")


class TracedSignals(HeuristicSignals):
    """The signals producer, recording memory before its first batch and after every batch."""

    def __init__(self, trace_path: str):
        super().__init__()
        self.trace_path = trace_path

    def __getstate__(self):
        return {**super().__getstate__(), "trace_path": self.trace_path}

    def __setstate__(self, state):
        super().__setstate__(state)
        self.trace_path = state["trace_path"]

    def compute(self, batch):
        if self._filters is None:  # the worker's first batch: what it holds before any work
            _trace(self.trace_path, {"event": "model_loaded", **_status()})
        return _traced_batch(self.trace_path, batch, super().compute)


class TracedScores(DataRaterScores):
    """The DataRater producer, recording memory after the model load and after every batch."""

    def __init__(self, model_dir: str, trace_path: str, chunk_bytes: int):
        self.trace_path = trace_path
        super().__init__(model_dir, device="cpu", chunk_bytes=chunk_bytes)

    def load_model(self, device):
        loaded = super().load_model(device)
        _trace(self.trace_path, {"event": "model_loaded", **_status()})
        return loaded

    def compute(self, batch):
        return _traced_batch(self.trace_path, batch, super().compute)


def _traced_batch(trace_path: str, batch, compute):
    """``compute(batch)``, then one trace line: the batch's text, seconds, RSS after and peak during it."""
    texts = batch.column("text").to_pylist()
    sizes = [len(t.encode("utf-8")) for t in texts]
    del texts
    _reset_peak()
    started = time.perf_counter()
    values = compute(batch)
    seconds = time.perf_counter() - started
    status = _status()
    _trace(trace_path, {
        "event": "batch", "rows": len(sizes), "text_bytes": sum(sizes), "largest_doc_bytes": max(sizes),
        "seconds": round(seconds, 3), "rss_mb": round(status["VmRSS"], 1), "batch_peak_mb": round(status["VmHWM"], 1),
    })  # fmt: skip
    return values


def run_child(spec: dict) -> None:
    """Score ``spec['shard']`` with ``compute_part``, one JSON line per batch to ``spec['trace']``."""
    import torch

    import curation.attribute_stage as stage

    torch.set_num_threads(1)
    chunk_bytes = CHUNK_TEXT_BYTES
    if spec["variant"] == "before":
        import pyarrow.parquet as pq

        import raters.datarater.scoring as scoring

        stage.open_parquet_stream = pq.ParquetFile  # pyarrow's defaults: pre_buffer=True
        stage.trim_heap = lambda: False  # freed heap pages kept between batches
        scoring._without_onednn = contextlib.nullcontext  # oneDNN's kernel per shape, cached
        chunk_bytes = 1 << 62  # the whole batch at once

    if spec["producer"] == "signals":
        producer = TracedSignals(spec["trace"])
    else:
        producer = TracedScores(spec["model"], spec["trace"], chunk_bytes)
    blob = pickle.dumps(producer)  # as the driver ships it
    del producer
    started = time.perf_counter()
    result = stage.compute_part(spec["shard"], 0, blob, spec["out"], BATCH_ROWS)
    seconds = time.perf_counter() - started
    _trace(spec["trace"], {"event": "done", "rows": result["rows"], "seconds": round(seconds, 2)})


# ----------------------------------------------------------------------------- the parent


def make_shard(corpus_shard: Path, copies: int, seed: int, out: Path) -> dict:
    """K seeded copies of the corpus's documents with distinct ids, written as ingest writes a shard."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    source = pq.read_table(corpus_shard)
    parts = []
    for r in range(copies):
        order = np.random.default_rng([seed, r]).permutation(source.num_rows)
        table = source.take(pa.array(order))
        ids = pc.binary_join_element_wise(table.column("id"), pa.scalar(f"#{r}"), "")
        parts.append(table.set_column(table.schema.get_field_index("id"), "id", ids))
    table = pa.concat_tables(parts)
    pq.write_table(table, out, compression="zstd", row_group_size=ROW_GROUP_ROWS)
    text_bytes = int(pc.sum(pc.binary_length(pc.cast(table.column("text"), pa.binary()))).as_py())
    return {"copies": copies, "documents": table.num_rows, "text_bytes": text_bytes, "file_bytes": out.stat().st_size}


def run_case(shard: Path, shard_info: dict, variant: str, producer: str, model: Path, work: Path) -> dict:
    case = work / f"case-{shard_info['copies']}x-{variant}"
    case.mkdir(parents=True)
    spec = {"shard": str(shard), "variant": variant, "producer": producer, "model": str(model), "out": str(case / "out"),
            "trace": str(case / "trace.jsonl")}  # fmt: skip
    Path(spec["out"]).mkdir()
    load_before = load_average()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], cwd=ROOT, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"case {case.name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    events = [json.loads(line) for line in Path(spec["trace"]).read_text(encoding="utf-8").splitlines()]
    batches = [e for e in events if e["event"] == "batch"]
    loaded = [e for e in events if e["event"] == "model_loaded"][-1]  # the worker's (the first: checked on open)
    finished = next(e for e in events if e["event"] == "done")
    rss = [b["rss_mb"] for b in batches]
    quarter = max(1, len(rss) // 4)
    first, last = sorted(rss[:quarter]), sorted(rss[-quarter:])
    return {
        **shard_info,
        "variant": variant,
        "batches": len(batches),
        "rows_scored": finished["rows"],
        "seconds": finished["seconds"],
        "process_wall_s": round(wall, 2),
        "rss_model_loaded_mb": round(loaded["VmRSS"], 1),
        "peak_mb": max(b["batch_peak_mb"] for b in batches),
        "rss_first_batch_mb": rss[0],
        "rss_last_batch_mb": rss[-1],
        "rss_growth_mb": round(last[len(last) // 2] - first[len(first) // 2], 1),
        "largest_batch_text_mb": round(max(b["text_bytes"] for b in batches) / MB, 2),
        "largest_doc_mb": round(max(b["largest_doc_bytes"] for b in batches) / MB, 3),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "trace": batches,
        "_scores": str(case / "out"),
    }


def output_difference(out_a: str, out_b: str) -> float:
    """Largest |a − b| over the float columns of two runs' parts (NaN = NaN); inf if any other value differs."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    a, b = (pq.read_table(next(Path(out).glob("part-*.parquet"))) for out in (out_a, out_b))
    if a.column("id") != b.column("id"):
        raise SystemExit("variants scored different documents")
    largest = 0.0
    for name in a.column_names[1:]:
        if pa.types.is_floating(a.schema.field(name).type):
            x, y = (t.column(name).to_numpy().astype(np.float64) for t in (a, b))
            both = ~(np.isnan(x) & np.isnan(y))
            largest = max(largest, float(np.max(np.abs(x[both] - y[both]), initial=0.0)))
        elif not a.column(name).equals(b.column(name)):
            return float("inf")
    return largest


def parse_counts(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: copies are positive integers")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=parse_counts, default=[1, 4, 16], help="shard sizes in copies of the corpus")
    parser.add_argument(
        "--before-copies", type=parse_counts, default=[1, 4], help="shard sizes also run as the 'before' variant"
    )
    parser.add_argument(
        "--producer", choices=["datarater", "signals"], default="datarater", help="the attribute stage's producer"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-steps", type=int, default=2, help="outer steps of the DataRater model (default 2)")
    parser.add_argument("--work-dir", type=Path, help="work directory (default: a temporary one, removed at the end)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="results folder (default benchmarks/results)")
    parser.add_argument("--name", default="scoring_memory", help="results file name (default scoring_memory)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--render", type=Path, help="only write the Markdown again from this results JSON")
    args = parser.parse_args(argv)
    if args.child:
        run_child(json.loads(args.child))
        return 0
    if args.render:
        payload = json.loads(args.render.read_text(encoding="utf-8"))
        write_results(args.render.parent, args.render.stem, payload, render_markdown(payload))
        return 0
    missing = [n for n in SAMPLE if not (DATA / n).is_file()]
    if missing:
        raise SystemExit(f"not found in {DATA}: {', '.join(missing)} (the shared data folder is ../shared/data)")
    if not Path("/proc/self/clear_refs").exists():
        raise SystemExit("needs Linux /proc (VmHWM and clear_refs)")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    started, load_start = time.perf_counter(), load_average()
    work = (args.work_dir or Path(tempfile.mkdtemp(prefix="scoring-memory-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    command = shlex.join(["python", "benchmarks/scoring_memory.py", *(sys.argv[1:] if argv is None else argv)])

    print("training the DataRater model and ingesting the sample (not measured) ...", flush=True)
    model = work / "datarater-model"
    training = train_model(model, args.train_steps, work / "datarater-train.log")
    inputs = work / "inputs"
    inputs.mkdir()
    for name in SAMPLE:
        (inputs / name).symlink_to(DATA / name)
    corpus = work / "corpus"
    run_logged(cli("ingest", str(inputs), "--out", str(corpus), "--shards", "1", "--no-tracking"), work / "ingest.log")
    corpus_shard = next((corpus / "shards").glob("*.parquet"))

    plan = [(k, "current") for k in args.copies] + [(k, "before") for k in args.before_copies]
    plan.sort(key=lambda case: (case[0], case[1] != "before"))
    shards: dict[int, tuple[Path, dict]] = {}
    rows: list[dict] = []
    for copies, variant in plan:
        if copies not in shards:
            path = work / f"shard-{copies}x.parquet"
            shards[copies] = path, make_shard(corpus_shard, copies, args.seed, path)
        path, info = shards[copies]
        print(f"{copies}× ({info['documents']:,} docs, {info['text_bytes'] / MB:,.1f} MB of text), {variant} ...")
        row = run_case(path, info, variant, args.producer, model, work)
        print(f"  peak {row['peak_mb']} MB, growth {row['rss_growth_mb']} MB, {row['seconds']} s", flush=True)
        rows.append(row)
    for row in rows:
        other = next((r for r in rows if r["copies"] == row["copies"] and r["variant"] != row["variant"]), None)
        row["max_score_difference_vs_other_variant"] = (
            output_difference(row["_scores"], other["_scores"]) if other else None
        )
    for row in rows:
        row.pop("_scores")

    payload = {
        "benchmark": "scoring_memory",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": machine_info(),
        "load_average_start": load_start,
        "versions": package_versions(["torch", "pyarrow", "numpy"]),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "child"},
        "batch_rows": BATCH_ROWS,
        "row_group_rows": ROW_GROUP_ROWS,
        "datarater_model": training,
        "rows": rows,
        "benchmark_total_s": round(time.perf_counter() - started, 1),
    }
    markdown = render_markdown(payload)
    json_path, md_path = write_results(args.out_dir, args.name, payload, markdown)
    print(markdown)
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    if args.work_dir is None:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


def _scientific(value: float | None) -> str | None:
    return None if value is None else f"{value:.1e}"


def render_markdown(payload: dict) -> str:
    rows, machine = payload["rows"], payload["machine"]
    producer = payload["settings"].get("producer", "datarater")
    table = markdown_table(
        ["copies", "docs", "text MB", "variant", "batches", "RSS before batch 1", "peak (VmHWM)", "RSS after batch 1",
         "RSS after last batch", "growth (last ¼ − first ¼)", "largest batch text MB", "s", "s per 1,000 docs",
         "max output difference"],
        [[f"{r['copies']}×", r["documents"], r["text_bytes"] / MB, r["variant"], r["batches"],
          r["rss_model_loaded_mb"], r["peak_mb"], r["rss_first_batch_mb"], r["rss_last_batch_mb"],
          r["rss_growth_mb"], r["largest_batch_text_mb"], r["seconds"], 1000 * r["seconds"] / r["documents"],
          _scientific(r["max_score_difference_vs_other_variant"])] for r in rows],
        digits=1, large=1000,
    )  # fmt: skip
    largest = max((r for r in rows if r["variant"] == "current"), key=lambda r: r["copies"])
    before = next((r for r in rows if r["variant"] == "before" and r["copies"] == largest["copies"]), None)
    traces = [("current", largest)] + ([("before", before)] if before else [])
    trace_table = markdown_table(
        ["batch", "text MB", *(f"{name}: RSS after" for name, _ in traces), *(f"{name}: batch peak" for name, _ in traces)],
        [[i + 1, largest["trace"][i]["text_bytes"] / MB, *(r["trace"][i]["rss_mb"] for _, r in traces),
          *(r["trace"][i]["batch_peak_mb"] for _, r in traces)] for i in range(largest["batches"])],
        digits=1, large=1000,
    )  # fmt: skip
    training = payload["datarater_model"]
    return "\n".join(
        [
            f"# Memory of one {'DataRater scoring' if producer == 'datarater' else 'signals'} worker as its shard grows",
            "",
            f"- date (UTC): {payload['date']}; whole benchmark {payload['benchmark_total_s']:,.0f} s",
            f"- machine: {machine['cpu_model']}, nproc={machine['nproc']}, {machine['memory_gib']} GiB RAM; "
            f"{machine['os']}; python {machine['python']}; load average (1, 5, 15 min) at the start "
            f"{payload['load_average_start']}, at the end {machine['load_average']}",
            f"- versions: {format_versions(payload['versions'])}",
            f"- command: `{payload['command']}`",
            f"- what runs: `curation.attribute_stage.compute_part` (a Spark Python worker's task) on one shard, in a "
            f"fresh process, one torch thread, {payload['batch_rows']:,}-row batches; the shard = K seeded copies of "
            f"the ingested shared web sample (distinct ids, zstd, {payload['row_group_rows']:,}-row row groups); "
            f"DataRater model {training['rater_model']} trained in {training['train_s']} s (not measured)",
            "- variants: *current* = the code as it is; *before* = pre-buffered Parquet reads and no `malloc_trim` "
            "between batches put back, and for DataRater scoring also whole-batch tokenizing and oneDNN's "
            "per-shape kernels (see the module docstring)",
            "",
            "## Cases (MB = 10⁶ bytes)",
            "",
            table,
            "",
            "*peak*: the largest of the per-batch peaks (VmHWM reset before every batch), which includes the model "
            "and the reader. *growth*: median RSS after the batches of the last quarter minus that of the first "
            "quarter of the run. *max output difference*: largest |current − before| over the float columns of the "
            "shard's output (inf if any other column differs).",
            "",
            f"## Batch by batch: {largest['copies']}× ({largest['documents']:,} documents)",
            "",
            trace_table,
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
