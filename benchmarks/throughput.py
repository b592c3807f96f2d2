"""Throughput per stage, ours against datatrove, in one run and one table (issue #20, item 4).

    python benchmarks/throughput.py [--workers 2] [--trials 1] [--signals-docs 10000]

Runs the three stage benchmarks one after another on this machine, each as a child process writing its own
result files into a parts folder, then puts one row per stage into one table:

* ``ingest.py`` on the shared WARC (``--warc-repeat`` copies, default 8) and C4 JSONL (40 and 160 copies): ours
  ``--no-langid`` against datatrove's ``JsonlReader → ParquetWriter(zstd)`` and ``WarcReader → extractor →
  ParquetWriter(zstd)``, with trafilatura and with Resiliparse as the extractor on both sides;
* ``signals.py`` on ``--signals-docs`` C4 + Wikipedia documents: our signals stage's four filters against
  datatrove's same four filters on every document;
* ``scoring_throughput.py``: DSIR, fastText quality and proxy perplexity on the C4 sample, with datatrove's
  fastText filter beside ours.

Each row has a *steady* rate (work without start-up) and a *cold* rate (the whole command in a fresh process),
per core (÷ workers), for ours and for the reference, and their ratio (ours ÷ reference, ≥ 1 is faster):

* JSONL ingest: steady = per extra document between the 40- and 160-copy runs (start-up cancelled out);
  cold = documents ÷ whole command at 40 copies;
* WARC ingest, per extractor: records read per second (judged) and documents written per second (shown);
  steady = net of start-up, cold = whole command. The WARC's records carry Common Crawl's
  ``WARC-Identified-Payload-Type`` (``ingest.py``), so both sides extract the same pages (but 2 a copy that
  datatrove cannot decode);
  ``--warc-as-is`` passed to ``ingest.py`` by hand gives the setup of runs before 2026-12-07, where datatrove
  sniffed every page with libmagic and skipped a tenth of them;
* signals: warm = the stage with its session started, cold = the whole fresh process;
* scoring: warm = the stage with session, workers and model loaded, cold = the ``curate raters ... score``
  command; datatrove has a fastText filter only, and no cold figure is taken for it.

The parts' own tables follow the summary in ``throughput.md``, and their JSON sits under ``parts`` in
``throughput.json``. Goals are issue #20's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, child_env, format_versions, machine_info, markdown_table, provenance, write_results
from scoring_throughput import GOALS as SCORING_GOALS  # docs/s/core, warm, on the C4 sample

HERE = Path(__file__).resolve().parent
INGEST_ROWS = (
    "ours-warc-trafilatura-nolangid",
    "datatrove-warc-trafilatura",
    "ours-warc-resiliparse-nolangid",
    "datatrove-warc-resiliparse",
    "ours-jsonl-nolangid",
    "datatrove-jsonl",
)
# The WARC pairs (same extractor, same options on both sides): trafilatura, which datatrove ships, and
# Resiliparse, our default, which datatrove runs through a BaseExtractor subclass (datatrove_resiliparse.py).
WARC_PAIRS = {
    "trafilatura": "datatrove WarcReader → Trafilatura → ParquetWriter(zstd)",
    "resiliparse": "datatrove WarcReader → Resiliparse (BaseExtractor subclass) → ParquetWriter(zstd)",
}
SIGNALS_ROWS = ("datatrove-verdicts", "datatrove-verdicts-c4-last", "ours-filters")
PARTS = {"ingest": "ingest", "signals": "signals", "scoring": "scoring_throughput"}


def part_commands(out: Path, workers: int, trials: int, signals_docs: int, large_repeat: int, warc_repeat: int) -> dict:
    """The child command of each part, writing ``<part>.json``/``.md`` into ``out``."""
    common = ["--workers", str(workers), "--trials", str(trials)]
    return {
        "ingest": ["ingest.py", *common, "--rows", ",".join(INGEST_ROWS), "--repeat", str(warc_repeat),
                   "--jsonl-repeat", "40", "--jsonl-large-repeat", str(large_repeat), "--out-dir", str(out)],
        "signals": ["signals.py", *common, "--docs", str(signals_docs), "--rows", ",".join(SIGNALS_ROWS),
                    "--out-dir", str(out)],
        "scoring": ["scoring_throughput.py", *common, "--out-dir", str(out)],
    }  # fmt: skip


def run_part(name: str, argv: list[str], out: Path) -> tuple[dict, str, float]:
    """Run one part's benchmark in a child process; its JSON, Markdown and wall seconds."""
    started = time.perf_counter()
    print(f"[throughput] {name}: python benchmarks/{' '.join(argv)}", flush=True)
    done = subprocess.run([sys.executable, str(HERE / argv[0]), *argv[1:]], env=child_env(), cwd=HERE.parent)
    if done.returncode:
        raise SystemExit(f"throughput: the {name} part failed (exit {done.returncode}); its output is above")
    stem = out / PARTS[name]
    payload = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    return payload, stem.with_suffix(".md").read_text(encoding="utf-8"), time.perf_counter() - started


