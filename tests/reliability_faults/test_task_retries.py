"""A Spark task of the signals stage fails once, after writing rows to its temporary part.

With retries (``local[2,4]``: up to 4 attempts per task) the job succeeds and its output is byte for byte
the output of a clean run: the retry rewrote the part from scratch, no row twice, no half-written part.
Without retries (``local[2]``) the job fails with one line and leaves no manifest: nothing a reader trusts.
The clean run and the run without retries share this process's Spark session; the run with retries is a
real ``curate signals --master local[2,4]``.
"""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
import typer

from curation.attribute_stage import INJECT_TASK_FAILURE_ENV, run_attribute_stage
from curation.attributes import AttributeSet
from curation.errors import ConfigError, CorpusError
from curation.signals.heuristics import HeuristicSignals
from pipelines.cli.options import one_line_errors
from tests.helpers import run_curate
from tests.reliability_faults import c4_corpus, error_lines

SHARDS = 3
FAILING = 1  # the shard whose task fails once


@pytest.fixture(scope="module")
def corpus(spark, tmp_path_factory):
    return c4_corpus(tmp_path_factory, shards=SHARDS)


@pytest.fixture(scope="module")
def clean(corpus, tmp_path_factory) -> AttributeSet:
    """The same stage without faults (in this process, on the shared local[2] session)."""
    out = tmp_path_factory.mktemp("clean") / "signals"
    return run_attribute_stage(corpus.root, HeuristicSignals(), out, master="local[2]", tracking=False)


def test_failed_task_is_retried_and_the_output_equals_a_clean_run(corpus, clean, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    out = tmp_path / "signals"
    result = run_curate(
        "signals",
        str(corpus.root),
        "--out",
        str(out),
        "--master",
        "local[2,4]",
        "--no-tracking",
        cwd=tmp_path,
        **{INJECT_TASK_FAILURE_ENV: f"{FAILING}:{markers}"},
    )
    assert result.returncode == 0, result.stderr
    assert [p.name for p in markers.iterdir()] == [f"shard-{FAILING:05d}.failed"]  # the first attempt did fail

    retried = AttributeSet.open(out, corpus)
    names = [f"part-{i:05d}.parquet" for i in range(SHARDS)]
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", *names]  # no temporary part left behind
    for i, shard in enumerate(corpus.shard_paths):
        assert retried.part_path(i).read_bytes() == clean.part_path(i).read_bytes(), f"part {i} differs"
        ids = pq.read_table(retried.part_path(i), columns=["id"]).column("id")
        assert ids.equals(pq.read_table(shard, columns=["id"]).column("id"))  # same rows, same order, once each
    assert retried.manifest["rows"] == corpus.num_documents == len(set(retried.read(["id"]).column("id").to_pylist()))
    assert retried.manifest["summary"] == clean.manifest["summary"]
    assert retried.manifest["config_hash"] == clean.manifest["config_hash"]


def test_without_retries_the_job_fails_with_one_line_and_no_manifest(corpus, clean, tmp_path, monkeypatch, capsys):
    """local[2] (one attempt per task), in this process: `curate signals` is this call inside one_line_errors."""
    markers = tmp_path / "markers"
    markers.mkdir()
    out = tmp_path / "signals"
    monkeypatch.setenv(INJECT_TASK_FAILURE_ENV, f"{FAILING}:{markers}")
    with pytest.raises(typer.Exit) as exit_info, one_line_errors():
        run_attribute_stage(corpus.root, HeuristicSignals(), out, master="local[2]", tracking=False)
    assert exit_info.value.exit_code == 1
    stderr = capsys.readouterr().err
    errors = [line for line in error_lines(stderr) if line.startswith("curate: error:")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    assert "InjectedFaultError" in errors[0] and f"shard {FAILING}" in errors[0], errors[0]
    assert (markers / f"shard-{FAILING:05d}.failed").is_file()
    assert not (out / "manifest.json").exists()
    assert not (out / f"part-{FAILING:05d}.parquet").exists()
    # The failed task removed its temporary part; tasks Spark killed meanwhile may leave theirs, hidden from
    # every reader (a dot name, never *.parquet) and rewritten by a rerun.
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert all(name.endswith(".tmp") and not name.startswith(f".part-{FAILING:05d}") for name in hidden), hidden
    with pytest.raises(CorpusError, match="not a finished attribute set"):
        AttributeSet.open(out, corpus)


def test_a_malformed_injection_is_refused_before_any_work(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv(INJECT_TASK_FAILURE_ENV, "one:/nonexistent")
    with pytest.raises(ConfigError, match=INJECT_TASK_FAILURE_ENV):
        run_attribute_stage(corpus.root, HeuristicSignals(), tmp_path / "signals", master="local[2]", tracking=False)
    assert not (tmp_path / "signals").exists()
