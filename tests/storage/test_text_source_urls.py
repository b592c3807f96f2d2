"""Held-out and training text from an object store: ``read_text_source`` (behind ``curate validate``,
``metarater fit --heldout``, ``raters perplexity train --reference`` and DataRater's ``--heldout``) reads
``s3://`` files and gets exactly the documents the same local files give."""

from __future__ import annotations

import shutil

import pytest

from curation.errors import ConfigError, InputNotFoundError
from curation.proxy.text_source import read_text_source
from tests.conftest import shared


@pytest.fixture(scope="module")
def texts_bucket(s3_client, tmp_path_factory):
    """JSON Lines (gzip), plain text with CRLF line ends, and Parquet, locally and in s3://texts/."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    local = tmp_path_factory.mktemp("texts")
    shutil.copy(shared("reference/enwiki-6514-articles.jsonl.gz"), local / "articles.jsonl.gz")
    plain = shared("reference/wikitext-2-valid.txt").read_text(encoding="utf-8")[:200_000]
    (local / "valid.txt").write_bytes(plain.replace("\n", "\r\n").encode())
    import gzip

    with gzip.open(local / "articles.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for _, line in zip(range(200), fh, strict=False)]
    pq.write_table(pa.Table.from_pylist([{"text": r["text"]} for r in rows]), local / "articles.parquet")
    s3_client.create_bucket(Bucket="texts")
    for path in local.iterdir():
        s3_client.upload_file(str(path), "texts", f"sets/{path.name}")
    return local


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    for key, value in s3_server.items():
        monkeypatch.setenv(key, value)


@pytest.mark.parametrize("name", ["articles.jsonl.gz", "valid.txt", "articles.parquet"])
def test_an_s3_file_gives_the_same_documents_as_the_local_file(texts_bucket, s3_env, name):
    local = read_text_source(str(texts_bucket / name), max_bytes=300_000, seed=3)
    remote = read_text_source(f"held=s3://texts/sets/{name}", max_bytes=300_000, seed=3)
    assert remote.texts == local.texts and len(local.texts) > 10
    assert remote.name == "held" and remote.path == f"s3://texts/sets/{name}"
    assert all("\r" not in t for t in remote.texts)  # CRLF read as text mode reads it locally


def test_a_missing_object_or_a_prefix_is_one_line_naming_the_url(texts_bucket, s3_env):
    with pytest.raises(InputNotFoundError, match=r"input not found: s3://texts/sets/nothing\.jsonl"):
        read_text_source("s3://texts/sets/nothing.jsonl")
    with pytest.raises(ConfigError, match=r"s3://texts/sets/: names 3 objects; give one file"):
        read_text_source("s3://texts/sets/")
