"""Weight vectors over the quality scores, drawn from a symmetric Dirichlet (the paper: alpha = 1, i.e.
uniform on the simplex)."""

from __future__ import annotations

import numpy as np

from curation.errors import ConfigError


def sample_weights(count: int, dimensions: int, seed: int, alpha: float = 1.0) -> np.ndarray:
    """``count`` weight vectors, each non-negative and summing to 1: float64 [count, dimensions].

    Drawn from ``numpy.random.Generator(PCG64(seed))``: the same seed gives the same vectors on every
    machine, and the first rows do not change when ``count`` grows (run i keeps its weights when the
    number of proxy runs is raised and the fit resumed).
    """
    if count < 0:
        raise ConfigError(f"number of weight vectors must be >= 0, not {count}")
    if dimensions < 1:
        raise ConfigError("need at least one quality score to weight")
    if not alpha > 0:
        raise ConfigError(f"Dirichlet alpha must be > 0, not {alpha}")
    rng = np.random.Generator(np.random.PCG64(seed))
    # Sequential gamma draws, one row at a time, keep earlier rows fixed as count grows.
    gammas = rng.standard_gamma(alpha, size=(count, dimensions))
    totals = gammas.sum(axis=1, keepdims=True)
    # A row of all-zero gammas is possible only for tiny alpha; fall back to uniform weights there.
    return np.where(totals > 0, gammas / np.where(totals > 0, totals, 1.0), 1.0 / dimensions)
