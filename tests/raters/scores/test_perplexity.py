"""Proxy perplexity: a tiny byte-level proxy trained on real Wikipedia finds held-out Wikipedia less
surprising than C4 and than corrupted Wikipedia; trained and scored through the CLI."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from tests.helpers import run_curate
from tests.raters.scores.conftest import write_corpus, write_jsonl


@pytest.fixture
def one_torch_thread():
    """On two shared cores, two torch threads made training take twice as long as one."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_train_then_score_through_spark(wikipedia, c4, tmp_path, one_torch_thread):
    """Trained for 150k byte tokens (36 optimizer steps, tiny preset) on about 200 real articles (held-out bpb
    4.49). Measured on 60 unseen articles, 60 C4 documents and the same 60 articles with 20% of their
    characters replaced (all cut to 1,000 characters): mean bpb 4.52 (Wikipedia) < 4.62 (C4) < 5.59
    (corrupted); AUC of -bpb, Wikipedia vs corrupted 1.00, vs C4 0.60 (a proxy this small learns spelling far
    better than style). Training runs in this process (a CLI process would add ~10 s of imports); scoring
    runs through `curate raters perplexity score` on Spark. Without MLflow: its first use (import, creating the
    sqlite store) costs ~12 s here, and the other raters' CLI tests check the run ids of the same code path."""
    from sklearn.metrics import roc_auc_score

    from curation.errors import ConfigError
    from curation.text.corruption import characters
    from raters.perplexity.model import ProxyPerplexity
    from raters.perplexity.training import run_perplexity_train

    write_jsonl(tmp_path / "wiki.jsonl", [t[:3000] for t in wikipedia[:250]])
    records = [{"id": f"wiki-{i}", "text": t[:1000]} for i, t in enumerate(wikipedia[2000:2010])]
    records += [{"id": f"c4-{i}", "text": t[:1000]} for i, t in enumerate(c4[:10])]
    records.append({"id": "empty", "text": ""})
    write_corpus(tmp_path / "corpus", records)

    with pytest.raises(ConfigError, match="unknown proxy size 'huge'"):
        run_perplexity_train(str(tmp_path / "wiki.jsonl"), tmp_path / "m", size="huge", tracking=False)
    result = run_perplexity_train(
        str(tmp_path / "wiki.jsonl"), tmp_path / "model", tokens=150_000, heldout_fraction=0.03, device="cpu",
        tracking=False,
    )  # fmt: skip
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics == result.metrics and 3 < metrics["heldout_bpb"] < 6, metrics  # untrained: log2(258) = 8.0
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["perplexity"]["size"] == "tiny" and config["perplexity"]["steps"] == 36
    assert config["tokenizer"] == {"kind": "bytes", "vocab_size": 258}

    score = run_curate(
        "raters", "perplexity", "score", "corpus", "--model", "model", "--out", "attrs/perplexity",
        "--master", "local[1]", "--no-tracking", cwd=tmp_path,
    )  # fmt: skip
    assert score.returncode == 0, score.stderr[-2000:]
    assert "proxy_bpb: mean" in score.stdout and "1 undefined" in score.stdout

    from curation.attributes import AttributeSet

    attributes = AttributeSet.open(tmp_path / "attrs" / "perplexity")
    assert attributes.columns == ["proxy_bpb"] and attributes.manifest["config"]["model_checksum"]
    table = attributes.read()
    assert str(table.schema.field("proxy_bpb").type) == "float"
    scored = dict(zip(table.column("id").to_pylist(), table.column("proxy_bpb").to_pylist(), strict=True))
    assert np.isnan(scored.pop("empty"))

    # The saved model, loaded without Spark: held-out Wikipedia vs C4 vs corrupted Wikipedia.
    rater = ProxyPerplexity.load(tmp_path / "model")
    assert scored["wiki-0"] == np.float32(rater.score([wikipedia[2000][:1000]])[0])
    held = [t[:1000] for t in wikipedia[1000:1060]]
    rng = random.Random(0)
    corrupted = [characters(t, 0.2, rng) for t in held]
    wiki, web, noisy = rater.score(held), rater.score([t[:1000] for t in c4[100:160]]), rater.score(corrupted)
    assert wiki.mean() < web.mean() < noisy.mean(), (wiki.mean(), web.mean(), noisy.mean())
    labels = np.r_[np.ones(60), np.zeros(60)]
    assert roc_auc_score(labels, -np.r_[wiki, noisy]) > 0.95
    assert roc_auc_score(labels, -np.r_[wiki, web]) > 0.5


def test_score_refuses_a_folder_without_a_model(tmp_path):
    from curation.errors import ConfigError
    from raters.perplexity.scoring import PerplexityScores

    with pytest.raises(ConfigError, match="not a proxy model .*curate raters perplexity train"):
        PerplexityScores(tmp_path)
    with pytest.raises(ConfigError, match="--device 'gpu'"):
        PerplexityScores(tmp_path, device="gpu")
