"""The corruption sanity check (the paper's Fig. 3), CI-sized: a rater meta-learned on real Wikipedia
articles with known per-document noise learns to score noisier text lower. The full version, with four
kinds of corruption and more steps, is ``benchmarks/datarater.py``."""

from __future__ import annotations

import random

import numpy as np

from curation.proxy.packing import document_windows, pack_documents
from curation.proxy.text_source import read_text_source
from curation.proxy.tokenizer import ByteTokenizer
from curation.text.corruption import characters
from raters.datarater.meta import DataRaterConfig, MetaTrainer, spearman
from tests.conftest import shared

LEVELS = [0.0, 0.25, 0.5, 0.75, 1.0]


def test_scores_fall_with_noise_after_meta_training():
    articles = read_text_source(str(shared("reference/enwiki-6514-articles.jsonl.gz")), max_bytes=400_000, seed=5)
    heldout_texts, train_texts = articles.texts[:8], articles.texts[8:]
    rng = random.Random(0)
    noise = np.array([LEVELS[i % len(LEVELS)] for i in range(len(train_texts))])
    noisy = [characters(text, level, rng) for text, level in zip(train_texts, noise, strict=True)]

    tok = ByteTokenizer()
    cfg = DataRaterConfig(
        seq_len=64, population=2, unroll=2, inner_batch=8, outer_batch=8, rater_d_model=32, rater_layers=1,
        outer_steps=10, outer_warmup=5, lifetime=20,
    )  # fmt: skip
    rows, owners = document_windows(tok.encode_batch(noisy), 64, tok.eod_id, tok.pad_id, tok.token_bytes())
    heldout = pack_documents(tok.encode_batch(heldout_texts), 64, tok.eod_id, tok.pad_id, tok.token_bytes())
    trainer = MetaTrainer(cfg, rows, heldout, tok.vocab_size)
    probe = np.random.default_rng(0).choice(rows.num_rows, 300, replace=False)
    probe_noise = noise[owners][probe]

    correlations = [spearman(trainer.score_rows(rows.rows[probe]), -probe_noise)]
    for _ in range(2):
        for _ in range(5):
            metrics = trainer.outer_step()
            assert np.isfinite(metrics["outer_loss"]) and np.isfinite(metrics["meta_grad_norm"])
        correlations.append(spearman(trainer.score_rows(rows.rows[probe]), -probe_noise))
    assert correlations[0] == 0.0  # the untrained rater scores everything alike
    assert correlations[-1] > 0.6, correlations
    scores = trainer.score_rows(rows.rows[probe])
    assert scores[probe_noise == 0.0].mean() > scores[probe_noise == 1.0].mean()
