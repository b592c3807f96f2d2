"""What a DataRater learned: its highest- and lowest-scored documents, and how far heuristics explain it.

On a seeded sample of the scored corpus, the 11 numeric RedPajama-v2 signals (plus log length) are
computed for every document; the report gives each one's Spearman correlation with the score and the R²
of a least-squares fit of the score on all of them (z-scored). The paper (Pile, 150M inner models) found an
R² of 0.77: heuristics explain most, not all, of what the rater learned.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from curation.errors import ConfigError, CorpusError
from raters.datarater.scoring import SCORE_COLUMN


def _excerpt(text: str, chars: int = 240) -> str:
    flat = " ".join(text.split())
    return (flat[:chars] + " …") if len(flat) > chars else flat


def learned_report(
    corpus_dir: str | Path, scores_dir: str | Path, sample: int = 5000, examples: int = 8, seed: int = 0
):
    """(markdown, payload) for a scored corpus."""
    import pyarrow as pa

    from curation.attributes import AttributeSet
    from curation.corpus import Corpus
    from curation.signals.numeric import NUMERIC_SIGNALS, numeric_signals_table
    from raters.datarater.meta import spearman

    corpus = Corpus.open(corpus_dir)
    scores = AttributeSet.open(scores_dir, corpus)
    documents = corpus.read_documents(["id", "text", "url"])
    values = scores.read(["id", SCORE_COLUMN])
    if not values.column("id").equals(documents.column("id")):
        raise CorpusError(f"{scores_dir} is not aligned with {corpus_dir} (ids differ); rescore the corpus")
    score = values.column(SCORE_COLUMN).to_numpy(zero_copy_only=False).astype(np.float64)
    defined = np.flatnonzero(~np.isnan(score))
    if len(defined) < 2:
        raise ConfigError(f"{scores_dir}: fewer than two documents have a score; nothing to report")
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(defined, size=min(sample, len(defined)), replace=False))
    texts = documents.column("text").take(pa.array(chosen)).to_pylist()
    urls = documents.column("url").take(pa.array(chosen)).to_pylist()
    s = score[chosen]
    signals = numeric_signals_table(texts)
    features = {name: signals.column(name).to_numpy(zero_copy_only=False) for name in NUMERIC_SIGNALS}
    features["log_bytes"] = np.log1p([len(t.encode("utf-8")) for t in texts])
    correlations = {name: spearman(np.nan_to_num(col, nan=np.nanmedian(col) if np.isfinite(col).any() else 0.0), s)
                    for name, col in features.items()}  # fmt: skip
    matrix = np.column_stack([np.nan_to_num(col, nan=np.nanmedian(col) if np.isfinite(col).any() else 0.0)
                              for col in features.values()])  # fmt: skip
    std = matrix.std(axis=0)
    z = (matrix - matrix.mean(axis=0)) / np.where(std > 0, std, 1.0)
    design = np.column_stack([np.ones(len(s)), z])
    coef, *_ = np.linalg.lstsq(design, s, rcond=None)
    residual = s - design @ coef
    enough = len(s) >= 5 * design.shape[1]  # an R² from fewer rows than ~5 per coefficient means little
    r2 = 1 - residual.var() / s.var() if s.var() > 0 and enough else math.nan
    order = np.argsort(-s)
    top = [{"score": float(s[i]), "url": urls[i], "text": _excerpt(texts[i])} for i in order[:examples]]
    bottom = [{"score": float(s[i]), "url": urls[i], "text": _excerpt(texts[i])} for i in order[::-1][:examples]]
    payload: dict[str, Any] = {
        "documents_scored": int(len(defined)),
        "sample": int(len(chosen)),
        "heuristics_r2": None if math.isnan(r2) else float(r2),
        "spearman_with_score": correlations,
        "highest": top,
        "lowest": bottom,
    }
    lines = [
        "# What the DataRater learned",
        "",
        f"Sample of {len(chosen):,} of {len(defined):,} scored documents from `{corpus.root}`.",
        f"R² of a linear fit of the score on the {len(features)} heuristics below: "
        + (f"**{r2:.3f}**." if not math.isnan(r2) else "not computed (too few documents)."),
        "",
        "| heuristic | Spearman with score |",
        "|---|---:|",
        *[f"| {name} | {value:+.3f} |" for name, value in sorted(correlations.items(), key=lambda kv: -abs(kv[1]))],
        "",
        "## Highest scored",
        "",
        *[f"- **{d['score']:+.3f}** {d['url'] or ''}: {d['text']}" for d in top],
        "",
        "## Lowest scored",
        "",
        *[f"- **{d['score']:+.3f}** {d['url'] or ''}: {d['text']}" for d in bottom],
        "",
    ]
    return "\n".join(lines), payload
