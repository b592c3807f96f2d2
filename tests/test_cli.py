"""`curate` as a user runs it: help, one-line errors, tracking."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.helpers import run_curate


def test_help_is_fast_and_explains():
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "ingest", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "--extractor" in result.stdout and "rejects/" in result.stdout
    # heavy libraries (Spark, torch, MLflow) are imported only inside commands
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pipelines.cli; print(sorted(m for m in ('pyspark','torch','mlflow','pyarrow') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == "[]", probe.stdout
    assert time.perf_counter() - started < 30


def test_missing_input_is_one_line_and_exit_2(tmp_path):
    result = run_curate("ingest", str(tmp_path / "nope.warc.gz"), "--out", str(tmp_path / "out"), "--no-tracking")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"curate: error: input not found: {tmp_path / 'nope.warc.gz'}"]
    assert not (tmp_path / "out").exists()


def test_bad_option_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "hello there"}\n')
    result = run_curate(
        "ingest", str(tmp_path / "a.jsonl"), "--out", str(tmp_path / "out"), "--shards", "0", "--no-tracking"
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("curate: error: --shards:")
    result = run_curate(
        "ingest", str(tmp_path / "a.jsonl"), "--out", str(tmp_path / "out"), "--format", "csv", "--no-tracking"
    )
    assert result.returncode == 2 and "unknown format 'csv'" in result.stderr


def test_unreachable_tracking_server_fails_fast(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "hello there"}\n')
    result = run_curate(
        "ingest",
        str(tmp_path / "a.jsonl"),
        "--out",
        str(tmp_path / "out"),
        MLFLOW_TRACKING_URI="http://127.0.0.1:9",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_TIMEOUT="3",
        timeout=120,
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("curate: error: MLflow tracking store http://127.0.0.1:9 is not usable")
    )
    assert not (tmp_path / "out" / "shards").exists()


def test_ingest_is_an_mlflow_run(tmp_path, bad_inputs):
    db = tmp_path / "mlflow.db"
    out = tmp_path / "out"
    result = run_curate(
        "ingest",
        str(bad_inputs / "mixed.jsonl"),
        "--out",
        str(out),
        "--max-record-mb",
        "0.05",
        MLFLOW_TRACKING_URI=f"sqlite:///{db}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "read =" in result.stdout
    # one line per problem, naming the file, the first record and what is wrong with it
    assert "rejected: mixed.jsonl: 1 record as malformed_json (first at byte=" in result.stdout
    assert "rejected: mixed.jsonl: 1 record as record_too_large (first at byte=" in result.stdout
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{db}")
    runs = mlflow.search_runs(experiment_names=["curation"], output_format="list")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED" and run.data.tags["curation.stage"] == "ingest"
    assert run.data.params["shards"] == "8"
    manifest = __import__("json").loads((out / "manifest.json").read_text())
    assert run.data.metrics["documents"] == manifest["counts"]["documents"]
    assert run.data.metrics["records_read"] == manifest["counts"]["records_read"]
    artifacts = [a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)]
    assert "manifest.json" in artifacts


def test_datarater_train_help_states_the_config_defaults():
    """--steps, --population and --unroll default to DataRaterConfig's values; their help says which."""
    import typer

    from pipelines.cli.app import app
    from raters.datarater.meta import DataRaterConfig

    command = typer.main.get_command(app).commands["datarater"].commands["train"]
    helps = {p.name: p.help for p in command.params}
    defaults = DataRaterConfig()
    assert f"default {defaults.outer_steps}," in helps["steps"]
    assert f"default {defaults.population} " in helps["population"]
    assert f"default {defaults.unroll} " in helps["unroll"]


def test_run_help_lists_every_stage_in_order():
    import typer

    from pipelines.cli.app import app
    from pipelines.runner import STAGES

    command = typer.main.get_command(app).commands["run"]
    help_text = next(p.help for p in command.params if p.name == "from_stage")
    assert ", ".join(STAGES) in help_text
