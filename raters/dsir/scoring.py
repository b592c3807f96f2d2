"""``curate raters dsir score``: ``dsir_log_ratio`` for every document, as an attribute set keyed by ``id``.

Runs through the shared attribute stage (one Spark task per shard, parts committed by rename, resumable);
each Python worker loads the model once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from raters.saved_model_scores import SavedModelScores

SCORE_COLUMN = "dsir_log_ratio"


class DsirScores(SavedModelScores):
    name = "dsir"
    version = "1"
    input_columns = ("text",)

    def __init__(self, model_dir: str | Path):
        from raters.dsir.model import CONFIG_FILE, COUNTS_FILE

        model = self._open(model_dir, (COUNTS_FILE, CONFIG_FILE))
        self.buckets, self.smoothing = model.buckets, model.smoothing

    def load_model(self, device):
        from raters.dsir.model import DsirModel

        return DsirModel.load(self.local_dir())

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
