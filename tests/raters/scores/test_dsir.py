"""DSIR: the feature definition by hand, hashing stable across processes, Wikipedia vs C4 on real text, CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import run_curate
from tests.raters.scores.conftest import write_corpus, write_jsonl


def test_features_match_a_hand_computed_example():
    from raters.dsir.features import HashedNgrams, ngrams, words

    text = "The cat, the CAT."
    tokens = ["the", "cat", ",", "the", "cat", "."]  # lowercased; punctuation runs are tokens (WordPunct)
    assert words(text) == tokens
    grams = ngrams(tokens)
    assert grams == [*tokens, "the cat", "cat ,", ", the", "the cat", "cat ."]  # 6 unigrams + 5 bigrams

    buckets = 7
    expected = np.zeros(buckets, dtype=np.int64)
    for gram in grams:  # DSIR's own expression: int(sha256(ngram).hexdigest(), 16) % num_buckets
        expected[int(hashlib.sha256(gram.encode("utf-8")).hexdigest(), 16) % buckets] += 1
    assert HashedNgrams(buckets).counts(text).tolist() == expected.tolist()
    assert HashedNgrams(buckets).counts(text).sum() == 11
    assert words("Ünïcode wörds—and 3.5 numbers!") == ["ünïcode", "wörds", "—", "and", "3", ".", "5", "numbers", "!"]
    assert HashedNgrams(buckets).counts("").sum() == 0


def test_hashing_is_the_same_in_every_process():
    from raters.dsir.features import HashedNgrams, bucket

    text = "Anarchism is a political philosophy; it advocates self-governed voluntary institutions."
    here = HashedNgrams(10_000).indices(text).tolist()
    assert bucket("the", 10_000) == 8288 and bucket("the cat", 10_000) == 143  # pinned: a change breaks models
    code = f"from raters.dsir.features import HashedNgrams; print(HashedNgrams(10_000).indices({text!r}).tolist())"
    for salt in ("1", "2"):  # Python's str hash() would differ between these two processes
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONHASHSEED": salt}, check=True
        )
        assert json.loads(proc.stdout) == here


def test_batch_features_are_the_text_at_a_time_ones(wikipedia, c4, monkeypatch):
    """`indices_of_many` (Arrow joins the bigrams and finds the batch's distinct n-grams) gives every text the
    same bucket sequence as `indices`, hence the same scores: on real text, on generated text with empty and
    one-token texts in between, with buckets read back from the cache, and across batches and cache clears.
    A lone surrogate (which UTF-8 cannot encode) is refused by both."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    import raters.dsir.features as features
    import raters.dsir.model as model
    from raters.dsir.features import HashedNgrams, bucket, buckets_of

    def same(texts, buckets=10_000):
        one_by_one, batched = HashedNgrams(buckets), HashedNgrams(buckets)
        expected = [one_by_one.indices(text) for text in texts]
        for got in (
            batched.indices_of_many(texts),  # every n-gram new
            batched.indices_of_many(texts),  # every bucket from the cache
            one_by_one.indices_of_many(texts[::-1])[::-1],  # the cache filled by `indices`
        ):
            assert len(got) == len(texts)
            assert all(g.dtype == np.int64 and np.array_equal(g, e) for g, e in zip(got, expected, strict=True))

    same([*c4[:300], "", "word", " . ", *wikipedia[:100], "", "ünï—code wörds", "a b"])
    same(["x", "", "y z"], buckets=7)
    same(["", ""])
    same([])
    with pytest.raises(UnicodeEncodeError):
        HashedNgrams(10).indices("lone \ud800")
    with pytest.raises(UnicodeEncodeError):
        HashedNgrams(10).indices_of_many(["fine text", "lone \ud800 surrogate"])

    tokens = st.sampled_from(["the", "cat", ",", "Ünï", "3.5", "—", "!!", "a", "\n", "  ", "\t"])
    text = st.lists(st.one_of(tokens, st.text(max_size=6)), max_size=12).map(" ".join)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(text, max_size=6), st.sampled_from([1, 7, 10_000]))
    def generated(texts, buckets):
        same(texts, buckets)

    generated()

    grams = ["the", "the cat", "ünïcode", "—", ", the", ""]
    for buckets in (1, 7, 10_000, 2**31 + 11, 2**32 - 1, 2**32 + 5, 2**62):  # numpy's modulo, then Python's
        assert buckets_of(grams, buckets).tolist() == [bucket(g, buckets) for g in grams], buckets
    assert buckets_of([], 10).tolist() == []
    with pytest.raises(ValueError, match="at least 1"):
        buckets_of(grams, 0)

    # Batches of 3 texts and a cache of 50 n-grams: fitting and scoring cross batches and empty the cache often.
    monkeypatch.setattr(features, "BATCH_TEXTS", 3)
    monkeypatch.setattr(model, "BATCH_TEXTS", 3)
    monkeypatch.setattr(HashedNgrams, "CACHE_LIMIT", 50)
    texts = [t[:300] for t in c4[:10]] + ["", "one"]
    counted = HashedNgrams(64)
    assert np.array_equal(HashedNgrams(64).total_counts(iter(texts)), sum(counted.counts(t) for t in texts))
    fitted = model.DsirModel.fit([t[:500] for t in wikipedia[:7]], texts, buckets=64)
    ratio = fitted.log_ratio
    assert fitted.score(texts).tolist() == [ratio[counted.indices(t)].sum() for t in texts]


