"""The (translated) features as one float64 array, for the scores that need every sample at
once (kNN, NCTI, PACTran): at most one N x D copy, no second temporary."""

from __future__ import annotations

import numpy as np

from .._stats import ClassStats

__all__ = ["dense_features", "peak_magnitude"]


def dense_features(stats: ClassStats, *, writable: bool = False) -> np.ndarray:
    """The features of ``stats`` as float64, with the class offsets added row block by row
    block. Without offsets, float64 features are returned as they are unless ``writable``
    (then a copy the caller owns)."""
    if stats.offsets is None:
        X = stats.X
        if X.dtype == np.float64 and not writable:
            return X
        return np.array(X, dtype=np.float64)
    return stats.gather(np.arange(stats.n_samples))


def peak_magnitude(X: np.ndarray) -> float:
    """``max |X|`` without forming ``|X|`` (no second N x D array); 0.0 for an empty array,
    NaN or inf where ``X`` holds one."""
    return float(max(X.max(), -X.min())) if X.size else 0.0
