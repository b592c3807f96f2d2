"""Ingest reads its inputs from an S3-protocol server (``s3://`` URLs: a prefix, a glob, one object) and
writes the same corpus as from the same files on local disk (every row and column; only the input's
path in ``meta`` differs); bad remote inputs fail fast
with one line naming the URL."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import shared
from tests.helpers import run_curate

FILES = [
    "c4-en-sample-1000.jsonl.gz",  # gzip JSON Lines
    "cc-main-2016-50-sample.warc.wet.gz",  # WET as one gzip stream
    "cc-sample-a.warc.gz",  # WARC, one gzip member per record: split by byte ranges below
    "trafilatura-eval-pages.warc.gz",
]


@pytest.fixture(scope="module")
def bucket(s3_client, tmp_path_factory):
    """The files in ``s3://web-inputs/crawl/`` and in a local folder, plus a hidden object to skip. Also the
    C4 sample as plain JSON Lines (split by byte offsets of lines) and as Parquet in row groups of 100."""
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    local = tmp_path_factory.mktemp("local-inputs")
    s3_client.create_bucket(Bucket="web-inputs")
    for name in FILES:
        shutil.copy(shared(f"web/{name}"), local / name)
    c4 = gzip.decompress(shared("web/c4-en-sample-1000.jsonl.gz").read_bytes())
    (local / "c4-plain.jsonl").write_bytes(c4)
    records = pa.Table.from_pylist([json.loads(line) for line in c4.splitlines()])
    pq.write_table(records, local / "c4-groups.parquet", row_group_size=100)
    for path in sorted(local.iterdir()):
        s3_client.upload_file(str(path), "web-inputs", f"crawl/{path.name}")
    s3_client.put_object(Bucket="web-inputs", Key="crawl/_SUCCESS", Body=b"")
    return local


def shards(corpus, inputs: str) -> dict:
    """Each shard's rows; ``meta.input`` (the input's path or URL, the one column that differs) relative to
    ``inputs``."""
    import json

    import pyarrow.parquet as pq

    out = {}
    for path in sorted((corpus / "shards").glob("*.parquet")):
        rows = pq.read_table(path).to_pylist()
        for row in rows:
            meta = json.loads(row["meta"])
            assert meta["input"].startswith(inputs)
            row["meta"] = dict(meta, input=meta["input"][len(inputs) :])
        out[path.name] = rows
    return out


def test_ingest_from_s3_equals_ingest_from_local_disk(bucket, s3_server, spark, tmp_path):
    from curation import api

    options = ["--shards", "3", "--split-mb", "1", "--no-tracking"]  # 1 MiB splits: ranged reads of big objects
    api.ingest([bucket], tmp_path / "local", shards=3, split_mb=1, tracking=False)  # the reference, in this process
    remote = run_curate(
        "ingest", "s3://web-inputs/crawl/", "--out", str(tmp_path / "remote"), *options, cwd=tmp_path, **s3_server
    )
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert shards(tmp_path / "remote", "s3://web-inputs/crawl/") == shards(tmp_path / "local", f"{bucket}/") != {}

    manifest = json.loads((tmp_path / "remote" / "manifest.json").read_text())
    names = sorted([*FILES, "c4-plain.jsonl", "c4-groups.parquet"])
    assert sorted(i["path"] for i in manifest["inputs"]) == [f"s3://web-inputs/crawl/{n}" for n in names]
    local_manifest = json.loads((tmp_path / "local" / "manifest.json").read_text())
    assert manifest["counts"] == local_manifest["counts"]
    splits = {i["path"].rsplit("/", 1)[1]: i["splits"] for i in manifest["inputs"]}
    assert splits["trafilatura-eval-pages.warc.gz"] > 1 and splits["c4-plain.jsonl"] > 1, splits  # byte ranges
    assert splits["c4-groups.parquet"] > 1, splits  # row groups
    assert all(i["etag"].startswith("ETag:") and "sha256" not in i for i in manifest["inputs"])  # not downloaded


def test_a_glob_and_a_single_object(bucket, s3_server, tmp_path):
    proc = run_curate("ingest", "s3://web-inputs/crawl/cc-*.gz", "--out", str(tmp_path / "glob"), "--no-tracking",
                      cwd=tmp_path, **s3_server)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    paths = [i["path"] for i in json.loads((tmp_path / "glob" / "manifest.json").read_text())["inputs"]]
    assert paths == [
        "s3://web-inputs/crawl/cc-main-2016-50-sample.warc.wet.gz",
        "s3://web-inputs/crawl/cc-sample-a.warc.gz",
    ]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://web-inputs/nothing-here/", "input not found: s3://web-inputs/nothing-here/"),
        ("s3://no-such-bucket/crawl/", "s3://no-such-bucket/crawl/"),
    ],
)
def test_missing_remote_input_fails_fast_with_one_line(s3_server, tmp_path, url, message):
    proc = run_curate("ingest", url, "--out", str(tmp_path / "out"), "--no-tracking", cwd=tmp_path, **s3_server)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr[-2000:]
    assert not (tmp_path / "out").exists()  # before any work


def test_unreachable_endpoint_is_one_line_naming_the_url(s3_server, tmp_path):
    from tests.s3_server import free_port

    env = dict(s3_server, AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}", AWS_MAX_ATTEMPTS="1")
    proc = run_curate("ingest", "s3://web-inputs/crawl/", "--out", str(tmp_path / "out"), "--no-tracking",
                      cwd=tmp_path, timeout=120, **env)  # fmt: skip
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "s3://web-inputs/crawl/" in lines[0] and "cannot reach" in lines[0], proc.stderr


def test_a_scheme_without_its_package_names_the_extra(monkeypatch):
    import fsspec

    from curation.errors import ConfigError
    from curation.storage import filesystem

    def missing(url, **kwargs):
        raise ImportError("Install gcsfs to access Google Storage")

    monkeypatch.setattr(fsspec.core, "url_to_fs", missing)
    with pytest.raises(
        ConfigError, match=r"gs://bucket/x: reading gs:// needs .*the 'gcs' extra: pip install -e '\.\[gcs\]'"
    ):
        filesystem("gs://bucket/x")


def test_no_credentials_is_one_line_naming_the_url(s3_server, tmp_path):
    env = {
        "AWS_ENDPOINT_URL": s3_server["AWS_ENDPOINT_URL"],
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    proc = run_curate("ingest", "s3://web-inputs/crawl/", "--out", str(tmp_path / "out"), "--no-tracking",
                      cwd=tmp_path, timeout=120, **env)  # fmt: skip
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "s3://web-inputs/crawl/" in lines[0] and "credentials" in lines[0].lower(), proc.stderr


def test_a_url_with_credentials_is_refused_without_echoing_the_secret(tmp_path):
    proc = run_curate("ingest", "s3://AKIAEXAMPLE:s3cr3t-value@web-inputs/crawl/", "--out", str(tmp_path / "out"),
                      "--no-tracking", cwd=tmp_path)  # fmt: skip
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "s3://***@web-inputs/crawl/" in lines[0] and "refused" in lines[0], proc.stderr
    assert "s3cr3t-value" not in proc.stderr + proc.stdout and "AKIAEXAMPLE" not in proc.stderr + proc.stdout
    assert not (tmp_path / "out").exists()


def test_only_secrets_in_the_authority_are_refused():
    from curation.storage import redacted

    assert redacted("s3://key:secret@bucket/a/b") == "s3://***@bucket/a/b"
    assert (
        redacted("abfs://container@account.dfs.core.windows.net/x") == "abfs://container@account.dfs.core.windows.net/x"
    )
    assert redacted("s3://bucket/path/with:colon@sign") == "s3://bucket/path/with:colon@sign"
    assert redacted("/local/path:with@chars") == "/local/path:with@chars"
