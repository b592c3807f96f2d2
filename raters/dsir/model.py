"""``DsirModel``: two bags of hashed n-grams (target, raw) and the log importance weight of a document.

A bag is a distribution over the buckets of ``features``: p(b) = (count(b) + s) / (total + s * buckets),
with a pseudo-count ``s`` (default 1: add-one smoothing) so a bucket never seen in one corpus has a finite
log probability. A document x with n-gram buckets b_1..b_m scores

    dsir_log_ratio(x) = sum_i [log p_target(b_i) - log p_raw(b_i)]  =  log p_target(x) - log p_raw(x)

under the two bag-of-n-grams models: DSIR's log importance weight; higher = more like the target.

Deviations from DSIR's code (``p-lambda/dsir``), and why:
- Smoothing: DSIR adds a pseudo-count to the target counts only (``target_laplace_smoothing``, default 0)
  and puts 1e-8 inside the logarithms; here the same pseudo-count goes to both bags (default 1), so a
  bucket absent from a small raw sample does not give a huge ratio. ``smoothing=0`` reproduces DSIR's
  1e-8 epsilon on both.
- Length: like DSIR, the sum is *not* divided by the number of n-grams (the importance weight is a
  likelihood ratio of the whole document). In the paper documents were chunks of about the same length,
  so length did not matter; on whole documents it does: the magnitude grows with length (a long target-like
  document scores far above a short one). A consumer that wants a per-n-gram rate can divide by the
  document's n-gram count (2 * len(features.words(text)) - 1). DSIR also leaves documents under 100 words out of selection
  (``min_example_length``); that is a keep/drop decision, not part of the score, and is not applied here.
- Empty documents score 0 (the empty bag is equally likely under both models), not NaN.
- Raw counts: DSIR stops counting raw text after 100k * buckets tokens; here every raw document given is
  counted (``curate raters dsir fit --max-bytes`` samples documents instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from curation.errors import ConfigError
from raters.dsir.features import BATCH_TEXTS, DEFAULT_BUCKETS, HashedNgrams, batches
from raters.model_dir import read_model_config

DSIR_FORMAT = "curation.dsir/v1"
CONFIG_FILE = "dsir.json"
COUNTS_FILE = "dsir.safetensors"
FEATURES = {
    "tokenizer": "lowercase, regex \\w+|[^\\w\\s]+ (NLTK WordPunctTokenizer)",
    "ngrams": [1, 2],
    "hash": "int(sha256(utf-8 n-gram)) mod buckets; bigrams joined by one space",
}


@dataclass
class DsirModel:
    target_counts: np.ndarray  # float64 [buckets]: summed n-gram counts of the target documents
    raw_counts: np.ndarray  # float64 [buckets]: the same for the raw documents
    smoothing: float = 1.0
    info: dict[str, Any] = field(default_factory=dict)  # provenance saved with the model (sources, sizes)

    def __post_init__(self) -> None:
        self.target_counts = np.asarray(self.target_counts, dtype=np.float64)
        self.raw_counts = np.asarray(self.raw_counts, dtype=np.float64)
        if self.target_counts.shape != self.raw_counts.shape or self.target_counts.ndim != 1:
            raise ConfigError("DSIR target and raw counts must be vectors of the same length")
        if self.smoothing < 0:
            raise ConfigError("--smoothing must be >= 0")
        if self.smoothing == 0 and (self.target_counts.sum() == 0 or self.raw_counts.sum() == 0):
            raise ConfigError("DSIR needs n-grams in both the target and the raw text")
        self._features = HashedNgrams(self.buckets)
        self._log_ratio: np.ndarray | None = None

    @property
    def buckets(self) -> int:
        return int(self.target_counts.shape[0])

    @classmethod
    def fit(
        cls,
        target_texts: Sequence[str],
        raw_texts: Sequence[str],
        buckets: int = DEFAULT_BUCKETS,
        smoothing: float = 1.0,
        info: dict[str, Any] | None = None,
    ) -> DsirModel:
        if buckets < 1:
            raise ConfigError("--buckets must be at least 1")
        if not target_texts or not raw_texts:
            raise ConfigError("DSIR needs at least one target and one raw document")
        features = HashedNgrams(buckets)
        target, raw = features.total_counts(target_texts), features.total_counts(raw_texts)
        if target.sum() == 0 or raw.sum() == 0:
            raise ConfigError("DSIR needs n-grams in both the target and the raw text (all documents are empty)")
        details = {"target_documents": len(target_texts), "raw_documents": len(raw_texts), **(info or {})}
        details.update(target_ngrams=int(target.sum()), raw_ngrams=int(raw.sum()))
        return cls(target, raw, smoothing, details)

    def log_probs(self, counts: np.ndarray) -> np.ndarray:
        """log p(bucket) of one bag, smoothed (see the module docstring)."""
        if self.smoothing == 0:
            return np.log(counts / counts.sum() + 1e-8)  # DSIR's own epsilon
        return np.log((counts + self.smoothing) / (counts.sum() + self.smoothing * self.buckets))

    @property
    def log_ratio(self) -> np.ndarray:
        """log p_target(b) - log p_raw(b) per bucket (DSIR's ``log_diff``)."""
        if self._log_ratio is None:
            self._log_ratio = self.log_probs(self.target_counts) - self.log_probs(self.raw_counts)
        return self._log_ratio

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """``dsir_log_ratio`` of each text (float64; 0 for a text without words)."""
        ratio, scores = self.log_ratio, []
        for batch in batches(texts, BATCH_TEXTS):
            scores.extend(ratio[indices].sum() for indices in self._features.indices_of_many(batch))
        return np.array(scores, dtype=np.float64)

    def save(self, folder: str | Path, extra: dict[str, Any] | None = None) -> None:
        """``dsir.safetensors`` (the two count vectors) then ``dsir.json`` (written last: a folder without it
        is an unfinished save)."""
        from safetensors.numpy import save_file

        from curation.corpus import commit, temporary_path, write_json_atomic

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / COUNTS_FILE
        tmp = temporary_path(final)
        save_file({"target_counts": self.target_counts, "raw_counts": self.raw_counts}, str(tmp))
        commit(tmp, final)
        payload = {
            "format": DSIR_FORMAT,
            "buckets": self.buckets,
            "smoothing": self.smoothing,
            "features": FEATURES,
            "score": "sum over the document's n-grams of log p_target - log p_raw (not length-normalised)",
            **self.info,
            **(extra or {}),
        }
        write_json_atomic(folder / CONFIG_FILE, payload)

    @classmethod
    def load(cls, folder: str | Path) -> DsirModel:
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        from raters.model_folder import opened_model_folder

        with opened_model_folder(folder) as folder:  # a path or a URL (downloaded once per process)
            payload = read_model_config(folder, CONFIG_FILE, DSIR_FORMAT, "curate raters dsir fit", what="a DSIR model")
            try:
                arrays = load_file(str(folder / COUNTS_FILE))
                target, raw = arrays["target_counts"], arrays["raw_counts"]
            except (OSError, KeyError, SafetensorError) as exc:
                raise ConfigError(f"{folder / COUNTS_FILE}: cannot load the DSIR counts ({exc})") from exc
            if target.shape != (payload["buckets"],):
                raise ConfigError(f"{folder}: {target.shape[0]} counts for {payload['buckets']} buckets")
        info = {k: v for k, v in payload.items() if k not in ("format", "buckets", "smoothing", "features", "score")}
        return cls(target, raw, float(payload["smoothing"]), info)
