"""``curate raters fasttext train``: positives vs negatives, a seeded held-out split, metrics, MLflow, save.

A seeded ``--heldout-fraction`` of each class's documents is held out whole. The model trains on the rest;
held-out accuracy (P(hq) >= 0.5), precision and recall of hq, and ROC AUC of P(hq) are printed, logged to
one MLflow run (with the settings and the model files) and written to ``MODEL_DIR/metrics.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curation.errors import ConfigError
from raters.fasttext_quality.model import CONFIG_FILE, MODEL_FILE, QualityClassifier
from raters.fasttext_quality.supervised import FastTextSettings, require_fasttext, stratified_split
from raters.model_folder import ModelOut
from raters.training_run import METRICS_FILE, save_trained


@dataclass
class QualityTrainResult:
    out: Path | str  # a URL for a model folder on an object store
    classifier: QualityClassifier
    metrics: dict[str, float]
    run_id: str | None


def binary_metrics(p_hq: np.ndarray, is_hq: np.ndarray) -> dict[str, float]:
    """Accuracy at 0.5, precision/recall of hq, ROC AUC; documents without a score count as lq predictions."""
    from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score

    scores = np.nan_to_num(p_hq, nan=0.0)
    predicted = scores >= 0.5
    return {
        "heldout_accuracy": float(accuracy_score(is_hq, predicted)),
        "heldout_precision_hq": float(precision_score(is_hq, predicted, zero_division=0)),
        "heldout_recall_hq": float(recall_score(is_hq, predicted, zero_division=0)),
        "heldout_auc": float(roc_auc_score(is_hq, scores)),
        "heldout_documents": int(len(is_hq)),
    }


def run_fasttext_train(
    positives: list[str],
    negatives: list[str],
    out: str | Path,
    settings: FastTextSettings,
    *,
    heldout_fraction: float = 0.1,
    max_bytes: int | None = None,
    tracking: bool = True,
    overwrite: bool = False,
    console=None,
) -> QualityTrainResult:
    from rich.console import Console

    from curation.proxy.text_source import read_text_source
    from curation.tracking import stage_run

    console = console or Console(stderr=True)
    require_fasttext()
    if not positives or not negatives:
        raise ConfigError("give at least one --positive and one --negative source")
    if not 0 < heldout_fraction < 1:
        raise ConfigError("--heldout-fraction must be between 0 and 1")
    if max_bytes is not None and max_bytes < 1:
        raise ConfigError("--max-bytes must be positive")
    folder = ModelOut(out, CONFIG_FILE, "a quality classifier")
    folder.check_new(overwrite)
    out = folder.local

    seed = settings.seed
    hq = [t for spec in positives for t in read_text_source(spec, max_bytes, seed=seed).texts]
    lq = [t for spec in negatives for t in read_text_source(spec, max_bytes, seed=seed).texts]
    texts = hq + lq
    is_hq = np.r_[np.ones(len(hq), dtype=bool), np.zeros(len(lq), dtype=bool)]
    train_rows, held_rows = stratified_split(is_hq, heldout_fraction, seed)
    if is_hq[held_rows].all() or not is_hq[held_rows].any():
        raise ConfigError(
            f"{len(hq)} positive and {len(lq)} negative documents: too few to hold out {heldout_fraction:.0%} of each"
        )

    params: dict[str, Any] = {
        **settings.to_dict(),
        "positives": positives,
        "negatives": negatives,
        "heldout_fraction": heldout_fraction,
        "max_bytes": max_bytes,
        "positive_documents": len(hq),
        "negative_documents": len(lq),
        "out": folder.location,
    }
    with stage_run("fasttext-quality-train", params, enabled=tracking) as run:
        out.mkdir(parents=True, exist_ok=True)
        classifier = QualityClassifier.fit(
            [texts[i] for i in train_rows if is_hq[i]],
            [texts[i] for i in train_rows if not is_hq[i]],
            settings,
            workdir=out,
        )
        metrics = binary_metrics(classifier.score([texts[i] for i in held_rows]), is_hq[held_rows])
        console.print(
            f"fasttext: trained on {len(train_rows):,} documents ({int(is_hq[train_rows].sum()):,} hq); held-out "
            f"({len(held_rows):,}): accuracy {metrics['heldout_accuracy']:.4f}, precision "
            f"{metrics['heldout_precision_hq']:.4f}, recall {metrics['heldout_recall_hq']:.4f}, "
            f"AUC {metrics['heldout_auc']:.4f}",
            highlight=False,
        )
        run.log_metrics(metrics)
        sources = {"positive_sources": positives, "negative_sources": negatives, "heldout_fraction": heldout_fraction}
        save_trained(run, out, classifier, metrics, sources, (CONFIG_FILE, METRICS_FILE, MODEL_FILE))
        folder.publish()
    return QualityTrainResult(folder.path, classifier, metrics, run.run_id)
