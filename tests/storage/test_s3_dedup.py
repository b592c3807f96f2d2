"""``curate dedup`` reads a corpus on an S3-protocol server and writes its attribute set there: the parts byte
for byte those of the same dedup on local disk, its ``_work`` keys on the store while it runs (a SIGKILL
resumes from them), a rerun skipped, and ``curate select`` keeps one document per cluster from the store."""

from __future__ import annotations

import gzip
import json
import subprocess
import time

import pytest

from tests.conftest import shared
from tests.helpers import curate_cmd, curate_env, run_curate
from tests.reliability.kill_points import kill_session
from tests.s3_server import upload_tree
from tests.storage.test_s3_outputs import files, objects, objects_keys

BUCKET = "dedup"
CORPUS = f"s3://{BUCKET}/corpus"
BOILERPLATE = "Accept cookies to continue browsing. © 2024 All rights reserved."


def write_inputs(folder) -> None:
    """The C4 sample and copies of some of its pages on other URLs: re-cased (exact duplicates) and with
    boilerplate appended to long pages (near duplicates)."""
    folder.mkdir()
    sample = shared("web/c4-en-sample-1000.jsonl.gz")
    (folder / "c4.jsonl.gz").write_bytes(sample.read_bytes())
    records = [json.loads(line) for line in gzip.decompress(sample.read_bytes()).decode("utf-8").splitlines()]
    long = [r for r in records if len(r["text"].split()) >= 150]
    copies = [{**r, "url": r["url"] + "?exact", "text": r["text"].upper()} for r in records[:20]]
    copies += [{**r, "url": r["url"] + "?near", "text": f"{r['text']}\n{BOILERPLATE}"} for r in long[:20]]
    (folder / "copies.jsonl").write_text("".join(json.dumps(c) + "\n" for c in copies), encoding="utf-8")


@pytest.fixture(scope="module")
def corpora(s3_client, spark, tmp_path_factory):
    """The inputs ingested into a local directory (in this process), and the corpus copied to
    ``s3://dedup/corpus`` (the same bytes as an ingest there: tests/storage/test_s3_outputs.py); the local path."""
    from curation import api

    root = tmp_path_factory.mktemp("s3-dedup")
    write_inputs(root / "inputs")
    api.ingest([root / "inputs"], root / "corpus", shards=3, langid=False, tracking=False)
    s3_client.create_bucket(Bucket=BUCKET)
    upload_tree(s3_client, root / "corpus", BUCKET, "corpus")
    return root / "corpus"


@pytest.fixture(scope="module")
def local_dedup(corpora, tmp_path_factory):
    """The dedup of the local corpus into a local directory (through the Python API): its files' bytes."""
    from curation import api

    out = tmp_path_factory.mktemp("local-dedup") / "dedup"
    api.dedup(corpora, out, tracking=False)
    return files(out)


def dedup_on_s3(out: str, cwd, s3_server) -> subprocess.CompletedProcess:
    return run_curate("dedup", CORPUS, "--out", out, "--no-tracking", cwd=cwd, **s3_server)


def assert_same_set(written: dict[str, bytes], expected: dict[str, bytes], local_corpus) -> dict:
    """The parts byte for byte, the manifests apart from the corpus path they name; the remote manifest."""
    assert sorted(written) == sorted(expected) == ["manifest.json", *(f"part-0000{i}.parquet" for i in range(3))]
    for part in (name for name in expected if name != "manifest.json"):
        assert written[part] == expected[part], part
    remote_manifest, local_manifest = (json.loads(m["manifest.json"]) for m in (written, expected))
    assert remote_manifest["corpus"].pop("path") == CORPUS
    assert local_manifest["corpus"].pop("path") == str(local_corpus)
    assert remote_manifest == local_manifest
    return remote_manifest


def test_dedup_from_s3_to_s3_is_the_local_dedup_and_select_reads_it(corpora, local_dedup, s3_server, s3_client,
                                                                     tmp_path):  # fmt: skip
    out = f"s3://{BUCKET}/attributes/dedup"
    proc = dedup_on_s3(out, tmp_path, s3_server)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"attributes: {out}" in proc.stdout
    manifest = assert_same_set(objects(s3_client, BUCKET, "attributes/dedup/"), local_dedup, corpora)
    counts = manifest["counts"]
    assert counts["exact_duplicate_documents"] >= 20 and counts["near_duplicate_documents"] >= 40
    assert manifest["summary"]["is_dup_keep"]["true"] == counts["kept_documents"]

    again = dedup_on_s3(out, tmp_path, s3_server)
    assert again.returncode == 0 and "already complete" in again.stderr, again.stderr[-2000:]

    kept = f"s3://{BUCKET}/kept"
    select = run_curate("select", CORPUS, "-a", out, "--rule", "is_dup_keep", "--out", kept, "--no-tracking",
                        cwd=tmp_path, **s3_server)  # fmt: skip
    assert select.returncode == 0, select.stderr[-3000:]
    selected = json.loads(objects(s3_client, BUCKET, "kept/")["manifest.json"])
    assert selected["counts"]["documents"] == counts["kept_documents"]
    assert selected["lineage"]["corpus"]["path"] == CORPUS


@pytest.mark.slow  # about 30 s: run with ``pytest -m slow``; CI kills an attribute stage on s3:// in test_s3_attribute_kill
def test_killed_dedup_on_s3_resumes_from_its_keys_on_the_store(corpora, local_dedup, s3_server, s3_client, tmp_path):
    """The keys of finished shards are objects under ``_work/``, written by the tasks: a dedup killed after one
    resumes to the parts of an uninterrupted run and removes ``_work`` at the end."""
    out = f"s3://{BUCKET}/attributes/killed"
    env = curate_env(**s3_server, CURATION_SPARK_MASTER="local[1]")  # one shard at a time: a kill lands between
    args = ["dedup", CORPUS, "--out", out, "--no-tracking"]
    proc = subprocess.Popen(curate_cmd(*args), cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 240
    keys: list[str] = []
    while time.monotonic() < deadline and proc.poll() is None:
        keys = [k for k in objects_keys(s3_client, BUCKET, "attributes/killed/_work/") if "/keys/part-" in k]
        if keys:
            break
        time.sleep(0.1)
    kill_session(proc.pid)
    proc.wait()
    assert keys, "the dedup ended before the kill"
    assert "manifest.json" not in objects_keys(s3_client, BUCKET, "attributes/killed/")  # not a set yet

    resumed = dedup_on_s3(out, tmp_path, s3_server)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_same_set(objects(s3_client, BUCKET, "attributes/killed/"), local_dedup, corpora)  # no _work left


def test_dedup_to_a_missing_bucket_is_one_line_before_any_work(corpora, s3_server, tmp_path):
    proc = dedup_on_s3("s3://no-such-bucket/dedup", tmp_path, s3_server)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "s3://no-such-bucket/dedup" in lines[0], proc.stderr[-2000:]
