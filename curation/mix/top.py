"""``curate top``: keep flags for the best documents by any numeric column, for a later ``select``.

The score is the decision's only input (NeMo Curator's split of score and keep): any numeric column of
the corpus (``lang_score``, ``n_bytes``) or of an attribute set. Documents are ranked best first
(higher is better unless ``lower_is_better``; ties by id; NaN and null last) and the first ``k``, the
first ``fraction`` of them, or the longest prefix whose tokens fit ``tokens`` are kept
(``curation.select.budget.keep_within_budget``). The flags are an attribute set (``top_keep``,
``top_rank``) written on the driver; ``curate select --rule top_keep`` applies them, with rejects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from curation.attributes import AttributeSet
from curation.errors import ConfigError
from curation.mix.config import TopConfig

PRODUCER = "top"
VERSION = "v1"
DESCRIPTIONS = {
    "top_keep": "kept by `curate top`: among the best documents by the score, within the count or budget",
    "top_rank": "rank by the score, 1 = best (ties by id; NaN and null last)",
}


@dataclass
class TopResult:
    attributes: AttributeSet
    skipped: bool
    kept_tokens: int | None = None  # counted on a fresh run: tokens with --tokens, else UTF-8 bytes


def _is_numeric(arrow_type) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_boolean(arrow_type)


def rank_and_keep(ids: list[str], score: np.ndarray, tokens: np.ndarray, cfg: TopConfig):
    """(keep mask, 1-based rank) in corpus order. Sorting by id first makes the stable ranking break ties
    by id; NaN sorts last in numpy, so undefined scores rank last whatever the direction."""
    from curation.select.budget import keep_within_budget

    by_id = np.asarray(sorted(range(len(ids)), key=ids.__getitem__), dtype=np.int64)
    better = -score[by_id] if cfg.lower_is_better else score[by_id]
    if cfg.k is not None:
        keep_sorted = keep_within_budget(better, np.ones(len(ids), dtype=np.int64), cfg.k, None)
    elif cfg.fraction is not None:
        keep_sorted = keep_within_budget(better, np.zeros(len(ids), dtype=np.int64), None, cfg.fraction)
    else:
        keep_sorted = keep_within_budget(better, tokens[by_id], cfg.tokens, None)
    rank_sorted = np.empty(len(ids), dtype=np.int64)
    rank_sorted[np.argsort(-better, kind="stable")] = np.arange(1, len(ids) + 1)  # keep_within_budget's order
    keep = np.empty(len(ids), dtype=bool)
    rank = np.empty(len(ids), dtype=np.int64)
    keep[by_id], rank[by_id] = keep_sorted, rank_sorted
    return keep, rank


def run_top(
    corpus_dir: str | Path,
    attribute_dirs: list[str | Path],
    out_dir: str | Path,
    cfg: TopConfig,
    tracking: bool = True,
    overwrite: bool = False,
    console=None,
) -> TopResult:
    import pyarrow as pa
    import pyarrow.compute as pc
    from rich.console import Console

    from curation.attribute_stage import prepare_attribute_dir, write_computed_attributes
    from curation.mix.columns import find_column, open_inputs, read_shard_columns
    from curation.mix.tokens import token_counter
    from curation.tracking import stage_run

    console = console or Console(stderr=True)
    corpus, sets = open_inputs(corpus_dir, attribute_dirs)
    column = find_column(corpus, sets, cfg.score, "--score")
    if not _is_numeric(column.type):
        raise ConfigError(f"--score {column.name!r} is {column.type}; `top` ranks a numeric column")
    counter = token_counter(cfg.tokenizer) if cfg.tokens is not None else None
    config = {
        **asdict(cfg),
        "score": column.describe(),  # the attribute set's config hash: new scores, new flags
        "tokenizer": counter.describe() if counter else None,
    }
    out, fingerprint, config_hash, finished = prepare_attribute_dir(corpus, out_dir, PRODUCER, config, overwrite)
    if finished is not None:
        console.print(f"top: {out} is already complete for this corpus and config; nothing to do", highlight=False)
        return TopResult(finished, True)
    ids: list[str] = []
    scores, tokens, shard_rows = [], [], []
    for shard, path in enumerate(corpus.shard_paths):
        table = read_shard_columns(corpus, shard, ["n_bytes"], [column])
        values = pc.cast(table.column(column.name), pa.float64()).to_numpy(zero_copy_only=False)  # null -> NaN
        n_bytes = table.column("n_bytes").to_numpy().astype(np.int64)
        ids.extend(table.column("id").to_pylist())
        scores.append(np.asarray(values, dtype=np.float64))
        tokens.append(counter.shard_tokens(path, n_bytes) if counter else n_bytes)
        shard_rows.append(table.num_rows)
    score = np.concatenate(scores) if scores else np.zeros(0)
    cost = np.concatenate(tokens) if tokens else np.zeros(0, dtype=np.int64)
    keep, rank = rank_and_keep(ids, score, cost, cfg)
    params = {**config, "corpus": str(corpus.root), "out": str(out)}
    with stage_run(PRODUCER, params, enabled=tracking) as run:
        attributes = write_computed_attributes(
            out,
            corpus,
            producer=PRODUCER,
            version=VERSION,
            ids=ids,
            shard_rows=shard_rows,
            columns={"top_keep": keep, "top_rank": rank},
            schema=[pa.field("top_keep", pa.bool_()), pa.field("top_rank", pa.int64())],
            descriptions=DESCRIPTIONS,
            config=config,
            config_hash=config_hash,
            fingerprint=fingerprint,
            run=run,
        )
        kept_tokens = int(cost[keep].sum())
        run.log_metrics({"kept_documents": int(keep.sum()), "kept_tokens": kept_tokens})
    return TopResult(attributes, False, kept_tokens)
