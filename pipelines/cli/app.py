"""The ``curate`` command: its root options and every command group, one module each (``pipelines.cli.*``).
Heavy libraries are imported inside commands so ``--help`` is instant."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipelines.cli.attributes import dedup_command, select_command, signals_command
from pipelines.cli.datarater import datarater_app
from pipelines.cli.demo import demo_command
from pipelines.cli.export import export_command
from pipelines.cli.ingest import ingest_command
from pipelines.cli.metarater import metarater_app
from pipelines.cli.mix import mix_command, top_command
from pipelines.cli.options import one_line_errors
from pipelines.cli.pipeline import run_command
from pipelines.cli.raters import raters_app
from pipelines.cli.report import report_command
from pipelines.cli.validate import validate_command

app = typer.Typer(
    name="curate",
    help="Meta-learned data curation for LLM pre-training: ingest web corpora, score, select, validate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    storage_options: Annotated[
        Optional[Path],
        typer.Option(
            "--storage-options",
            help="JSON or YAML file of keyword arguments per URL scheme for its fsspec filesystem, e.g. "
            '{"s3": {"endpoint_url": "...", "key": "...", "secret": "..."}}; goes before the command: '
            "curate --storage-options FILE ingest s3://... . Its path is also read from CURATION_STORAGE_OPTIONS; "
            "its content never reaches a manifest, MLflow or a log.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Meta-learned data curation for LLM pre-training."""
    if storage_options is not None:
        with one_line_errors():
            from curation.storage import use_storage_options

            use_storage_options(storage_options)


app.command("ingest")(ingest_command)
app.command("signals")(signals_command)
app.command("dedup")(dedup_command)
app.command("select")(select_command)
app.command("validate")(validate_command)
app.add_typer(datarater_app, name="datarater")
app.add_typer(raters_app, name="raters")
app.add_typer(metarater_app, name="metarater")
app.command("run")(run_command)
app.command("mix")(mix_command)
app.command("top")(top_command)
app.command("export")(export_command)
app.command("report")(report_command)
app.command("demo")(demo_command)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("curate: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
