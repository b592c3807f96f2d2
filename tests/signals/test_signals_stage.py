"""`curate signals` on real text: C4 web documents and Wikipedia articles, then `curate select` on the result.

One small corpus (150 C4 + 150 Wikipedia documents, 4 shards) is ingested once per module; the signals
stage runs once through the real CLI with MLflow tracking into a temporary SQLite store. The tests then
check the attribute set it wrote: alignment with the corpus shards, manifest, verdict and numeric columns,
the MLflow run, that a rerun is a no-op, and that a selection on the verdicts reconciles.
"""

from __future__ import annotations

import gzip
import json
import math
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.attributes import AttributeSet
from curation.corpus import Corpus
from curation.signals.heuristics import FILTERS, HeuristicSignals
from curation.signals.numeric import NUMERIC_SIGNALS, compute_numeric_signals
from tests.conftest import shared
from tests.helpers import run_curate

C4 = "web/c4-en-sample-1000.jsonl.gz"
WIKI = "reference/enwiki-6514-articles.jsonl.gz"
N_PER_SOURCE = 150
# Two tasks per core of local[2]: balanced, where 3 shards would leave one core idle for a third of the stage.
SHARDS = 4
# datatrove's four filters cost about 20 µs per character together; the first 150 articles hold 3.6 M characters,
# far too slow for CI, so the sample takes the first 150 articles under 10,000 characters (about 0.5 M).
# That keeps the short disambiguation pages ("Alien may refer to:", even "* A"), which fail every filter.
WIKI_MAX_CHARS = 10_000
VERDICTS = [prefix for prefix, _, _ in FILTERS]


def _first_lines(source, target, n, keep=lambda text: True) -> None:
    written = 0
    with gzip.open(source, "rt", encoding="utf-8") as fh, open(target, "w", encoding="utf-8") as out:
        for line in fh:
            if keep(json.loads(line)["text"]):
                out.write(line)
                written += 1
                if written == n:
                    break


@pytest.fixture(scope="module")
def corpus(spark, tmp_path_factory) -> Corpus:
    c4, wiki = shared(C4), shared(WIKI)
    root = tmp_path_factory.mktemp("signals-stage")
    _first_lines(c4, root / "c4.jsonl", N_PER_SOURCE)
    _first_lines(wiki, root / "wiki.jsonl", N_PER_SOURCE, keep=lambda text: len(text) < WIKI_MAX_CHARS)
    from curation.ingest.config import IngestConfig
    from curation.ingest.job import run_ingest

    cfg = IngestConfig(
        inputs=[str(root / "c4.jsonl"), str(root / "wiki.jsonl")], out=str(root / "corpus"), shards=SHARDS, langid=False
    )
    run_ingest(cfg, master="local[2]", tracking=False)
    corpus = Corpus.open(root / "corpus")
    assert corpus.num_documents == 2 * N_PER_SOURCE
    return corpus


@pytest.fixture(scope="module")
def stage(corpus, tmp_path_factory):
    """The stage run once through the CLI; returns (attribute set, MLflow URI, CLI result)."""
    root = tmp_path_factory.mktemp("signals-out")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    out = root / "attributes" / "signals-v1"
    result = run_curate(
        "signals", str(corpus.root), "--out", str(out), "--master", "local[2]", MLFLOW_TRACKING_URI=uri, cwd=root
    )
    assert result.returncode == 0, result.stderr
    return AttributeSet.open(out, corpus), uri, result


@pytest.fixture(scope="module")
def joined(corpus, stage):
    """Per shard: (corpus rows, attribute rows) as Python dicts, in file order."""
    attrs = stage[0]
    return [
        (pq.read_table(path).to_pylist(), pq.read_table(attrs.part_path(i)).to_pylist())
        for i, path in enumerate(corpus.shard_paths)
    ]


