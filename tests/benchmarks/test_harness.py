"""The benchmarks' harness (``benchmarks/common.py``): every result records when, how, where and with what it
ran, and its files are written whole."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))


def test_provenance_names_the_command_machine_versions_and_commit(monkeypatch):
    import common

    monkeypatch.setattr(sys, "argv", [str(REPO / "benchmarks" / "proxy.py"), "--sizes", "tiny", "--note", "a b"])
    record = common.provenance(["numpy", "no-such-package"])
    assert record["command"] == "python benchmarks/proxy.py --sizes tiny --note 'a b'"  # runnable as written
    assert record["date"].endswith("+00:00") and len(record["date"]) == 25  # UTC, to the second
    assert record["machine"]["nproc"] >= 1 and record["machine"]["python"].count(".") == 2
    versions = record["versions"]
    assert versions["numpy"] and versions["no-such-package"] is None
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert versions["git_commit"] == (head.strip() or None)
    assert isinstance(versions["curation_worktree_dirty"], bool)

    given = common.provenance([], machine={"cpu_model": "recorded before the work"}, argv=["--x", "1"])
    assert given["machine"] == {"cpu_model": "recorded before the work"}
    assert given["command"] == "python benchmarks/proxy.py --x 1"


def test_results_are_written_whole(tmp_path):
    import common

    json_path, md_path = common.write_results(tmp_path / "out", "bench", {"rows": [1, 2]}, "# table\n")
    assert json.loads(json_path.read_text()) == {"rows": [1, 2]} and md_path.read_text() == "# table\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["bench.json", "bench.md"]  # no temporary left
