"""`curate datarater train | score | filter` on real Wikipedia articles, half of them corrupted."""

from __future__ import annotations

import json

import pytest
import torch

from tests.helpers import run_curate, write_corrupted_articles

SMALL = {
    "seq_len": 64,
    "population": 2,
    "inner_batch": 8,
    "outer_batch": 8,
    "rater_d_model": 32,
    "rater_layers": 1,
    "outer_warmup": 5,
    "lifetime": 20,
}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """60 real articles cut to 3 kB; odd ones have 60% of their characters replaced (url says which)."""
    root = tmp_path_factory.mktemp("datarater")
    write_corrupted_articles(root / "mixed.jsonl", seed=11)
    (root / "small.yaml").write_text("".join(f"{k}: {v}\n" for k, v in SMALL.items()))
    return root


def test_meta_training_resumes_to_the_same_rater(mixed, tmp_path):
    from raters.datarater.meta import DataRaterConfig
    from raters.datarater.training import run_datarater_train

    data = str(mixed / "mixed.jsonl")
    straight = run_datarater_train(data, tmp_path / "a", DataRaterConfig(**SMALL, outer_steps=6), tracking=False)
    first = run_datarater_train(data, tmp_path / "b", DataRaterConfig(**SMALL, outer_steps=3), tracking=False)
    resumed = run_datarater_train(data, tmp_path / "b", DataRaterConfig(**SMALL, outer_steps=6), tracking=False)
    assert first.trainer.step == 3 and resumed.resumed_from == 3 and resumed.trainer.step == 6
    for (name, a), (_, b) in zip(
        straight.trainer.rater.state_dict().items(), resumed.trainer.rater.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    assert [p["outer_loss"] for p in resumed.curve] == [p["outer_loss"] for p in straight.curve]
    with pytest.raises(Exception, match="another corpus or config"):
        run_datarater_train(
            data, tmp_path / "b", DataRaterConfig(**{**SMALL, "unroll": 1}, outer_steps=6), tracking=False
        )


def test_train_score_filter_from_the_cli(mixed):
    cwd = mixed
    steps = [
        ("ingest", "mixed.jsonl", "--out", "corpus", "--shards", "2"),
        ("datarater", "train", "--train", "corpus", "--out", "model", "--config", "small.yaml", "--steps", "12"),
        ("datarater", "score", "corpus", "--model", "model", "--out", "attrs/datarater"),
        ("datarater", "filter", "corpus", "--scores", "attrs/datarater", "--out", "kept", "--rho", "0.5"),
    ]
    outputs = {}
    for args in steps:
        proc = run_curate(*args, cwd=cwd, timeout=600)
        assert proc.returncode == 0, f"{args}: {proc.stderr[-2000:]}"
        outputs[args[1] if args[0] == "datarater" else args[0]] = proc
    assert "outer step 12/12: outer loss" in outputs["train"].stderr
    assert "datarater_keep" in outputs["filter"].stdout  # the funnel
    rater = json.loads((cwd / "model" / "rater.json").read_text())
    assert rater["format"] == "curation.datarater/v1" and rater["outer_steps"] == 12 and rater["mlflow_run_id"]
    assert "eps_root" in rater["deviations"]

    from curation.corpus import Corpus

    kept = Corpus.open(cwd / "kept")
    urls = kept.read_documents(["url"]).column("url").to_pylist()
    clean_share = sum("noisy" not in u for u in urls) / len(urls)
    assert 20 <= len(urls) <= 40  # about half of 60
    assert clean_share > 0.8, urls
    rejects = kept.read_rejects()
    assert rejects.num_rows + len(urls) == 60
    assert set(rejects.column("detail").to_pylist()) == {"clause 1: datarater_keep"}

    manifest = json.loads((cwd / "attrs" / "datarater" / "manifest.json").read_text())
    assert manifest["columns"][0]["name"] == "datarater_score" and manifest["mlflow_run_id"]

    report = run_curate("datarater", "report", "corpus", "--scores", "attrs/datarater", "--out", "report", cwd=cwd)
    assert report.returncode == 0, report.stderr[-2000:]
    learned = json.loads((cwd / "report" / "report.json").read_text())
    assert learned["sample"] == 60 and learned["heuristics_r2"] is None  # 60 rows for 13 coefficients: too few
    assert set(learned["spearman_with_score"]) >= {"doc_frac_no_alph_words", "log_bytes"}
    assert all("?noisy" in d["url"] for d in learned["lowest"][:3])
    text = (cwd / "report" / "report.md").read_text()
    assert "## Lowest scored" in text and "not computed (too few documents)" in text

    batch = run_curate(
        "datarater", "filter", "corpus", "--scores", "attrs/datarater", "--out", "kept-batch",
        "--rho", "0.5", "--mode", "batch", "--batch-size", "5", cwd=cwd, timeout=600,
    )  # fmt: skip
    assert batch.returncode == 0, batch.stderr[-2000:]
    assert Corpus.open(cwd / "kept-batch").num_documents == 30


def test_score_refuses_a_directory_without_a_model(mixed):
    proc = run_curate("datarater", "score", str(mixed), "--model", str(mixed), "--out", str(mixed / "x"), cwd=mixed)
    assert proc.returncode != 0
    assert "not a trained DataRater" in proc.stderr.strip().splitlines()[-1]


def test_config_file_keys_are_checked(tmp_path):
    from curation.errors import ConfigError
    from raters.datarater.training import load_config

    good = tmp_path / "good.yaml"
    good.write_text("population: 3\nunroll: 4\n")
    cfg = load_config(good, {"outer_steps": 7, "seed": None})
    assert (cfg.population, cfg.unroll, cfg.outer_steps, cfg.seed) == (3, 4, 7, 0)
    bad = tmp_path / "bad.yaml"
    bad.write_text("populaton: 3\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown DataRater setting\(s\) \['populaton'\]"):
        load_config(bad, {})
    with pytest.raises(ConfigError, match="unroll"):
        load_config(None, {"unroll": 0})
