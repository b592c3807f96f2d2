"""MLflow tracking for every stage: one run per job, params, metrics, artifacts.

Default store: ``sqlite:///<working dir>/mlflow.db`` (MLflow's own default; ``mlflow ui`` started in
the same directory shows it). ``MLFLOW_TRACKING_URI`` points it anywhere else, a server included.
The store is checked before any work starts, so an unreachable server fails fast.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from curation.errors import TrackingError

DEFAULT_EXPERIMENT = "curation"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


class StageRun:
    """The handle a stage logs through; a no-op when tracking is disabled."""

    def __init__(self, run=None):
        self._run = run
        self.run_id = run.info.run_id if run else None

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if self._run:
            import mlflow

            mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)

    def set_tags(self, tags: dict[str, str]) -> None:
        if self._run:
            import mlflow

            mlflow.set_tags(tags)

    @contextmanager
    def child(self, name: str, params: dict[str, Any]):
        """A nested run under this one (e.g. one proxy of a validation); FAILED if the block raises."""
        if not self._run:
            yield StageRun()
            return
        import mlflow

        run = mlflow.start_run(run_name=name, nested=True, tags={"curation.stage": name})
        with _ended_with_status(run, params) as handle:
            yield handle

    def log_dict(self, payload: dict[str, Any], name: str) -> None:
        if self._run:
            import mlflow

            mlflow.log_dict(payload, name)

    def log_artifact(self, path: str | Path) -> None:
        if self._run:
            import mlflow

            mlflow.log_artifact(str(path))

    def log_text(self, text: str, name: str) -> None:
        if self._run:
            import mlflow

            mlflow.log_text(text, name)


def _scalar_params(params: dict[str, Any]) -> dict[str, str]:
    flat = {}
    for key, value in params.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        flat[key] = text if len(text) <= 500 else text[:497] + "..."
    return flat


@contextmanager
def stage_run(stage: str, params: dict[str, Any], enabled: bool = True, experiment: str | None = None):
    """Open an MLflow run for a stage; the run is FAILED if the stage raises."""
    if not enabled:
        yield StageRun()
        return
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    import logging

    import mlflow

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)

    uri = tracking_uri()
    try:
        parent = mlflow.active_run()  # a stage inside `curate run` becomes a child of the pipeline's run
        if parent is None:
            mlflow.set_tracking_uri(uri)
            mlflow.set_experiment(experiment or os.environ.get("CURATION_EXPERIMENT", DEFAULT_EXPERIMENT))
        run = mlflow.start_run(run_name=stage, tags={"curation.stage": stage}, nested=parent is not None)
    except Exception as exc:  # noqa: BLE001 - MLflow raises many types for an unreachable store
        raise TrackingError(
            f"MLflow tracking store {uri} is not usable: {str(exc).splitlines()[0][:200]} (use --no-tracking to run without it)"
        ) from exc
    with _ended_with_status(run, params) as handle:
        yield handle


@contextmanager
def _ended_with_status(run, params: dict[str, Any]):
    """Log the params, hand the run to the block, end it FINISHED, or FAILED if the block raises."""
    import mlflow

    status = "FAILED"
    try:
        mlflow.log_params(_scalar_params(params))
        yield StageRun(run)
        status = "FINISHED"
    finally:
        mlflow.end_run(status=status)
