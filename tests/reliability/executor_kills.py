"""Executor and worker kills on a Spark standalone cluster while ``curate run`` runs on it; the driver lives on.

Shared by ``tests/jobs/test_cluster_pipeline.py`` and ``benchmarks/reliability_cluster.py``. The cluster is a
``jobs.local_cluster.LocalCluster``; its processes are found in /proc: each worker daemon (a JVM) starts one
``CoarseGrainedExecutorBackend`` JVM per application, which starts ``pyspark.daemon``, which forks the Python
workers that run our tasks. One kill point (``ExecutorKill``) is a stage, a delay and a target:

* ``executor``: SIGKILL the executor JVM (its Python workers are left to notice on their own, as they would);
* ``python``: SIGKILL the forked Python workers of one executor (the task fails with "Python worker exited
  unexpectedly" and is retried);
* ``worker``: SIGKILL the worker daemon, its executor and their Python processes at once (a node lost), then
  start a new worker daemon in its slot (a node replaced), which the master hands the application.

The point waits until pipeline.json shows the stage running, then the delay, then (while the stage still runs)
until an executor runs a task, and kills that one (a seeded choice among the busy ones): the kill lands mid-task
whenever the stage has a task to hit. Which tasks were lost is read from the executor's own log
(``WORK/APP/EXECUTOR/stderr``: "Running task" lines without their "Finished task").

Spark must then reschedule the lost tasks (``spark.task.maxFailures``, 4 on a cluster) and recompute lost
shuffle output; the job must finish with exit 0, and ``run_with_kills`` checks its work directory against an
uninterrupted run: every data file byte-identical (``kill_points.compare_outputs``), nothing a reader could
see half-written (``check_outputs``), no document id twice in a corpus or attribute set (``duplicated_rows``),
its MLflow run FINISHED and none left RUNNING.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.kill_points import (
    Case,
    check_mlflow,
    check_outputs,
    compare_outputs,
    kill_session,
    leftovers,
    running_stage,
)

TARGETS = ("executor", "python", "worker")
EXECUTOR_CLASS = "org.apache.spark.executor.CoarseGrainedExecutorBackend"
_STARTED = re.compile(r"Running task (\S+) in stage (\S+) \(TID (\d+)\)")
_ENDED = re.compile(r"(?:Finished task|Exception in task|[Kk]illed task|Killing task)\b.*?\(TID (\d+)\)")


# ---------------------------------------------------------------------------------------------- processes
def process_table() -> dict[int, tuple[int, str]]:
    """Live processes (zombies left out): pid -> (parent pid, command line)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # state ppid ...
        if fields[0] != "Z":
            table[int(entry.name)] = (int(fields[1]), cmdline)
    return table


def _children(table: dict[int, tuple[int, str]], pid: int) -> list[int]:
    return sorted(child for child, (parent, _) in table.items() if parent == pid)


def _option(cmdline: str, name: str) -> str:
    parts = cmdline.split()
    return parts[parts.index(name) + 1] if name in parts[:-1] else ""


@dataclass(frozen=True)
class Executor:
    worker: int  # the worker slot of the LocalCluster
    worker_pid: int
    pid: int
    app_id: str
    executor_id: str
    stderr: Path
    daemons: tuple[int, ...]  # pyspark.daemon processes started by the executor
    python_workers: tuple[int, ...]  # the workers they forked: these run the tasks

    @property
    def label(self) -> str:
        return f"executor {self.executor_id} on worker {self.worker}"


def live_executors(cluster) -> list[Executor]:
    """The executor JVMs the cluster's live worker daemons run now, with their Python processes."""
    table = process_table()
    found = []
    for index, process in enumerate(cluster.worker_processes):
        if process.poll() is not None:
            continue
        for pid in _children(table, process.pid):
            cmdline = table[pid][1]
            if EXECUTOR_CLASS not in cmdline:
                continue
            app, executor = _option(cmdline, "--app-id"), _option(cmdline, "--executor-id")
            daemons = tuple(c for c in _children(table, pid) if "pyspark.daemon" in table[c][1])
            workers = tuple(w for d in daemons for w in _children(table, d))
            stderr = cluster.work_dir / app / executor / "stderr"
            found.append(Executor(index, process.pid, pid, app, executor, stderr, daemons, workers))
    return sorted(found, key=lambda e: (e.worker, e.app_id, int(e.executor_id or 0)))


