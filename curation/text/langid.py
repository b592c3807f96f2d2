"""Offline language identification with fastText's ``lid.176.ftz``.

The model file ships inside this package (``curation/text/models/lid.176.ftz``, CC BY-SA 3.0, see the
``NOTICE.md`` beside it), so nothing is downloaded at run time and no second package installs a competing
``fasttext`` module. It is loaded with ``fasttext`` (``fasttext-numpy2-wheel``), the same module the fastText
quality rater trains with. A different local model can be given with ``--lid-model PATH`` (any fastText
``__label__xx`` model).
"""

from __future__ import annotations

import os
from functools import lru_cache

from curation.errors import ConfigError

MAX_CHARS = 10_000  # enough for a stable prediction; bounds the cost on enormous documents


BUNDLED_MODEL_SHA256 = "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"


def bundled_model_path() -> str | None:
    """The ``lid.176.ftz`` shipped with the package, or None if an installation lost it."""
    path = os.path.join(os.path.dirname(__file__), "models", "lid.176.ftz")
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
                "no offline language-ID model: the package's curation/text/models/lid.176.ftz is missing "
                "(reinstall curation), or pass --lid-model PATH, or --no-langid to leave lang empty"
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
