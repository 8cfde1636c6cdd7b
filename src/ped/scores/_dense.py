"""The (translated) features as one float64 array, for the scores that need every sample at
once (kNN, NCTI, PACTran): at most one N x D copy, no second temporary."""

from __future__ import annotations

import numpy as np

from .._stats import ClassStats

__all__ = ["dense_features"]


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
