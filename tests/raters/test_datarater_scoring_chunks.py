"""DataRater scoring a chunk of text at a time: every text scored once, in order, and chunking changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from curation.proxy.config import ProxyConfig
from curation.proxy.tokenizer import ByteTokenizer
from raters.datarater.model import RaterTransformer
from raters.datarater.scoring import score_texts, text_chunks


def test_chunks_cover_every_text_in_order_within_the_budget():
    texts = ["aaaa", "bb", "é" * 3, "", "c" * 20, "d", "ee"]  # "é" is 2 UTF-8 bytes: 6 bytes
    chunks = text_chunks(texts, chunk_bytes=8)
    assert chunks == [(0, 2), (2, 4), (4, 5), (5, 7)]
    assert [i for a, b in chunks for i in range(a, b)] == list(range(len(texts)))
    for a, b in chunks:
        size = sum(len(t.encode("utf-8")) for t in texts[a:b])
        assert size <= 8 or b - a == 1  # only a text longer than the budget makes a chunk alone


def test_no_texts_no_chunks_and_one_chunk_when_all_fit():
    assert text_chunks([], 10) == []
    assert text_chunks(["ab", "cd"], 1 << 20) == [(0, 2)]


@pytest.fixture(scope="module")
def rater():
    tokenizer = ByteTokenizer()
    cfg = ProxyConfig(vocab_size=tokenizer.vocab_size, seq_len=16, d_model=16, n_layers=2, n_heads=2)
    model = RaterTransformer(cfg, tokenizer.pad_id, seed=0).eval()
    with torch.no_grad():  # a trained-looking head: the untrained one scores every window the same
        model.head.weight.copy_(torch.randn(model.head.weight.shape, generator=torch.Generator().manual_seed(1)))
    return model, tokenizer


def test_scores_do_not_depend_on_the_chunk_size(rater):
    model, tokenizer = rater
    rng = np.random.default_rng(0)
    words = ["data", "rater", "the", "of", "meta", "gradient", "ünïcode", "\n"]
    texts = [" ".join(rng.choice(words, size=rng.integers(0, 60))) for _ in range(40)] + ["", "x" * 500]
    whole = score_texts(model, tokenizer, texts, batch_size=8, chunk_bytes=1 << 40)
    for chunk_bytes in (1, 64, 300):
        chunked = score_texts(model, tokenizer, texts, batch_size=8, chunk_bytes=chunk_bytes)
        assert np.array_equal(np.isnan(whole), np.isnan(chunked))
        np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-5)
    assert np.isnan(whole[texts.index("")]) and np.isfinite(whole[-1])
    assert np.nanstd(whole) > 1e-3  # the scores differ between texts, so the comparison means something
