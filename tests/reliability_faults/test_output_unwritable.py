"""The output location of ``curate signals`` cannot be written: under a regular file, somewhere even root may
not write, or a disk that fills up while the parts are written (a file size limit, which root obeys too).

Every case: a non-zero exit, one line on stderr naming the path and the reason, and no manifest: nothing
left behind that a reader would trust.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from pathlib import Path

import pytest

from tests.helpers import curate_cmd, curate_env, run_curate
from tests.reliability_faults import c4_corpus, error_lines

# Bigger than any file the job writes besides the parts (a part of 20 C4 documents' signals is ~5 KiB).
FILE_SIZE_LIMIT = 2048


@pytest.fixture(scope="module")
def corpus(spark, tmp_path_factory):
    return c4_corpus(tmp_path_factory)


def _one_error_line(result) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = error_lines(result.stderr)
    errors = [line for line in lines if line.startswith("curate: error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_output_under_a_regular_file(corpus, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file, not a directory\n")
    out = blocker / "signals"
    result = run_curate("signals", str(corpus.root), "--out", str(out), "--no-tracking", cwd=tmp_path)
    assert _one_error_line(result) == f"curate: error: cannot write {out}: Not a directory"
    assert len(error_lines(result.stderr)) == 1  # failed before any work: nothing else was printed
    assert blocker.read_text() == "a file, not a directory\n"


def test_output_where_even_root_may_not_write(corpus, tmp_path):
    if not os.path.ismount("/sys"):
        pytest.skip("needs sysfs at /sys (new directories are refused there, to root too)")
    out = Path("/sys/curation-fault-test/signals")
    result = run_curate("signals", str(corpus.root), "--out", str(out), "--no-tracking", cwd=tmp_path)
    line = _one_error_line(result)
    assert line.startswith(f"curate: error: cannot write {out}: "), line
    assert line.endswith(("Operation not permitted", "Read-only file system", "Permission denied")), line
    assert not out.parent.exists()


def _limit_file_size() -> None:
    """In the child: files may not grow past FILE_SIZE_LIMIT; a write beyond fails with EFBIG, as on a full
    disk, instead of killing the process with SIGXFSZ (ignored, so the JVM and Spark's workers ignore it too)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def test_disk_full_while_the_parts_are_written(corpus, tmp_path):
    out = tmp_path / "signals"
    result = subprocess.run(
        curate_cmd("signals", str(corpus.root), "--out", str(out), "--master", "local[1]", "--no-tracking"),
        cwd=tmp_path,
        env=curate_env(),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_file_size,
    )
    line = _one_error_line(result)
    assert f"OutputError: cannot write {out}/part-0000" in line and ": File too large" in line, line
    assert not (out / "manifest.json").exists()
    assert not list(out.glob("part-*"))  # every part is over the limit: none was committed
    # A task that hit the limit removed its temporary part; one Spark killed meanwhile may leave its own,
    # hidden from every reader (a dot name, never *.parquet) and rewritten by a rerun.
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert all(name.startswith(".part-") and name.endswith(".tmp") for name in hidden), hidden
