"""``curate raters fasttext score``: ``fasttext_quality`` = P(hq) for every document, keyed by ``id``.

Runs through the shared attribute stage; each Python worker loads the fastText model once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from curation.attribute_stage import AttributeProducer

SCORE_COLUMN = "fasttext_quality"


class FastTextQualityScores(AttributeProducer):
    name = "fasttext-quality"
    version = "1"
    input_columns = ("text",)

    def __init__(self, model_dir: str | Path):
        from raters.fasttext_quality.model import QualityClassifier, model_checksum

        self.model_dir = str(Path(model_dir).resolve())
        QualityClassifier.load(self.model_dir)  # fail fast, on the driver, before any Spark work
        self.checksum = model_checksum(self.model_dir)
        self._classifier = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_classifier": None}  # fastText models do not pickle; workers load their own

    def classifier(self):
        if self._classifier is None:
            from raters.fasttext_quality.model import QualityClassifier

            self._classifier = QualityClassifier.load(self.model_dir)
        return self._classifier

    def output_schema(self):
        import pyarrow as pa

        return [pa.field(SCORE_COLUMN, pa.float32())]

    def descriptions(self) -> dict[str, str]:
        return {SCORE_COLUMN: "fastText quality classifier: P(hq) in [0, 1]; NaN for a text without words"}

    def config(self) -> dict[str, Any]:
        return {"model": self.model_dir, "model_checksum": self.checksum}

    def compute(self, batch) -> dict[str, Any]:
        texts = batch.column("text").to_pylist()
        return {SCORE_COLUMN: self.classifier().score(texts).astype(np.float32)}