def running_tasks(executor: Executor) -> list[str]:
    """Tasks the executor's log shows started and not ended: ``stage S task T (TID N)``."""
    try:
        text = executor.stderr.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    started = {m.group(3): f"stage {m.group(2)} task {m.group(1)} (TID {m.group(3)})" for m in _STARTED.finditer(text)}
    for match in _ENDED.finditer(text):
        started.pop(match.group(1), None)
    return [started[tid] for tid in sorted(started, key=int)]


def _sigkill(pids) -> list[int]:
    killed = []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except ProcessLookupError:
            pass
    return killed


def _alive(pids) -> list[int]:
    table = process_table()
    return [pid for pid in pids if pid in table]


# ---------------------------------------------------------------------------------------------- kill points
@dataclass(frozen=True)
class ExecutorKill:
    """SIGKILL ``target`` (one of ``TARGETS``) ``delay`` seconds after ``stage`` shows running, on a busy executor."""

    stage: str
    delay: float = 0.0
    target: str = "executor"

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"target {self.target!r}: choose from {', '.join(TARGETS)}")

    @property
    def label(self) -> str:
        return f"{self.target}@{self.stage}+{self.delay:.2f}s"


@dataclass
class Kill:
    point: ExecutorKill
    killed_in: str | None = None  # the stage pipeline.json showed running at the kill
    victim: str | None = None  # "executor 1 on worker 0"; None: nothing was killed
    pids: list[int] = field(default_factory=list)
    tasks_lost: list[str] = field(default_factory=list)  # running on the victim at the kill
    orphans: list[int] = field(default_factory=list)  # Python processes of a killed executor, left to die alone
    restarted_workers: list[int] = field(default_factory=list)
    at_s: float = 0.0  # seconds since the job started

    @property
    def hit(self) -> bool:
        """The kill took at least one running task with it."""
        return bool(self.tasks_lost)


@dataclass
class ClusterOutcome:
    kills: list[Kill]
    exit_code: int
    seconds: float
    problems: list[str]
    records_lost: int
    duplicated_rows: int
    executors_started: int  # by the application, replacements included
    leftovers: list[str] = field(default_factory=list)  # temporary files of killed tasks (invisible to readers)

    @property
    def survived(self) -> bool:
        return self.exit_code == 0 and not self.problems


def _wait(job: subprocess.Popen, deadline: float, until) -> bool:
    """Poll ``until()`` every 20 ms while the job runs; False when the job ended or the deadline passed."""
    while job.poll() is None and time.monotonic() < deadline:
        if until():
            return True
        time.sleep(0.02)
    return False


def _stage_seen(case: Case, stage: str) -> bool:
    return any(s["name"] == stage for s in (case.state() or {}).get("stages", []))


def kill_at(
    point: ExecutorKill,
    job: subprocess.Popen,
    case: Case,
    cluster,
    rng: random.Random,
    deadline: float,
    started: float,
    patience: float = 120,
) -> Kill:
    """Wait for ``point`` in the running job, kill its target on the cluster, and say what was lost."""
    kill = Kill(point)
    if not _wait(job, deadline, lambda: _stage_seen(case, point.stage)):
        return kill
    end = time.monotonic() + point.delay
    _wait(job, min(end, deadline), lambda: time.monotonic() >= end)
    busy: list[Executor] = []

    def find_busy() -> bool:
        executors = [e for e in live_executors(cluster) if running_tasks(e)]
        if point.target == "python":
            executors = [e for e in executors if e.python_workers]
        busy[:] = executors
        return bool(executors) or running_stage(case.state()) != point.stage

    _wait(job, min(deadline, time.monotonic() + patience), find_busy)
    if job.poll() is not None:
        return kill
    candidates = busy or live_executors(cluster)
    if not candidates:
        return kill
    victim = candidates[rng.randrange(len(candidates))]
    kill.victim, kill.killed_in = victim.label, running_stage(case.state())
    kill.tasks_lost = running_tasks(victim)
    if point.target == "executor":
        kill.pids = _sigkill([victim.pid])
    elif point.target == "python":
        kill.pids = _sigkill(victim.python_workers)
    else:
        kill.pids = _sigkill([victim.worker_pid, victim.pid, *victim.daemons, *victim.python_workers])
    kill.at_s = round(time.monotonic() - started, 2)
    if point.target == "executor":
        time.sleep(0.5)
        kill.orphans = _alive([*victim.daemons, *victim.python_workers])
    if point.target == "worker":
        cluster.worker_processes[victim.worker].wait(timeout=30)
        kill.restarted_workers = cluster.restart_workers()
    return kill


