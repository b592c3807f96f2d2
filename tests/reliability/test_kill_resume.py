"""Crash and resume of a whole pipeline: SIGKILL ``curate run`` (driver, JVM and Spark workers at once) in the
middle of a stage, check that a reader sees no half-written output, rerun the same command, and get the bytes
of an uninterrupted run; MLflow shows the killed run KILLED and the resumed one FINISHED.

The pipeline: 90 real documents (C4 pages, Wikipedia articles half corrupted) in 2 shards, ingest -> signals ->
select -> mix -> export. ``benchmarks/reliability_kills.py`` runs many more kill points, DataRater included.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import SHARED_DATA, shared
from tests.reliability.kill_points import (
    KillPoint,
    check_outputs,
    compare_outputs,
    kill_and_resume,
    pipeline_config,
    run_reference,
    write_inputs,
)

STAGES = ["ingest", "signals", "select", "mix", "export"]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    shared("web/c4-en-sample-1000.jsonl.gz")
    shared("reference/enwiki-6514-articles.jsonl.gz")
    root = tmp_path_factory.mktemp("kills")
    write_inputs(root, SHARED_DATA, c4=60, wiki=30)
    config = pipeline_config(root, shards=2, tokens="150k", export_rows=20)
    return config, run_reference(config, root / "reference", timeout=300)


def test_the_reference_run_is_whole_and_the_checks_can_fail(pipeline, tmp_path):
    import pyarrow.parquet as pq

    _, reference = pipeline
    state = reference.state()
    assert state["finished"] and [s["name"] for s in state["stages"]] == STAGES
    assert check_outputs(reference.work) == []
    mixed = json.loads((reference.work / "mixed" / "manifest.json").read_text())
    assert mixed["counts"]["repeats"] > 0 and mixed["counts"]["rejected"]["mixture"] > 0  # both paths exercised
    assert json.loads((reference.work / "export" / "manifest.json").read_text())["counts"]["files"] > 1

    # The same directory, damaged the ways a crash could: one row short, a stray shard, a lost manifest.
    damaged = tmp_path / "work"
    shutil.copytree(reference.work, damaged)
    shard = damaged / "mixed" / "shards" / "part-00000.parquet"
    table = pq.read_table(shard)
    pq.write_table(table.slice(1), shard)
    shutil.copy(
        damaged / "corpus" / "shards" / "part-00001.parquet", damaged / "corpus" / "shards" / "part-00007.parquet"
    )
    (damaged / "curated" / "manifest.json").unlink()
    problems = check_outputs(damaged)
    assert any("mixed" in p and "part-00000.parquet" in p and "sha256" in p for p in problems), problems
    assert any("part-00007.parquet is on disk but not in the manifest" in p for p in problems), problems
    differences, lost = compare_outputs(reference.work, damaged)
    assert lost >= 1 + json.loads((reference.work / "curated" / "manifest.json").read_text())["counts"]["documents"]
    assert "mixed/shards/part-00000.parquet: bytes differ from the reference run" in differences
    assert "curated: not committed after the resume" in differences


def test_killed_in_signals_then_in_select_resumes_to_identical_output(pipeline, tmp_path):
    """Two kills in one work directory, the second in the rerun that resumes the first (the CI subset; the
    benchmark kills fresh runs at many moments of every stage), then a last rerun to the end."""
    config, reference = pipeline
    points = [KillPoint("signals", 0.5), KillPoint("select", 0.05)]  # select can finish within 0.2 s here
    outcome = kill_and_resume(config, reference, tmp_path, points, timeout=300)
    landed = [c.killed_in if c.caught else None for c in outcome.crashes]
    if landed[0] != "signals" or landed[1] not in STAGES[2:]:  # select is short: a slow kill may land after it
        pytest.fail(f"the kills landed in {landed}, not in signals and select; the kill points need adjusting")
    assert all(c.mlflow_status == "RUNNING" for c in outcome.crashes)  # nobody could end them; the reruns do
    assert outcome.survived, "\n".join(outcome.problems)
    assert outcome.records_lost == 0


class _Killed(BaseException):
    """Stands for SIGKILL at one exact line: the files on disk are what a kill there leaves behind."""


def test_export_killed_between_its_first_file_and_its_progress_record_resumes(pipeline, tmp_path, monkeypatch):
    from curation.export import ExportConfig, job, run_export

    _, reference = pipeline
    config, out = ExportConfig(format="jsonl.zst", shard_rows=20), tmp_path / "export"
    real = job.write_json_atomic
    progress_writes = []

    def killed_before_progress(path, payload):
        if path.name == job.PROGRESS_NAME:
            progress_writes.append(payload)
            if len(progress_writes) == 2:  # the first claims the directory; the second would record file 1
                raise _Killed
        real(path, payload)

    monkeypatch.setattr(job, "write_json_atomic", killed_before_progress)
    with pytest.raises(_Killed):
        run_export(reference.work / "mixed", out, config, tracking=False)
    assert [p.name for p in (out / "data").iterdir()] == ["part-00000.jsonl.zst"]
    assert json.loads((out / job.PROGRESS_NAME).read_text())["files"] == {}  # committed, not yet recorded
    monkeypatch.setattr(job, "write_json_atomic", real)
    run_export(reference.work / "mixed", out, config, tracking=False)  # what the pipeline's rerun does
    ours = {p.name: p.read_bytes() for p in (out / "data").iterdir()}
    assert ours == {p.name: p.read_bytes() for p in (reference.work / "export" / "data").iterdir()}
