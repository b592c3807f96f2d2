"""Crash and resume: SIGKILL the real job mid-way, rerun the same command, get the same bytes."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from curation.corpus import Corpus
from tests.conftest import shared
from tests.helpers import curate_cmd, curate_env, run_curate


def _files(out):
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_killed_job_resumes_to_identical_output(tmp_path):
    warc = shared("web/trafilatura-eval-pages.warc.gz")
    args = ["ingest", str(warc), "--shards", "3", "--split-mb", "2", "--no-tracking", "--master", "local[2]"]
    reference = run_curate(*args, "--out", str(tmp_path / "ref"), timeout=600)
    assert reference.returncode == 0, reference.stderr

    out = tmp_path / "crashed"
    job = subprocess.Popen(
        curate_cmd(*args, "--out", str(out)),
        env=curate_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(out.glob("_work/*/splits/*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)  # the driver, its JVM and the Python workers, at once
    job.wait()
    done_before = {p.name for p in out.glob("_work/*/splits/*.json")}
    if not done_before or (out / "manifest.json").exists():
        pytest.fail("the job was not caught mid-way; the kill point needs adjusting")
    with pytest.raises(Exception, match="incomplete"):
        Corpus.open(out)

    resumed = run_curate(*args, "--out", str(out), timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert _files(out) == _files(tmp_path / "ref")
    assert Corpus.open(out).manifest["counts"] == Corpus.open(tmp_path / "ref").manifest["counts"]
