"""Synthetic features with the structure of real ones, shared by the tests."""

from __future__ import annotations

import numpy as np


def make_blobs(n_per_class=40, n_classes=4, dim=12, sep=2.0, seed=0, dtype=np.float64):
    """Low-rank, ReLU-like class clusters (the shape of real features)."""
    rng = np.random.default_rng(seed)
    latent = 6
    centers = rng.normal(0, sep, (n_classes, latent))
    y = np.repeat(np.arange(n_classes), n_per_class)
    z = centers[y] + rng.normal(0, 1, (y.size, latent))
    A = rng.normal(0, 1, (latent, dim)) / np.sqrt(latent)
    X = np.maximum(z @ A, 0) + 0.05 * rng.normal(size=(y.size, dim))
    perm = rng.permutation(y.size)
    return X[perm].astype(dtype), y[perm]
