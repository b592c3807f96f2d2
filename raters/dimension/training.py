"""``curate raters dimension train``: annotations -> a seeded held-out split -> a fastText rater -> metrics.

A seeded ``--heldout-fraction`` of each class's annotations is held out. Held-out metrics: accuracy and
macro-F1 of the most likely class (macro over the classes present in the held-out labels), Spearman
correlation and mean absolute error of the expected score against the label. Printed, logged to one MLflow
run (with the settings, class counts and model files) and written to ``MODEL_DIR/metrics.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curation.errors import ConfigError
from curation.storage import is_remote
from raters.dimension.annotations import read_annotations
from raters.dimension.model import CONFIG_FILE, MODEL_FILE, DimensionRater, check_dimension_name
from raters.fasttext_quality.supervised import FastTextSettings, require_fasttext, stratified_split
from raters.model_folder import ModelOut
from raters.training_run import METRICS_FILE, save_trained

MIN_ANNOTATIONS = 20  # below this a held-out share says nothing


@dataclass
class DimensionTrainResult:
    out: Path | str  # a URL for a model folder on an object store
    rater: DimensionRater
    metrics: dict[str, float]
    skipped: int
    run_id: str | None


def dimension_metrics(expected: np.ndarray, predicted: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Held-out agreement of a rater with the labels (rows without a prediction count as wrong, score 0)."""
    from scipy.stats import spearmanr
    from sklearn.metrics import accuracy_score, f1_score

    expected = np.nan_to_num(expected, nan=0.0)
    present = sorted(set(labels.tolist()))
    rho = spearmanr(expected, labels).statistic if len(present) > 1 else float("nan")
    return {
        "heldout_accuracy": float(accuracy_score(labels, predicted)),
        "heldout_macro_f1": float(f1_score(labels, predicted, labels=present, average="macro", zero_division=0)),
        "heldout_spearman": float(rho) if np.isfinite(rho) else 0.0,
        "heldout_mae": float(np.abs(expected - labels).mean()),
        "heldout_documents": int(len(labels)),
    }


def run_dimension_train(
    annotations_path: str | Path,
    dimension: str,
    out: str | Path,
    settings: FastTextSettings,
    *,
    label_field: str = "score",
    heldout_fraction: float = 0.2,
    tracking: bool = True,
    overwrite: bool = False,
    console=None,
) -> DimensionTrainResult:
    from rich.console import Console

    from curation.tracking import stage_run
    from raters.dimension.annotations import check_enough

    console = console or Console(stderr=True)
    require_fasttext()
    check_dimension_name(dimension)
    if not 0 < heldout_fraction < 1:
        raise ConfigError("--heldout-fraction must be between 0 and 1")
    folder = ModelOut(out, CONFIG_FILE, "a dimension rater")
    folder.check_new(overwrite)
    out = folder.local
    annotations = read_annotations(annotations_path, label_field, report=lambda line: console.print(line, markup=False))
    check_enough(annotations, MIN_ANNOTATIONS)
    labels = annotations.labels
    train_rows, held_rows = stratified_split(labels, heldout_fraction, settings.seed)
    counts = annotations.class_counts()
    console.print(
        f"dimension {dimension}: {len(labels):,} annotations ({len(annotations.skipped):,} bad lines skipped, "
        f"{annotations.rounded:,} fractional scores rounded); per class "
        + ", ".join(f"{c}: {n:,}" for c, n in counts.items()),
        highlight=False,
    )

    params: dict[str, Any] = {
        **settings.to_dict(),
        "dimension": dimension,
        "annotations": str(annotations_path),
        "label_field": label_field,
        "heldout_fraction": heldout_fraction,
        "annotations_used": len(labels),
        "annotations_skipped": len(annotations.skipped),
        "out": folder.location,
    }
    with stage_run(f"dimension-{dimension}-train", params, enabled=tracking) as run:
        out.mkdir(parents=True, exist_ok=True)
        rater = DimensionRater.fit(
            dimension, [annotations.texts[i] for i in train_rows], labels[train_rows], settings, workdir=out
        )
        expected, predicted = rater.score([annotations.texts[i] for i in held_rows])
        metrics = dimension_metrics(expected, predicted, labels[held_rows])
        console.print(
            f"dimension {dimension}: held-out ({len(held_rows):,}): macro-F1 {metrics['heldout_macro_f1']:.4f}, "
            f"accuracy {metrics['heldout_accuracy']:.4f}, Spearman {metrics['heldout_spearman']:.4f}, "
            f"MAE {metrics['heldout_mae']:.3f}",
            highlight=False,
        )
        run.log_metrics({**metrics, "annotations_skipped": len(annotations.skipped)})
        extra = {
            "annotations": str(annotations_path)
            if is_remote(str(annotations_path))
            else str(Path(annotations_path).resolve()),
            "label_field": label_field,
            "annotations_skipped": len(annotations.skipped),
            "class_counts": {str(c): n for c, n in counts.items()},
            "heldout_fraction": heldout_fraction,
        }
        save_trained(run, out, rater, metrics, extra, (CONFIG_FILE, METRICS_FILE, MODEL_FILE))
        folder.publish()
    return DimensionTrainResult(folder.path, rater, metrics, len(annotations.skipped), run.run_id)
