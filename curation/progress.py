"""Progress of Spark work, read from what tasks have committed (works on a cluster's shared output too).

On a terminal: a live bar per input (up to 20 inputs) and one for the whole job, with records/s.
Elsewhere (CI, log files): one line at most every few seconds.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path


def live_bar(console, transient: bool):
    """A rich progress display: description, bar, done/total, a ``rate`` field, elapsed time."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"))
    return Progress(*columns, TimeElapsedColumn(), console=console, transient=transient)


class _Watcher:
    """A daemon thread that runs ``self._run`` while the ``with`` block (the Spark action) runs."""

    def __init__(self, console, interval_s: float):
        self.console = console
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = time.perf_counter()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        raise NotImplementedError


class SplitProgress(_Watcher):
    """Watches ``<work>/splits/*.json`` appear while the processing action runs in the main thread."""

    def __init__(self, console, stats_dir: Path, split_inputs: dict[str, str], interval_s: float = 0.5):
        super().__init__(console, interval_s)
        self.stats_dir = stats_dir
        self.split_inputs = split_inputs  # split key -> input path

    def _done(self) -> dict[str, dict]:
        done = {}
        for path in self.stats_dir.glob("*.json"):
            try:
                done[path.stem] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
        return done

    def _run(self) -> None:
        if self.console.is_terminal:
            self._run_live()
        else:
            self._run_lines()

    def _run_lines(self) -> None:
        last_line, last_done = 0.0, -1
        while not self._stop.wait(self.interval_s):
            done = self._done()
            now = time.perf_counter()
            if len(done) != last_done and now - last_line >= 5:
                self.console.print(self._summary(done), highlight=False)
                last_line, last_done = now, len(done)

    def _summary(self, done: dict[str, dict]) -> str:
        records = sum(s["records_read"] for s in done.values())
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        return f"ingest: {len(done)}/{len(self.split_inputs)} splits, {records:,} records ({records / elapsed:,.0f} records/s)"

    def _run_live(self) -> None:
        inputs = sorted(set(self.split_inputs.values()))
        per_input = len(inputs) <= 20
        with live_bar(self.console, transient=False) as bar:
            total = bar.add_task("all inputs", total=len(self.split_inputs), rate="")
            tasks: dict[str, int] = {}
            if per_input:
                for path in inputs:
                    n = sum(1 for v in self.split_inputs.values() if v == path)
                    tasks[path] = bar.add_task(f"  {Path(path).name[:40]}", total=n, rate="")
            while True:
                stopping = self._stop.wait(self.interval_s)
                done = self._done()
                bar.update(total, completed=len(done), rate=self._summary(done).split(", ", 1)[1])
                for path, task in tasks.items():
                    mine = [s for key, s in done.items() if self.split_inputs.get(key) == path]
                    bar.update(task, completed=len(mine), rate=f"{sum(s['records_read'] for s in mine):,} records")
                if stopping:
                    return


class _CountingProgress(_Watcher):
    """A stage's progress as units done of a total and documents done: a live bar on a terminal; elsewhere a
    line at most every ``line_every_s`` seconds, and only when something changed. Subclasses say what is
    done (``_counts``)."""

    unit = "parts"

    def __init__(self, console, label: str, interval_s: float, line_every_s: float):
        super().__init__(console, interval_s)
        self.label = label
        self.line_every_s = line_every_s

    def _counts(self) -> tuple[int, int, int, int]:
        """(units done, units in all, documents done, documents done since the start)."""
        raise NotImplementedError

    def _left(self, done: int, total: int, documents: int) -> int:
        raise NotImplementedError

    def _snapshot(self) -> tuple[int, int, int, str]:
        """Units done, units in all, documents done, and the rate with the time left as text: one reading of
        ``_counts`` per tick."""
        done, total, documents, new = self._counts()
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = new / elapsed
        left = self._left(done, total, documents)
        eta = f", about {left / rate:,.0f} s left" if rate > 0 and left > 0 else ""
        return done, total, documents, f"{documents:,} documents ({rate:,.0f} docs/s{eta})"

    def status(self) -> tuple[int, int, str]:
        """Units done, documents done, and the rate with the time left, as text."""
        done, _, documents, text = self._snapshot()
        return done, documents, text

    def _run(self) -> None:
        if self.console.is_terminal:
            self._run_live()
            return
        last_line, last_done = time.perf_counter(), self._counts()[0]
        while not self._stop.wait(self.interval_s):
            done, total, _, text = self._snapshot()
            now = time.perf_counter()
            if done != last_done and now - last_line >= self.line_every_s:
                self.console.print(f"{self.label}: {done}/{total} {self.unit}, {text}", highlight=False)
                last_line, last_done = now, done

    def _run_live(self) -> None:
        with live_bar(self.console, transient=True) as bar:
            task = bar.add_task(f"{self.label} ({self.unit})", total=1, rate="")
            while True:
                stopping = self._stop.wait(self.interval_s)
                done, total, _, text = self._snapshot()
                bar.update(task, completed=done, total=max(1, total), rate=text)
                if stopping:
                    return


