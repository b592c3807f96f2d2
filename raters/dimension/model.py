"""``DimensionRater``: a fastText classifier over the classes 0..5 of one quality dimension.

Scores: the expected class sum_c c * P(c) (a real number in [0, 5], which ranks documents more finely than
the class) and the most likely class. Saved as ``MODEL_DIR/model.bin`` (fastText's format) and
``dimension.json`` (dimension, settings, class counts, held-out metrics, MLflow run id; written last).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from curation.errors import ConfigError
from raters.dimension.annotations import CLASSES
from raters.fasttext_quality.supervised import (
    FastTextSettings,
    label_distribution,
    load_fasttext,
    save_fasttext,
    train_classifier,
)
from raters.model_dir import read_model_config

DIMENSION_FORMAT = "curation.dimension-rater/v1"
MODEL_FILE = "model.bin"
CONFIG_FILE = "dimension.json"
LABELS = [f"__label__{c}" for c in CLASSES]
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,40}")


def check_dimension_name(name: str) -> str:
    """A dimension name becomes column names (``dim_<name>``): lowercase letters, digits and ``_``."""
    if not NAME_PATTERN.fullmatch(name or ""):
        raise ConfigError(
            f"--dimension {name!r}: use a lowercase name of letters, digits and '_' starting with a letter "
            "(e.g. professionalism, readability, reasoning, cleanliness)"
        )
    return name


class DimensionRater:
    def __init__(self, dimension: str, model, settings: FastTextSettings, info: dict[str, Any] | None = None):
        self.dimension = check_dimension_name(dimension)
        self.model, self.settings, self.info = model, settings, dict(info or {})

    @property
    def score_column(self) -> str:
        return f"dim_{self.dimension}"

    @property
    def class_column(self) -> str:
        return f"dim_{self.dimension}_class"

    @classmethod
    def fit(
        cls,
        dimension: str,
        texts: Sequence[str],
        labels: Sequence[int],
        settings: FastTextSettings | None = None,
        workdir: Path | None = None,
    ) -> DimensionRater:
        settings = settings or FastTextSettings()
        labels = np.asarray(labels)
        if len(texts) != len(labels) or not len(texts):
            raise ConfigError("a dimension rater needs as many labels as texts, and at least one of each")
        if labels.min() < 0 or labels.max() > 5:
            raise ConfigError("dimension labels must be classes 0..5")
        model = train_classifier([(LABELS[int(c)], t) for t, c in zip(texts, labels, strict=True)], settings, workdir)
        counts = {str(c): int((labels == c).sum()) for c in CLASSES}
        return cls(dimension, model, settings, {"train_class_counts": counts})

    def probabilities(self, texts: Sequence[str | None]) -> np.ndarray:
        """P(class) for classes 0..5, one row per text (NaN rows for texts without words)."""
        return label_distribution(self.model, texts, LABELS)

    def score(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """(expected score in [0, 5] as float64, NaN for no words; argmax class as int64, -1 for no words)."""
        probs = self.probabilities(texts)
        expected = probs @ np.asarray(CLASSES, dtype=np.float64)
        defined = ~np.isnan(probs).any(axis=1)
        best = np.full(len(probs), -1, dtype=np.int64)
        if defined.any():
            best[defined] = probs[defined].argmax(axis=1)
        return expected, best

    def save(self, folder: str | Path, extra: dict[str, Any] | None = None) -> None:
        from curation.corpus import write_json_atomic

        folder = Path(folder)
        save_fasttext(self.model, folder / MODEL_FILE)
        payload = {
            "format": DIMENSION_FORMAT,
            "dimension": self.dimension,
            "labels": LABELS,
            "columns": {"score": self.score_column, "class": self.class_column},
            "settings": self.settings.to_dict(),
            **self.info,
            **(extra or {}),
        }
        write_json_atomic(folder / CONFIG_FILE, payload)

    @classmethod
    def load(cls, folder: str | Path) -> DimensionRater:
        """The rater saved in ``folder``: a path or a URL (downloaded once per process)."""
        from raters.model_folder import opened_model_folder

        with opened_model_folder(folder) as folder:
            payload = read_model_config(folder, CONFIG_FILE, DIMENSION_FORMAT, "curate raters dimension train")
            skip = ("format", "dimension", "labels", "columns", "settings")
            info = {k: v for k, v in payload.items() if k not in skip}
            model = load_fasttext(folder / MODEL_FILE)
            return cls(payload["dimension"], model, FastTextSettings(**payload["settings"]), info)
