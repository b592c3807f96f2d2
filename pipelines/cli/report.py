"""``curate report``: the pipeline report, from a work directory or from the parent MLflow run."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pipelines.cli.options import one_line_errors


def report_command(
    run: Annotated[
        str,
        typer.Argument(
            help="A pipeline work directory holding pipeline.json (a path or a URL), or the MLflow run id of a pipeline's parent "
            "run: its tag curation.workdir names the directory (looked up at MLFLOW_TRACKING_URI, default ./mlflow.db).",
            show_default=False,
            metavar="RUN",
        ),
    ],
    out: Annotated[
        Optional[str],
        typer.Option(
            "--out",
            "-o",
            help="Directory (a path or a URL) for report.html, report.md and its charts (default: WORKDIR/report).",
        ),
    ] = None,
    tracking: Annotated[
        bool,
        typer.Option(
            "--tracking/--no-tracking",
            help="Log the report as artifacts (report/) of the pipeline's parent MLflow run, when it has one.",
        ),
    ] = True,
) -> None:
    """What a pipeline run did and whether it worked, as one self-contained HTML page and the same in
    Markdown: stages and MLflow runs, the document funnel, score histograms per rater, removed and kept
    examples per reason, proxy validation curves and token savings, rater weights, the export.

    Sections appear for the stages the pipeline has; an unfinished or failed stage shows a note.
    Example: curate report runs/demo (then open runs/demo/report/report.html)
    """
    with one_line_errors():
        from curation.report import build_report
        from curation.report.state import resolve_run

        result = build_report(resolve_run(run), out, log_to_mlflow=tracking)
    typer.echo(f"report:   {result.html_path}")
    typer.echo(f"markdown: {result.md_path} ({len(result.chart_paths)} charts beside it)")
    if result.mlflow_run_id:
        typer.echo(f"MLflow:   logged to run {result.mlflow_run_id} (artifacts report/)")