def test_score_is_the_smoothed_log_ratio_and_survives_save_and_load(tmp_path):
    from raters.dsir.features import HashedNgrams
    from raters.dsir.model import DsirModel

    target, raw = ["the cat sat on the mat"] * 3, ["buy cheap pills now", "the best pills online"]
    model = DsirModel.fit(target, raw, buckets=64, smoothing=1.0)
    features = HashedNgrams(64)
    t, r = features.total_counts(target), features.total_counts(raw)
    log_ratio = np.log((t + 1) / (t.sum() + 64)) - np.log((r + 1) / (r.sum() + 64))
    doc = "the cat bought pills"
    assert model.score([doc])[0] == pytest.approx(features.counts(doc) @ log_ratio)
    assert model.score([""])[0] == 0.0
    assert model.score(["the cat sat"])[0] > 0 > model.score(["cheap pills online"])[0]
    model.save(tmp_path / "m")
    again = DsirModel.load(tmp_path / "m")
    assert again.buckets == 64 and np.array_equal(again.score([doc, "x"]), model.score([doc, "x"]))


def test_held_out_wikipedia_scores_above_c4(wikipedia, c4):
    """Fit on 1,000 articles vs 700 C4 documents; score 300 other articles and the other 300 C4 documents.
    Both sides are cut to their first 2,000 characters, so the comparison is not about length (the score
    is a sum over n-grams). Measured AUC: 0.983 (add-one smoothing, 10,000 buckets)."""
    from sklearn.metrics import roc_auc_score

    from raters.dsir.model import DsirModel

    model = DsirModel.fit([t[:4000] for t in wikipedia[:1000]], c4[:700])
    held_wiki, held_c4 = [t[:2000] for t in wikipedia[1000:1300]], [t[:2000] for t in c4[700:]]
    scores = model.score(held_wiki + held_c4)
    auc = roc_auc_score(np.r_[np.ones(len(held_wiki)), np.zeros(len(held_c4))], scores)
    assert auc > 0.95, auc


def test_fit_and_score_from_the_cli(wikipedia, c4, tmp_path):
    from curation.errors import ConfigError
    from raters.dsir.fitting import run_dsir_fit

    write_jsonl(tmp_path / "wiki.jsonl", [t[:4000] for t in wikipedia[:300]])
    write_jsonl(tmp_path / "c4.jsonl", c4[:300])
    records = [{"id": f"wiki-{i}", "text": t[:2000]} for i, t in enumerate(wikipedia[2000:2010])]
    records += [{"id": f"c4-{i}", "text": t[:2000]} for i, t in enumerate(c4[900:910])]
    records.append({"id": "empty", "text": ""})
    write_corpus(tmp_path / "corpus", records)

    missing = run_curate(
        "raters", "dsir", "fit", "--target", "nope.jsonl", "--raw", "c4.jsonl", "--out", "m", cwd=tmp_path
    )
    assert (
        missing.returncode == 2
        and missing.stderr.strip() == "curate: error: nope.jsonl: no such file or corpus directory"
    )

    fit = run_curate(
        "raters", "dsir", "fit", "--target", "wiki.jsonl", "--raw", "c4.jsonl", "--out", "model", cwd=tmp_path
    )
    assert fit.returncode == 0, fit.stderr[-2000:]
    assert "held-out AUC (target vs raw)" in fit.stderr
    config = json.loads((tmp_path / "model" / "dsir.json").read_text())
    assert config["buckets"] == 10_000 and config["smoothing"] == 1.0 and config["mlflow_run_id"]
    assert json.loads((tmp_path / "model" / "metrics.json").read_text())["heldout_auc"] > 0.9
    with pytest.raises(ConfigError, match="already holds a DSIR model; pass --overwrite"):
        run_dsir_fit([str(tmp_path / "wiki.jsonl")], [str(tmp_path / "c4.jsonl")], tmp_path / "model", tracking=False)

    score = run_curate(
        "raters",
        "dsir",
        "score",
        "corpus",
        "--model",
        "model",
        "--out",
        "attrs/dsir",
        "--master",
        "local[1]",
        cwd=tmp_path,
    )
    assert score.returncode == 0, score.stderr[-2000:]
    assert "dsir_log_ratio: mean" in score.stdout

    from curation.attributes import AttributeSet

    attributes = AttributeSet.open(tmp_path / "attrs" / "dsir")
    assert attributes.columns == ["dsir_log_ratio"] and attributes.manifest["mlflow_run_id"]
    table = attributes.read()
    assert str(table.schema.field("dsir_log_ratio").type) == "float"
    scores = dict(zip(table.column("id").to_pylist(), table.column("dsir_log_ratio").to_pylist(), strict=True))
    assert scores["empty"] == 0.0
    wiki = np.mean([s for k, s in scores.items() if k.startswith("wiki")])
    web = np.mean([s for k, s in scores.items() if k.startswith("c4")])
    assert wiki > web, (wiki, web)
