"""`curate mix` and `curate top` read a corpus from an S3-protocol server and write to it (moto on 127.0.0.1):
the same shards, rejects and flags as the local runs, a rerun skipped, an overwrite leaving no stray objects."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest

from curation.mix.config import MixConfig, parse_targets
from curation.mix.job import run_mix
from tests.helpers import run_curate
from tests.s3_server import upload_tree
from tests.storage.test_s3_outputs import objects

BUCKET = "mixes"


@pytest.fixture(scope="module")
def remote_corpus(sources_corpus, s3_client, s3_server):
    """The local test corpus copied to the store file by file, as `aws s3 sync` would."""
    s3_client.create_bucket(Bucket=BUCKET)
    return upload_tree(s3_client, sources_corpus.root, BUCKET, "corpus")


@pytest.fixture
def on_s3(s3_server, monkeypatch):
    for name, value in s3_server.items():
        monkeypatch.setenv(name, value)


def _files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _rejects(body: bytes) -> list[dict]:
    """Reject rows without their source file (a shard's path: local in one run, a URL in the other)."""
    rows = pq.read_table(io.BytesIO(body)).to_pylist()
    return [{key: value for key, value in row.items() if key != "source_file"} for row in rows]


def test_mix_from_s3_to_s3_writes_what_a_local_mix_writes(sources_corpus, remote_corpus, on_s3, s3_client, tmp_path):
    cfg = MixConfig(targets=parse_targets(["c4=0.5", "wiki=0.3", "web=0.2"]), tokens="150k", seed=3)
    local = run_mix(sources_corpus.root, tmp_path / "mix", cfg, tracking=False)
    remote = run_mix(remote_corpus, f"s3://{BUCKET}/mix", cfg, tracking=False)
    assert remote.out == f"s3://{BUCKET}/mix" and not remote.skipped
    expected, found = _files(local.out), objects(s3_client, BUCKET, "mix/")
    assert sorted(found) == sorted(expected)
    shards = [name for name in expected if name.startswith("shards/")]
    assert shards and all(found[name] == expected[name] for name in shards)
    rejects = [name for name in expected if name.startswith("rejects/")]
    assert rejects and all(_rejects(found[name]) == _rejects(expected[name]) for name in rejects)
    manifest = json.loads(found["manifest.json"])
    assert manifest["shards"] == local.manifest["shards"] and manifest["counts"] == local.manifest["counts"]
    assert manifest["lineage"]["corpus"]["path"] == remote_corpus

    again = run_mix(remote_corpus, f"s3://{BUCKET}/mix", cfg, tracking=False)
    assert again.skipped

    # An overwrite with every document of one source: fewer reject files; the old ones must not stay behind
    only_wiki = MixConfig(targets=parse_targets(["wiki=1"]), tokens="20k", seed=3)
    replaced = run_mix(remote_corpus, f"s3://{BUCKET}/mix", only_wiki, tracking=False, overwrite=True)
    listed = {e["path"] for e in replaced.manifest["shards"] + replaced.manifest["rejects"]}
    assert set(objects(s3_client, BUCKET, "mix/")) == listed | {"manifest.json"}


def test_top_from_s3_writes_the_same_flags_and_select_applies_them(
    sources_corpus,
    remote_corpus,
    s3_server,
    s3_client,
    tmp_path,
):
    """Through the CLI, as a user runs it: top on the store, then select with its flags."""
    args = ["--score", "n_bytes", "--fraction", "0.4", "--no-tracking"]
    local = run_curate("top", str(sources_corpus.root), *args, "--out", str(tmp_path / "top"), cwd=tmp_path)
    assert local.returncode == 0, local.stderr[-2000:]
    remote = run_curate("top", remote_corpus, *args, "--out", f"s3://{BUCKET}/top", cwd=tmp_path, **s3_server)
    assert remote.returncode == 0, remote.stderr[-2000:]
    assert f"s3://{BUCKET}/top" in remote.stdout
    expected, found = _files(tmp_path / "top"), objects(s3_client, BUCKET, "top/")
    parts = [name for name in expected if name.endswith(".parquet")]
    assert parts and sorted(found) == sorted(expected) and all(found[name] == expected[name] for name in parts)

    kept = run_curate("select", remote_corpus, "-a", f"s3://{BUCKET}/top", "--rule", "top_keep",
                      "--out", f"s3://{BUCKET}/top40", "--no-tracking", cwd=tmp_path, **s3_server)  # fmt: skip
    assert kept.returncode == 0, kept.stderr[-2000:]
    manifest = json.loads(objects(s3_client, BUCKET, "top40/")["manifest.json"])
    flags = json.loads(found["manifest.json"])["summary"]["top_keep"]
    assert manifest["counts"]["documents"] == flags["true"] > 0
