"""``curate datarater filter``: keep/drop flags from DataRater scores, then the filtered corpus.

The flags are an attribute set (``datarater_cdf``, ``datarater_p_accept``, ``datarater_keep``), computed on
the driver (one float per document) and written part by part aligned with the corpus shards; the corpus is
then selected with the rule ``datarater_keep`` so dropped documents land in ``rejects/`` with that reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from curation.errors import ConfigError
from curation.storage import is_remote
from raters.datarater.scoring import SCORE_COLUMN

KEEP_PRODUCER = "datarater-keep"
KEEP_VERSION = "1"
DESCRIPTIONS = {
    "datarater_cdf": "share of the corpus's documents with a lower DataRater score",
    "datarater_p_accept": "probability the document survives the batch rule (P_accept); batch mode: 0 or 1",
    "datarater_keep": "kept by the DataRater filter",
}


@dataclass(frozen=True)
class FilterConfig:
    rho: float = 0.25  # fraction dropped
    batch_size: int = 128  # documents the trainer keeps per batch (N); B = N / (1 - rho) are scored
    mode: str = "probability"  # "probability" (per document, distributable) or "batch"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in ("probability", "batch"):
            raise ConfigError(f"--mode must be 'probability' or 'batch', not {self.mode!r}")
        from raters.datarater.filtering import oversampled_batch

        oversampled_batch(self.batch_size, self.rho)


def write_datarater_keep(
    corpus_dir: str | Path,
    scores_dir: str | Path,
    keep_dir: str | Path,
    cfg: FilterConfig,
    tracking: bool = True,
    overwrite: bool = False,
) -> Path:
    """The keep flags as an attribute set (``datarater_keep`` and its inputs); returns its directory.

    A selection rule composes it with other clauses (``curate run`` does); skipped when already written for
    the same scores and settings.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation.attribute_stage import prepare_attribute_dir, write_computed_attributes
    from curation.attributes import AttributeSet
    from curation.corpus import Corpus
    from curation.tracking import stage_run
    from raters.datarater.filtering import keep_by_batches, keep_by_probability

    corpus = Corpus.open(corpus_dir)
    scores = AttributeSet.open(scores_dir, corpus)
    if SCORE_COLUMN not in scores.columns:
        raise ConfigError(f"{scores_dir}: no {SCORE_COLUMN} column; pass the output of `curate datarater score`")
    config = {
        **asdict(cfg),
        "scores": str(scores_dir) if is_remote(str(scores_dir)) else str(Path(scores_dir).resolve()),
        "scores_config_hash": scores.manifest["config_hash"],  # includes the model's checksum: new scores, new flags
        "scores_run": scores.manifest["mlflow_run_id"],
    }
    out, fingerprint, config_hash, finished = prepare_attribute_dir(corpus, keep_dir, KEEP_PRODUCER, config, overwrite)
    if finished is None:
        parts = [
            pq.read_table(scores.part_path(i), columns=["id", SCORE_COLUMN]) for i in range(scores.manifest["shards"])
        ]
        ids = [i for part in parts for i in part.column("id").to_pylist()]
        values = np.concatenate([part.column(SCORE_COLUMN).to_numpy(zero_copy_only=False) for part in parts]).astype(
            np.float64
        )
        if cfg.mode == "probability":
            keep, cdf, p_accept = keep_by_probability(ids, values, cfg.batch_size, cfg.rho, cfg.seed)
        else:
            from raters.datarater.filtering import empirical_cdf

            keep, cdf = keep_by_batches(values, cfg.batch_size, cfg.rho, cfg.seed), empirical_cdf(values)
            p_accept = keep.astype(np.float64)
        schema = [
            pa.field("datarater_cdf", pa.float32()),
            pa.field("datarater_p_accept", pa.float32()),
            pa.field("datarater_keep", pa.bool_()),
        ]
        params = {**config, "corpus": str(corpus.root), "out": str(out)}
        with stage_run(KEEP_PRODUCER, params, enabled=tracking) as run:
            write_computed_attributes(
                out,
                corpus,
                producer=KEEP_PRODUCER,
                version=KEEP_VERSION,
                ids=ids,
                shard_rows=[part.num_rows for part in parts],
                columns={"datarater_cdf": cdf, "datarater_p_accept": p_accept, "datarater_keep": keep},
                schema=schema,
                descriptions=DESCRIPTIONS,
                config=config,
                config_hash=config_hash,
                fingerprint=fingerprint,
                run=run,
            )
            run.log_metrics({"kept_fraction": float(keep.mean()) if len(keep) else 0.0})
    return out


def run_datarater_filter(
    corpus_dir: str | Path,
    scores_dir: str | Path,
    keep_dir: str | Path,
    out_dir: str | Path,
    cfg: FilterConfig,
    tracking: bool = True,
    overwrite: bool = False,
    master: str | None = None,
    spark_conf: dict[str, str] | None = None,
):
    """Keep flags, then the corpus selected with the rule ``datarater_keep`` (dropped documents in rejects/)."""
    from curation.select.job import run_select

    out = write_datarater_keep(corpus_dir, scores_dir, keep_dir, cfg, tracking=tracking, overwrite=overwrite)
    return run_select(
        corpus_dir if is_remote(str(corpus_dir)) else Path(corpus_dir),
        [str(out)],
        "datarater_keep",
        out_dir,
        master=master,
        spark_conf=spark_conf,
        tracking=tracking,
        overwrite=overwrite,
    )
