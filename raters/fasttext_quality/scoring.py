"""``curate raters fasttext score``: ``fasttext_quality`` = P(hq) for every document, keyed by ``id``.

Runs through the shared attribute stage; each Python worker loads the fastText model once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from raters.saved_model_scores import SavedModelScores

SCORE_COLUMN = "fasttext_quality"


class FastTextQualityScores(SavedModelScores):
    name = "fasttext-quality"
    version = "1"
    input_columns = ("text",)

    def __init__(self, model_dir: str | Path):
        from raters.fasttext_quality.model import CONFIG_FILE, MODEL_FILE

        self._open(model_dir, (MODEL_FILE, CONFIG_FILE))

    def load_model(self, device):
        from raters.fasttext_quality.model import QualityClassifier

        return QualityClassifier.load(self.local_dir())

    def output_schema(self):
        import pyarrow as pa

        return [pa.field(SCORE_COLUMN, pa.float32())]

    def descriptions(self) -> dict[str, str]:
        return {SCORE_COLUMN: "fastText quality classifier: P(hq) in [0, 1]; NaN for a text without words"}

    def config(self) -> dict[str, Any]:
        return {"model": self.model_dir, "model_checksum": self.checksum}

    def compute(self, batch) -> dict[str, Any]:
        texts = batch.column("text").to_pylist()
        return {SCORE_COLUMN: self.model().score(texts).astype(np.float32)}