def test_parts_aligned_with_shards(corpus, stage):
    attrs = stage[0]
    assert attrs.manifest["shards"] == len(corpus.shard_paths) == SHARDS
    assert sorted(p.name for p in attrs.root.glob("part-*.parquet")) == [p.name for p in corpus.shard_paths]
    for i, shard in enumerate(corpus.shard_paths):
        assert (
            pq.read_table(attrs.part_path(i), columns=["id"])
            .column("id")
            .equals(pq.read_table(shard, columns=["id"]).column("id"))
        )
    assert attrs.manifest["rows"] == corpus.num_documents
    assert attrs.manifest["corpus"]["documents"] == corpus.num_documents


def test_manifest_describes_every_column(stage):
    attrs = stage[0]
    producer = HeuristicSignals()
    schema = producer.output_schema()
    assert attrs.name == "signals-v1"
    assert attrs.columns == schema.names
    assert len(schema.names) == 2 * len(FILTERS) + len(NUMERIC_SIGNALS)
    for column in attrs.manifest["columns"]:
        assert column["description"].strip(), f"{column['name']} has no description"
        assert column["type"] == str(schema.field(column["name"]).type)
    part = pq.read_table(attrs.part_path(0))
    assert part.schema.names == ["id", *schema.names]
    assert attrs.manifest["config"]["numeric_signals"] == list(NUMERIC_SIGNALS)


def test_reason_is_null_exactly_when_the_filter_passes(joined, stage):
    attrs = stage[0]
    seen_reasons = set()
    for prefix in VERDICTS:
        passed = 0
        for _, rows in joined:
            for row in rows:
                ok, reason = row[f"{prefix}_pass"], row[f"{prefix}_reason"]
                assert ok is not None
                assert (reason is None) == ok, (prefix, row["id"], ok, reason)
                if reason is not None:
                    assert reason.strip()
                    seen_reasons.add(reason)
                passed += ok
        summary = attrs.manifest["summary"][f"{prefix}_pass"]
        assert summary == {"true": passed, "rows": attrs.manifest["rows"]}
        # real mixed data: every filter keeps some and drops some (the tiny Wikipedia stubs at least)
        assert 0 < passed < attrs.manifest["rows"], prefix
    # datatrove's own reasons, not the stage's fallback
    assert "gopher_short_doc" in seen_reasons and not any(r.endswith("_failed") for r in seen_reasons)


def test_numeric_signals_are_finite_and_match_the_text_of_their_row(joined):
    checked = 0
    for documents, rows in joined:
        for document, row in zip(documents, rows, strict=True):
            assert row["id"] == document["id"]
            text = document["text"]
            expected = compute_numeric_signals(text)
            values = {name: row[name] for name in NUMERIC_SIGNALS}
            assert all(v is not None for v in values.values())
            if re.search(r"[A-Za-z0-9]", text):  # at least one word: every signal is defined
                assert all(math.isfinite(v) for v in values.values()), (document["id"], values)
                assert values["doc_word_count"] >= 1
                checked += 1
            # the value in the row is the value of that row's text (alignment beyond the id)
            for name in NUMERIC_SIGNALS:
                assert values[name] == pytest.approx(expected[name], nan_ok=True), (document["id"], name)
    assert checked == 2 * N_PER_SOURCE


def test_summary_and_mlflow_run(stage):
    import mlflow

    attrs, uri, result = stage
    summary = attrs.manifest["summary"]
    for name in NUMERIC_SIGNALS:
        stats = summary[name]
        assert all(math.isfinite(stats[k]) for k in ("mean", "min", "max")), (name, stats)
        assert stats["min"] <= stats["mean"] <= stats["max"]
    # the CLI prints one pass line per filter and the attribute set
    for prefix in VERDICTS:
        s = summary[f"{prefix}_pass"]
        assert f"{prefix}_pass: {s['true']:,} of {s['rows']:,} documents" in result.stdout
    assert f"attributes: {attrs.root} ({len(attrs.columns)} columns)" in result.stdout

    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["curation"], output_format="list")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.run_id == attrs.manifest["mlflow_run_id"]
    assert run.info.status == "FINISHED" and run.data.tags["curation.stage"] == "signals"
    assert run.data.params["shards"] == str(SHARDS) and run.data.params["producer"] == "signals"
    metrics = run.data.metrics
    assert metrics["documents"] == attrs.manifest["rows"] and metrics["docs_per_s"] > 0
    for prefix in VERDICTS:
        s = summary[f"{prefix}_pass"]
        assert metrics[f"{prefix}_pass.true_fraction"] == pytest.approx(s["true"] / s["rows"])
    assert "manifest.json" in [a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)]


