"""A rater as a datatrove pipeline step: ``RaterFilter(model_folder, threshold)`` keeps the documents whose
score passes the threshold, records the score in ``doc.metadata``, and drops the rest with a reason (to
datatrove's ``exclusion_writer`` when one is given).

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from raters.datatrove_filter import RaterFilter

    LocalPipelineExecutor(pipeline=[
        JsonlReader("data/"),
        RaterFilter("runs/models/fasttext", threshold=0.5),
        JsonlWriter("kept/"),
    ], tasks=2, workers=2).run()

Any model folder ``raters.text_scorer.load_scorer`` reads works (DSIR, fastText quality, dimension,
perplexity, DataRater), local or on a URL. By default a document is kept when its score is at least ``threshold``, or at most
it for a score where lower is better (perplexity's bits per byte); ``keep`` overrides that. Documents are
scored ``batch_size`` at a time. The model loads in each worker on first use and is never pickled.
"""

from __future__ import annotations

import math
from pathlib import Path

from datatrove.pipeline.filters.base_filter import BaseFilter

from curation.errors import ConfigError

KEEP_RULES = ("at_least", "at_most")


class RaterFilter(BaseFilter):
    name = "⭐ curation rater"

    def __init__(
        self,
        model: str | Path,
        threshold: float,
        *,
        keep: str | None = None,
        score_key: str | None = None,
        batch_size: int = 64,
        device: str = "cpu",
        exclusion_writer=None,
    ):
        from raters.model_folder import model_location
        from raters.text_scorer import load_scorer

        super().__init__(exclusion_writer, batch_size=batch_size)
        if keep is not None and keep not in KEEP_RULES:
            raise ConfigError(f"keep must be one of {', '.join(KEEP_RULES)}, not {keep!r}")
        if not math.isfinite(threshold):
            raise ConfigError(f"threshold must be a finite number, not {threshold}")
        self.model = model_location(model)  # a URL stays one: each worker downloads it once
        self.device = device
        # Loaded on the driver so a wrong folder fails before any work, then let go: datatrove writes every
        # step's attributes into its executor.json, which a loaded model cannot be.
        scorer = load_scorer(self.model, device)
        self.keep = keep or ("at_most" if scorer.lower_is_better else "at_least")
        self.threshold = float(threshold)
        self.score_key = score_key or scorer.column
        self._scorer = None

    def __getstate__(self):
        return {**self.__dict__, "_scorer": None}  # each worker loads its own (fastText models do not pickle)

    def scorer(self):
        if self._scorer is None:
            from raters.text_scorer import load_scorer

            self._scorer = load_scorer(self.model, self.device)
        return self._scorer

    def filter_batch(self, batch):
        scores = self.scorer().score([doc.text for doc in batch])
        results = []
        for doc, score in zip(batch, scores, strict=True):
            if math.isnan(score):
                results.append((False, "unscored"))
                continue
            doc.metadata[self.score_key] = float(score)
            passed = score >= self.threshold if self.keep == "at_least" else score <= self.threshold
            results.append(
                True if passed else (False, f"score_{'below' if self.keep == 'at_least' else 'above'}_threshold")
            )
        return results

    def filter(self, doc):
        return self.filter_batch([doc])[0]
