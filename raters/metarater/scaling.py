"""Every quality score onto the same [0, 5] scale (the paper's min-max scaling), oriented so higher is better.

The bounds are the corpus's minimum and maximum of each score, measured once at fit time and stored with
the fit, so ``select`` applies exactly the scaling the weights were learned on (values outside the bounds,
on another corpus, are clipped). A score where lower is better (bits per byte, fraction of non-alphabetic
words, ...) is flipped: 5 - scaled. An undefined score (NaN: an empty document, no words) scales to 0, the
worst, so it never lifts a document. A constant score scales to 0 everywhere (it cannot rank).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curation.errors import ConfigError

SCALE_MAX = 5.0


@dataclass(frozen=True)
class ScoreScaling:
    columns: list[str]
    minimum: list[float]
    maximum: list[float]
    lower_is_better: list[bool]

    @classmethod
    def measure(cls, values: np.ndarray, columns: list[str], lower_is_better: list[bool]) -> ScoreScaling:
        """Bounds of each column of ``values`` [n, k] over its defined entries."""
        minimum, maximum = [], []
        for j in range(values.shape[1]):
            column = values[:, j]
            defined = column[np.isfinite(column)]
            minimum.append(float(defined.min()) if len(defined) else 0.0)
            maximum.append(float(defined.max()) if len(defined) else 0.0)
        return cls(list(columns), minimum, maximum, list(lower_is_better))

    def apply(self, values: np.ndarray) -> np.ndarray:
        """float32 [n, k] in [0, 5]; NaN -> 0."""
        low = np.asarray(self.minimum, dtype=np.float64)
        span = np.asarray(self.maximum, dtype=np.float64) - low
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = np.where(span > 0, (values - low) / np.where(span > 0, span, 1.0), 0.0)
        unit = np.clip(unit, 0.0, 1.0)
        flip = np.asarray(self.lower_is_better, dtype=bool)
        unit = np.where(flip, 1.0 - unit, unit)
        unit = np.where(np.isfinite(values) & (span > 0), unit, 0.0)
        return (SCALE_MAX * unit).astype(np.float32)

    def to_dict(self) -> dict:
        return {
            column: {"min": low, "max": high, "lower_is_better": flip}
            for column, low, high, flip in zip(
                self.columns, self.minimum, self.maximum, self.lower_is_better, strict=True
            )
        }

    @classmethod
    def from_dict(cls, payload: dict, columns: list[str]) -> ScoreScaling:
        """The scaling of ``columns``, in that order (JSON objects carry no order one can rely on)."""
        missing = [c for c in columns if c not in payload]
        if missing:
            raise ConfigError(f"the fit has no scaling for {missing}")
        return cls(
            columns,
            [float(payload[c]["min"]) for c in columns],
            [float(payload[c]["max"]) for c in columns],
            [bool(payload[c]["lower_is_better"]) for c in columns],
        )