def test_rerun_is_a_no_op(corpus, stage):
    import mlflow

    attrs, uri, _ = stage
    before = {p.name: p.stat().st_mtime_ns for p in attrs.root.iterdir()}
    result = run_curate(
        "signals", str(corpus.root), "--out", str(attrs.root), "--master", "local[2]", MLFLOW_TRACKING_URI=uri
    )
    assert result.returncode == 0, result.stderr
    assert "already complete" in result.stderr
    assert {p.name: p.stat().st_mtime_ns for p in attrs.root.iterdir()} == before
    mlflow.set_tracking_uri(uri)
    assert len(mlflow.search_runs(experiment_names=["curation"], output_format="list")) == 1  # no new run


def test_select_on_the_verdicts_reconciles(corpus, stage, joined, tmp_path):
    from curation.select.job import run_select

    attrs = stage[0]
    rule = "gopher_quality.pass and fineweb_quality.pass"
    result = run_select(corpus.root, [str(attrs.root)], rule, tmp_path / "selected", master="local[2]", tracking=False)
    selected = Corpus.open(result.out)
    rows = [row for _, part in joined for row in part]
    gopher = {r["id"] for r in rows if r["gopher_quality_pass"]}
    both = {r["id"] for r in rows if r["gopher_quality_pass"] and r["fineweb_quality_pass"]}
    funnel = [(step["clause"], step["documents"]) for step in selected.manifest["funnel"]]
    assert funnel == [
        ("input", corpus.num_documents),
        ("gopher_quality_pass", len(gopher)),
        ("fineweb_quality_pass", len(both)),
    ]
    kept = selected.read_documents().to_pylist()
    rejects = selected.read_rejects().to_pylist()
    assert {d["id"] for d in kept} == both
    assert len(kept) + len(rejects) == corpus.num_documents
    assert selected.manifest["counts"]["documents"] == len(kept)
    assert selected.manifest["counts"]["rejected"]["rule"] == len(rejects)
    assert {r["locator"] for r in rejects} == {f"id={r['id']}" for r in rows} - {f"id={i}" for i in both}
    assert {r["reason"] for r in rejects} == {"rule"}
    details = [r["detail"] for r in rejects]
    assert details.count("clause 1: gopher_quality_pass") == corpus.num_documents - len(gopher)
    assert details.count("clause 2: fineweb_quality_pass") == len(gopher) - len(both)
    assert 0 < len(both) < corpus.num_documents
    assert selected.manifest["lineage"]["attributes"][0]["mlflow_run_id"] == attrs.manifest["mlflow_run_id"]


def test_summary_ignores_undefined_values(tmp_path):
    from curation.attribute_stage import _summary
    from curation.attributes import part_name
    from curation.destination import Destination

    # "||" is a real page line (487 of them in labels/line-quality-en): ingest keeps it, it has no words.
    texts = ["||", "Don’t let the name fool you – these Acuras are practically brand new."]
    producer = HeuristicSignals()
    values = producer.compute(pa.table({"id": ["a", "b"], "text": texts}))
    assert math.isnan(values["doc_unigram_entropy"][0]) and math.isfinite(values["doc_unigram_entropy"][1])
    schema = producer.output_schema()
    columns = [pa.array(["a", "b"])] + [pa.array(values[f.name], type=f.type) for f in schema]
    pq.write_table(pa.Table.from_arrays(columns, names=["id", *schema.names]), tmp_path / part_name(0))
    summary = _summary(Destination(tmp_path), 1, schema)
    json.dumps(summary, allow_nan=False)  # manifest.json must stay strict JSON
    assert summary["doc_unigram_entropy"]["mean"] == pytest.approx(values["doc_unigram_entropy"][1])
    assert summary["doc_unigram_entropy"]["undefined"] == 1
