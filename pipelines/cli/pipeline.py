"""``curate run``: a whole pipeline from a YAML config, and the summary it prints."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipelines.cli.options import Tracking, one_line_errors
from pipelines.stage_names import STAGES


def run_command(
    config: Annotated[
        str,
        typer.Argument(help="A pipeline config (a path or a URL), e.g. pipelines/laptop.yaml.", show_default=False),
    ],
    workdir: Annotated[
        Optional[str],
        typer.Option("--workdir", "-w", help="Where outputs go: a directory or a URL (default: the config's workdir)."),
    ] = None,
    from_stage: Annotated[
        Optional[str],
        typer.Option(
            "--from",
            help="Discard this stage's outputs and every later stage's, and run them again. Stages, in order: "
            + ", ".join(STAGES)
            + "; a raters section adds score_NAME stages after dedup.",
        ),
    ] = None,
    tracking: Tracking = True,
) -> None:
    """Run a pipeline: ingest -> signals -> dedup -> DataRater -> Meta-rater -> select -> mix -> validate ->
    export -> report, each stage only when the config has its section.

    One MLflow run for the pipeline with a nested run per stage; WORKDIR/pipeline.json records every
    stage. Rerunning the same command skips the stages whose settings and inputs are unchanged and whose
    outputs are committed, and resumes one that was interrupted. Unknown keys in the config are refused
    with the key and file named. See pipelines/README.md for the sections and their settings.
    """
    with one_line_errors():
        from curation.storage import is_remote
        from pipelines.config import load_pipeline_config
        from pipelines.runner import run_pipeline

        cfg = load_pipeline_config(config)
        config_path = config if is_remote(config) else Path(config).resolve()
        result = run_pipeline(cfg, config_path, workdir=workdir, from_stage=from_stage, tracking=tracking)
        print_pipeline_summary(result, tracking)


def print_pipeline_summary(result, tracking: bool, console=None) -> None:
    """The stages, the funnel of the final corpus, the validation table, and where everything is."""
    import json
    import sys

    from rich.console import Console
    from rich.table import Table

    from curation.report.formatting import relative

    console = console or Console(width=None if sys.stdout.isatty() else 110)
    state = result.state
    table = Table(title=f"pipeline {state['name']} → {result.workdir}", title_justify="left")
    for name, justify in (("stage", "left"), ("status", "left"), ("seconds", "right"), ("output", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for stage in state["stages"]:
        output = ", ".join(relative(path, result.workdir) for path in stage["outputs"].values())
        table.add_row(stage["name"], stage["status"], f"{stage['seconds']:,.1f}", output)
    console.print(table)
    outputs = {stage["name"]: stage["outputs"] for stage in state["stages"] if stage["status"] in ("done", "skipped")}

    def output(stage: str, key: str, name: str) -> str | None:
        """The text of file ``name`` in a finished stage's output (a directory or a URL), if it is there."""
        from curation.destination import Destination

        data = Destination(outputs[stage][key]).read_bytes(name) if stage in outputs else None
        return data.decode("utf-8") if data is not None else None

    if ingested := output("ingest", "corpus", "manifest.json"):
        counts = json.loads(ingested)["counts"]
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(counts.get("rejected", {}).items()) if n)
        console.print(
            f"\ningest: {counts['records_read']:,} records read, {counts['documents']:,} documents"
            + (f"; rejected: {reasons}" if reasons else ""),
            highlight=False,
        )
    if curated := output("select", "corpus", "manifest.json"):
        funnel = json.loads(curated).get("funnel") or []
        if funnel:
            console.print("\nfunnel (documents kept after each clause):")
            first = max(1, funnel[0]["documents"])
            for step in funnel:
                console.print(
                    f"  {step['documents']:>8,}  {100 * step['documents'] / first:5.1f} %  {step['clause']}",
                    highlight=False,
                )
    if mixed := output("mix", "corpus", "manifest.json"):
        from curation.mix.job import MixResult, print_mixture

        stage = next(s for s in state["stages"] if s["name"] == "mix")
        manifest = json.loads(mixed)
        print_mixture(
            MixResult(outputs["mix"]["corpus"], manifest, stage["status"] == "skipped", stage["seconds"]), console
        )
    if validation := output("validate", "validation", "table.md"):
        console.print("\nproxy validation (held-out bits per byte, lower is better; equal training tokens):")
        console.print(validation, highlight=False, markup=False)
    if output("export", "export", "manifest.json"):
        console.print(f"exported:  {outputs['export']['export']}", highlight=False)
    if result.report is not None:
        console.print(f"report:    {result.report.html_path}", highlight=False)
    if tracking:
        uri = state.get("tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI", "")
        console.print(f"MLflow:    run {state['mlflow_run_id']} in {uri}", highlight=False)
        console.print(f"           browse with: mlflow ui --backend-store-uri {uri}", highlight=False)
    console.print(f"state:     {result.workdir}/pipeline.json ({result.seconds:,.0f} s)", highlight=False)
