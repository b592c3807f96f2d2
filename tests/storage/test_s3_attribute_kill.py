"""A SIGKILL during an attribute stage that writes to an S3-protocol server (moto on 127.0.0.1): no manifest is
left, a reader refuses the set, and the rerun resumes (committed parts kept) to the parts of an uninterrupted
local run, byte for byte."""

from __future__ import annotations

import gzip
import json
import subprocess
import time

import pytest

from curation.attributes import AttributeSet
from curation.errors import CorpusError
from tests.conftest import shared
from tests.helpers import curate_cmd, curate_env, run_curate
from tests.reliability.kill_points import kill_session
from tests.s3_server import upload_tree
from tests.storage.test_s3_outputs import objects, objects_keys

BUCKET = "attribute-kills"
SHARDS = 6
DOCUMENTS = 600


@pytest.fixture(scope="module")
def corpora(s3_client, spark, tmp_path_factory):
    """A 6-shard corpus of C4 pages, local (ingested in this process) and copied to the store file by file (as
    `aws s3 sync` would)."""
    from curation import api

    root = tmp_path_factory.mktemp("attribute-kill")
    lines = gzip.decompress(shared("web/c4-en-sample-1000.jsonl.gz").read_bytes()).splitlines(keepends=True)
    (root / "c4.jsonl").write_bytes(b"".join(lines[:DOCUMENTS]))
    api.ingest([root / "c4.jsonl"], root / "corpus", shards=SHARDS, langid=False, tracking=False)
    s3_client.create_bucket(Bucket=BUCKET)
    return root / "corpus", upload_tree(s3_client, root / "corpus", BUCKET, "corpus")


def test_killed_signals_on_s3_resume_to_the_local_parts(corpora, s3_server, s3_client, tmp_path, monkeypatch):
    from curation import api

    local_corpus, remote_corpus = corpora
    api.signals(local_corpus, tmp_path / "signals", tracking=False)  # the reference, in this process

    out = f"s3://{BUCKET}/signals"
    args = ["signals", remote_corpus, "--out", out, "--no-tracking"]
    env = curate_env(**s3_server, CURATION_SPARK_MASTER="local[1]")  # one part at a time: the kill lands between
    proc = subprocess.Popen(curate_cmd(*args), cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline, committed = time.monotonic() + 240, []
    while time.monotonic() < deadline and proc.poll() is None:
        committed = [k for k in objects_keys(s3_client, BUCKET, "signals/") if k.startswith("part-")]
        if committed:
            break
        time.sleep(0.1)
    kill_session(proc.pid)
    proc.wait()
    assert 1 <= len(committed) < SHARDS, f"the kill did not land mid-stage: {committed}"
    assert "manifest.json" not in objects_keys(s3_client, BUCKET, "signals/")
    for name, value in s3_server.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(CorpusError, match="manifest"):
        AttributeSet.open(out)

    resumed = run_curate(*args, cwd=tmp_path, **s3_server)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    written = objects(s3_client, BUCKET, "signals/")
    expected = {p.name: p.read_bytes() for p in (tmp_path / "signals").iterdir() if p.is_file()}
    assert sorted(written) == sorted(expected) and len(written) == SHARDS + 1
    for name in expected:
        if name != "manifest.json":
            assert written[name] == expected[name], name
    manifest = json.loads(written["manifest.json"])
    assert manifest["corpus"]["path"] == remote_corpus and manifest["rows"] == DOCUMENTS
