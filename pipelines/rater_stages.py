"""The quality raters a pipeline's ``raters`` section names: each kind's attribute producer, over a model
folder trained beforehand (``curate raters KIND train``)."""

from __future__ import annotations

from typing import Any


def rater_producer(section: Any):
    """The attribute producer of a ``RaterSection``: the model is loaded on the driver now, so a missing or
    broken model folder fails before any work, in one line naming it."""
    if section.kind == "dsir":
        from raters.dsir.scoring import DsirScores

        return DsirScores(section.model)
    if section.kind == "fasttext":
        from raters.fasttext_quality.scoring import FastTextQualityScores

        return FastTextQualityScores(section.model)
    if section.kind == "perplexity":
        from raters.perplexity.scoring import PerplexityScores

        return PerplexityScores(section.model, batch_size=section.batch_size, device=section.device)
    from raters.dimension.scoring import DimensionScores

    return DimensionScores(section.model)
