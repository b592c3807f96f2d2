"""``QualityClassifier``: fastText, word unigrams + bigrams, two labels; a document's score is P(hq).

Saved as ``MODEL_DIR/model.bin`` (fastText's own format) and ``fasttext_quality.json`` (settings, sources,
held-out metrics, MLflow run id; written last, so a folder without it is an unfinished save).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from curation.errors import ConfigError
from raters.fasttext_quality.supervised import (
    FastTextSettings,
    label_distribution,
    load_fasttext,
    save_fasttext,
    train_classifier,
)
from raters.model_dir import read_model_config

HQ, LQ = "__label__hq", "__label__lq"
QUALITY_FORMAT = "curation.fasttext-quality/v1"
MODEL_FILE = "model.bin"
CONFIG_FILE = "fasttext_quality.json"


class QualityClassifier:
    def __init__(self, model, settings: FastTextSettings, info: dict[str, Any] | None = None):
        self.model, self.settings, self.info = model, settings, dict(info or {})

    @classmethod
    def fit(
        cls,
        positives: Sequence[str],
        negatives: Sequence[str],
        settings: FastTextSettings | None = None,
        workdir: Path | None = None,
    ) -> QualityClassifier:
        """Train on high-quality ``positives`` and low-quality ``negatives`` (one document each)."""
        settings = settings or FastTextSettings()
        if not positives or not negatives:
            raise ConfigError("the quality classifier needs positive and negative documents")
        examples = [(HQ, t) for t in positives] + [(LQ, t) for t in negatives]
        model = train_classifier(examples, settings, workdir)
        return cls(model, settings, {"positives": len(positives), "negatives": len(negatives)})

    def score(self, texts: Sequence[str | None]) -> np.ndarray:
        """P(hq) of each text (float64 in [0, 1]; NaN for a text without words)."""
        return label_distribution(self.model, texts, [HQ, LQ])[:, 0]

    def save(self, folder: str | Path, extra: dict[str, Any] | None = None) -> None:
        from curation.corpus import write_json_atomic

        folder = Path(folder)
        save_fasttext(self.model, folder / MODEL_FILE)
        payload = {
            "format": QUALITY_FORMAT,
            "labels": {"hq": HQ, "lq": LQ},
            "settings": self.settings.to_dict(),
            **self.info,
            **(extra or {}),
        }
        write_json_atomic(folder / CONFIG_FILE, payload)

    @classmethod
    def load(cls, folder: str | Path) -> QualityClassifier:
        """The classifier saved in ``folder``: a path or a URL (downloaded once per process)."""
        from raters.model_folder import opened_model_folder

        with opened_model_folder(folder) as folder:
            payload = read_model_config(folder, CONFIG_FILE, QUALITY_FORMAT, "curate raters fasttext train")
            info = {k: v for k, v in payload.items() if k not in ("format", "labels", "settings")}
            return cls(load_fasttext(folder / MODEL_FILE), FastTextSettings(**payload["settings"]), info)
