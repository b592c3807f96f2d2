"""``QualityClassifier``: fastText, word unigrams + bigrams, two labels; a document's score is P(hq).

Saved as ``MODEL_DIR/model.bin`` (fastText's own format) and ``fasttext_quality.json`` (settings, sources,
held-out metrics, MLflow run id; written last, so a folder without it is an unfinished save).
"""

from __future__ import annotations

import hashlib
import json
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
        folder = Path(folder)
        payload = read_config(folder, CONFIG_FILE, QUALITY_FORMAT, "curate raters fasttext train")
        info = {k: v for k, v in payload.items() if k not in ("format", "labels", "settings")}
        return cls(load_fasttext(folder / MODEL_FILE), FastTextSettings(**payload["settings"]), info)


def read_config(folder: Path, name: str, expected_format: str, how: str) -> dict[str, Any]:
    """A model folder's JSON config, checked to be of the expected format."""
    path = folder / name
    if not path.is_file():
        raise ConfigError(f"{folder}: not a trained model (no {name}; run `{how}`)")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc})") from exc
    if payload.get("format") != expected_format:
        raise ConfigError(f"{path}: not a {expected_format} model (format={payload.get('format')!r})")
    return payload


def model_checksum(folder: str | Path, files: Sequence[str] = (MODEL_FILE, CONFIG_FILE)) -> str:
    """Identifies a saved model in an attribute set's config (a retrained model in the same folder differs)."""
    digest = hashlib.sha256()
    for name in files:
        with open(Path(folder) / name, "rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]
