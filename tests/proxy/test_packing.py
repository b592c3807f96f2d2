"""Packing documents into sequences, byte accounting, tokenizers and text sources."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest
import torch

from curation.errors import ConfigError, InputNotFoundError
from curation.proxy.config import ProxyConfig
from curation.proxy.evaluate import bits_per_byte, document_bits_per_byte
from curation.proxy.model import ProxyLM
from curation.proxy.packing import document_windows, pack_documents
from curation.proxy.text_source import parse_named, read_text_source
from curation.proxy.tokenizer import BPETokenizer, ByteTokenizer, load_tokenizer, tokenizer_from_option

DOCS = ["héllo wörld", "a", "the third document is a little longer than the others"]


def _pack(docs, seq_len=8, tokenizer=None):
    tok = tokenizer or ByteTokenizer()
    return pack_documents(tok.encode_batch(docs), seq_len, tok.eod_id, tok.pad_id, tok.token_bytes())


def test_every_token_but_the_first_is_a_target_exactly_once():
    tok = ByteTokenizer()
    packed = _pack(DOCS)
    stream = [t for d in DOCS for t in [tok.eod_id, *tok.encode(d)]]
    targets = packed.rows[:, 1:].flatten()
    assert targets[targets != tok.pad_id].tolist() == stream[1:]
    assert torch.equal(packed.rows[1:, 0], packed.rows[:-1, -1])  # consecutive rows overlap by one token
    text_bytes = sum(len(d.encode()) for d in DOCS)
    assert packed.num_bytes == text_bytes + len(DOCS) - 1  # each later separator counts as one byte
    assert packed.num_targets == len(stream) - 1


def test_uniform_model_scores_log2_vocab_bits_per_byte():
    """With all-zero weights every id is equally likely: a byte-level model pays log2(258) per byte."""
    model = ProxyLM(ProxyConfig(seq_len=8, d_model=8, n_layers=1, n_heads=2))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    assert bits_per_byte(model, _pack(DOCS)) == pytest.approx(math.log2(258), rel=1e-6)
    per_doc = document_bits_per_byte(model, ByteTokenizer(), [*DOCS, ""])
    np.testing.assert_allclose(per_doc[:3], math.log2(258), rtol=1e-6)
    assert np.isnan(per_doc[3])


def test_document_windows_keep_documents_apart():
    tok = ByteTokenizer()
    windows, owners = document_windows(tok.encode_batch(DOCS), 8, tok.eod_id, tok.pad_id, tok.token_bytes())
    assert owners.tolist() == sorted(owners.tolist())
    for index, doc in enumerate(DOCS):
        mine = windows.row_bytes[torch.from_numpy(owners == index)].sum().item()
        assert mine == len(doc.encode())  # the opening separator is context, never a target


def test_bpe_tokenizer_trains_saves_loads_and_counts_bytes(tmp_path):
    texts = ["the cat sat on the mat, naïvely. " * 20, "日本語のテキスト and more text " * 10] * 5
    bpe = BPETokenizer.train(texts, vocab_size=300)
    assert bpe.vocab_size <= 300 and bpe.eod_id is not None
    sample = "the cat sat, naïve 日本語"
    ids = bpe.encode(sample)
    assert len(ids) < len(sample.encode())
    assert sum(bpe.token_bytes()[i] for i in ids) == len(sample.encode("utf-8"))
    bpe.save(tmp_path)
    loaded = load_tokenizer(bpe.describe(), tmp_path)
    assert loaded.encode(sample) == ids
    assert tokenizer_from_option(str(tmp_path)).encode(sample) == ids
    from tokenizers import Tokenizer, models, pre_tokenizers

    word_level = Tokenizer(models.BPE())
    word_level.pre_tokenizer = pre_tokenizers.Whitespace()
    with pytest.raises(ConfigError, match="byte-level"):
        BPETokenizer(word_level)  # its token strings are not one character per byte
    with pytest.raises(ConfigError, match="bpe:VOCAB"):
        tokenizer_from_option("bpe:many", texts)
    with pytest.raises(ConfigError):
        tokenizer_from_option(str(tmp_path / "missing.json"))


def test_bits_per_byte_is_comparable_across_tokenizers():
    """A uniform model over a BPE vocabulary pays log2(V) per token: fewer bits per byte than per byte-token."""
    texts = ["the cat sat on the mat " * 30] * 3
    bpe = BPETokenizer.train(texts, vocab_size=280)
    model = ProxyLM(ProxyConfig(vocab_size=bpe.vocab_size, seq_len=8, d_model=8, n_layers=1, n_heads=2))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    packed = _pack(texts, tokenizer=bpe)
    expected = packed.num_targets * math.log2(bpe.vocab_size) / packed.num_bytes
    assert bits_per_byte(model, packed) == pytest.approx(expected, rel=1e-6)
    assert expected < math.log2(258)


def test_text_sources(tmp_path):
    jsonl = tmp_path / "docs.jsonl.gz"
    lines = [json.dumps({"text": f"document {i} " * (i + 1)}) for i in range(50)]
    lines.insert(3, "{broken")
    lines.insert(7, json.dumps({"text": 5}))
    jsonl.write_bytes(gzip.compress("\n".join(lines).encode()))
    src = read_text_source(f"mine={jsonl}")
    assert src.name == "mine" and len(src.texts) == 50
    assert len(src.skipped) == 2 and "line 4" in src.skipped[0]

    sampled = read_text_source(str(jsonl), max_bytes=500, seed=1)
    assert sampled.name == "docs" and 500 <= sampled.num_bytes < src.num_bytes
    assert read_text_source(str(jsonl), max_bytes=500, seed=1).texts == sampled.texts
    assert read_text_source(str(jsonl), max_bytes=500, seed=2).texts != sampled.texts

    plain = tmp_path / "notes.txt"
    plain.write_text("first paragraph\nstill first\n\n  \nsecond one\n")
    assert read_text_source(str(plain)).texts == ["first paragraph\nstill first", "second one"]

    with pytest.raises(InputNotFoundError, match="nope"):
        read_text_source(str(tmp_path / "nope.jsonl"))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ConfigError, match="no documents"):
        read_text_source(str(empty))
    with pytest.raises(ConfigError, match="letters, digits"):
        parse_named("bad name!=x.txt")


def test_text_source_reads_a_corpus_directory(tmp_path):
    import pyarrow as pa

    from curation.corpus import MANIFEST_FORMAT, write_json_atomic, write_parquet_atomic
    from curation.schema import DOCUMENT_SCHEMA

    texts = [f"text number {i} " * (i % 7 + 1) for i in range(40)]
    rows = [{"id": str(i), "text": t, "n_bytes": len(t.encode())} for i, t in enumerate(texts)]
    for shard in range(2):
        table = pa.Table.from_pylist(rows[shard * 20 : (shard + 1) * 20], schema=DOCUMENT_SCHEMA)
        write_parquet_atomic(table, tmp_path / "c" / "shards" / f"part-{shard:05d}.parquet")
    shards = [{"path": f"shards/part-{i:05d}.parquet"} for i in range(2)]
    write_json_atomic(tmp_path / "c" / "manifest.json", {"format": MANIFEST_FORMAT, "shards": shards})
    assert read_text_source(str(tmp_path / "c")).texts == texts
    sample = read_text_source(str(tmp_path / "c"), max_bytes=300, seed=0)
    assert set(sample.texts) < set(texts) and sample.num_bytes >= 300
