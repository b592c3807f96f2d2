"""Reliability under faults: SIGKILL ``curate run`` at seeded moments of every stage, resume it, and prove that
nothing is lost.

The pipeline (``tests/reliability/kill_points.py: pipeline_config``, real text from ../shared/data): ``--c4``
C4 pages and ``--wiki`` Wikipedia articles (every other one corrupted) in ``--shards`` shards; ingest ->
signals -> DataRater (train 2 outer steps, score, keep flags) -> select -> mix (with repeats) -> export
(JSON Lines + zstd, several files). Each run has its own work directory and its own sqlite MLflow store.

Method:
1. one uninterrupted run is the reference; its pipeline.json gives each stage's seconds ``d``;
2. for each stage and ``i`` in ``0..N-1`` (``--points N``), a kill point ``delay = (i + u) / N * d`` with
   ``u`` uniform in [0, 1) from a seeded RNG: start the pipeline in a fresh work directory, wait until
   pipeline.json shows the stage running, wait ``delay``, SIGKILL every process of the job's session (driver,
   JVM, Spark's Python workers) at once;
3. check the crashed directory as a reader sees it (committed manifests list only whole files with matching
   rows and checksums, counts reconcile, attribute parts align with their corpus, no unlisted data file where
   a directory reader looks, unfinished outputs are refused by their readers);
4. rerun the same command and compare with the reference: every data file byte-identical (rejects files
   row-identical, as select and mix name the shard a reject came from by its absolute path), the same manifest
   counts, funnel and mixture, no record lost, pipeline.json finished, the killed MLflow runs KILLED, the
   resumed one FINISHED and none left RUNNING.

A kill point *survives* when every check holds. *Records lost* counts records (document ids, reject
locators, attribute rows, exported rows) of the reference run that the resumed run lacks; it must be 0.
``killed in`` is the stage pipeline.json showed running at the kill (a delay can outlast a short stage).

Usage::

    python benchmarks/reliability_kills.py                       # 10 points per stage (about an hour on 2 cores)
    python benchmarks/reliability_kills.py --points 1             # one per stage: a smoke run
    python benchmarks/reliability_kills.py --stages signals,export --points 3
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.reliability.kill_points, this checkout

from common import RESULTS, SHARED_DATA, markdown_table, provenance, write_results  # noqa: E402

from tests.reliability.kill_points import (  # noqa: E402
    KillPoint,
    kill_and_resume,
    pipeline_config,
    run_reference,
    stage_seconds,
    write_inputs,
)

STAGES = ("ingest", "signals", "datarater_score", "select", "mix", "export")


def plan_points(seconds: dict[str, float], stages: list[str], points: int, seed: int) -> list[KillPoint]:
    """``points`` delays per stage, one in each of ``points`` equal slices of the stage's reference seconds.

    Round-robin over the stages, so that a benchmark stopped early has tried every stage about equally."""
    rng = random.Random(seed)
    return [
        KillPoint(stage, round((i + rng.random()) / points * seconds[stage], 3))
        for i in range(points)
        for stage in stages
    ]


def write_summary(
    args: argparse.Namespace,
    work: Path,
    stages: list[str],
    seconds: dict[str, float],
    reference_seconds: float,
    details: list[dict],
    started: float,
    planned: int,
) -> tuple[str, list[dict]]:
    """Write the JSON and Markdown results of the points run so far; ``complete`` says whether all ``planned`` ran."""
    rows = []
    for stage in stages:
        mine = [d for d in details if d["stage"] == stage]
        killed_in = Counter(str(d["killed_in"]) for d in mine)
        rows.append(
            [
                stage,
                round(seconds[stage], 1),
                len(mine),
                sum(d["caught"] for d in mine),
                ", ".join(f"{k} {v}" for k, v in sorted(killed_in.items())),
                sum(d["survived"] for d in mine),
                sum(d["records_lost"] for d in mine),
                sum(bool(d["leftovers"]) for d in mine),
                round(sum(d["crash_seconds"] + d["resume_seconds"] for d in mine), 1),
            ]
        )
    total = time.monotonic() - started
    payload = {
        "benchmark": "reliability_kills",
        **provenance(["pyspark", "mlflow", "pyarrow", "torch"], java=True),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()} | {"work": str(work)},
        "reference": {"seconds": round(reference_seconds, 1), "stage_seconds": seconds},
        "stages": {
            row[0]: {
                "tried": row[2],
                "caught": row[3],
                "killed_in": row[4],
                "survived": row[5],
                "records_lost": row[6],
                "left_temporary_files": row[7],
                "seconds": row[8],
            }
            for row in rows
        },
        "points": details,
        "complete": len(details) == planned,
        "points_run": len(details),
        "points_planned": planned,
        "seconds": round(total, 1),
    }
    failed = [d for d in details if not d["survived"]]
    headers = [
        "stage",
        "reference s",
        "kill points",
        "caught",
        "killed in",
        "survived",
        "records lost",
        "left tmp files",
        "seconds",
    ]
    markdown = (
        f"# Reliability under faults: SIGKILL and resume ({payload['date'][:10]})\n\n"
        + ("" if payload["complete"] else f"**Partial: {len(details)} of {planned} kill points run so far.**\n\n")
        + f"`curate run` on {args.c4} C4 pages + {args.wiki} Wikipedia articles ({args.shards} shards; ingest, "
        "signals, DataRater with 2 outer steps, select, mix, export), killed with SIGKILL (driver, JVM and "
        f"Spark workers at once) at {args.points} seeded moment(s) per stage (seed {args.seed}), then rerun. "
        "*Survived*: the crashed directory showed no partial output to a reader, and the resumed run's data "
        "files are byte-identical to an uninterrupted run's (rejects files row-identical: they name the work "
        "directory), counts reconcile, MLflow shows the killed run "
        "KILLED and the resumed one FINISHED. *Left tmp files*: kill points after whose resume the work "
        "directory still holds temporary files of the killed run (invisible to readers, but disk).\n\n"
        + markdown_table(headers, rows, digits=1)
        + f"\n\nReference run: {reference_seconds:.0f} s. Whole benchmark: {total:.0f} s. "
        f"Machine: {payload['machine']['cpu_model']}, {payload['machine']['nproc']} CPUs.\n"
    )
    if failed:
        markdown += "\n## Failures\n\n" + "\n".join(
            f"- {d['stage']} +{d['delay_s']} s (killed in {d['killed_in']}): {'; '.join(d['problems'][:3])}"
            for d in failed
        )
        markdown += "\n"
    write_results(args.out, args.name, payload, markdown)
    return markdown, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=10, help="kill points per stage (default 10)")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated (default {','.join(STAGES)})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the delays")
    parser.add_argument("--c4", type=int, default=300, help="C4 documents in the pool")
    parser.add_argument("--wiki", type=int, default=100, help="Wikipedia articles in the pool")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one, removed at the end)")
    parser.add_argument("--keep-work", action="store_true", help="keep every work directory")
    parser.add_argument("--name", default="reliability_kills", help="results file name")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default benchmarks/results)")
    args = parser.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown or args.points < 1:
        parser.error(f"--stages: unknown {unknown} (choose from {', '.join(STAGES)})" if unknown else "--points >= 1")

    started = time.monotonic()
    work = (args.work or Path(tempfile.mkdtemp(prefix="reliability-kills-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    write_inputs(work, SHARED_DATA, c4=args.c4, wiki=args.wiki)
    config = pipeline_config(work, shards=args.shards, datarater=True, tokens="500k", export_rows=50)
    reference_started = time.monotonic()
    reference = run_reference(config, work / "reference")
    reference_seconds = time.monotonic() - reference_started
    seconds = stage_seconds(reference)
    print(f"reference: {reference_seconds:.0f} s; stages: {seconds}", flush=True)

    details: list[dict] = []
    plan = plan_points(seconds, stages, args.points, args.seed)
    for n, point in enumerate(plan):
        root = work / f"kill-{n:03d}-{point.stage}"
        outcome = kill_and_resume(config, reference, root, [point])
        crash = outcome.crashes[0]
        details.append(
            {
                "stage": point.stage,
                "delay_s": point.delay,
                "killed_in": crash.killed_in,
                "caught": crash.caught,
                "mlflow_status_after_kill": crash.mlflow_status,
                "survived": outcome.survived,
                "records_lost": outcome.records_lost,
                "crash_seconds": round(outcome.crash_seconds, 1),
                "resume_seconds": round(outcome.resume_seconds, 1),
                "problems": outcome.problems[:10],
                "leftovers": outcome.leftovers,
            }
        )
        verdict = "survived" if outcome.survived else f"FAILED: {outcome.problems[:3]}"
        print(f"{n + 1:3d} {point.label:>24} killed in {crash.killed_in}: {verdict}", flush=True)
        if not args.keep_work and outcome.survived:
            shutil.rmtree(root, ignore_errors=True)
        # the results so far, so that a benchmark stopped early still leaves its measured points
        markdown, failed = write_summary(args, work, stages, seconds, reference_seconds, details, started, len(plan))

    print(markdown)
    if args.work is None and not args.keep_work and not failed:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
