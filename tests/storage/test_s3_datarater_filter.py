"""`curate datarater filter` and `curate datarater report` with every path a URL on an S3-protocol server:
the keep flags, the filtered corpus and the report are those of the same commands on local folders."""

from __future__ import annotations

import json

import pytest

from tests.conftest import shared
from tests.helpers import run_curate, write_test_attributes
from tests.raters.scores.conftest import write_corpus
from tests.s3_server import upload_tree
from tests.storage.test_s3_outputs import files, objects

BUCKET = "datarater-filter"


def _table(data: bytes):
    import io

    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data))


def write_scores(root, corpus_dir) -> None:
    """An attribute set with the column `curate datarater score` writes, its values a fixed function of the text:
    the filter and the report read only that column."""
    import numpy as np
    import pyarrow as pa

    from curation.corpus import Corpus
    from raters.datarater.scoring import SCORE_COLUMN

    texts = Corpus.open(corpus_dir).read_documents(["text"]).column("text").to_pylist()
    values = np.array([len(set(t.split())) / (1 + len(t.split())) for t in texts], dtype=np.float32)
    write_test_attributes(corpus_dir, root / "scores", "datarater-test", {SCORE_COLUMN: (pa.float32(), values)})


@pytest.fixture(scope="module")
def inputs(s3_client, tmp_path_factory):
    """A 40-document corpus (Wikipedia and C4) and its scores, in a local folder and as objects."""
    from curation.proxy.text_source import read_text_source

    root = tmp_path_factory.mktemp("datarater-filter")
    wikipedia = read_text_source(str(shared("reference/enwiki-6514-articles.jsonl.gz")), 400_000, seed=5).texts
    c4 = read_text_source(str(shared("web/c4-en-sample-1000.jsonl.gz"))).texts
    records = [{"id": f"wiki-{i:02d}", "text": t[:2000]} for i, t in enumerate(wikipedia[:20])]
    records += [{"id": f"c4-{i:02d}", "text": t[:2000]} for i, t in enumerate(c4[:20])]
    write_corpus(root / "corpus", sorted(records, key=lambda r: r["id"]))
    write_scores(root, root / "corpus")
    s3_client.create_bucket(Bucket=BUCKET)
    upload_tree(s3_client, root / "corpus", BUCKET, "corpus")
    upload_tree(s3_client, root / "scores", BUCKET, "scores")
    return root


@pytest.mark.slow  # about 35 s (``pytest -m slow``); CI reads and writes URLs with every other stage in tests/storage
def test_filter_and_report_on_urls_write_what_they_write_locally(inputs, s3_server, s3_client):
    url = f"s3://{BUCKET}"
    for corpus, scores, kept in (("corpus", "scores", "kept"), (f"{url}/corpus", f"{url}/scores", f"{url}/kept")):
        proc = run_curate("datarater", "filter", corpus, "--scores", scores, "--out", kept, "--rho", "0.5",
                          "--master", "local[1]", "--no-tracking", cwd=inputs, **s3_server)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "datarater_keep" in proc.stdout
        proc = run_curate("datarater", "report", corpus, "--scores", scores, "--out", kept.replace("kept", "report"),
                          "--sample", "40", "--no-tracking", cwd=inputs, **s3_server)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]

    # the keep flags beside the scores, as locally: the same parts
    flags, local_flags = (
        objects(s3_client, BUCKET, "scores-keep-probability-rho50/"),
        files(inputs / "scores-keep-probability-rho50"),
    )
    assert sorted(flags) == sorted(local_flags) and "manifest.json" in flags
    assert [name for name in flags if name != "manifest.json" and flags[name] != local_flags[name]] == []
    assert json.loads(flags["manifest.json"])["config"]["scores"] == f"{url}/scores"
    # the filtered corpus: the same shards and rejects (the dropped half)
    kept, local_kept = objects(s3_client, BUCKET, "kept/"), files(inputs / "kept")
    assert sorted(kept) == sorted(local_kept)
    assert [name for name in kept if name.startswith("shards/") and kept[name] != local_kept[name]] == []
    for name in (name for name in kept if name.startswith("rejects/")):  # each names its source as it was given
        remote, local = _table(kept[name]), _table(local_kept[name])
        assert remote.drop_columns(["source_file"]) == local.drop_columns(["source_file"]) and remote.num_rows
        assert remote.column("source_file")[0].as_py() == f"{url}/" + local.column("source_file")[0].as_py()
    assert 0 < json.loads(kept["manifest.json"])["counts"]["documents"] < 40
    # the report: the same words and numbers, naming the corpus as it was given
    report, local_report = objects(s3_client, BUCKET, "report/"), files(inputs / "report")
    assert sorted(report) == sorted(local_report) == ["report.json", "report.md"]
    assert report["report.json"] == local_report["report.json"]
    assert report["report.md"] == local_report["report.md"].replace(b"from `corpus`", f"from `{url}/corpus`".encode())
