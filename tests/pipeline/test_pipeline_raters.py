"""`curate run` with quality raters and signal thresholds in its config: a DSIR model trained beforehand scores
the corpus in its own stage, the select rule reads its column, a retrained model is scored again, thresholds
reach datatrove's filters; bad settings fail in one line before any work. Runs in this process (the Python API)."""

from __future__ import annotations

import gzip
import json
from itertools import islice
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from curation.errors import ConfigError
from tests.conftest import shared

FORTY_WORDS = (
    "The village library opened a new reading room this spring, and the volunteers who run it say that more "
    "families now come on weekday evenings. They plan to add a small section of local history books, maps and "
    "photographs donated by residents over the years."
)  # 40 words: kept by Gopher quality at min_doc_words 30, dropped at datatrove's default of 50


def read_jsonl_gz(relative: str, count: int) -> list[dict]:
    with gzip.open(shared(relative), "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in islice(fh, count)]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """Inputs (C4 pages, Wikipedia articles, a 40-word page) and a DSIR model, Wikipedia against C4."""
    from raters.dsir.fitting import run_dsir_fit

    root = tmp_path_factory.mktemp("pipeline-raters")
    c4 = read_jsonl_gz("web/c4-en-sample-1000.jsonl.gz", 160)
    wiki = read_jsonl_gz("reference/enwiki-6514-articles.jsonl.gz", 140)
    (root / "inputs").mkdir()
    docs = [{"id": f"c4-{i}", "text": r["text"]} for i, r in enumerate(c4[:60])]
    docs += [{"id": f"wiki-{i}", "text": r["text"][:3000]} for i, r in enumerate(wiki[:40])]
    docs.append({"id": "forty-words", "text": FORTY_WORDS})
    (root / "inputs" / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (root / "target.jsonl").write_text("".join(json.dumps({"text": r["text"][:4000]}) + "\n" for r in wiki[40:]))
    (root / "raw.jsonl").write_text("".join(json.dumps({"text": r["text"]}) + "\n" for r in c4[60:]))
    run_dsir_fit([str(root / "target.jsonl")], [str(root / "raw.jsonl")], root / "models" / "dsir",
                 buckets=2000, tracking=False)  # fmt: skip
    return root


def write_config(root: Path, **sections) -> Path:
    config = {
        "name": "raters",
        "ingest": {"inputs": ["inputs/docs.jsonl"], "shards": 2, "langid": False},
        "signals": {"thresholds": {"gopher_quality": {"min_doc_words": 30}}},
        "raters": {"wiki_dsir": {"kind": "dsir", "model": "models/dsir"}},
        "select": {"rule": ["dsir_log_ratio > 0"]},
        "report": False,
        **sections,
    }
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def column(attribute_set: Path, name: str) -> dict[str, object]:
    rows = {}
    for part in sorted(attribute_set.glob("part-*.parquet")):
        table = pq.read_table(part, columns=["id", name]).to_pydict()
        rows.update(zip(table["id"], table[name], strict=True))
    return rows


def test_a_rater_scores_in_its_own_stage_and_the_rule_reads_it(root, spark, tmp_path):
    from datatrove.data import Document
    from datatrove.pipeline.filters import GopherQualityFilter

    from pipelines.api import run

    config, work = write_config(root), tmp_path / "work"
    result = run(config, workdir=work, tracking=False)
    assert result.counts["ran"] == ["ingest", "signals", "score_wiki_dsir", "select"]

    scores = column(work / "attributes" / "wiki_dsir", "dsir_log_ratio")
    assert len(scores) == 101
    wiki_high = sum(scores[f"wiki-{i}"] > 0 for i in range(40))
    c4_high = sum(scores[f"c4-{i}"] > 0 for i in range(60))
    assert wiki_high >= 36 and c4_high <= 20, (wiki_high, c4_high)  # the model tells the sources apart
    curated = json.loads((work / "curated" / "manifest.json").read_text())
    assert curated["counts"]["documents"] == sum(score > 0 for score in scores.values())

    # the threshold reached datatrove: the verdicts are those of GopherQualityFilter(min_doc_words=30)
    verdicts = column(work / "attributes" / "signals", "gopher_quality_pass")
    texts = {json.loads(line)["id"]: json.loads(line)["text"] for line in (root / "inputs" / "docs.jsonl").open()}
    gopher = GopherQualityFilter(min_doc_words=30)
    expected = {doc_id: bool(gopher.filter(Document(text=text, id=doc_id)) is True) for doc_id, text in texts.items()}
    assert verdicts == expected and verdicts["forty-words"] is True
    assert GopherQualityFilter().filter(Document(text=FORTY_WORDS, id="x")) is not True  # the default drops it
    manifest = json.loads((work / "attributes" / "signals" / "manifest.json").read_text())
    assert manifest["config"]["thresholds"] == {"gopher_quality": {"min_doc_words": 30}}

    again = run(config, workdir=work, tracking=False)
    assert again.counts["ran"] == [] and set(again.counts["stages"].values()) == {"skipped"}

    from curation import api  # the report of the run, from Python

    report = api.report(work, tracking=False)
    assert report.path == work / "report" / "report.html" and "score_wiki_dsir" in report.path.read_text()

    # a model retrained in place is scored again; the signals are not recomputed
    from raters.dsir.fitting import run_dsir_fit

    run_dsir_fit([str(root / "target.jsonl")], [str(root / "raw.jsonl")], root / "models" / "dsir", buckets=3000,
                 tracking=False, overwrite=True)  # fmt: skip
    retrained = run(config, workdir=work, tracking=False)
    assert retrained.counts["ran"] == ["score_wiki_dsir", "select"]


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"signals": {"thresholds": {"gopher_quality": {"min_words": 30}}}},
         "GopherQualityFilter has no setting 'min_words'"),
        ({"signals": {"thresholds": {"gopher": {"min_doc_words": 30}}}}, "no filter 'gopher'"),
        ({"raters": {"wiki_dsir": {"kind": "dsir", "model": "models/none"}}}, "models/none"),
        ({"raters": {"a": {"kind": "dsir", "model": "models/dsir"}, "b": {"kind": "dsir", "model": "models/dsir"}}},
         "raters a and b both write the column 'dsir_log_ratio'"),
        ({"raters": {"signals": {"kind": "dsir", "model": "models/dsir"}}}, "'signals' is the attribute set"),
        ({"raters": {"Wiki": {"kind": "dsir", "model": "models/dsir"}}}, "'Wiki' is not a name"),
        ({"raters": {"wiki": {"kind": "bert", "model": "models/dsir"}}}, "raters.wiki.kind"),
    ],
)  # fmt: skip
def test_a_bad_threshold_or_rater_fails_before_any_work(root, tmp_path, sections, message):
    from pipelines.api import run

    config, work = write_config(root, **sections), tmp_path / "work"
    with pytest.raises(ConfigError) as caught:
        run(config, workdir=work, tracking=False)
    assert message in str(caught.value) and "\n" not in str(caught.value), str(caught.value)
    assert not (work / "corpus").exists()  # nothing ingested


def test_threshold_options_of_curate_signals():
    from curation.signals.heuristics import HeuristicSignals, parse_threshold_options

    options = [
        "gopher_quality.min_doc_words=30",
        "fineweb_quality.short_line_thr=0.8",
        "c4_quality.filter_policy=false",
    ]
    thresholds = parse_threshold_options(options)
    assert thresholds == {
        "gopher_quality": {"min_doc_words": 30},
        "fineweb_quality": {"short_line_thr": 0.8},
        "c4_quality": {"filter_policy": False},
    }
    producer = HeuristicSignals(thresholds=thresholds)
    assert producer.config()["thresholds"] == thresholds
    assert "min_doc_words=30" in producer.descriptions()["gopher_quality_pass"]
    assert "thresholds" not in HeuristicSignals().config()  # the defaults keep existing sets' identity
    with pytest.raises(ConfigError, match="FILTER.SETTING=VALUE"):
        parse_threshold_options(["min_doc_words=30"])
