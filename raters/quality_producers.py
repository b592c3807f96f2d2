"""The attribute producer of each quality rater kind (``dsir``, ``fasttext``, ``perplexity``, ``dimension``)
over a model folder trained beforehand (``curate raters KIND train``): what ``curate raters KIND score``, a
pipeline's ``raters`` section and ``raters.api.quality_score`` run."""

from __future__ import annotations

from curation.errors import ConfigError

KINDS = ("dsir", "fasttext", "perplexity", "dimension")


def quality_producer(kind: str, model: str, *, batch_size: int = 32, device: str = "auto", gpus_per_task: float = 0.0):
    """The producer scoring with the ``kind`` rater in ``model`` (a folder, a URL or an MLflow model URI). The
    model is loaded on the driver now, so a missing or broken model fails before any work, in one line naming
    it. ``batch_size``, ``device`` and ``gpus_per_task`` apply to perplexity only."""
    if kind == "dsir":
        from raters.dsir.scoring import DsirScores

        return DsirScores(model)
    if kind == "fasttext":
        from raters.fasttext_quality.scoring import FastTextQualityScores

        return FastTextQualityScores(model)
    if kind == "perplexity":
        from raters.perplexity.scoring import PerplexityScores

        return PerplexityScores(model, batch_size=batch_size, device=device, gpus_per_task=gpus_per_task)
    if kind == "dimension":
        from raters.dimension.scoring import DimensionScores

        return DimensionScores(model)
    raise ConfigError(f"unknown rater kind {kind!r}; one of {', '.join(KINDS)}")
