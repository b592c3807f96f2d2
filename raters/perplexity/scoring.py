"""``curate raters perplexity score``: ``proxy_bpb`` for every document, as an attribute set keyed by ``id``.

Runs through the shared attribute stage like ``DataRaterScores``: each Python worker loads the model once,
uses as many torch threads as its Spark task has CPUs, and the task's GPU when there is one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from raters.saved_model_scores import SavedModelScores

SCORE_COLUMN = "proxy_bpb"


class PerplexityScores(SavedModelScores):
    name = "perplexity"
    version = "1"
    input_columns = ("text",)

    def __init__(self, model_dir: str | Path, batch_size: int = 32, device: str = "auto", gpus_per_task: float = 0.0):
        from curation.errors import ConfigError
        from curation.proxy.checkpoint import CONFIG_FILE, WEIGHTS_FILE

        if device not in ("auto", "cpu"):
            raise ConfigError(f"--device {device!r}: choose auto (the task's GPU when present) or cpu")
        if batch_size < 1:
            raise ConfigError("--batch-size must be at least 1")
        self.batch_size, self.device, self.gpus_per_task = batch_size, device, gpus_per_task
        self._open(model_dir, (WEIGHTS_FILE, CONFIG_FILE))

    def load_model(self, device):
        from raters.perplexity.model import ProxyPerplexity

        return ProxyPerplexity.load(self.local_dir(), device)

    def output_schema(self):
        import pyarrow as pa

        return [pa.field(SCORE_COLUMN, pa.float32())]

    def descriptions(self) -> dict[str, str]:
        return {
            SCORE_COLUMN: "bits per byte of the document under a proxy LM trained on reference text "
            "(lower = more like the reference); NaN for an empty text"
        }

    def config(self) -> dict[str, Any]:
        return {"model": self.model_dir, "model_checksum": self.checksum, "batch_size": self.batch_size}

    def compute(self, batch) -> dict[str, Any]:
        texts = batch.column("text").to_pylist()
        return {SCORE_COLUMN: self.model().score(texts, self.batch_size).astype(np.float32)}
