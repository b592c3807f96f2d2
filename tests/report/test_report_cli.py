"""`curate report` as a user runs it."""

from __future__ import annotations

from tests.helpers import run_curate


def test_report_command_writes_the_same_report_again(pipeline_workdir, built_report, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "chart-from-an-older-report.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    proc = run_curate("report", str(pipeline_workdir), "--out", str(out), cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"report:   {out / 'report.html'}" in proc.stdout
    # Deterministic: the command rewrites byte for byte what build_report wrote for the same workdir.
    assert (out / "report.html").read_bytes() == built_report.html_path.read_bytes()
    assert (out / "report.md").read_bytes() == built_report.md_path.read_bytes()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["report.html", "report.md", *(p.name for p in built_report.chart_paths)]
    )  # the older report's chart is gone, and no temporary file is left
    assert not (tmp_path / "mlflow.db").exists()  # tracking was off in this pipeline: nothing to log to


def test_report_of_a_directory_without_state_is_one_line(tmp_path):
    proc = run_curate("report", str(tmp_path), cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"curate: error: {tmp_path}: no pipeline.json; not a pipeline work directory (`curate run` writes one)"
    ]
