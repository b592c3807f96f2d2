"""``build_report``: read a pipeline's state and outputs, write report.html and report.md (with its chart
PNGs), and log them to the pipeline's parent MLflow run.

Files are written under temporary names and committed by rename (on an object store: uploaded whole under
their final names), report.html last; chart PNGs an earlier
report left and this one does not draw are removed. A section whose stage is missing or unfinished shows
a note instead; a report never fails because of one stage's output.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from curation.destination import Destination
from curation.errors import TrackingError
from curation.report.document import Note, Report, Section
from curation.report.outputs import READ_ERRORS
from curation.report.sections.examples import examples_section
from curation.report.sections.export import export_section
from curation.report.sections.funnel import funnel_section
from curation.report.sections.raters import raters_section
from curation.report.sections.scores import scores_section
from curation.report.sections.summary import summary_section
from curation.report.sections.validation import validation_section
from curation.report.state import PipelineState, load_state, missing_sqlite_store

REPORT_DIR = "report"
HTML_NAME = "report.html"
MD_NAME = "report.md"
ARTIFACT_PATH = "report"  # folder of the artifacts in the parent MLflow run

SECTIONS = (
    ("summary", "Summary", summary_section),
    ("funnel", "Funnel", funnel_section),
    ("scores", "Score distributions", scores_section),
    ("examples", "Removed and kept documents", examples_section),
    ("validation", "Proxy validation", validation_section),
    ("raters", "Raters", raters_section),
    ("export", "Export", export_section),
)


@dataclass(frozen=True)
class ReportResult:
    html_path: Path | str  # a URL for a report on an object store
    md_path: Path | str
    chart_paths: tuple[Path | str, ...] = ()
    mlflow_run_id: str | None = None  # the run the report was logged to; None when it was not logged


def assemble(state: PipelineState) -> Report:
    """The report's sections, in order; a section that cannot be built becomes a note, not an error."""
    sections = []
    for anchor, title, build in SECTIONS:
        try:
            section = build(state)
        except READ_ERRORS as exc:
            section = Section(anchor, title, [Note(f"This section could not be built: {type(exc).__name__}: {exc}")])
        if section is not None:
            sections.append(section)
    return Report(f"Curation report: {state.name}", sections)


def build_report(
    workdir_or_state_path: str | os.PathLike, out_dir: str | os.PathLike | None = None, log_to_mlflow: bool = True
) -> ReportResult:
    """Write ``report.html`` and ``report.md`` (+ ``chart-*.png``) for a pipeline work directory (or its
    ``pipeline.json``) into ``out_dir`` (default ``WORKDIR/report``); log them to the pipeline's parent
    MLflow run when it has one and ``log_to_mlflow``."""
    from curation.report.html import render_html
    from curation.report.markdown import render_markdown

    state = load_state(workdir_or_state_path)
    report = assemble(state)
    out = Destination(out_dir if out_dir is not None else f"{state.workdir}/{REPORT_DIR}")
    out.make_folder("")
    charts = []
    for chart in report.charts:
        _commit(out, chart.png_name, chart.png)
        charts.append(chart.png_name)
    for name in out.list(""):
        if name.startswith("chart-") and name.endswith(".png") and name not in charts:
            out.remove(name)
    _commit(out, MD_NAME, render_markdown(report).encode("utf-8"))
    _commit(out, HTML_NAME, render_html(report).encode("utf-8"))
    logged = None
    if log_to_mlflow and state.mlflow_run_id:
        with ExitStack() as copies:  # MLflow logs local files: an object store's are downloaded for it
            local = [copies.enter_context(out.local_copy(name)) for name in (HTML_NAME, MD_NAME, *charts)]
            log_report(state, local, where=out.path)
        logged = state.mlflow_run_id
    where = out.path
    return ReportResult(
        _inside(where, HTML_NAME), _inside(where, MD_NAME), tuple(_inside(where, n) for n in charts), logged
    )


def _commit(out: Destination, name: str, data: bytes) -> None:
    out.commit_file(name, lambda path: path.write_bytes(data), "report")


def _inside(folder: Path | str, name: str) -> Path | str:
    return folder / name if isinstance(folder, Path) else f"{folder}/{name}"


def log_report(state: PipelineState, paths: list[Path], where: Path | str | None = None) -> None:
    """Attach the report to the parent run (finished by now; artifacts can still be added to it). The store:
    MLFLOW_TRACKING_URI if set, else the one pipeline.json records, else the default ./mlflow.db."""
    from curation.tracking import tracking_uri

    uri = os.environ.get("MLFLOW_TRACKING_URI") or state.tracking_uri or tracking_uri()
    if missing_sqlite_store(uri):
        raise TrackingError(
            f"report written to {where or paths[0].parent}, but the MLflow store {uri} of run {state.mlflow_run_id} does not "
            "exist (set MLFLOW_TRACKING_URI, or use --no-tracking)"
        )
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    import logging

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        for path in paths:
            client.log_artifact(state.mlflow_run_id, str(path), artifact_path=ARTIFACT_PATH)
    except Exception as exc:  # noqa: BLE001 - MLflow raises many types for a missing run or an unreachable store
        raise TrackingError(
            f"report written to {where or paths[0].parent}, but logging it to MLflow run {state.mlflow_run_id} at {uri} "
            f"failed: {str(exc).splitlines()[0][:200]} (use --no-tracking to skip logging)"
        ) from exc
