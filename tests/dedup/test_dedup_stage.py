"""`curate dedup` on real C4 documents with planted copies: clusters, keep flags, alignment, resume, CLI."""

from __future__ import annotations

import gzip
import json
import random
import shutil

import pyarrow.parquet as pq
import pytest

from curation.attributes import AttributeSet
from curation.corpus import Corpus
from curation.dedup.minhash import MinHashParams
from curation.dedup.stage import DedupConfig, run_dedup
from curation.errors import ConfigError, CorpusError
from curation.ingest.config import IngestConfig
from curation.ingest.job import run_ingest
from tests.conftest import shared
from tests.helpers import run_curate

BOILERPLATE = ["Home | About us | Contact", "Accept cookies to continue browsing.", "© 2024 All rights reserved."]


def _originals(n: int) -> list[dict]:
    docs = []
    with gzip.open(shared("web/c4-en-sample-1000.jsonl.gz"), "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if len(record["text"].split()) >= 150:  # long enough that a few edits keep it a near-duplicate
                docs.append({"id": f"orig-{len(docs):03d}", "text": record["text"], "url": record["url"]})
            if len(docs) == n:
                return docs
    raise AssertionError("not enough long C4 documents")


def _substitute(text: str, rng: random.Random, n: int) -> str:
    words = text.split(" ")
    for position in rng.sample(range(len(words)), n):
        words[position] = "zzplanted"
    return " ".join(words)


@pytest.fixture(scope="module")
def planted(spark, tmp_path_factory):
    """40 originals; five of them get copies: re-cased + re-wrapped (exact), 3 words edited, boilerplate added."""
    root = tmp_path_factory.mktemp("dedup")
    originals = _originals(40)
    rng = random.Random(7)
    copies = []
    for k, doc in enumerate(originals[:5]):
        text = doc["text"]
        copies += [
            {"id": f"copy-exact-{k}", "text": "\n".join(text.upper().split(" ")), "url": doc["url"] + "?a"},
            {"id": f"copy-edit-{k}", "text": _substitute(text, rng, 3), "url": doc["url"] + "?b"},
            {"id": f"copy-boiler-{k}", "text": "\n".join([BOILERPLATE[0], text, *BOILERPLATE[1:]]), "url": doc["url"]},
        ]
    (root / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in originals + copies), encoding="utf-8")
    cfg = IngestConfig(inputs=[str(root / "docs.jsonl")], out=str(root / "corpus"), shards=3, langid=False)
    run_ingest(cfg, master="local[2]", tracking=False)
    corpus = Corpus.open(root / "corpus")
    assert corpus.num_documents == 55
    result = run_dedup(corpus.root, root / "dedup", master="local[2]", tracking=False)
    return corpus, result, originals


def test_planted_copies_cluster_with_their_original(planted):
    corpus, result, originals = planted
    table = result.attributes.read().to_pylist()
    by_id = {row["id"]: row for row in table}
    for k in range(5):
        family = {f"orig-{k:03d}", f"copy-exact-{k}", f"copy-edit-{k}", f"copy-boiler-{k}"}
        clusters = {by_id[d]["cluster_id"] for d in family}
        assert clusters == {min(family)}, (k, clusters)  # one cluster, named by its smallest id
        assert all(by_id[d]["cluster_size"] == 4 for d in family)
        assert [d for d in sorted(family) if by_id[d]["is_dup_keep"]] == [min(family)]
        # exact: only the re-cased, re-wrapped copy shares the original's key
        assert by_id[f"copy-exact-{k}"]["exact_key"] == by_id[f"orig-{k:03d}"]["exact_key"]
        assert by_id[f"copy-edit-{k}"]["exact_key"] != by_id[f"orig-{k:03d}"]["exact_key"]
        assert by_id[f"copy-exact-{k}"]["exact_cluster_size"] == 2
        assert by_id[f"copy-exact-{k}"]["is_exact_dup_keep"] is True  # "copy-…" < "orig-…"
        assert by_id[f"orig-{k:03d}"]["is_exact_dup_keep"] is False
    untouched = [by_id[d["id"]] for d in originals[5:]]
    assert all(row["cluster_size"] == 1 and row["is_dup_keep"] for row in untouched)
    assert result.counts["exact_duplicate_documents"] == 5
    assert result.counts["near_duplicate_documents"] == 15
    assert result.counts["kept_documents"] == 40


