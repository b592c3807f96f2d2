"""``curate raters dimension score``: ``dim_<name>`` (expected score) and ``dim_<name>_class`` (argmax class)
for every document, keyed by ``id``. Runs through the shared attribute stage; each worker loads the model once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from raters.saved_model_scores import SavedModelScores


class DimensionScores(SavedModelScores):
    version = "1"
    input_columns = ("text",)

    def __init__(self, model_dir: str | Path):
        from raters.dimension.model import CONFIG_FILE, MODEL_FILE

        rater = self._open(model_dir, (MODEL_FILE, CONFIG_FILE))
        self.dimension = rater.dimension
        self.name = f"dimension-{rater.dimension}"
        self.score_column, self.class_column = rater.score_column, rater.class_column

    def load_model(self, device):
        from raters.dimension.model import DimensionRater

        return DimensionRater.load(self.local_dir())

    def output_schema(self):
        import pyarrow as pa

        return [pa.field(self.score_column, pa.float32()), pa.field(self.class_column, pa.int8())]

    def descriptions(self) -> dict[str, str]:
        return {
            self.score_column: f"{self.dimension} rater: expected score sum_c c * P(c) in [0, 5]; NaN for no words",
            self.class_column: f"{self.dimension} rater: most likely class 0-5; null for a text without words",
        }

    def config(self) -> dict[str, Any]:
        return {"model": self.model_dir, "model_checksum": self.checksum, "dimension": self.dimension}

    def compute(self, batch) -> dict[str, Any]:
        import pyarrow as pa

        expected, best = self.model().score(batch.column("text").to_pylist())
        classes = pa.array(best.astype(np.int8), mask=best < 0, type=pa.int8())
        return {self.score_column: expected.astype(np.float32), self.class_column: classes}
