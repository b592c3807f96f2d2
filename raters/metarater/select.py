"""``curate metarater select``: documents ranked by the fitted weighted score, kept best first up to a budget.

The score of a document is ``sum_j w_j * scaled_j`` with the fit's weights and the fit's scaling (its
corpus's min-max bounds; another corpus with the same scores is scaled the same way, clipped to [0, 5]).
Documents are taken in order of decreasing score (ties: corpus order) while the running total stays within
the budget: ``tokens`` (bytes + 1 separator per document: the byte-level tokenizer's count) or a
``fraction`` of the documents. The flags are an attribute set (``metarater_score``, ``metarater_keep``)
and the corpus is selected with the rule ``metarater_keep``: dropped documents land in ``rejects/`` with
that reason, and the new corpus's manifest records the flags, whose manifest records the fit (weights,
MLflow run) and the score attribute sets (their MLflow runs).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from curation.errors import ConfigError
from curation.select.budget import document_tokens, keep_within_budget

KEEP_PRODUCER = "metarater-keep"
KEEP_VERSION = "1"
DESCRIPTIONS = {
    "metarater_score": "Meta-rater weighted score: sum of the fit's weights x scores scaled to [0, 5]",
    "metarater_keep": "kept by the Meta-rater selection (best score first, within the budget)",
}


def load_fit(fit_dir: str | Path) -> dict:
    """The ``weights.json`` of a finished fit in ``fit_dir``: a folder or a URL (only that file is read)."""
    from raters.metarater.fit import FIT_FORMAT, WEIGHTS_FILE

    path, payload = _read_weights(fit_dir)
    if payload is None:
        raise ConfigError(f"{fit_dir}: no {WEIGHTS_FILE}; not a finished `curate metarater fit` output")
    fit = json.loads(payload)
    if fit.get("format") != FIT_FORMAT:
        raise ConfigError(f"{path}: not a Meta-rater fit (format={fit.get('format')!r})")
    return fit


def _read_weights(fit_dir: str | Path) -> tuple[str | Path, bytes | None]:
    """Where the fit's ``weights.json`` is and its bytes (None when there is none)."""
    from curation.destination import Destination
    from curation.staged_folder import remote_error
    from curation.storage import is_remote
    from raters.metarater.fit import WEIGHTS_FILE

    if not is_remote(str(fit_dir)):
        path = Path(fit_dir) / WEIGHTS_FILE
        return path, path.read_bytes() if path.is_file() else None
    folder = Destination(str(fit_dir))
    try:
        return folder.url(WEIGHTS_FILE), folder.read_bytes(WEIGHTS_FILE)
    except Exception as exc:  # noqa: BLE001 - each filesystem raises its own errors; each becomes one line
        raise remote_error(folder.location, exc) from exc


def write_metarater_keep(
    corpus_dir: str | Path,
    attribute_dirs: list[str | Path],
    fit_dir: str | Path,
    keep_dir: str | Path,
    *,
    tokens: int | None = None,
    fraction: float | None = None,
    tracking: bool = True,
    overwrite: bool = False,
) -> Path:
    """The weighted score and keep flags as an attribute set (``metarater_keep``); returns its directory."""
    import pyarrow as pa

    from curation.attribute_stage import prepare_attribute_dir, write_computed_attributes
    from curation.corpus import Corpus
    from curation.staged_folder import folder_location
    from curation.tracking import stage_run
    from raters.metarater.scaling import ScoreScaling
    from raters.metarater.score_table import load_score_table

    keep_within_budget(np.zeros(0), np.zeros(0, dtype=np.int64), tokens, fraction)  # option checks, before work
    fit = load_fit(fit_dir)
    corpus = Corpus.open(corpus_dir)
    scaling = ScoreScaling.from_dict(fit["scaling"], fit["columns"])
    table = load_score_table(corpus_dir, attribute_dirs, columns=fit["columns"])
    weights = np.asarray([fit["weights"][c] for c in fit["columns"]], dtype=np.float64)
    config = {
        "fit": folder_location(fit_dir, "pass --fit URL as a string"),
        "fit_run": fit["mlflow"]["run_id"],
        "weights": fit["weights"],
        "scaling": fit["scaling"],
        "scores": {c: table.sources[c] for c in table.columns},
        "tokens": tokens,
        "fraction": fraction,
        "tokenizer": "bytes",
    }
    out, fingerprint, config_hash, finished = prepare_attribute_dir(corpus, keep_dir, KEEP_PRODUCER, config, overwrite)
    if finished is None:
        score = scaling.apply(table.values).astype(np.float64) @ weights
        keep = keep_within_budget(score, document_tokens(table.n_bytes), tokens, fraction)
        params = {**config, "corpus": str(corpus.root), "out": str(out)}
        with stage_run(KEEP_PRODUCER, params, enabled=tracking) as run:
            write_computed_attributes(
                out,
                corpus,
                producer=KEEP_PRODUCER,
                version=KEEP_VERSION,
                ids=table.ids,
                shard_rows=table.shard_rows,
                columns={"metarater_score": score, "metarater_keep": keep},
                schema=[pa.field("metarater_score", pa.float32()), pa.field("metarater_keep", pa.bool_())],
                descriptions=DESCRIPTIONS,
                config=config,
                config_hash=config_hash,
                fingerprint=fingerprint,
                run=run,
            )
            kept_tokens = int(document_tokens(table.n_bytes)[keep].sum())
            run.log_metrics({"kept_documents": int(keep.sum()), "kept_tokens": kept_tokens})
    return out


def run_metarater_select(
    corpus_dir: str | Path,
    attribute_dirs: list[str | Path],
    fit_dir: str | Path,
    out_dir: str | Path,
    *,
    tokens: int | None = None,
    fraction: float | None = None,
    keep_dir: str | Path | None = None,
    tracking: bool = True,
    overwrite: bool = False,
    master: str | None = None,
    spark_conf: dict[str, str] | None = None,
):
    """Keep flags, then the corpus selected with the rule ``metarater_keep`` (dropped documents in rejects/)."""
    from curation.select.job import run_select

    keep_dir = keep_dir or f"{str(out_dir).rstrip('/')}-metarater-keep"  # beside OUT, a path or a URL
    out = write_metarater_keep(
        corpus_dir,
        attribute_dirs,
        fit_dir,
        keep_dir,
        tokens=tokens,
        fraction=fraction,
        tracking=tracking,
        overwrite=overwrite,
    )
    return run_select(
        str(corpus_dir),
        [str(out)],
        "metarater_keep",
        out_dir,
        master=master,
        spark_conf=spark_conf,
        tracking=tracking,
        overwrite=overwrite,
    )
