"""A saved rater as a datatrove pipeline step (raters.datatrove_filter), in a real datatrove pipeline."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from curation.errors import ConfigError


def _read_jsonl(folder):
    docs = []
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            docs += [json.loads(line) for line in fh]
    return docs


def test_rater_filter_keeps_wikipedia_drops_c4_and_records_scores_in_a_datatrove_pipeline(
    fasttext_folder, wikipedia, c4, tmp_path
):
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    from raters.datatrove_filter import RaterFilter
    from raters.text_scorer import load_scorer

    held_out = [("wiki", t[:2000]) for t in wikipedia[300:400]] + [("c4", t) for t in c4[300:400]]
    (tmp_path / "in").mkdir()
    for part in range(2):  # two files: two datatrove tasks
        with open(tmp_path / "in" / f"part-{part}.jsonl", "w", encoding="utf-8") as fh:
            for i, (kind, text) in enumerate(held_out[part::2]):
                fh.write(json.dumps({"id": f"{kind}-{part}-{i}", "text": text}) + "\n")
    step = RaterFilter(fasttext_folder, threshold=0.5, batch_size=16,
                       exclusion_writer=JsonlWriter(str(tmp_path / "dropped")))  # fmt: skip
    assert step.keep == "at_least" and step.score_key == "fasttext_quality"
    LocalPipelineExecutor(
        pipeline=[JsonlReader(str(tmp_path / "in")), step, JsonlWriter(str(tmp_path / "kept"))],
        tasks=2,
        workers=2,
        logging_dir=str(tmp_path / "logs"),
    ).run()  # fmt: skip  (two worker processes: the step is pickled without its model and loads it there)

    kept, dropped = _read_jsonl(tmp_path / "kept"), _read_jsonl(tmp_path / "dropped")
    assert len(kept) + len(dropped) == len(held_out)  # nothing lost
    kind = lambda doc: doc["id"].split("-")[0]  # noqa: E731
    kept_wiki = sum(kind(d) == "wiki" for d in kept) / 100
    kept_c4 = sum(kind(d) == "c4" for d in kept) / 100
    assert kept_wiki > 0.8 and kept_c4 < 0.3, (kept_wiki, kept_c4)
    # Every kept document carries its score, equal to the rater's own score of its text.
    scorer = load_scorer(fasttext_folder)
    scores = scorer.score([d["text"] for d in kept])
    np.testing.assert_allclose([d["metadata"]["fasttext_quality"] for d in kept], scores, rtol=1e-6)
    assert (scores >= 0.5).all()
    assert {d["metadata"]["filter_reason"] for d in dropped} == {"score_below_threshold"}


def test_rater_filter_rules_and_errors(fasttext_folder, tmp_path):
    from datatrove.data import Document

    from raters.datatrove_filter import RaterFilter
    from raters.text_scorer import load_scorer

    docs = [Document(text=t, id=str(i)) for i, t in enumerate(["The history of the city is long.", "buy now!!!"])]
    scores = load_scorer(fasttext_folder).score([d.text for d in docs])
    # A text the rater cannot score (no words; datatrove's readers skip empty ones) is dropped as unscored.
    assert RaterFilter(fasttext_folder, threshold=0.0).filter(Document(text=" \n ", id="blank")) == (False, "unscored")
    middle = float(scores.mean())
    at_most = RaterFilter(fasttext_folder, threshold=middle, keep="at_most", score_key="q")
    results = at_most.filter_batch(docs)
    assert [r is True for r in results] == list(scores <= middle) and docs[0].metadata["q"] == scores[0]
    assert {r[1] for r in results if r is not True} == {"score_above_threshold"}
    with pytest.raises(ConfigError, match="keep must be one of at_least, at_most"):
        RaterFilter(fasttext_folder, threshold=0.5, keep="above")
    with pytest.raises(ConfigError, match="finite"):
        RaterFilter(fasttext_folder, threshold=float("nan"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="not a saved rater"):
        RaterFilter(tmp_path / "empty", threshold=0.5)
    with pytest.raises(ConfigError, match="no such model folder"):
        load_scorer(tmp_path / "missing")


def test_every_kind_of_saved_rater_loads_as_a_scorer(wikipedia, c4, tmp_path):
    from raters.dsir.model import DsirModel
    from raters.text_scorer import load_scorer

    DsirModel.fit([t[:4000] for t in wikipedia[:200]], c4[:200]).save(tmp_path / "dsir")
    dsir = load_scorer(tmp_path / "dsir")
    assert (dsir.kind, dsir.column, dsir.lower_is_better) == ("dsir", "dsir_log_ratio", False)
    wiki, web = dsir.score([wikipedia[500][:2000]]), dsir.score([c4[500]])
    assert wiki.dtype == np.float64 and wiki[0] > web[0]