# ---------------------------------------------------------------------------------------------- one run
def duplicated_rows(work: Path) -> int:
    """Rows whose id appears more than once in a committed corpus (the mixture's repeats excepted: it repeats
    short sources on purpose) or attribute set."""
    import json

    import pyarrow.parquet as pq

    extra = 0
    for manifest in [*work.glob("*/manifest.json"), *work.glob("attributes/*/manifest.json")]:
        directory = manifest.parent
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        if "repeats" in meta.get("counts", {}) or not meta.get("format", "").startswith("curation."):
            continue
        files = sorted(directory.glob("shards/*.parquet")) or sorted(directory.glob("part-*.parquet"))
        ids = [i for f in files for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()]
        extra += len(ids) - len(set(ids))
    return extra


def run_with_kills(
    config: Path,
    reference: Case,
    root: Path,
    cluster,
    points: list[ExecutorKill],
    seed: int = 0,
    timeout: float = 1200,
) -> ClusterOutcome:
    """Run ``config`` (whose master is ``cluster``) in a fresh work directory under ``root``, kill at each
    point in turn (in the order given: sort them by stage), let the job finish, and compare with ``reference``."""
    case = Case(root)
    rng = random.Random(seed)
    started = time.monotonic()
    deadline = started + timeout
    apps_before = _apps(cluster)
    job = case.start(config, "killed.log")
    kills: list[Kill] = []
    try:
        for point in points:
            kills.append(kill_at(point, job, case, cluster, rng, deadline, started))
        try:
            code = job.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill_session(job.pid)
            code = job.wait()
    finally:
        if job.poll() is None:
            kill_session(job.pid)
            job.wait()
        cluster.restart_workers()
    seconds = time.monotonic() - started
    problems: list[str] = []
    if code != 0:
        problems.append(f"the job exited {code}:\n{case.log_tail('killed.log')}")
    differences, lost = compare_outputs(reference.work, case.work)
    problems += differences
    problems += check_outputs(case.work)
    duplicates = duplicated_rows(case.work)
    if duplicates:
        problems.append(f"{duplicates} duplicated row(s) in committed outputs")
    final = (case.state() or {}).get("mlflow_run_id")
    problems += check_mlflow(case.tracking_uri, [], final)
    lingering = _alive([pid for k in kills for pid in k.orphans])
    if lingering:
        problems.append(f"Python processes of killed executors still alive after the job: {lingering}")
    executors = sum(len(list((cluster.work_dir / app).iterdir())) for app in _apps(cluster) - apps_before)
    return ClusterOutcome(kills, code, seconds, problems, lost, duplicates, executors, leftovers(case.work))


def _apps(cluster) -> set[str]:
    return {p.name for p in cluster.work_dir.glob("app-*")}


def plan_kills(
    seconds: dict[str, float], stages: list[str], points: int, targets: list[str], seed: int
) -> list[list[ExecutorKill]]:
    """``points`` runs, each killing once in every stage (in pipeline order): in run ``j`` the delay of a
    stage lies in slice ``j`` of ``points`` equal slices of its reference seconds, and the targets take turns
    (run ``j``, stage ``i``: ``targets[(i + j) % len(targets)]``), so every stage meets every target when
    ``points >= len(targets)``."""
    rng = random.Random(seed)
    return [
        [
            ExecutorKill(stage, round((j + rng.random()) / points * seconds[stage], 2), targets[(i + j) % len(targets)])
            for i, stage in enumerate(stages)
        ]
        for j in range(points)
    ]


def describe(kill: Kill) -> dict[str, Any]:
    return {
        "point": kill.point.label,
        "stage": kill.point.stage,
        "target": kill.point.target,
        "delay_s": kill.point.delay,
        "killed_in": kill.killed_in,
        "victim": kill.victim,
        "at_s": kill.at_s,
        "tasks_lost": kill.tasks_lost,
        "orphans": len(kill.orphans),
        "restarted_workers": kill.restarted_workers,
    }
