"""``curate raters dsir fit``: count target and raw n-grams, check the separation on held-out documents, save.

A seeded share of each side's documents is held out (whole documents); the model is fitted on the rest and
the held-out AUC (target documents vs raw documents, by ``dsir_log_ratio``) says how well it tells them
apart. Params, held-out metrics and the model files go to one MLflow run, whose id is saved in ``dsir.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curation.errors import ConfigError
from raters.dsir.model import CONFIG_FILE, COUNTS_FILE, DsirModel
from raters.model_folder import ModelOut
from raters.training_run import METRICS_FILE, hold_out, save_trained


@dataclass
class DsirFitResult:
    out: Path | str  # a URL for a model folder on an object store
    model: DsirModel
    metrics: dict[str, float]
    run_id: str | None


def split_heldout(texts: list[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(fit, held-out): a seeded share of the documents held out whole; nothing held out for fraction 0."""
    if fraction == 0:
        return list(texts), []
    cut = int(round(fraction * len(texts)))
    if cut < 1 or cut >= len(texts):
        raise ConfigError(
            f"{len(texts)} documents: too few to hold out {fraction:.0%} (pass --heldout-fraction 0 to fit on all)"
        )
    return hold_out(texts, set(np.random.default_rng([seed, 17]).permutation(len(texts))[:cut].tolist()))


def heldout_metrics(model: DsirModel, target: list[str], raw: list[str]) -> dict[str, float]:
    """AUC of target vs raw held-out documents by ``dsir_log_ratio``, and each side's mean score."""
    from sklearn.metrics import roc_auc_score

    if not target or not raw:
        return {}
    scores_target, scores_raw = model.score(target), model.score(raw)
    labels = np.r_[np.ones(len(target)), np.zeros(len(raw))]
    return {
        "heldout_auc": float(roc_auc_score(labels, np.r_[scores_target, scores_raw])),
        "heldout_target_mean": float(scores_target.mean()),
        "heldout_raw_mean": float(scores_raw.mean()),
        "heldout_target_documents": len(target),
        "heldout_raw_documents": len(raw),
    }


def run_dsir_fit(
    targets: list[str],
    raws: list[str],
    out: str | Path,
    *,
    buckets: int = 10_000,
    smoothing: float = 1.0,
    heldout_fraction: float = 0.1,
    seed: int = 0,
    max_bytes: int | None = None,
    tracking: bool = True,
    overwrite: bool = False,
    console=None,
) -> DsirFitResult:
    from rich.console import Console

    from curation.proxy.text_source import read_text_source
    from curation.tracking import stage_run

    console = console or Console(stderr=True)
    if not targets or not raws:
        raise ConfigError("give at least one --target and one --raw")
    if buckets < 1:
        raise ConfigError("--buckets must be at least 1")
    if smoothing < 0:
        raise ConfigError("--smoothing must be >= 0")
    if not 0 <= heldout_fraction < 1:
        raise ConfigError("--heldout-fraction must be in [0, 1)")
    if max_bytes is not None and max_bytes < 1:
        raise ConfigError("--max-bytes must be positive")
    folder = ModelOut(out, CONFIG_FILE, "a DSIR model")
    folder.check_new(overwrite)
    out = folder.local

    # Everything is read (and every path checked) before any counting.
    target_sources = [read_text_source(spec, max_bytes, seed=seed) for spec in targets]
    raw_sources = [read_text_source(spec, max_bytes, seed=seed) for spec in raws]
    target_fit, target_held = split_heldout([t for s in target_sources for t in s.texts], heldout_fraction, seed)
    raw_fit, raw_held = split_heldout([t for s in raw_sources for t in s.texts], heldout_fraction, seed)

    params: dict[str, Any] = {
        "targets": targets,
        "raw": raws,
        "buckets": buckets,
        "smoothing": smoothing,
        "heldout_fraction": heldout_fraction,
        "seed": seed,
        "max_bytes": max_bytes,
        "target_documents": len(target_fit),
        "raw_documents": len(raw_fit),
        "out": folder.location,
    }
    with stage_run("dsir-fit", params, enabled=tracking) as run:
        info = {"targets": targets, "raw": raws, "seed": seed, "heldout_fraction": heldout_fraction}
        model = DsirModel.fit(target_fit, raw_fit, buckets, smoothing, info)
        console.print(
            f"dsir: {model.info['target_ngrams']:,} target n-grams ({len(target_fit):,} documents), "
            f"{model.info['raw_ngrams']:,} raw n-grams ({len(raw_fit):,} documents), {buckets:,} buckets",
            highlight=False,
        )
        metrics = heldout_metrics(model, target_held, raw_held)
        if metrics:
            console.print(
                f"dsir: held-out AUC (target vs raw) {metrics['heldout_auc']:.4f}; mean dsir_log_ratio "
                f"target {metrics['heldout_target_mean']:.1f}, raw {metrics['heldout_raw_mean']:.1f}",
                highlight=False,
            )
        run.log_metrics(metrics)
        save_trained(run, out, model, metrics, {}, (CONFIG_FILE, COUNTS_FILE, METRICS_FILE))
        folder.publish()
    return DsirFitResult(folder.path, model, metrics, run.run_id)
