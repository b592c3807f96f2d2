"""``curate datarater score``: the rater's score for every document, as an attribute set keyed by ``id``.

Runs through the shared attribute stage (one Spark task per shard, parts committed by rename, resumable).
Each Python worker loads the rater once. A document is cut into the rater's windows (``EOD`` + its
tokens, ``seq_len`` at a time); its score is the token-weighted mean of its windows' scores. Windows are
sorted by length and batched, each batch trimmed to its longest window (length bucketing), so short
documents cost little. GPU when one is visible: on Spark with GPU scheduling, the task's assigned GPU.

Memory is bounded by a budget, not by the batch: the documents of a batch are tokenized and windowed a chunk
at a time, consecutive documents up to ``CHUNK_TEXT_BYTES`` of UTF-8 text (a document longer than that is a
chunk of its own; ingest caps a text at ``max_text_mb``). Tokens as Python lists and windows as int64 cost
about 60 bytes per byte of text, so tokenizing a whole 1,024-row batch at once (as this did before) took
~250 MB for a typical 4.4 MB batch of web pages, more for batches of long pages. The forward passes use
PyTorch's CPU kernels, not oneDNN's, which are compiled and cached per input shape (``_without_onednn``).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from raters.saved_model_scores import SavedModelScores

SCORE_COLUMN = "datarater_score"


CHUNK_TEXT_BYTES = 1 << 20


def score_texts(
    rater, tokenizer, texts: list[str], batch_size: int = 64, device=None, chunk_bytes: int = CHUNK_TEXT_BYTES
) -> np.ndarray:
    """One score per text (NaN for an empty text), windows batched by length, ``chunk_bytes`` of text at a time."""
    scores = np.empty(len(texts), dtype=np.float64)
    for start, stop in text_chunks(texts, chunk_bytes):
        scores[start:stop] = _score_chunk(rater, tokenizer, texts[start:stop], batch_size, device)
    return scores


def text_chunks(texts: list[str], chunk_bytes: int) -> list[tuple[int, int]]:
    """``[start, stop)`` runs of consecutive texts holding at most ``chunk_bytes`` UTF-8 bytes (at least one text)."""
    chunks, start, size = [], 0, 0
    for index, text in enumerate(texts):
        length = len(text.encode("utf-8"))
        if index > start and size + length > chunk_bytes:
            chunks.append((start, index))
            start, size = index, 0
        size += length
    if start < len(texts):
        chunks.append((start, len(texts)))
    return chunks


def _score_chunk(rater, tokenizer, texts: list[str], batch_size: int, device) -> np.ndarray:
    import torch

    from curation.proxy.packing import document_windows

    seq_len = rater.cfg.seq_len
    windows, owners = document_windows(
        tokenizer.encode_batch(texts), seq_len, tokenizer.eod_id, tokenizer.pad_id, tokenizer.token_bytes()
    )
    tokens = windows.rows[:, 1:]
    lengths = (tokens != tokenizer.pad_id).sum(dim=1).numpy()
    order = np.argsort(-lengths, kind="stable")
    scores = np.zeros(len(tokens), dtype=np.float64)
    device = device or torch.device("cpu")
    with torch.no_grad(), _without_onednn():
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            longest = int(lengths[chosen].max())
            if longest == 0:
                continue
            batch = tokens[torch.from_numpy(chosen), :longest].to(device)
            scores[chosen] = rater(batch).float().cpu().numpy()
    weights = lengths.astype(np.float64)
    total = np.bincount(owners, weights=scores * weights, minlength=len(texts))
    count = np.bincount(owners, weights=weights, minlength=len(texts))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


@contextmanager
def _without_onednn():
    """PyTorch's own CPU kernels instead of oneDNN's for the forward passes of scoring.

    oneDNN compiles a kernel for every input shape it sees (here the MLP's GELU) and keeps up to 1,024 of them.
    Batches are trimmed to their longest window, so their shapes vary, and a scoring worker grew by about 25 MB
    a batch from those kernels (``benchmarks/scoring_memory.py``); PyTorch's kernels keep nothing per shape.
    """
    import torch.backends.mkldnn as onednn

    before = onednn.enabled
    onednn.enabled = False
    try:
        yield
    finally:
        onednn.enabled = before


class DataRaterScores(SavedModelScores):
    name = "datarater"
    version = "2"  # 2: scored a chunk of text at a time (the last float bits of a score may differ)
    input_columns = ("text",)

    def __init__(
        self,
        model_dir: str | Path,
        batch_size: int = 64,
        device: str = "auto",
        chunk_bytes: int = CHUNK_TEXT_BYTES,
        gpus_per_task: float = 0.0,
    ):
        from raters.datarater.checkpoint import RATER_CONFIG, RATER_WEIGHTS

        self.batch_size, self.device, self.chunk_bytes = batch_size, device, chunk_bytes
        self.gpus_per_task = gpus_per_task
        self._open(model_dir, (RATER_WEIGHTS, RATER_CONFIG))

    def load_model(self, device):
        from raters.datarater.checkpoint import load_rater

        rater, tokenizer, _ = load_rater(self.local_dir(), device)
        return rater, tokenizer, device

    def output_schema(self):
        import pyarrow as pa

        return [pa.field(SCORE_COLUMN, pa.float32())]

    def descriptions(self) -> dict[str, str]:
        return {SCORE_COLUMN: "DataRater score (higher = more useful for training); NaN for an empty text"}

    def config(self) -> dict[str, Any]:
        return {
            "model": self.model_dir,
            "model_checksum": self.checksum,
            "batch_size": self.batch_size,
            "chunk_bytes": self.chunk_bytes,
        }

    def compute(self, batch) -> dict[str, Any]:
        rater, tokenizer, device = self.model()
        texts = batch.column("text").to_pylist()
        return {
            SCORE_COLUMN: score_texts(rater, tokenizer, texts, self.batch_size, device, self.chunk_bytes).astype(
                np.float32
            )
        }