def _ratio(ours: float | None, reference: float | None) -> float | None:
    return None if ours is None or not reference else ours / reference


def _row(stage: str, unit: str, ours: tuple, reference_name: str, reference: tuple, goal: str, met: bool | None):
    steady, cold = ours
    ref_steady, ref_cold = reference
    return {"stage": stage, "unit": unit, "ours_steady": steady, "ours_cold": cold, "reference": reference_name,
            "reference_steady": ref_steady, "reference_cold": ref_cold, "ratio_steady": _ratio(steady, ref_steady),
            "ratio_cold": _ratio(cold, ref_cold), "goal": goal, "met": met}  # fmt: skip


def ingest_rows(part: dict) -> list[dict]:
    """JSONL and WARC ingest rows from ``ingest.py``'s payload."""
    workers = part["workers"]
    rows = {r["row"]: r for r in part["rows"]}
    extra = {r["row"]: r for r in part.get("per_extra_document", [])}
    out = []
    ours, dt = rows.get("ours-jsonl-nolangid"), rows.get("datatrove-jsonl")
    if ours and dt:
        steady = (extra.get("ours-jsonl-nolangid", {}).get("docs_per_s_per_core"),
                  extra.get("datatrove-jsonl", {}).get("docs_per_s_per_core"))  # fmt: skip
        ratio = _ratio(*steady)
        out.append(_row("JSONL ingest", "docs", (steady[0], ours["wall"]["docs_per_s_per_core"]),
                        "datatrove JsonlReader → ParquetWriter(zstd)", (steady[1], dt["wall"]["docs_per_s_per_core"]),
                        "steady ≥ 1.0×", None if ratio is None else ratio >= 1.0))  # fmt: skip
    for extractor, reference in WARC_PAIRS.items():
        ours, dt = rows.get(f"ours-warc-{extractor}-nolangid"), rows.get(f"datatrove-warc-{extractor}")
        if not (ours and dt):
            continue
        for unit, rate in (("records", "records_per_s"), ("docs", "docs_per_s")):
            ours_rates = (ours["net"][rate] / workers, ours["wall"][rate] / workers)
            dt_rates = (dt["net"][rate] / workers, dt["wall"][rate] / workers)
            judged = unit == "records"  # the goal counts records read; docs written show what each extracted
            out.append(_row(f"WARC ingest ({extractor})", unit, ours_rates, reference, dt_rates,
                            "steady ≥ 1.1×" if judged else "–",
                            _ratio(ours_rates[0], dt_rates[0]) >= 1.1 if judged else None))  # fmt: skip
    return out


def signals_rows(part: dict) -> list[dict]:
    """The four-filter signals row from ``signals.py``'s payload."""
    rows = {r["row"]: r for r in part["rows"]}
    ours, dt = rows.get("ours-filters"), rows.get("datatrove-verdicts")
    if not (ours and dt):
        return []
    rates = {
        name: (row["docs_per_s_per_core"]["warm"], row["docs_per_s_per_core"]["cold"])
        for name, row in rows.items()
        if "docs_per_s_per_core" in row
    }
    ours_rates, dt_rates = rates["ours-filters"], rates["datatrove-verdicts"]
    met = _ratio(ours_rates[0], dt_rates[0]) >= 1.0 and _ratio(ours_rates[1], dt_rates[1]) >= 0.95
    stage = f"signals, 4 filters ({part['documents']['documents']:,} docs)"
    out = [_row(stage, "docs", ours_rates, "datatrove the same 4 filters on every doc", dt_rates,
                "warm ≥ 1.0×, cold ≥ 0.95×", met)]  # fmt: skip
    if "datatrove-verdicts-c4-last" in rates:  # datatrove in the order ours runs the filters: no goal, shown
        out.append(_row(stage, "docs", ours_rates, "datatrove the same, C4's filter last as ours",
                        rates["datatrove-verdicts-c4-last"], "–", None))  # fmt: skip
    return out


