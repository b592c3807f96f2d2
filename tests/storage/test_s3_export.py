"""`curate export` reads a corpus on an S3-protocol server and writes the export there (``--out s3://...``):
each data file uploaded whole under its final name, the progress record and the manifest one PUT each. The
objects are byte for byte the files of the same export of the same corpus on local disk (the manifest differs
only in the paths it names); a rerun does nothing; a SIGKILL during the export resumes to the same objects,
keeping the files it had recorded; a bad location fails before any work with one line."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.conftest import shared
from tests.helpers import curate_cmd, curate_env, run_curate
from tests.reliability.kill_points import kill_session
from tests.storage.test_s3_outputs import files, objects

CORPUS = "s3://export-corpora/c4"
INGEST = ["--shards", "3", "--no-langid", "--no-tracking"]


@pytest.fixture(scope="module")
def corpora(s3_server, s3_client, tmp_path_factory):
    """The C4 sample ingested into a local directory, and its files uploaded as ``CORPUS``: the same corpus,
    byte for byte (ingest's own writes to a store are tested in ``test_s3_outputs.py``; a second ingest here
    would record another commit if one is made meanwhile)."""
    s3_client.create_bucket(Bucket="export-corpora")
    s3_client.create_bucket(Bucket="exports")
    local = tmp_path_factory.mktemp("export-corpus") / "c4"
    source = str(shared("web/c4-en-sample-1000.jsonl.gz"))
    proc = run_curate("ingest", source, "--out", str(local), *INGEST, cwd=local.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name, body in files(local).items():
        s3_client.put_object(Bucket="export-corpora", Key=f"c4/{name}", Body=body)
    return local


def export_locally(corpus, out, *options: str) -> dict[str, bytes]:
    proc = run_curate("export", str(corpus), "--out", str(out), *options, "--no-tracking", cwd=out.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return files(out)


def without_paths(manifest: bytes) -> dict:
    """A manifest with the paths of the corpus and its lineage taken out (they name where each run read)."""
    loaded = json.loads(manifest)
    loaded["input"].pop("path")
    for entry in loaded["lineage"]:
        entry.pop("path")
    loaded.pop("mlflow_run_id")
    return loaded


def assert_same_export(written: dict[str, bytes], expected: dict[str, bytes], corpus_url: str) -> None:
    assert sorted(written) == sorted(expected)
    data = [name for name in expected if name.startswith("data/")]
    assert len(data) > 1 and all(written[name] == expected[name] for name in data)
    manifest = json.loads(written["manifest.json"])
    assert manifest["input"]["path"] == corpus_url and manifest["lineage"][0]["path"] == corpus_url
    assert without_paths(written["manifest.json"]) == without_paths(expected["manifest.json"])


@pytest.mark.parametrize("fmt", ["parquet", "jsonl.zst"])
def test_an_export_to_s3_is_byte_for_byte_the_local_one(corpora, s3_server, s3_client, tmp_path, monkeypatch, fmt):
    """The remote run is tracked: the manifest MLflow keeps is the one in the bucket."""
    options = ["--format", fmt, "--shard-rows", "300", "--row-group-rows", "100"]
    expected = export_locally(corpora, tmp_path / "local", *options)
    out = f"s3://exports/{fmt}"
    mlflow_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = run_curate("export", CORPUS, "--out", out, *options, cwd=tmp_path, MLFLOW_TRACKING_URI=mlflow_uri,
                      CURATION_EXPERIMENT="export-s3", **s3_server)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"in {out}/data" in proc.stdout and f"manifest: {out}/manifest.json" in proc.stdout
    written = objects(s3_client, "exports", f"{fmt}/")
    assert_same_export(written, expected, CORPUS)  # no progress record or staging file left either
    assert not (tmp_path / "s3:").exists()  # no local directory named after the URL

    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    manifest = json.loads(written["manifest.json"])
    logged = mlflow.artifacts.download_artifacts(
        run_id=manifest["mlflow_run_id"], artifact_path="manifest.json", dst_path=str(tmp_path / "logged")
    )
    assert json.loads(open(logged).read()) == manifest

    again = run_curate("export", CORPUS, "--out", out, *options, "--no-tracking", cwd=tmp_path, **s3_server)
    assert again.returncode == 0 and "already complete" in again.stdout, again.stderr[-3000:]
    assert objects(s3_client, "exports", f"{fmt}/") == written


def test_killed_export_to_s3_resumes_to_the_same_objects(corpora, s3_server, s3_client, tmp_path):
    """Many small files, so the kill lands between them; the rerun keeps the files the progress record lists
    and writes only the others."""
    options = ["--shard-rows", "10", "--row-group-rows", "5"]
    expected = export_locally(corpora, tmp_path / "local", *options)
    total = len([name for name in expected if name.startswith("data/")])
    args = ["export", CORPUS, "--out", "s3://exports/killed", *options, "--no-tracking"]
    proc = subprocess.Popen(curate_cmd(*args), cwd=tmp_path, env=curate_env(**s3_server), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline, parts = time.monotonic() + 120, []
    while time.monotonic() < deadline and proc.poll() is None and len(parts) < 2:
        parts = keys(s3_client, "exports", "killed/data/")
        time.sleep(0.02)
    kill_session(proc.pid)
    proc.wait()
    assert len(parts) >= 2, "the export ended before any file was committed"
    left = objects(s3_client, "exports", "killed/")
    assert "manifest.json" not in left, "the export finished before the kill"
    recorded = json.loads(left["_export_progress.json"])["files"]

    resumed = run_curate(*args, cwd=tmp_path, **s3_server)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    rewritten = [line for line in resumed.stderr.splitlines() if line.startswith("export: data/part-")]
    assert len(rewritten) == total - len(recorded) < total  # the recorded files are kept, not written again
    assert_same_export(objects(s3_client, "exports", "killed/"), expected, CORPUS)


def test_overwrite_with_fewer_files_leaves_no_stray_objects(corpora, s3_server, s3_client, tmp_path):
    out = "s3://exports/overwritten"
    first = run_curate("export", CORPUS, "--out", out, "--shard-rows", "200", "--no-tracking", cwd=tmp_path,
                       **s3_server)  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    options = ["--shard-rows", "500", "--format", "jsonl.zst", "--no-tracking"]
    refused = run_curate("export", CORPUS, "--out", out, *options, cwd=tmp_path, **s3_server)
    assert refused.returncode != 0 and "another config" in refused.stderr and "--overwrite" in refused.stderr
    second = run_curate("export", CORPUS, "--out", out, *options, "--overwrite", cwd=tmp_path, **s3_server)
    assert second.returncode == 0, second.stderr[-3000:]
    manifest = json.loads(objects(s3_client, "exports", "overwritten/")["manifest.json"])
    assert sorted(keys(s3_client, "exports", "overwritten/")) == sorted(
        ["manifest.json", *(entry["path"] for entry in manifest["files"])]
    )
    assert all(entry["path"].endswith(".jsonl.zst") for entry in manifest["files"])


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("s3://no-such-bucket/export", "--out s3://no-such-bucket/export: cannot reach it"),
        (f"{CORPUS}/export", f"--out {CORPUS}/export is inside the input corpus {CORPUS}"),
        ("s3://KEY:s3cr3t@exports/x", "refused"),
    ],
)
def test_a_bad_export_location_is_one_line_before_any_work(corpora, s3_server, s3_client, tmp_path, out, message):
    proc = run_curate("export", CORPUS, "--out", out, "--no-tracking", cwd=tmp_path, timeout=120, **s3_server)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr[-2000:]
    assert "s3cr3t" not in proc.stderr
    assert not keys(s3_client, "export-corpora", "c4/export/")


def keys(s3_client, bucket: str, prefix: str) -> list[str]:
    """Names of the objects under ``prefix``, relative to it."""
    response = s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [entry["Key"][len(prefix) :] for entry in response.get("Contents", [])]
