"""Ingest writes its corpus to an S3-protocol server (``--out s3://...``) with no rename: the shards and
rejects under their final names, the manifest last in one PUT. The objects are byte for byte the files of
the same ingest into a local directory; a SIGKILL during the ingest resumes to the same objects; a bad
output location fails before any work with one line naming it."""

from __future__ import annotations

import gzip
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import shared
from tests.helpers import curate_cmd, curate_env, run_curate
from tests.reliability.kill_points import kill_session

INPUTS = "s3://ingest-out-inputs/crawl/"


@pytest.fixture(scope="module")
def inputs(s3_client):
    """Plain JSON Lines (split by byte ranges: a kill can land between splits) and a WARC file, as objects."""
    s3_client.create_bucket(Bucket="ingest-out-inputs")
    s3_client.create_bucket(Bucket="corpora")
    c4 = gzip.decompress(shared("web/c4-en-sample-1000.jsonl.gz").read_bytes())
    s3_client.put_object(Bucket="ingest-out-inputs", Key="crawl/c4.jsonl", Body=c4)
    s3_client.put_object(Bucket="ingest-out-inputs", Key="crawl/pages.warc.gz",
                         Body=shared("web/cc-sample-a.warc.gz").read_bytes())  # fmt: skip
    # The same record twice, so the corpus has duplicate-id rejects too
    s3_client.put_object(Bucket="ingest-out-inputs", Key="crawl/repeat.jsonl",
                         Body=c4.splitlines(keepends=True)[0] * 2 + b"not json\n")  # fmt: skip
    return INPUTS


def objects(s3_client, bucket: str, prefix: str) -> dict[str, bytes]:
    """Every object under ``prefix``, by its name relative to it."""
    found = {}
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            body = s3_client.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            found[entry["Key"][len(prefix) :]] = body
    return found


def files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


OPTIONS = ["--shards", "3", "--split-mb", "0.2", "--no-langid", "--no-tracking"]


@pytest.fixture(scope="module")
def local_corpus(inputs, s3_server, tmp_path_factory):
    """The corpus ingested from the objects into a local directory: (its path, its files' bytes)."""
    out = tmp_path_factory.mktemp("local-out") / "corpus"
    proc = run_curate("ingest", inputs, "--out", str(out), *OPTIONS, cwd=out.parent, **s3_server)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, files(out)


@pytest.fixture(scope="module")
def remote_corpus(inputs, s3_server, tmp_path_factory):
    """The same ingest into ``s3://corpora/run-a``: the finished process."""
    proc = run_curate("ingest", inputs, "--out", "s3://corpora/run-a", *OPTIONS, cwd=tmp_path_factory.mktemp("a"),
                      **s3_server)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_a_corpus_on_s3_is_byte_for_byte_the_local_one(inputs, local_corpus, remote_corpus, s3_server, s3_client,
                                                       tmp_path):  # fmt: skip
    remote = objects(s3_client, "corpora", "run-a/")
    assert remote == local_corpus[1]
    assert {"manifest.json", "shards/part-00000.parquet", "shards/part-00002.parquet"} <= set(remote)
    assert any(name.startswith("rejects/duplicates-") for name in remote)  # the repeated record
    assert any(name.startswith("rejects/input-") for name in remote)  # the line that is not JSON
    assert not any(name.startswith("_work") for name in remote)  # the split cache is removed at the end
    assert "s3://corpora/run-a" in remote_corpus.stdout  # the summary names the URL

    again = run_curate("ingest", inputs, "--out", "s3://corpora/run-a", *OPTIONS, cwd=tmp_path, **s3_server)
    assert again.returncode == 0 and "already complete" in again.stderr, again.stderr[-3000:]


def test_signals_and_select_read_and_write_s3(local_corpus, remote_corpus, s3_server, s3_client, spark, tmp_path):
    """An attribute stage reads the corpus on S3 and writes its set there: the same parts as from and to local
    disk (written through the Python API, in this process's Spark session), and the manifest differs only in
    the corpus path it names. Select then reads both from S3 and writes the same shards there. (DataRater
    scores on S3: test_s3_pipeline.py and test_s3_models.py.)"""
    from curation import api

    local_dir = local_corpus[0]
    api.signals(local_dir, tmp_path / "signals", tracking=False)
    args = ["signals", "s3://corpora/run-a", "--out", "s3://corpora/attributes/signals", "--no-tracking"]
    remote = run_curate(*args, cwd=tmp_path, **s3_server)
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert "attributes: s3://corpora/attributes/signals" in remote.stdout
    written = objects(s3_client, "corpora", "attributes/signals/")
    expected = files(tmp_path / "signals")
    assert sorted(written) == sorted(expected) and len(written) == 4  # 3 parts + the manifest
    for part in (n for n in expected if n != "manifest.json"):
        assert written[part] == expected[part], part
    remote_manifest, local_manifest = (json.loads(m["manifest.json"]) for m in (written, expected))
    assert remote_manifest.pop("corpus")["path"] == "s3://corpora/run-a"
    assert local_manifest.pop("corpus")["path"] == str(local_dir)
    assert remote_manifest == local_manifest

    again = run_curate(*args, cwd=tmp_path, **s3_server)
    assert again.returncode == 0 and "already complete" in again.stderr, again.stderr[-2000:]

    # select reads the corpus and the signals from the store and writes the kept documents there
    rule = "gopher_quality.pass and fineweb_quality.pass"
    api.select(local_dir, rule, tmp_path / "kept", attributes=[tmp_path / "signals"], tracking=False)
    remote = run_curate("select", "s3://corpora/run-a", "-a", "s3://corpora/attributes/signals", "--out",
                        "s3://corpora/kept", "--rule", rule, "--no-tracking", cwd=tmp_path, **s3_server)  # fmt: skip
    assert remote.returncode == 0, remote.stderr[-3000:]
    written, expected = objects(s3_client, "corpora", "kept/"), files(tmp_path / "kept")
    assert sorted(written) == sorted(expected)
    shards = [n for n in expected if n.startswith("shards/")]
    assert len(shards) == 3 and all(written[n] == expected[n] for n in shards)  # rejects name their shard's path
    remote_manifest, local_manifest = (json.loads(m["manifest.json"]) for m in (written, expected))
    assert (
        remote_manifest["shards"] == local_manifest["shards"] and remote_manifest["counts"] == local_manifest["counts"]
    )
    assert 0 < remote_manifest["counts"]["documents"] < remote_manifest["counts"]["records_read"]
    assert remote_manifest["lineage"]["corpus"]["path"] == "s3://corpora/run-a"


