"""MLflow tracking for every stage: one run per job, params, metrics, artifacts.

Where runs go, first match wins:
- the store: ``MLFLOW_TRACKING_URI``; else a URI the calling program set with ``mlflow.set_tracking_uri``
  (a notebook or an orchestrator using the Python API); else ``sqlite:///<working dir>/mlflow.db`` (MLflow's
  own default; ``mlflow ui`` started in the same directory shows it).
- the experiment: the stage's ``experiment`` argument; ``CURATION_EXPERIMENT``; MLflow's own
  ``MLFLOW_EXPERIMENT_ID`` or ``MLFLOW_EXPERIMENT_NAME``; else ``curation``.

Faults. The store is checked before the stage's work starts (the experiment is looked up and the run
created), so an unreachable store fails the job with one line (``TrackingError``) before anything is
computed or written (stages that create their output directory first leave it empty).

Once the run has started, the job's outputs are the source of truth and the run is a record of them. When
the store stops answering (server down, network gone, a 5xx answer, an artifact store that cannot be
written), the call that found it gone prints one line to stderr, ``curate: warning: tracking lost: ...``,
and from then on the run, its children and any stage run nested in it later in this process log nothing;
the job goes on and commits its outputs. Their manifests still carry ``mlflow_run_id``: it names a run that
may lack its last params, metrics and artifacts, and that stays RUNNING unless the store answers the one
quick attempt made to end it. A store that answers "no" (a 4xx, e.g. an invalid value) is a bug, not an
outage, and raises ``TrackingError``.

Bounded waits. MLflow retries every HTTP call; unless set already, this module sets
``MLFLOW_HTTP_REQUEST_MAX_RETRIES=2`` and ``MLFLOW_HTTP_REQUEST_TIMEOUT=20`` (seconds per attempt). A call
to a server that is gone therefore gives up after about 5 s when connections are refused (server stopped:
retries after 0 s and 4 s + up to 1 s of jitter), or after at most 3 x 20 s + 5 s when the server accepts
connections but no longer answers (hung). That is the wait before the one-line error when the store is gone
before the job; during the job it is paid once, plus one try to end the run of at most ``END_TIMEOUT_S``
(or the request timeout, if shorter): about 70 s at most with these settings.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from curation.errors import TrackingError

DEFAULT_EXPERIMENT = "curation"
END_TIMEOUT_S = 5  # the one try to end a run whose store was lost
DIGEST_CHARS = 32  # of a logged input dataset's manifest sha256 (MLflow stores at most 36)

# Why tracking stopped in this process (None while the store answers); reset by the next top-level run.
_lost: str | None = None


def tracking_uri() -> str:
    """The store runs go to. ``mlflow.set_tracking_uri(uri)`` in the calling program counts: MLflow exports
    it as ``MLFLOW_TRACKING_URI`` (and so do this module's own calls, for the rest of the process)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def _use_experiment(mlflow, explicit: str | None) -> None:
    """Make the experiment the stage's run goes to the active one (see the module docstring for the order)."""
    name = explicit or os.environ.get("CURATION_EXPERIMENT")
    chosen_by_caller = os.environ.get("MLFLOW_EXPERIMENT_ID")
    try:
        if not name and chosen_by_caller:
            mlflow.set_experiment(experiment_id=chosen_by_caller)
        else:
            mlflow.set_experiment(name or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT)
    finally:
        # MLflow exports the id it just set as MLFLOW_EXPERIMENT_ID. Left there, the next stage in this
        # process (or a child process) would read it as the caller's choice, even against another store.
        if chosen_by_caller is None:
            os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
        else:
            os.environ["MLFLOW_EXPERIMENT_ID"] = chosen_by_caller


def tracking_lost() -> str | None:
    """Why this process stopped logging to the store after a run had started, or None."""
    return _lost


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def _store_gone(exc: BaseException) -> bool:
    """True when the store did not answer (unreachable, 5xx, unwritable artifacts); False when it said no."""
    from mlflow.exceptions import MlflowException

    if isinstance(exc, MlflowException):
        return exc.get_http_status_code() >= 500
    return True  # requests' errors and OSError: the request or the artifact write never went through


def _lose(exc: BaseException, run_id: str | None) -> None:
    """Stop tracking in this process; say so on stderr, once."""
    global _lost
    if _lost is not None:
        return
    _lost = f"MLflow store {tracking_uri()} failed during run {run_id}: {first_line(exc)}"
    print(
        f"curate: warning: tracking lost: {_lost}; the job goes on and commits its outputs, the run may be incomplete",
        file=sys.stderr,
        flush=True,
    )


def _store_errors() -> tuple[type[BaseException], ...]:
    import requests
    from mlflow.exceptions import MlflowException

    return (MlflowException, requests.RequestException, OSError)


class StageRun:
    """The handle a stage logs through; a no-op when tracking is disabled or the store was lost."""

    def __init__(self, run=None):
        self._run = run
        self.run_id = run.info.run_id if run else None

    @property
    def logging(self) -> bool:
        """True while this handle writes to the store."""
        return self._run is not None and _lost is None

    def _call(self, method: str, *args, **kwargs) -> Any:
        """``mlflow.<method>(...)``; a store that is gone is reported once and stops tracking (returns None)."""
        if not self.logging:
            return None
        import mlflow

        try:
            return getattr(mlflow, method)(*args, **kwargs)
        except _store_errors() as exc:
            if not _store_gone(exc):
                raise TrackingError(
                    f"MLflow store {tracking_uri()} refused {method} for run {self.run_id}: {first_line(exc)}"
                ) from exc
            _lose(exc, self.run_id)
            return None

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._call("log_metrics", {k: float(v) for k, v in metrics.items()}, step=step)

    def set_tags(self, tags: dict[str, str]) -> None:
        self._call("set_tags", tags)

    @contextmanager
    def child(self, name: str, params: dict[str, Any]):
        """A nested run under this one (e.g. one proxy of a validation); FAILED if the block raises."""
        run = self._call("start_run", run_name=name, nested=True, tags={"curation.stage": name})
        if run is None:
            yield StageRun()
            return
        with _ended_with_status(run, params) as handle:
            yield handle

    def log_dict(self, payload: dict[str, Any], name: str) -> None:
        self._call("log_dict", payload, name)

    def log_artifact(self, path: str | Path) -> None:
        self._call("log_artifact", str(path))

    def log_text(self, text: str, name: str) -> None:
        self._call("log_text", text, name)

    def log_inputs(self, paths: Iterable[str | Path | None], context: str = "input") -> None:
        """Each corpus, attribute set or model directory the stage reads, as an MLflow input dataset (the
        run page's "Datasets used"): its path as the source, its name, and as digest the start of the sha256
        of its ``manifest.json`` (the fingerprint lineage records). Paths without a manifest are skipped."""
        if not self.logging:
            return
        for path in paths:
            dataset = input_dataset(path) if path else None
            if dataset is not None:
                self._call("log_input", dataset, context=context)


def input_dataset(path: str | Path):
    """An MLflow ``MetaDataset`` for a directory holding ``manifest.json``, or None."""
    import hashlib
    import warnings

    from curation.destination import Destination

    try:
        directory = Destination(path)
        manifest = directory.read_bytes("manifest.json")
    except Exception:  # noqa: BLE001 - tracking never fails a stage (a store that cannot be read: no dataset)
        return None
    if manifest is None:
        return None
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.exceptions import MlflowException

    digest = hashlib.sha256(manifest).hexdigest()[:DIGEST_CHARS]
    with warnings.catch_warnings():  # a local path resolves to MLflow's local source, which warns it is ambiguous
        warnings.simplefilter("ignore", UserWarning)
        try:
            source = resolve_dataset_source(directory.location)  # an s3:// URL: MLflow's S3 source
        except MlflowException:  # a scheme MLflow has no source for (abfs://, az://, hdfs://): the URL as it is
            source = _url_source_class()(directory.location)
    return MetaDataset(source, name=directory.location.rpartition("/")[2], digest=digest)


@functools.cache
def _url_source_class():
    """An MLflow dataset source that is a URL and nothing more (``{"uri": URL}``, type ``url``), for the schemes
    MLflow resolves to none of its own sources. Made on first use: mlflow is imported only when tracking."""
    from mlflow.data.dataset_source import DatasetSource

    class URLDatasetSource(DatasetSource):
        def __init__(self, uri: str):
            self.uri = uri

        @staticmethod
        def _get_source_type() -> str:
            return "url"

        def load(self, **kwargs):
            raise NotImplementedError("curation logs URL sources only to name a dataset")

        @staticmethod
        def _can_resolve(raw_source) -> bool:
            return False  # never chosen by resolve_dataset_source: only made above

        @classmethod
        def _resolve(cls, raw_source):
            return cls(str(raw_source))

        def to_dict(self) -> dict[str, str]:
            return {"uri": self.uri}

        @classmethod
        def from_dict(cls, source_dict):
            return cls(source_dict["uri"])

    return URLDatasetSource


def _scalar_params(params: dict[str, Any]) -> dict[str, str]:
    flat = {}
    for key, value in params.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        flat[key] = text if len(text) <= 500 else text[:497] + "..."
    return flat


@contextmanager
def stage_run(stage: str, params: dict[str, Any], enabled: bool = True, experiment: str | None = None):
    """Open an MLflow run for a stage; the run is FAILED if the stage raises."""
    global _lost
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
    parent = mlflow.active_run()  # a stage inside `curate run` becomes a child of the pipeline's run
    if parent is not None and _lost is not None:
        yield StageRun()  # the pipeline's store was lost: its stages run untracked (warned once already)
        return
    if parent is None:
        _lost = None
    try:
        if parent is None:
            mlflow.set_tracking_uri(uri)
            _use_experiment(mlflow, experiment)
        run = mlflow.start_run(run_name=stage, tags={"curation.stage": stage}, nested=parent is not None)
    except Exception as exc:  # noqa: BLE001 - MLflow raises many types for an unreachable store
        raise TrackingError(
            f"MLflow tracking store {uri} is not usable: {first_line(exc)} (use --no-tracking to run without it)"
        ) from exc
    with _ended_with_status(run, params) as handle:
        handle.log_inputs(_read_directories(params))
        yield handle


def _read_directories(params: dict[str, Any]) -> list[str]:
    """The corpus and attribute sets a stage's params name (``corpus``, ``attributes``)."""
    attributes = params.get("attributes")
    named = [params.get("corpus"), *(attributes if isinstance(attributes, list | tuple) else [])]
    from curation.storage import is_remote

    return [p for p in named if isinstance(p, str) and (is_remote(p) or Path(p).is_dir())]


@contextmanager
def _ended_with_status(run, params: dict[str, Any]):
    """Log the params, hand the run to the block, end it FINISHED, or FAILED if the block raises."""
    handle = StageRun(run)
    status = "FAILED"
    try:
        handle._call("log_params", _scalar_params(params))
        yield handle
        status = "FINISHED"
    finally:
        _end_run(handle, status)


def _end_run(handle: StageRun, status: str) -> None:
    """End the run (MLflow forgets it as the active run first, then tells the store). With the store lost,
    one short try without retries: the run ends in the store if it came back, else stays RUNNING."""
    if handle.logging:
        handle._call("end_run", status=status)
        return
    import mlflow

    saved = {name: os.environ.get(name) for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")}
    timeout = min(END_TIMEOUT_S, int(os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT") or END_TIMEOUT_S))
    os.environ.update(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT=str(timeout))
    try:
        mlflow.end_run(status=status)
    except _store_errors():
        pass  # already reported as lost; the run stays RUNNING in the store
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
