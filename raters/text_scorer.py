"""Any saved rater as one thing that scores texts: ``load_scorer(folder).score(texts)``.

The kind of model is read from the folder's config file (written last by every rater's ``train``): DSIR
(``dsir.json``), fastText quality (``fasttext_quality.json``), a dimension rater (``dimension.json``, its
expected class in [0, 5]), a proxy perplexity model (its checkpoint config; bits per byte, lower is better)
or a DataRater (``rater.json``). Used where a rater scores text outside a corpus, such as a datatrove
pipeline step (``raters.datatrove_filter``). ``folder`` may be a URL: its files are downloaded once per
process (``raters.model_folder``). Weights load from safetensors or fastText files; nothing is unpickled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curation.errors import ConfigError


@dataclass
class TextScorer:
    kind: str  # dsir, fasttext-quality, dimension, perplexity, datarater
    column: str  # the score's column name in an attribute set
    lower_is_better: bool
    _score: Callable[[list[str]], np.ndarray]
    config_file: str = ""  # the folder's config file, written last by the rater's training: what it was trained with

    def score(self, texts: Sequence[str | None]) -> np.ndarray:
        """One float64 score per text; NaN where the rater cannot score (no words, empty text)."""
        return np.asarray(self._score([t or "" for t in texts]), dtype=np.float64)


def load_scorer(folder: str | Path, device: str = "cpu", batch_size: int = 32) -> TextScorer:
    """The rater saved in ``folder`` (a path or a URL); ``device`` and ``batch_size`` apply to the torch models."""
    from raters.model_folder import errors_named, local_model_folder, model_location

    location = model_location(folder)
    local = local_model_folder(location)
    with errors_named(local, location):
        return _load_local(local, device, batch_size)


def _load_local(folder: Path, device: str, batch_size: int) -> TextScorer:
    from curation.proxy.checkpoint import CONFIG_FILE as PROXY_CONFIG

    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such model folder")
    if (folder / "dsir.json").is_file():
        from raters.dsir.model import DsirModel

        dsir = DsirModel.load(folder)
        return TextScorer("dsir", "dsir_log_ratio", False, dsir.score, "dsir.json")
    if (folder / "fasttext_quality.json").is_file():
        from raters.fasttext_quality.model import QualityClassifier

        classifier = QualityClassifier.load(folder)
        return TextScorer("fasttext-quality", "fasttext_quality", False, classifier.score, "fasttext_quality.json")
    if (folder / "dimension.json").is_file():
        from raters.dimension.model import DimensionRater

        dimension = DimensionRater.load(folder)
        return TextScorer(
            "dimension", dimension.score_column, False, lambda texts: dimension.score(texts)[0], "dimension.json"
        )
    if (folder / "rater.json").is_file():
        from raters.datarater.checkpoint import load_rater
        from raters.datarater.scoring import SCORE_COLUMN, score_texts

        rater, tokenizer, _ = load_rater(folder, device)
        return TextScorer(
            "datarater",
            SCORE_COLUMN,
            False,
            lambda texts: score_texts(rater, tokenizer, texts, batch_size, device),
            "rater.json",
        )
    if (folder / PROXY_CONFIG).is_file():
        from raters.perplexity.model import ProxyPerplexity

        proxy = ProxyPerplexity.load(folder, device)
        return TextScorer("perplexity", "proxy_bpb", True, lambda texts: proxy.score(texts, batch_size), PROXY_CONFIG)
    raise ConfigError(
        f"{folder}: not a saved rater (no dsir.json, fasttext_quality.json, dimension.json, rater.json or "
        f"{PROXY_CONFIG}; train one with `curate raters ... train` or `curate datarater train`)"
    )
