"""Reliability on a Spark standalone cluster: the whole pipeline on a real master + workers (127.0.0.1) gives the
bytes of local mode, and still gives them when executors, their Python workers or whole workers are SIGKILLed
mid-stage.

The pipeline (``tests/reliability/kill_points.py: pipeline_config``, real text from ../shared/data): ``--c4`` C4
pages (``--duplicates`` more copying them: mirrors on another URL and new versions, so dedup has clusters to
find) and ``--wiki`` Wikipedia articles (every other one corrupted) in ``--shards`` shards; ingest -> signals ->
dedup -> DataRater (train 2 outer steps on the driver, score in Spark tasks, keep flags) -> select -> mix ->
export. Each run has its own work directory and sqlite MLflow store.

Method:
1. **Determinism.** The config runs once with ``spark.master: local[2]`` and once on a ``jobs.local_cluster``
   of ``--workers`` workers with 1 core each (the same 2 task slots); stage by stage
   (``tests/reliability/determinism.py``): every data file (corpus shards, attribute parts, export files; rejects
   files row by row, as they name the work directory) and the DataRater's weights byte-identical, manifests'
   counts equal, every float score bit-identical.
2. **Kills.** ``--points N`` runs on the cluster; run ``j`` kills once in each of ``--stages`` (the stages with
   Spark tasks), ``delay = (j + u) / N * d`` after the stage shows running (``d`` its seconds in the
   uninterrupted cluster run, ``u`` from a seeded RNG), then as soon as an executor runs a task: SIGKILL of
   that executor's JVM (``executor``), of its forked Python workers (``python``), or of the worker daemon with
   its executor and Python processes (``worker``; a new worker daemon then takes its slot). The targets take
   turns (run ``j``, stage ``i``: target ``(i + j) mod 3``), so with N >= 3 every stage meets every target.
   The driver lives: Spark must reschedule the lost tasks and recompute lost shuffle output, and the job must
   end 0 with every data file byte-identical to the uninterrupted cluster run (``kill_points.compare_outputs``),
   nothing half-written visible (``check_outputs``), no id twice in a corpus or attribute set, its MLflow run
   FINISHED and none RUNNING (``tests/reliability/executor_kills.py``).

*Tasks lost*: the tasks the killed executor's log shows running at the kill. *Records lost*: records (document
ids, reject locators, attribute rows, exported rows) of the uninterrupted run that the killed run lacks.

Usage::

    python benchmarks/reliability_cluster.py                 # 3 runs x 5 stages = 15 kills (about 15 min on 2 cores)
    python benchmarks/reliability_cluster.py --points 1       # 5 kills in one run (about 7 min)
    python benchmarks/reliability_cluster.py --stages signals,dedup --targets worker --points 2
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.reliability, jobs: this checkout

from common import RESULTS, SHARED_DATA, markdown_table, provenance, write_results  # noqa: E402

from tests.reliability.determinism import compare_stages, executor_env, score_differences  # noqa: E402
from tests.reliability.executor_kills import TARGETS, describe, plan_kills, run_with_kills  # noqa: E402
from tests.reliability.kill_points import (  # noqa: E402
    compare_outputs,
    pipeline_config,
    run_reference,
    stage_seconds,
    write_inputs,
)

STAGES = ("ingest", "signals", "dedup", "datarater_score", "select")  # the stages that run Spark tasks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=3, help="kills per stage, one per run (default 3)")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated (default {','.join(STAGES)})")
    parser.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated (default {','.join(TARGETS)})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the delays and of the victims")
    parser.add_argument("--c4", type=int, default=120, help="C4 documents in the pool")
    parser.add_argument("--duplicates", type=int, default=12, help="more C4 pages copying the first ones")
    parser.add_argument("--wiki", type=int, default=60, help="Wikipedia articles in the pool")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="cluster workers, 1 core each")
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one, removed at the end)")
    parser.add_argument("--keep-work", action="store_true", help="keep every work directory")
    parser.add_argument("--name", default="reliability_cluster", help="results file name")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default benchmarks/results)")
    args = parser.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if [s for s in stages if s not in STAGES] or [t for t in targets if t not in TARGETS] or args.points < 0:
        parser.error(f"--stages from {', '.join(STAGES)}; --targets from {', '.join(TARGETS)}; --points >= 0")

    from jobs.local_cluster import local_cluster

    started = time.monotonic()
    work = (args.work or Path(tempfile.mkdtemp(prefix="reliability-cluster-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    write_inputs(work, SHARED_DATA, c4=args.c4, wiki=args.wiki, duplicates=args.duplicates)
    options = {"shards": args.shards, "tokens": "500k", "export_rows": 50, "datarater": True, "dedup": True}
    local_config = pipeline_config(work, **options, master=f"local[{args.workers}]", file_name="local.yaml")
    mark = time.monotonic()
    local = run_reference(local_config, work / "local")
    local_seconds = time.monotonic() - mark
    print(f"local: {local_seconds:.0f} s", flush=True)

    runs = []
    with local_cluster(workers=args.workers, cores=1, log_dir=work / "cluster-logs", env=executor_env()) as cluster:
        config = pipeline_config(work, **options, master=cluster.master_url, file_name="cluster.yaml")
        mark = time.monotonic()
        remote = run_reference(config, work / "cluster")
        cluster_seconds = time.monotonic() - mark
        print(f"cluster: {cluster_seconds:.0f} s", flush=True)
        comparisons = compare_stages(local.work, remote.work)
        scores_compared, score_problems = score_differences(local.work, remote.work)
        output_problems, output_lost = compare_outputs(local.work, remote.work)
        seconds = stage_seconds(remote)
        local_stages = stage_seconds(local)
        stages_compared = [
            {
                "stage": c.stage,
                "outputs": c.outputs,
                "files": c.files,
                "identical": c.identical,
                "manifests_equal": c.manifests_equal,
                "local_s": local_stages.get(c.stage),
                "cluster_s": seconds.get(c.stage),
                "problems": c.problems[:10],
            }
            for c in comparisons
        ]
        identical = all(c.same for c in comparisons) and not score_problems and not output_problems
        determinism = {
            "byte_identical": identical,
            "local_seconds": round(local_seconds, 1),
            "cluster_seconds": round(cluster_seconds, 1),
            "stages": stages_compared,
            "scores_compared": scores_compared,
            "score_problems": score_problems[:10],
            "output_problems": output_problems[:10],
            "records_lost": output_lost,
        }
        write_summary(args, work, stages, targets, determinism, runs, started, planned=args.points)
        for j, points in enumerate(plan_kills(seconds, stages, args.points, targets, args.seed)):
            root = work / f"kills-{j:02d}"
            outcome = run_with_kills(config, remote, root, cluster, points, seed=args.seed + j)
            runs.append(
                {
                    "run": j,
                    "kills": [describe(k) for k in outcome.kills],
                    "exit_code": outcome.exit_code,
                    "survived": outcome.survived,
                    "records_lost": outcome.records_lost,
                    "duplicated_rows": outcome.duplicated_rows,
                    "executors_started": outcome.executors_started,
                    "seconds": round(outcome.seconds, 1),
                    "problems": outcome.problems[:10],
                    "leftovers": outcome.leftovers,
                }
            )
            verdict = "survived" if outcome.survived else f"FAILED: {outcome.problems[:3]}"
            labels = ", ".join(f"{k.point.label} ({len(k.tasks_lost)} task(s))" for k in outcome.kills)
            print(f"run {j}: {labels}: {verdict}", flush=True)
            if not args.keep_work and outcome.survived:
                shutil.rmtree(root, ignore_errors=True)
            # the results so far, so that a benchmark stopped early still leaves its measured runs
            write_summary(args, work, stages, targets, determinism, runs, started, planned=args.points)

    write_summary(args, work, stages, targets, determinism, runs, started, planned=args.points)
    print((args.out / f"{args.name}.md").read_text(encoding="utf-8"))
    failed = not determinism["byte_identical"] or any(not r["survived"] for r in runs)
    if args.work is None and not args.keep_work and not failed:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


def write_summary(
    args: argparse.Namespace,
    work: Path,
    stages: list[str],
    targets: list[str],
    determinism: dict,
    runs: list[dict],
    started: float,
    planned: int,
) -> dict:
    """Write the JSON and Markdown results of the runs so far; ``complete`` says whether all ``planned`` ran."""
    kills = [k | {"run": r["run"], "run_survived": r["survived"]} for r in runs for k in r["kills"]]
    per_stage = {}
    for stage in stages:
        mine = [k for k in kills if k["stage"] == stage]
        per_stage[stage] = {
            "kills": len(mine),
            "by_target": {t: sum(k["target"] == t for k in mine) for t in targets},
            "landed_in_stage": sum(k["killed_in"] == stage for k in mine),
            "hit_a_task": sum(bool(k["tasks_lost"]) for k in mine),
            "tasks_lost": sum(len(k["tasks_lost"]) for k in mine),
            "survived": sum(k["run_survived"] for k in mine),
        }
    total = time.monotonic() - started
    payload = {
        "benchmark": "reliability_cluster",
        **provenance(["pyspark", "mlflow", "pyarrow", "torch"], java=True),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()} | {"work": str(work)},
        "determinism": determinism,
        "kills": {
            "tried": len(kills),
            "hit_a_task": sum(bool(k["tasks_lost"]) for k in kills),
            "survived": sum(k["run_survived"] for k in kills),
            "runs": len(runs),
            "runs_survived": sum(r["survived"] for r in runs),
            "records_lost": sum(r["records_lost"] for r in runs),
            "duplicated_rows": sum(r["duplicated_rows"] for r in runs),
            "stages": per_stage,
        },
        "runs": runs,
        "complete": len(runs) == planned,
        "seconds": round(total, 1),
    }
    write_results(args.out, args.name, payload, _markdown(payload, args, targets))
    return payload


def _markdown(payload: dict, args, targets: list[str]) -> str:
    det, kills = payload["determinism"], payload["kills"]
    yes = {True: "yes", False: "**no**"}
    det_rows = [
        [
            s["stage"],
            ", ".join(s["outputs"]),
            s["files"],
            s["identical"],
            yes[s["manifests_equal"]],
            s["local_s"],
            s["cluster_s"],
        ]
        for s in det["stages"]
    ]
    kill_rows = [
        [
            stage,
            s["kills"],
            ", ".join(f"{t} {n}" for t, n in s["by_target"].items() if n),
            s["landed_in_stage"],
            s["hit_a_task"],
            s["tasks_lost"],
            s["survived"],
        ]
        for stage, s in kills["stages"].items()
    ]
    run_rows = [
        [
            r["run"],
            "; ".join(f"{k['point']}: {len(k['tasks_lost'])}" for k in r["kills"]),
            r["exit_code"],
            r["executors_started"],
            r["records_lost"],
            r["duplicated_rows"],
            len(r["leftovers"]),
            yes[r["survived"]],
            r["seconds"],
        ]
        for r in payload["runs"]
    ]
    text = (
        f"# Reliability on a Spark standalone cluster ({payload['date'][:10]})\n\n"
        + ("" if payload["complete"] else f"**Partial: {kills['runs']} of {args.points} kill runs so far.**\n\n")
        + f"`curate run` on {args.c4} C4 pages (+{args.duplicates} duplicates) and {args.wiki} Wikipedia articles, "
        f"{args.shards} shards: ingest, signals, dedup, DataRater (2 outer steps), select, mix, export.\n\n"
        f"## Local mode vs the cluster\n\n`local[{args.workers}]` against a standalone master with {args.workers} "
        f"workers of 1 core on 127.0.0.1. Byte-identical: **{yes[det['byte_identical']]}** (every data file and "
        f"the DataRater weights; {det['scores_compared']:,} float scores compared bit for bit, "
        f"{len(det['score_problems'])} columns differing; records lost {det['records_lost']}). Local run "
        f"{det['local_seconds']:.0f} s, cluster run {det['cluster_seconds']:.0f} s.\n\n"
        + markdown_table(
            ["stage", "outputs", "files compared", "identical", "manifest counts equal", "local s", "cluster s"],
            det_rows,
            digits=1,
        )
        + f"\n\n## Executors and workers killed mid-stage\n\n{kills['runs']} run(s) on the cluster, each killing "
        f"once in every stage below (SIGKILL; targets {', '.join(targets)} in turn, seed {args.seed}); the driver "
        "lives and must finish with the bytes of the uninterrupted cluster run. *Hit a task*: the killed "
        "executor's log showed a task of ours running at the kill. *Survived*: the run the kill belonged to "
        "ended 0 with every check holding.\n\n"
        f"Kills: {kills['tried']}, hit a task {kills['hit_a_task']}, survived {kills['survived']}; runs survived "
        f"{kills['runs_survived']} of {kills['runs']}; records lost {kills['records_lost']}; duplicated rows "
        f"{kills['duplicated_rows']}.\n\n"
        + markdown_table(
            ["stage", "kills", "targets", "landed in stage", "hit a task", "tasks lost", "survived"], kill_rows
        )
        + "\n\n"
        + markdown_table(
            [
                "run",
                "kills (tasks lost)",
                "exit",
                "executors started",
                "records lost",
                "duplicated rows",
                "left tmp files",
                "survived",
                "seconds",
            ],
            run_rows,
            digits=1,
        )
        + f"\n\nWhole benchmark: {payload['seconds']:.0f} s. Machine: {payload['machine']['cpu_model']}, "
        f"{payload['machine']['nproc']} CPUs, load average {payload['machine']['load_average']}.\n"
    )
    problems = [p for s in det["stages"] for p in s["problems"]] + det["score_problems"] + det["output_problems"]
    failures = [f"- run {r['run']}: {'; '.join(r['problems'][:3])}" for r in payload["runs"] if not r["survived"]]
    if problems or failures:
        text += "\n## Failures\n\n" + "\n".join([f"- determinism: {p}" for p in problems] + failures) + "\n"
    return text


if __name__ == "__main__":
    sys.exit(main())