def test_parts_aligned_with_shards_and_manifest(planted):
    corpus, result, _ = planted
    attributes = AttributeSet.open(result.attributes.root, corpus)
    for i, shard in enumerate(corpus.shard_paths):
        assert pq.read_table(attributes.part_path(i)).column("id").equals(pq.read_table(shard).column("id"))
    manifest = attributes.manifest
    assert manifest["name"] == "dedup-v1" and manifest["rows"] == 55
    assert (
        manifest["config"]["minhash"]["bands"] == 28
        and manifest["config"]["minhash"]["lsh_threshold"] == round((1 / 28) ** (1 / 4), 4) == 0.4347
    )
    assert all(column["description"] for column in manifest["columns"])
    assert manifest["summary"]["is_dup_keep"] == {"true": 40, "rows": 55}
    assert not (attributes.root / "_work").exists()


def test_rerun_is_a_no_op_and_resume_is_byte_identical(planted, tmp_path):
    corpus, result, _ = planted
    again = run_dedup(corpus.root, result.attributes.root, master="local[2]", tracking=False)
    assert again.seconds == 0.0 and again.attributes.manifest == result.attributes.manifest

    shutil.copytree(result.attributes.root, tmp_path / "d")
    before = [result.attributes.part_path(i).read_bytes() for i in range(3)]
    (tmp_path / "d" / "manifest.json").unlink()  # as if the job died after committing parts 0 and 2
    (tmp_path / "d" / "part-00001.parquet").unlink()
    resumed = run_dedup(corpus.root, tmp_path / "d", master="local[2]", tracking=False)
    assert [resumed.attributes.part_path(i).read_bytes() for i in range(3)] == before
    assert resumed.counts == result.counts


def test_clusters_joined_in_spark_write_the_same_parts(planted, tmp_path):
    """driver_max_edges=0 sends every edge through Spark's connected components: same bytes, same counts."""
    corpus, result, _ = planted
    in_spark = run_dedup(corpus.root, tmp_path / "d", DedupConfig(driver_max_edges=0), master="local[2]",
                         tracking=False)  # fmt: skip
    parts = [p.read_bytes() for p in sorted(in_spark.attributes.root.glob("part-*.parquet"))]
    assert parts == [result.attributes.part_path(i).read_bytes() for i in range(3)]
    assert in_spark.counts == result.counts
    assert in_spark.attributes.manifest["config"] == result.attributes.manifest["config"]


def test_other_config_needs_overwrite(planted):
    corpus, result, _ = planted
    fineweb = DedupConfig(params=MinHashParams.fineweb())
    with pytest.raises(CorpusError, match="--overwrite"):
        run_dedup(corpus.root, result.attributes.root, fineweb, master="local[2]", tracking=False)
    with pytest.raises(ConfigError, match="bands x rows"):
        DedupConfig(params=MinHashParams(bands=10, rows=10))


def test_cli_dedup_then_select(planted, tmp_path):
    corpus, _, _ = planted
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    done = run_curate("dedup", str(corpus.root), "--out", str(tmp_path / "d"), "--master", "local[2]", **env)
    assert done.returncode == 0, done.stderr
    assert "is_dup_keep" in done.stdout and "40 of 55" in done.stdout
    chosen = run_curate(
        "select", str(corpus.root), "-a", str(tmp_path / "d"), "--rule", "is_dup_keep", "--out", str(tmp_path / "s"),
        "--master", "local[2]", **env,
    )  # fmt: skip
    assert chosen.returncode == 0, chosen.stderr
    selected = Corpus.open(tmp_path / "s")
    assert selected.num_documents == 40 and len(selected.read_rejects()) == 15

    import mlflow

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    runs = mlflow.search_runs(experiment_names=["curation"], filter_string="tags.`curation.stage` = 'dedup'")
    assert len(runs) == 1 and runs.iloc[0]["metrics.near_duplicate_documents"] == 15


def test_cli_rejects_bad_parameters(tmp_path):
    done = run_curate("dedup", str(tmp_path), "--out", str(tmp_path / "d"), "--bands", "10")
    assert done.returncode == 2 and "bands x rows" in done.stderr and "Traceback" not in done.stderr
