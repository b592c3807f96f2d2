"""An attribute set computed with Spark, then `select` on it: funnel, rejects, lineage, alignment."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from curation.attribute_stage import AttributeProducer, run_attribute_stage
from curation.attributes import AttributeSet
from curation.corpus import Corpus
from curation.errors import ConfigError, CorpusError
from curation.ingest.config import IngestConfig
from curation.ingest.job import run_ingest
from curation.select.job import run_select


class WordCount(AttributeProducer):
    """A tiny producer for tests: words per document and whether it mentions bread."""

    name = "wordcount"
    version = "v1"

    def output_schema(self):
        return pa.schema([pa.field("words", pa.int64()), pa.field("mentions_bread", pa.bool_())])

    def compute(self, batch):
        texts = batch.column("text").to_pylist()
        return {"words": [len(t.split()) for t in texts], "mentions_bread": ["bread" in t for t in texts]}


@pytest.fixture(scope="module")
def corpus(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("select")
    lines = [{"id": f"d{i:02d}", "text": ("bread " if i % 3 == 0 else "stone ") * (i + 1)} for i in range(30)]
    (root / "in.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    cfg = IngestConfig(inputs=[str(root / "in.jsonl")], out=str(root / "corpus"), shards=3, langid=False)
    run_ingest(cfg, master="local[2]", tracking=False)
    return Corpus.open(root / "corpus")


def test_attribute_stage_aligned_and_resumable(corpus, tmp_path):
    out = tmp_path / "attrs"
    attrs = run_attribute_stage(corpus.root, WordCount(), out, master="local[2]", tracking=False)
    assert attrs.manifest["rows"] == 30 and attrs.manifest["summary"]["mentions_bread"]["true"] == 10
    for i, shard in enumerate(corpus.shard_paths):
        assert pa.parquet.read_table(attrs.part_path(i)).column("id").equals(pa.parquet.read_table(shard).column("id"))
    before = attrs.part_path(0).read_bytes()
    (out / "manifest.json").unlink()
    attrs.part_path(1).unlink()  # as if the job died after committing part 0 and 2
    again = run_attribute_stage(corpus.root, WordCount(), out, master="local[2]", tracking=False)
    assert attrs.part_path(0).read_bytes() == before and again.manifest["rows"] == 30


def test_select_funnel_rejects_and_lineage(corpus, tmp_path):
    attrs = run_attribute_stage(corpus.root, WordCount(), tmp_path / "attrs", master="local[2]", tracking=False)
    result = run_select(
        corpus.root,
        [str(attrs.root)],
        "mentions_bread and words >= 10 and n_bytes < 150",
        tmp_path / "selected",
        master="local[2]",
        tracking=False,
    )
    selected = Corpus.open(result.out)
    kept = selected.read_documents().to_pylist()
    expected = [
        f"d{i:02d}" for i in range(30) if i % 3 == 0 and i + 1 >= 10 and len(("bread " * (i + 1)).strip()) < 150
    ]
    assert sorted(d["id"] for d in kept) == expected
    funnel = [(step["clause"], step["documents"]) for step in selected.manifest["funnel"]]
    assert funnel == [("input", 30), ("mentions_bread", 10), ("words >= 10", 7), ("n_bytes < 150", len(expected))]
    rejects = selected.read_rejects().to_pylist()
    assert len(rejects) == 30 - len(expected) and {r["reason"] for r in rejects} == {"rule"}
    assert sum(r["detail"] == "clause 1: mentions_bread" for r in rejects) == 20
    lineage = selected.manifest["lineage"]
    assert lineage["corpus"]["path"] == str(corpus.root) and lineage["attributes"][0]["name"] == "wordcount-v1"
    for path in selected.shard_paths:
        ids = pa.parquet.read_table(path).column("id").to_pylist()
        assert ids == sorted(ids)


def test_select_fails_fast_on_bad_rules_and_stale_attributes(corpus, tmp_path):
    attrs = run_attribute_stage(corpus.root, WordCount(), tmp_path / "attrs", master="local[2]", tracking=False)
    with pytest.raises(ConfigError, match="unknown column"):
        run_select(corpus.root, [str(attrs.root)], "wordz > 3", tmp_path / "x", tracking=False)
    manifest = json.loads((attrs.root / "manifest.json").read_text())
    manifest["corpus"]["fingerprint"] = "0" * 64
    (attrs.root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorpusError, match="another version"):
        AttributeSet.open(attrs.root, corpus)
    assert not (tmp_path / "x").exists()