class PartProgress(_CountingProgress):
    """Progress of a stage that commits one file per corpus shard (attribute sets): parts committed and
    documents/s with the time left, read from the committed files, so it works on a cluster's shared output
    too. Parts already there at the start (a resumed run) count as done but not in the rate."""

    def __init__(
        self,
        console,
        label: str,
        parts: list[Path],
        rows: list[int],
        interval_s: float = 0.5,
        line_every_s: float = 5.0,
    ):
        super().__init__(console, label, interval_s, line_every_s)
        self.parts = [Path(p) for p in parts]
        self.rows = list(rows)
        self._before = set(self._done())

    def _done(self) -> list[int]:
        return [i for i, path in enumerate(self.parts) if path.exists()]

    def _counts(self) -> tuple[int, int, int, int]:
        done = self._done()
        documents = sum(self.rows[i] for i in done)
        new = sum(self.rows[i] for i in done if i not in self._before)
        return len(done), len(self.parts), documents, new

    def _left(self, done: int, total: int, documents: int) -> int:
        return sum(self.rows) - documents


class TaskProgress(_CountingProgress):
    """Progress of the Spark jobs run inside the ``with`` block, from Spark's status tracker (it needs no
    UI): tasks finished out of all tasks of those jobs' stages so far, and documents estimated as that share
    of ``documents`` (without ``documents``, tasks only: for a block of several jobs, whose later stages are
    not known yet). For stages whose tasks write no file per shard (select, dedup); the jobs are told apart
    by a job group set on the calling thread for the block."""

    unit = "tasks"

    def __init__(
        self, console, sc, label: str, documents: int | None, interval_s: float = 0.5, line_every_s: float = 5.0
    ):
        import uuid

        super().__init__(console, label, interval_s, line_every_s)
        self.sc = sc
        self.documents = documents
        self.group = f"curation-{label}-{uuid.uuid4().hex[:12]}"

    def __enter__(self):
        self.sc.setJobGroup(self.group, self.label)
        return super().__enter__()

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        for key in ("spark.jobGroup.id", "spark.job.description"):
            self.sc.setLocalProperty(key, None)

    def tasks(self) -> tuple[int, int]:
        """(finished, all) tasks of the block's jobs so far."""
        tracker = self.sc.statusTracker()
        done = total = 0
        for job_id in tracker.getJobIdsForGroup(self.group):
            job = tracker.getJobInfo(job_id)
            for stage_id in job.stageIds if job else []:
                stage = tracker.getStageInfo(stage_id)
                if stage:
                    done, total = done + stage.numCompletedTasks, total + stage.numTasks
        return done, total

    def _counts(self) -> tuple[int, int, int, int]:
        try:
            done, total = self.tasks()
        except Exception:  # noqa: BLE001 - a progress display must never fail the job (e.g. the context stopped)
            done, total = 0, 0
        documents = self.documents * done // total if total and self.documents else 0
        return done, total, documents, documents

    def _left(self, done: int, total: int, documents: int) -> int:
        return self.documents - documents if total and self.documents else 0

    def _snapshot(self) -> tuple[int, int, int, str]:
        if self.documents is not None:
            return super()._snapshot()
        done, total, _, _ = self._counts()
        rate = done / max(time.perf_counter() - self.started, 1e-9)
        return done, total, 0, f"{rate:,.1f} tasks/s"
