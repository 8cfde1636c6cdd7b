"""Shared inputs of the per-score tests."""

from __future__ import annotations

import numpy as np
from blobs_helper import make_blobs

import ped


def blobs(n_per_class=30, n_classes=4, dim=12, sep=2.0, seed=0, dtype=np.float64):
    """ReLU-like class clusters of a low-rank latent structure, shuffled."""
    return make_blobs(n_per_class, n_classes, dim, sep, seed, dtype)


def moved(X, y, seed=1, nsigma=2.0):
    """The features after the PED dynamics, with a reference set to move them with."""
    ref = np.random.default_rng(seed).normal(size=(50, X.shape[1]))
    sim = ped.simulate(X, y, reference=ref, nsigma=nsigma)
    return sim.features, ref
