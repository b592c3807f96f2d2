"""``curate datarater score``: the rater's score for every document, as an attribute set keyed by ``id``.

Runs through the shared attribute stage (one Spark task per shard, parts committed by rename, resumable).
Each Python worker loads the rater once. A document is cut into the rater's windows (``EOD`` + its
tokens, ``seq_len`` at a time); its score is the token-weighted mean of its windows' scores. Windows are
sorted by length and batched, each batch trimmed to its longest window (length bucketing), so short
documents cost little. GPU when one is visible: on Spark with GPU scheduling, the task's assigned GPU.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from curation.attribute_stage import AttributeProducer

SCORE_COLUMN = "datarater_score"


def _task_device(preference: str):
    import torch

    if preference == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    try:
        from pyspark import TaskContext

        context = TaskContext.get()
        gpus = context.resources().get("gpu") if context is not None else None
        if gpus is not None and gpus.addresses:
            return torch.device(f"cuda:{gpus.addresses[0]}")
    except ImportError:
        pass
    return torch.device("cuda")


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


class DataRaterScores(AttributeProducer):
    name = "datarater"
    version = "1"
    input_columns = ("text",)

    def __init__(self, model_dir: str | Path, batch_size: int = 64, device: str = "auto"):
        from raters.datarater.checkpoint import RATER_CONFIG, RATER_WEIGHTS, load_rater

        self.model_dir = str(Path(model_dir).resolve())
        load_rater(Path(self.model_dir))  # fail fast, on the driver, before any Spark work
        self.batch_size, self.device = batch_size, device
        self.checksum = hashlib.sha256(
            (Path(self.model_dir) / RATER_WEIGHTS).read_bytes() + (Path(self.model_dir) / RATER_CONFIG).read_bytes()
        ).hexdigest()[:16]
        self._loaded = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_loaded": None}  # workers load the model themselves, once

    def _model(self):
        if self._loaded is None:
            import torch

            from raters.datarater.checkpoint import load_rater

            try:
                from pyspark import TaskContext

                context = TaskContext.get()
                if context is not None:  # one torch thread per task CPU: Spark already runs a task per core
                    torch.set_num_threads(max(1, context.cpus()))
            except ImportError:
                pass

            device = _task_device(self.device)
            rater, tokenizer, _ = load_rater(Path(self.model_dir), device)
            self._loaded = (rater, tokenizer, device)
        return self._loaded

    def output_schema(self):
        import pyarrow as pa

        return [pa.field(SCORE_COLUMN, pa.float32())]

    def descriptions(self) -> dict[str, str]:
        return {SCORE_COLUMN: "DataRater score (higher = more useful for training); NaN for an empty text"}

    def config(self) -> dict[str, Any]:
        return {"model": self.model_dir, "model_checksum": self.checksum, "batch_size": self.batch_size}

    def compute(self, batch) -> dict[str, Any]:
        rater, tokenizer, device = self._model()
        texts = batch.column("text").to_pylist()
        return {SCORE_COLUMN: score_texts(rater, tokenizer, texts, self.batch_size, device).astype(np.float32)}
