"""Reading ``WORKDIR/pipeline.json``, the state file ``curate run`` rewrites after every stage.

Format ``curation.pipeline/v1``: the pipeline's name, config path and hash, workdir, the parent MLflow
run id (null when tracking was off) and its tracking URI, ``finished``, and ``stages`` in the order they
ran, each with name, kind, status (done / skipped / failed), seconds, its MLflow run id and ``outputs``
keyed by meaning (``corpus``, ``attributes``, ``model``, ``validation``, ``export``). Any stage may be
absent. A report can also start from the parent MLflow run: its tag ``curation.workdir`` names the workdir.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.errors import ConfigError, InputNotFoundError, TrackingError
from curation.pipeline_state import STATE_FORMAT
from curation.pipeline_state import STATE_NAME as STATE_FILE

WORKDIR_TAG = "curation.workdir"
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Stage:
    name: str
    kind: str
    status: str
    seconds: float | None
    mlflow_run_id: str | None
    outputs: dict[str, Path]

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def output(self, key: str) -> Path | None:
        return self.outputs.get(key)


@dataclass(frozen=True)
class PipelineState:
    path: Path
    payload: dict[str, Any]
    stages: list[Stage]

    @property
    def workdir(self) -> Path:
        return self.path.parent

    @property
    def name(self) -> str:
        return str(self.payload.get("name") or self.workdir.name)

    @property
    def mlflow_run_id(self) -> str | None:
        return self.payload.get("mlflow_run_id") or None

    @property
    def tracking_uri(self) -> str | None:
        return self.payload.get("tracking_uri") or None

    def with_output(self, key: str) -> list[Stage]:
        """Stages that declare an output of this meaning, in pipeline order."""
        return [stage for stage in self.stages if key in stage.outputs]

    def of_kind(self, *kinds: str) -> list[Stage]:
        return [stage for stage in self.stages if stage.kind in kinds]


def load_state(workdir_or_state_path: str | os.PathLike) -> PipelineState:
    """The pipeline state of a workdir (or of a pipeline.json given directly), a local path or a URL; one-line
    errors otherwise."""
    from curation.storage import as_path, is_remote

    given = as_path(workdir_or_state_path)
    path = given if given.name == STATE_FILE or given.is_file() else given / STATE_FILE
    if not given.exists():
        raise InputNotFoundError(f"{given}: no such pipeline work directory")
    if not path.is_file():
        raise InputNotFoundError(f"{given}: no {STATE_FILE}; not a pipeline work directory (`curate run` writes one)")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable pipeline state ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != STATE_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ConfigError(f"{path}: not a pipeline state file (format={found!r}, expected {STATE_FORMAT!r})")
    if not is_remote(str(given)):
        path = path.resolve()
    stages = []
    for index, entry in enumerate(payload.get("stages") or []):
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: stage {index + 1} is not an object")
        outputs = entry.get("outputs") or {}
        stages.append(
            Stage(
                name=str(entry.get("name") or f"stage {index + 1}"),
                kind=str(entry.get("kind") or entry.get("name") or "unknown"),
                status=str(entry.get("status") or "unknown"),
                seconds=entry.get("seconds") if isinstance(entry.get("seconds"), int | float) else None,
                mlflow_run_id=entry.get("mlflow_run_id") or None,
                # Paths are absolute in files `curate run` writes; a relative one is read against the workdir.
                outputs={
                    str(k): as_path(v) if is_remote(str(v)) else path.parent / str(v) for k, v in outputs.items() if v
                },
            )
        )
    return PipelineState(path, payload, stages)


def missing_sqlite_store(uri: str) -> bool:
    """A sqlite store whose file is not there: opening it would create an empty one just to find nothing."""
    return uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file()


def resolve_run(run: str) -> Path:
    """A workdir, a pipeline.json, or the id of a pipeline's parent MLflow run (its workdir tag is followed).

    The run is looked up in the tracking store at ``MLFLOW_TRACKING_URI`` (default ``./mlflow.db``)."""
    from curation.storage import as_path, is_remote

    if is_remote(run):
        return as_path(run)
    if Path(run).exists() or not _RUN_ID.match(run):
        return Path(run)
    from curation.tracking import tracking_uri

    uri = tracking_uri()
    if missing_sqlite_store(uri):
        raise InputNotFoundError(
            f"{run}: no such directory, and no MLflow store at {uri} to look it up as a run id (set MLFLOW_TRACKING_URI)"
        )
    import logging

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from mlflow import MlflowClient

        tags = MlflowClient(tracking_uri=uri).get_run(run).data.tags
    except Exception as exc:  # noqa: BLE001 - MLflow raises many types for a missing run or an unreachable store
        raise TrackingError(
            f"{run}: not a directory, and not a run in the MLflow store {uri}: {str(exc).splitlines()[0][:200]}"
        ) from exc
    workdir = tags.get(WORKDIR_TAG)
    if not workdir:
        raise ConfigError(f"MLflow run {run} has no {WORKDIR_TAG} tag; is it the parent run of `curate run`?")
    return as_path(workdir)
