"""``gs://`` and ``abfs://``/``az://`` through fsspec, against real servers of those protocols on 127.0.0.1:
gcp-storage-emulator for GCS (gcsfs), Azurite for Azure Blob Storage (adlfs). For each store, ``curate ingest``
from the store to the store writes the objects that the same ingest into a local folder writes, byte for byte
(manifest included), and ``curate signals`` store to store the same parts; a missing bucket or container, as
the output or as the input, is one line naming the URL, exit code 2, before any work."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.azure_server import azure_fs, azure_server  # noqa: F401 - the Azurite server's fixtures
from tests.conftest import shared
from tests.gcs_server import gcs_fs, gcs_server  # noqa: F401 - the GCS emulator's fixtures
from tests.helpers import digests, run_curate

RECORDS = 200  # of the C4 sample: 0.44 MB, three splits of 0.2 MB, so tasks read byte ranges of one object
OPTIONS = ["--shards", "2", "--split-mb", "0.2", "--no-langid", "--no-tracking"]
SPARK = {"CURATION_SPARK_MASTER": "local[2]"}  # at most two tasks run at once here: no more cores needed


@dataclass
class Store:
    scheme: str  # of the output URLs
    input_scheme: str  # of the input URLs (az:// is adlfs's other name for abfs://)
    env: dict[str, str]  # what a curate process needs to reach the server
    fs: Any  # the fsspec filesystem, for the test's own puts and reads

    def url(self, path: str, scheme: str | None = None) -> str:
        return f"{scheme or self.scheme}://{path}"

    def objects(self, prefix: str) -> dict[str, bytes]:
        """Every object under ``prefix`` (``bucket/path``), by its name relative to it."""
        self.fs.invalidate_cache()
        return {name[len(prefix) + 1 :]: self.fs.cat_file(name) for name in sorted(self.fs.find(prefix))}


@pytest.fixture(scope="module", params=["gs", "abfs"])
def store(request) -> Store:
    """Each store with its inputs in ``inputs/crawl/`` and an empty ``corpora`` bucket (container): the first
    records of the C4 sample as plain JSON Lines, one record twice and a line that is not JSON (so the corpus
    has both kinds of rejects), and a ``_SUCCESS`` marker that the listing skips."""
    if request.param == "gs":
        store = Store("gs", "gs", request.getfixturevalue("gcs_server"), request.getfixturevalue("gcs_fs"))
    else:
        store = Store("abfs", "az", request.getfixturevalue("azure_server"), request.getfixturevalue("azure_fs"))
    lines = gzip.decompress(shared("web/c4-en-sample-1000.jsonl.gz").read_bytes()).splitlines(keepends=True)
    store.fs.mkdir("inputs")
    store.fs.mkdir("corpora")
    store.fs.pipe_file("inputs/crawl/c4.jsonl", b"".join(lines[:RECORDS]))
    store.fs.pipe_file("inputs/crawl/repeat.jsonl", lines[0] * 2 + b"not json\n")
    store.fs.pipe_file("inputs/crawl/_SUCCESS", b"")
    return store


def files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpora(store, tmp_path_factory):
    """The inputs ingested into a local folder and into ``corpora/run`` on the store: the local folder."""
    inputs = store.url("inputs/crawl/", store.input_scheme)
    local = tmp_path_factory.mktemp(f"{store.scheme}-local") / "corpus"
    proc = run_curate("ingest", inputs, "--out", str(local), *OPTIONS, cwd=local.parent, **store.env, **SPARK)
    assert proc.returncode == 0, proc.stderr[-3000:]
    remote = run_curate("ingest", inputs, "--out", store.url("corpora/run"), *OPTIONS, cwd=local.parent,
                        **store.env, **SPARK)  # fmt: skip
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert store.url("corpora/run") in remote.stdout  # the summary names the URL
    return local


def test_an_ingest_into_the_store_writes_the_local_files_byte_for_byte(store, corpora):
    written = store.objects("corpora/run")
    assert digests(written) == digests(files(corpora))
    assert {"manifest.json", "shards/part-00000.parquet", "shards/part-00001.parquet"} <= set(written)
    assert any(name.startswith("rejects/duplicates-") for name in written)  # the repeated record
    assert any(name.startswith("rejects/input-") for name in written)  # the line that is not JSON
    assert not any(name.startswith(("_work", ".write-probe")) for name in written)  # split cache, write probe gone
    manifest = json.loads(written["manifest.json"])
    assert manifest["counts"]["documents"] == RECORDS  # every C4 record once; the repeat is a duplicate
    inputs = manifest["inputs"]
    assert [i["path"].rpartition("/")[2] for i in inputs] == ["c4.jsonl", "repeat.jsonl"]  # not _SUCCESS
    assert all(i["etag"] for i in inputs)  # the store's checksum, not a download


# Azure's run (about 30 s) goes with ``pytest -m slow``: the ingest test already reads and writes abfs:// in tasks
@pytest.mark.parametrize("store", ["gs", pytest.param("abfs", marks=pytest.mark.slow)], indirect=True)
def test_signals_from_the_store_to_the_store_are_the_local_parts(store, corpora, spark, tmp_path):
    from curation import api

    api.signals(corpora, tmp_path / "signals", tracking=False)  # the reference, in this process
    remote = run_curate("signals", store.url("corpora/run"), "--out", store.url("corpora/signals"), "--no-tracking",
                        cwd=tmp_path, **store.env, **SPARK)  # fmt: skip
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert f"attributes: {store.url('corpora/signals')}" in remote.stdout
    written, expected = store.objects("corpora/signals"), files(tmp_path / "signals")
    assert sorted(written) == sorted(expected) == ["manifest.json", "part-00000.parquet", "part-00001.parquet"]
    for part in ("part-00000.parquet", "part-00001.parquet"):
        assert written[part] == expected[part], part
    remote_manifest, local_manifest = (json.loads(m["manifest.json"]) for m in (written, expected))
    assert remote_manifest.pop("corpus")["path"] == store.url("corpora/run")
    assert local_manifest.pop("corpus")["path"] == str(corpora)
    assert remote_manifest == local_manifest

    again = run_curate("signals", store.url("corpora/run"), "--out", store.url("corpora/signals"), "--no-tracking",
                       cwd=tmp_path, **store.env, **SPARK)  # fmt: skip
    assert again.returncode == 0 and "already complete" in again.stderr, again.stderr[-2000:]


@pytest.mark.parametrize("missing", ["output", "input"])
def test_a_missing_bucket_is_one_line_naming_the_url(store, missing, tmp_path):
    inputs, out = store.url("inputs/crawl/", store.input_scheme), store.url("corpora/never")
    if missing == "output":
        out = store.url("no-such-bucket/corpus")
        named = f"--out {out}: cannot reach it"
    else:
        inputs = store.url("no-such-bucket/crawl/", store.input_scheme)
        named = inputs
    proc = run_curate("ingest", inputs, "--out", out, "--no-tracking", cwd=tmp_path, timeout=120, **store.env)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and named in lines[0], proc.stderr[-2000:]
    assert store.objects("corpora/never") == {}  # nothing written


def test_a_corpus_on_the_store_is_an_mlflow_input_dataset(store, corpora, monkeypatch):
    """A tracked stage logs the corpus it reads as an MLflow input dataset, for every URL form of the store."""
    import hashlib

    from curation.tracking import DIGEST_CHARS, input_dataset

    for key, value in store.env.items():
        monkeypatch.setenv(key, value)
    manifest = store.fs.cat_file("corpora/run/manifest.json")
    for url in sorted({store.url("corpora/run"), store.url("corpora/run", store.input_scheme)}):
        dataset = input_dataset(url)
        assert dataset is not None, url
        assert dataset.digest == hashlib.sha256(manifest).hexdigest()[:DIGEST_CHARS]
        assert dataset.source.to_dict() == {"uri": url} and dataset.name == "run"
