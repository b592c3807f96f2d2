"""`curate export` as a user runs it: a summary line, an MLflow run with the manifest, one-line errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pipelines.cli import app


def test_cli_exports_and_tracks_the_run(chain, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("CURATION_EXPERIMENT", "export-test")
    out = tmp_path / "export"
    args = ["export", str(chain.selected), "--out", str(out), "--format", "jsonl.zst", "--shard-rows", "200"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    rows = manifest["counts"]["rows"]
    assert f"{manifest['counts']['files']} jsonl.zst file(s), {rows:,} rows" in result.stdout
    assert str(out / "data") in result.stdout

    import mlflow

    run = mlflow.get_run(manifest["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["curation.stage"] == "export"
    assert run.data.metrics["rows"] == rows and run.data.metrics["bytes"] == manifest["counts"]["bytes"]
    assert run.data.params["config_hash"] == manifest["config_hash"]
    logged = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="manifest.json", dst_path=str(tmp_path / "dl")
    )
    assert json.loads(open(logged).read()) == manifest

    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "already complete" in again.stdout


def test_cli_unknown_column_is_one_line_and_exit_2(chain, tmp_path):
    out = tmp_path / "export"
    result = CliRunner().invoke(
        app, ["export", str(chain.selected), "--out", str(out), "--columns", "text,title", "--no-tracking"]
    )
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("curate: error: --columns: unknown column 'title'; available: id, text, url")
    assert not out.exists()