def scoring_rows(part: dict) -> list[dict]:
    """One row per rater on the C4 sample from ``scoring_throughput.py``'s payload."""
    out = []
    for r in part["rows"]:
        if r["corpus"] != "c4":
            continue
        floor = SCORING_GOALS.get(r["rater"])
        dt = r.get("datatrove_docs_per_s_per_core")
        out.append(_row(f"{r['rater']} scoring (C4 sample)", "docs",
                        (r["warm_docs_per_s_per_core"], r["cold_docs_per_s_per_core"]),
                        "datatrove FastTextClassifierFilter" if dt is not None else "–", (dt, None),
                        f"warm ≥ {floor:,} docs/s/core" if floor else "–",
                        None if floor is None else r["warm_docs_per_s_per_core"] >= floor))  # fmt: skip
    return out


def summary_rows(parts: dict) -> list[dict]:
    builders = {"ingest": ingest_rows, "signals": signals_rows, "scoring": scoring_rows}
    return [row for name, build in builders.items() if name in parts for row in build(parts[name])]


def _times(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}×"


def render(payload: dict) -> str:
    machine = payload["machine"]
    table = markdown_table(
        ["stage", "unit", "ours steady /s/core", "ours cold /s/core", "reference", "reference steady /s/core",
         "reference cold /s/core", "ours/ref steady", "ours/ref cold", "goal", "met"],
        [[r["stage"], r["unit"], r["ours_steady"], r["ours_cold"], r["reference"], r["reference_steady"],
          r["reference_cold"], _times(r["ratio_steady"]), _times(r["ratio_cold"]), r["goal"],
          {True: "yes", False: "no", None: "–"}[r["met"]]] for r in payload["summary"]],
        digits=1,
    )  # fmt: skip
    details = []
    for name, markdown in payload["part_markdown"].items():
        demoted = "\n".join("#" + line if line.startswith("#") else line for line in markdown.splitlines())
        details += [f"## Part `{name}` ({payload['part_seconds'][name]:.0f} s)", "", demoted, ""]
    return "\n".join([
        "# Throughput per stage: ours against datatrove, one run",
        "",
        f"- date (UTC): {payload['date']}",
        f"- machine: {machine['cpu_model']}, nproc={machine['nproc']}, {machine['memory_gib']} GiB RAM; "
        f"{machine['os']}; python {machine['python']}; load average before {machine['load_average']}",
        f"- versions: {format_versions(payload['versions'])}",
        f"- command: `{payload['command']}`; W = {payload['workers']} workers on both sides; parts run one after "
        f"another, {payload['total_s']:.0f} s in all",
        "",
        table,
        "",
        "*steady*: the work without start-up (JSONL: per extra document between two input sizes; WARC: net of the "
        "Spark start-up; signals and scoring: the stage with its session and workers already started). *cold*: the "
        "whole command in a fresh process. Rates are per core (÷ W); *unit* says what is counted: records read or "
        "documents written (the WARC goal counts records read). "
        "*ours/ref* ≥ 1 means ours is faster. NeMo Curator's published nightly floors for its fastText classifiers "
        "are about 470–550 documents/s/core (issue #20's figure, not measured here). Each part's own table, with "
        "what each side does and the checks that both produce the same results, follows.",
        "",
        *details,
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=1, help="runs per row in every part (fastest shown)")
    parser.add_argument("--signals-docs", type=int, default=10_000, help="documents of the signals part")
    parser.add_argument("--jsonl-large-repeat", type=int, default=160, help="copies of C4 in the larger JSONL run")
    parser.add_argument("--warc-repeat", type=int, default=8, help="copies of the WARC (923 records each)")
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of: " + ", ".join(PARTS))
    parser.add_argument("--name", default="throughput")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    chosen = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    machine = machine_info(java=True)
    started = time.perf_counter()
    parts, markdown, seconds = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        commands = part_commands(
            Path(tmp), args.workers, args.trials, args.signals_docs, args.jsonl_large_repeat, args.warc_repeat
        )
        for name in chosen:
            parts[name], markdown[name], seconds[name] = run_part(name, commands[name], Path(tmp))
    payload = {
        **provenance(["pyspark", "datatrove", "pyarrow", "torch", "fasttext-numpy2-wheel"], machine=machine),
        "workers": args.workers,
        "trials": args.trials,
        "total_s": time.perf_counter() - started,
        "part_seconds": seconds,
        "summary": summary_rows(parts),
        "part_markdown": markdown,
        "parts": parts,
    }
    json_path, md_path = write_results(args.out_dir, args.name, payload, render(payload))
    print(md_path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
