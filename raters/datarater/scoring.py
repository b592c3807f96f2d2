"""``curate datarater score``: the rater's score for every document, as an attribute set keyed by ``id``.

Runs through the shared attribute stage (one Spark task per shard, parts committed by rename, resumable).
Each Python worker loads the rater once. A document is cut into the rater's windows (``EOD`` + its
tokens, ``seq_len`` at a time); its score is the token-weighted mean of its windows' scores. Windows are
sorted by length and batched, each batch trimmed to its longest window (length bucketing), so short
documents cost little. GPU when one is visible: on Spark with GPU scheduling, the task's assigned GPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from raters.saved_model_scores import SavedModelScores

SCORE_COLUMN = "datarater_score"


def score_texts(rater, tokenizer, texts: list[str], batch_size: int = 64, device=None) -> np.ndarray:
    """One score per text (NaN for an empty text), windows batched by length."""
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
    with torch.no_grad():
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


class DataRaterScores(SavedModelScores):
    name = "datarater"
    version = "1"
    input_columns = ("text",)

    def __init__(self, model_dir: str | Path, batch_size: int = 64, device: str = "auto"):
        from raters.datarater.checkpoint import RATER_CONFIG, RATER_WEIGHTS

        self.batch_size, self.device = batch_size, device
        self._open(model_dir, (RATER_WEIGHTS, RATER_CONFIG))

    def load_model(self, device):
        from raters.datarater.checkpoint import load_rater

        rater, tokenizer, _ = load_rater(Path(self.model_dir), device)
        return rater, tokenizer, device

    def output_schema(self):
        import pyarrow as pa

        return [pa.field(SCORE_COLUMN, pa.float32())]

    def descriptions(self) -> dict[str, str]:
        return {SCORE_COLUMN: "DataRater score (higher = more useful for training); NaN for an empty text"}

    def config(self) -> dict[str, Any]:
        return {"model": self.model_dir, "model_checksum": self.checksum, "batch_size": self.batch_size}

    def compute(self, batch) -> dict[str, Any]:
        rater, tokenizer, device = self.model()
        texts = batch.column("text").to_pylist()
        return {SCORE_COLUMN: score_texts(rater, tokenizer, texts, self.batch_size, device).astype(np.float32)}
