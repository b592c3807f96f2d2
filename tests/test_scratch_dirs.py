"""Local scratch directories (staging before an upload, downloaded models) of killed processes are removed by
the next process that makes one; those of running processes and of other hosts are kept."""

from __future__ import annotations

import os
import subprocess
import sys

from curation import scratch_dirs
from curation.destination import Destination
from curation.scratch_dirs import make_scratch_dir, remove_orphans


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_a_killed_process_directory_goes_and_a_running_ones_stays(tmp_path):
    host = scratch_dirs._host()
    killed = tmp_path / f"curation-staging-{host}-{dead_pid()}-abc123"
    (killed / "shards").mkdir(parents=True)
    (killed / "shards" / "part-00000.parquet").write_bytes(b"half a file")
    running = tmp_path / f"curation-staging-{host}-{os.getppid()}-def456"  # the test runner's parent runs
    running.mkdir()
    elsewhere = tmp_path / f"curation-staging-otherhost-{dead_pid()}-ghi789"  # a shared /tmp: not ours to judge
    elsewhere.mkdir()
    other_kind = tmp_path / f"curation-model-{host}-{dead_pid()}-jkl012"  # swept by its own kind only
    other_kind.mkdir()

    made = make_scratch_dir("curation-staging-", str(tmp_path))

    assert not killed.exists()
    assert running.is_dir() and elsewhere.is_dir() and other_kind.is_dir() and made.is_dir()
    assert made.name.startswith(f"curation-staging-{host}-{os.getpid()}-")
    assert remove_orphans("curation-staging-", str(tmp_path)) == []  # its own directory: its process runs
    assert remove_orphans("curation-model-", str(tmp_path)) == [other_kind]


def test_staging_for_a_url_is_a_scratch_directory_of_this_process(monkeypatch, tmp_path):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    orphan = tmp_path / f"curation-staging-{scratch_dirs._host()}-{dead_pid()}-x"
    orphan.mkdir()
    staged = Destination(f"s3://bucket/{tmp_path.name}").staging_path("shards/part-00000.parquet")
    assert staged.parent.parent.parent == tmp_path and not orphan.exists()
    assert staged.parent.parent.name.startswith(f"curation-staging-{scratch_dirs._host()}-{os.getpid()}-")