def test_overwrite_with_fewer_shards_leaves_no_stray_objects(inputs, s3_server, s3_client, tmp_path):
    """A corpus on the store replaced by one with fewer shards: the old shards beyond the new count are gone.
    (Without --overwrite such a rerun is refused before any work: tests/ingest/test_ingest_job.py.)"""
    first = run_curate("ingest", inputs, "--out", "s3://corpora/run-b", *OPTIONS, cwd=tmp_path, **s3_server)
    assert first.returncode == 0, first.stderr[-3000:]
    options = [*OPTIONS[2:], "--shards", "2"]
    second = run_curate("ingest", inputs, "--out", "s3://corpora/run-b", *options, "--overwrite", cwd=tmp_path,
                        **s3_server)  # fmt: skip
    assert second.returncode == 0, second.stderr[-3000:]
    shards = sorted(name for name in objects(s3_client, "corpora", "run-b/") if name.startswith("shards/"))
    assert shards == ["shards/part-00000.parquet", "shards/part-00001.parquet"]


def test_killed_ingest_to_s3_resumes_to_the_same_objects(inputs, local_corpus, s3_server, s3_client, tmp_path):
    env = curate_env(**s3_server, CURATION_SPARK_MASTER="local[1]")  # one split at a time: kills land between them
    args = ["ingest", inputs, "--out", "s3://corpora/run-c", *OPTIONS]
    proc = subprocess.Popen(curate_cmd(*args), cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 240
    done_splits: list[str] = []
    while time.monotonic() < deadline and proc.poll() is None:
        done_splits = [k for k in objects_keys(s3_client, "corpora", "run-c/_work/") if k.endswith(".json")]
        if len([k for k in done_splits if "/splits/" in k]) >= 2:
            break
        time.sleep(0.2)
    kill_session(proc.pid)
    proc.wait()
    assert len([k for k in done_splits if "/splits/" in k]) >= 2, "the ingest ended before the kill"
    assert "manifest.json" not in objects_keys(s3_client, "corpora", "run-c/")  # not a corpus yet

    resumed = run_curate(*args, cwd=tmp_path, **s3_server)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert objects(s3_client, "corpora", "run-c/") == local_corpus[1]


def objects_keys(s3_client, bucket: str, prefix: str) -> list[str]:
    response = s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [entry["Key"][len(prefix.rpartition("/")[0]) + 1 :] for entry in response.get("Contents", [])]


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("s3://no-such-bucket/corpus", "--out s3://no-such-bucket/corpus: cannot reach it"),
        ("s3://KEY:s3cr3t@corpora/x", "refused"),
    ],
)
def test_a_bad_output_location_is_one_line_before_any_work(inputs, s3_server, tmp_path, out, message):
    proc = run_curate("ingest", inputs, "--out", out, "--no-tracking", cwd=tmp_path, timeout=120, **s3_server)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr[-2000:]
    assert "s3cr3t" not in proc.stderr


def _destination(location):
    from curation.destination import Destination

    return Destination(location)


def _corpus(location):
    from curation.corpus import Corpus

    return Corpus.open(location)


def _staged_folder(location):
    from curation.staged_folder import StagedFolder

    return StagedFolder(location, "marker")


@pytest.mark.parametrize("opens", [_destination, _corpus, _staged_folder])
@pytest.mark.parametrize(
    "url, named",
    [("s3://corpora/exported", "s3://corpora/exported"), ("s3://KEY:s3cr3t@corpora/x", "s3://***@corpora/x")],
)
def test_a_url_made_a_pathlib_path_is_one_line_naming_it(opens, url, named, tmp_path, monkeypatch):
    """``Path("s3://b/x")`` is ``s3:/b/x``: a caller of the Python API that passes one gets one line naming the
    URL it was (credentials redacted), not a local directory called ``s3:``."""
    from curation.errors import CurationError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(CurationError) as info:
        opens(Path(url))
    message = str(info.value)
    assert message.startswith(f"{named}: ") and "pathlib.Path" in message and "\n" not in message
    assert "s3cr3t" not in message and not (tmp_path / "s3:").exists()


def test_a_corpus_on_s3_is_logged_as_an_mlflow_input_dataset(remote_corpus, s3_server, s3_client, monkeypatch):
    import hashlib

    from curation.tracking import DIGEST_CHARS, input_dataset

    for key, value in s3_server.items():
        monkeypatch.setenv(key, value)
    dataset = input_dataset("s3://corpora/run-a")
    manifest = s3_client.get_object(Bucket="corpora", Key="run-a/manifest.json")["Body"].read()
    assert dataset.digest == hashlib.sha256(manifest).hexdigest()[:DIGEST_CHARS]
    assert dataset.source.to_dict() == {"uri": "s3://corpora/run-a"} and dataset.name == "run-a"
    assert input_dataset("s3://corpora/no-such-corpus") is None  # no manifest: not a dataset
