"""``curate raters dsir score``: ``dsir_log_ratio`` for every document, as an attribute set keyed by ``id``.

Runs through the shared attribute stage (one Spark task per shard, parts committed by rename, resumable);
each Python worker loads the model once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from curation.attribute_stage import AttributeProducer

SCORE_COLUMN = "dsir_log_ratio"


class DsirScores(AttributeProducer):
    name = "dsir"
    version = "1"
    input_columns = ("text",)

    def __init__(self, model_dir: str | Path):
        from raters.dsir.model import DsirModel, model_checksum

        self.model_dir = str(Path(model_dir).resolve())
        model = DsirModel.load(self.model_dir)  # fail fast, on the driver, before any Spark work
        self.buckets, self.smoothing = model.buckets, model.smoothing
        self.checksum = model_checksum(self.model_dir)
        self._model = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_model": None}  # workers load the model themselves, once

    def model(self):
        if self._model is None:
            from raters.dsir.model import DsirModel

            self._model = DsirModel.load(self.model_dir)
        return self._model

    def output_schema(self):
        import pyarrow as pa

        return [pa.field(SCORE_COLUMN, pa.float32())]

    def descriptions(self) -> dict[str, str]:
        return {
            SCORE_COLUMN: "DSIR log importance weight: log p_target - log p_raw over the document's hashed word "
            "unigrams and bigrams (summed, not length-normalised); higher = closer to the target; 0 for no words"
        }

    def config(self) -> dict[str, Any]:
        return {"model": self.model_dir, "model_checksum": self.checksum, "buckets": self.buckets}

    def compute(self, batch) -> dict[str, Any]:
        texts = batch.column("text").to_pylist()
        return {SCORE_COLUMN: self.model().score([t or "" for t in texts]).astype(np.float32)}
