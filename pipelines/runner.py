"""``curate run``: the stages of a pipeline config, in order, under one work directory and one MLflow run.

Each stage is a nested MLflow run under the pipeline's run. A stage's config hash covers its settings and
the fingerprints (manifest checksums) of the outputs it reads, so a rerun skips every stage whose hash is
unchanged and whose outputs are still committed, and redoes a stage, and everything that reads it, when its
settings or its inputs changed. A stage interrupted by a crash resumes where its own checkpoints allow
(ingest, attribute sets, DataRater training and validation all resume). ``--from STAGE`` discards that
stage's outputs and those of every later stage, and runs them again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.destination import Destination
from curation.errors import ConfigError
from curation.pipeline_state import STATE_FORMAT, STATE_NAME, read_state, write_state
from pipelines.config import PipelineConfig
from pipelines.stage import RunContext, Stage
from pipelines.stage_names import STAGES  # noqa: F401 - the runner's order, re-exported
from pipelines.stage_plan import StagePlan


@dataclass
class PipelineResult:
    workdir: Path | str
    state: dict[str, Any]
    final_corpus: Path | str
    report: Any = None
    seconds: float = 0.0
    ran: list[str] = field(default_factory=list)


class PipelineRunner:
    def __init__(
        self, cfg: PipelineConfig, config_path: Path | str | None, workdir: Path | str, tracking: bool, console
    ):
        self.cfg = cfg
        self.config_path = config_path
        self.root = Destination(workdir)  # the work directory: a local directory or a URL on an object store
        self.workdir = self.root.path
        self.tracking = tracking
        self.console = console
        ctx = RunContext(cfg.spark.master, dict(cfg.spark.conf), tracking, console)
        self.plan = StagePlan(cfg, config_path, self.root, ctx)
        self.final = self.plan.final  # the corpus later stages read: the select, then the mix output

    def stages(self) -> list[Stage]:
        """Every stage of the config, in order; each section is checked here, before any work."""
        stages = self.plan.stages()
        self.final = self.plan.final
        return stages

    def run(self, from_stage: str | None = None) -> PipelineResult:
        from curation.tracking import stage_run, tracking_lost, tracking_uri

        started = time.perf_counter()
        stages = self.stages()  # every section is validated here, before any work
        names = [s.name for s in stages]
        if from_stage is not None and from_stage not in names:
            raise ConfigError(f"--from {from_stage}: not a stage of this pipeline (its stages: {', '.join(names)})")
        forced = set(names[names.index(from_stage) :]) if from_stage else set()
        before = read_state(self.workdir)
        if before is not None and before.get("name") != self.cfg.name:
            raise ConfigError(
                f"{self.workdir} holds pipeline {before.get('name')!r}, not {self.cfg.name!r}; choose another workdir"
            )
        if before is None and any(stage.committed() for stage in stages):
            raise ConfigError(
                f"{self.workdir} holds outputs no pipeline run recorded (no pipeline.json); choose another workdir "
                "or remove them"
            )
        # The last record of every stage, from this run or an earlier one that got further.
        previous = {**(before or {}).get("known", {}), **{s["name"]: s for s in (before or {}).get("stages", [])}}
        self.root.check_writable("--workdir")
        state = {
            "format": STATE_FORMAT,
            "name": self.cfg.name,
            "config_path": str(self.config_path) if self.config_path else None,
            "config_hash": self.cfg.config_hash(),
            "workdir": str(self.workdir),
            "mlflow_run_id": None,
            "tracking_uri": tracking_uri() if self.tracking else None,
            "finished": False,
            "stages": [],
            "known": previous,
        }
        params = {"pipeline": self.cfg.name, "config": str(self.config_path), "stages": names, "from": from_stage}
        ran: list[str] = []
        if self.tracking and before is not None and not before.get("finished"):
            _mark_killed(before)
        with stage_run(f"pipeline:{self.cfg.name}", params, enabled=self.tracking) as parent:
            parent.set_tags({"curation.workdir": str(self.workdir), "curation.pipeline": self.cfg.name})
            parent.log_dict(self.cfg.model_dump(mode="json", by_alias=True), "pipeline-config.json")
            state["mlflow_run_id"] = parent.run_id
            write_state(self.workdir, state)  # before any stage: a kill from here on leaves this run to mark KILLED
            for stage in stages:
                record = self._run_stage(stage, previous.get(stage.name), stage.name in forced, state, parent)
                if record["status"] == "done":
                    ran.append(stage.name)
                parent.log_metrics({f"stage_seconds.{stage.name}": record["seconds"]})
            state["finished"] = True
            write_state(self.workdir, state)
            report = None
            if self.cfg.report:
                from curation.report import build_report

                self.console.rule("[bold]report")
                # into the pipeline's run, unless its store was lost during this run (warned once already)
                report = build_report(self.workdir, log_to_mlflow=self.tracking and tracking_lost() is None)
            with self.root.local_copy(STATE_NAME) as state_file:
                parent.log_artifact(state_file)
        return PipelineResult(self.workdir, state, self.final, report, time.perf_counter() - started, ran)

    def _run_stage(self, stage: Stage, before: dict | None, forced: bool, state: dict, parent) -> dict[str, Any]:
        config_hash = stage.config_hash()
        outputs = {key: str(path) for key, (_, path) in stage.writes.items()}
        same = before is not None and before.get("config_hash") == config_hash
        if (
            not forced
            and not stage.always_run
            and same
            and before.get("status") in ("done", "skipped")
            and stage.committed()
        ):
            self.console.print(f"{stage.name}: unchanged and committed; skipped", highlight=False, markup=False)
            record = {**before, "status": "skipped", "seconds": 0.0, "outputs": outputs}
            state["stages"].append(record)
            state["known"][stage.name] = record
            write_state(self.workdir, state)
            return record
        if stage.always_run:
            overwrite = (
                before is not None
            )  # ingest replaces its corpus when the inputs changed, if this pipeline made it
        else:
            if forced or (before is not None and not same):
                for _, path in stage.writes.values():  # this pipeline's own outputs, made with other settings or inputs
                    _discard(path, self.root)
            overwrite = False  # same settings: a stage interrupted earlier resumes from its checkpoints
        self.console.rule(f"[bold]{stage.name}")
        record = {
            "name": stage.name,
            "kind": stage.name,
            "status": "running",
            "config_hash": config_hash,
            "seconds": 0.0,
            "mlflow_run_id": None,
            "outputs": outputs,
        }
        state["stages"].append(record)
        state["known"][stage.name] = record
        write_state(self.workdir, state)  # a crash from here on leaves "running" with this hash: a rerun resumes
        started = time.perf_counter()
        try:
            result = stage.run(overwrite)
        except BaseException:
            record.update(status="failed", seconds=round(time.perf_counter() - started, 3))
            write_state(self.workdir, state)
            raise
        status = "skipped" if result.skipped else "done"
        record.update(status=status, seconds=round(time.perf_counter() - started, 3), mlflow_run_id=result.run_id)
        write_state(self.workdir, state)
        return record


def _mark_killed(before: dict[str, Any]) -> None:
    """The MLflow runs a killed ``curate run`` left RUNNING (it could not end them) become KILLED, so MLflow shows
    the interrupted run beside the resumed one. Best effort: a store that cannot be reached is reported by the
    pipeline's own run right after."""
    parent, uri = before.get("mlflow_run_id"), before.get("tracking_uri")
    if not parent or not uri:
        return
    try:
        import mlflow

        client = mlflow.MlflowClient(uri)
        experiment = client.get_run(parent).info.experiment_id
        pending = [parent]
        while pending:  # the pipeline's run, its stages' runs, and theirs (e.g. one per proxy)
            run_id = pending.pop()
            if client.get_run(run_id).info.status == "RUNNING":
                client.set_terminated(run_id, status="KILLED")
            children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{run_id}'", max_results=1000)
            pending += [child.info.run_id for child in children]
    except Exception:  # noqa: BLE001 - bookkeeping of an old run must not stop a new one
        return


def _discard(path: Path | str, workdir: Destination) -> None:
    """Remove a stage's output before a forced rerun; only ever inside the pipeline's work directory."""
    output = Destination(path)
    if not output.location.startswith(workdir.location + "/"):
        raise ConfigError(f"refusing to remove {output}: it is outside the work directory {workdir}")
    output.remove_tree("")


def run_pipeline(
    cfg: PipelineConfig,
    config_path: Path | str | None = None,
    *,
    workdir: Path | str | None = None,
    from_stage: str | None = None,
    tracking: bool = True,
    console=None,
) -> PipelineResult:
    from rich.console import Console

    workdir = workdir or cfg.workdir or f"runs/{cfg.name}"
    runner = PipelineRunner(cfg, config_path, workdir, tracking, console or Console(stderr=True))
    return runner.run(from_stage)
