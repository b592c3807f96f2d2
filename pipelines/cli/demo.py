"""``curate demo``: the whole pipeline, offline, on a small corpus built on the spot."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.options import one_line_errors


def demo_command(
    workdir: Annotated[
        Path, typer.Option("--dir", help="Where the demo writes its inputs, outputs and MLflow store.")
    ] = Path("runs/demo"),
    tracking: Annotated[bool, typer.Option("--tracking/--no-tracking", help="Record the run in MLflow.")] = True,
) -> None:
    """The whole pipeline, offline, in a few minutes on 2 CPU cores (local Spark, local MLflow).

    Builds a small mixed-quality corpus from what any Python install has (pydoc pages of the standard
    library as WARC, with labelled web-junk variants of other modules' documentation in the same crawl,
    docstrings as JSONL, a few broken records), then runs `curate run DIR/pipeline.yaml`: ingest ->
    quality signals -> near-duplicates -> DataRater (meta-train, score, keep flags) -> select -> a
    source mixture -> proxy validation (curated and DataRater-only against a random sample of equal
    tokens) -> Parquet export -> HTML report. Rerunning skips what is already done.
    """
    import yaml

    from curation.demo import build_demo_inputs, demo_pipeline
    from pipelines.cli.pipeline import print_pipeline_summary
    from pipelines.config import parse_pipeline_config
    from pipelines.runner import run_pipeline

    workdir = workdir.resolve()
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{workdir / 'mlflow.db'}")
    with one_line_errors():
        typer.echo(f"demo: writing inputs under {workdir / 'input'}", err=True)
        paths = build_demo_inputs(workdir)
        config_path = workdir / "pipeline.yaml"
        payload = demo_pipeline(workdir, paths)
        config_path.write_text(yaml.safe_dump(payload, sort_keys=False), encoding="utf-8")
        cfg = parse_pipeline_config(payload, config_path)
        result = run_pipeline(cfg, config_path, tracking=tracking)
        print_pipeline_summary(result, tracking)
    typer.echo(f"\nrerun or change it: curate run {config_path}")
