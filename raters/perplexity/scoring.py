"""``curate raters perplexity score``: ``proxy_bpb`` for every document, as an attribute set keyed by ``id``.

Runs through the shared attribute stage like ``DataRaterScores``: each Python worker loads the model once,
uses as many torch threads as its Spark task has CPUs, and the task's GPU when there is one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from curation.attribute_stage import AttributeProducer

SCORE_COLUMN = "proxy_bpb"


class PerplexityScores(AttributeProducer):
    name = "perplexity"
    version = "1"
    input_columns = ("text",)

    def __init__(self, model_dir: str | Path, batch_size: int = 32, device: str = "auto"):
        from curation.errors import ConfigError
        from curation.proxy.checkpoint import CONFIG_FILE, WEIGHTS_FILE
        from raters.perplexity.model import ProxyPerplexity

        if device not in ("auto", "cpu"):
            raise ConfigError(f"--device {device!r}: choose auto (the task's GPU when present) or cpu")
        if batch_size < 1:
            raise ConfigError("--batch-size must be at least 1")
        self.model_dir = str(Path(model_dir).resolve())
        ProxyPerplexity.load(self.model_dir)  # fail fast, on the driver, before any Spark work
        self.batch_size, self.device = batch_size, device
        folder = Path(self.model_dir)
        self.checksum = hashlib.sha256(
            (folder / WEIGHTS_FILE).read_bytes() + (folder / CONFIG_FILE).read_bytes()
        ).hexdigest()[:16]
        self._rater = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_rater": None}  # workers load the model themselves, once

    def rater(self):
        if self._rater is None:
            import torch

            from raters.datarater.scoring import _task_device
            from raters.perplexity.model import ProxyPerplexity

            try:
                from pyspark import TaskContext

                context = TaskContext.get()
                if context is not None:  # one torch thread per task CPU: Spark already runs a task per core
                    torch.set_num_threads(max(1, context.cpus()))
            except ImportError:
                pass
            self._rater = ProxyPerplexity.load(self.model_dir, _task_device(self.device))
        return self._rater

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
        return {SCORE_COLUMN: self.rater().score(texts, self.batch_size).astype(np.float32)}
