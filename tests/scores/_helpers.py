"""Shared inputs of the per-score tests."""

from __future__ import annotations

import numpy as np

import ped


def blobs(n_per_class=30, n_classes=4, dim=12, sep=2.0, seed=0, dtype=np.float64):
    """ReLU-like class clusters of a low-rank latent structure, shuffled."""
    rng = np.random.default_rng(seed)
    latent = 6
    centers = rng.normal(0, sep, (n_classes, latent))
    y = np.repeat(np.arange(n_classes), n_per_class)
    z = centers[y] + rng.normal(0, 1, (y.size, latent))
    A = rng.normal(0, 1, (latent, dim)) / np.sqrt(latent)
    X = np.maximum(z @ A, 0) + 0.05 * rng.normal(size=(y.size, dim))
    perm = rng.permutation(y.size)
    return X[perm].astype(dtype), y[perm]


def moved(X, y, seed=1, nsigma=2.0):
    """The features after the PED dynamics, with a reference set to move them with."""
    ref = np.random.default_rng(seed).normal(size=(50, X.shape[1]))
    sim = ped.simulate(X, y, reference=ref, nsigma=nsigma)
    return sim.features, ref
