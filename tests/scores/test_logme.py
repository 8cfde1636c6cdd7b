"""LogME against an independent, straightforward implementation of the official algorithm."""

from __future__ import annotations

import numpy as np
import pytest
from official_reference import logme as official_logme

import ped


def few_samples(seed=0, n=100, d=256, n_classes=4):
    """ReLU-like features of a low-dimensional latent structure, N < D."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    latent = rng.normal(size=(n, 16)) + 1.5 * rng.normal(size=(n_classes, 16))[y]
    X = np.maximum(latent @ rng.normal(size=(16, d)) + 0.3 * rng.normal(size=(n, d)), 0.0)
    return X, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fewer_samples_than_dimensions_matches_the_official_algorithm(seed):
    X, y = few_samples(seed)
    assert ped.score("logme", X, y) == pytest.approx(official_logme(X, y), rel=1e-9)


def test_fewer_samples_than_dimensions_does_not_depend_on_row_order():
    X, y = few_samples()
    base = ped.score("logme", X, y)
    for seed in range(5):
        perm = np.random.default_rng(seed).permutation(y.size)
        assert ped.score("logme", X[perm], y[perm]) == pytest.approx(base, rel=1e-10)


def test_rank_deficient_few_samples():
    # Rank 10 < N = 40 < D = 64: the thin SVD has 30 zero singular values.
    rng = np.random.default_rng(5)
    y = np.arange(40) % 3
    X = rng.normal(size=(40, 10)) @ rng.normal(size=(10, 64)) + y[:, None]
    assert ped.score("logme", X, y) == pytest.approx(official_logme(X, y), rel=1e-7)
    perm = rng.permutation(40)
    assert ped.score("logme", X[perm], y[perm]) == pytest.approx(official_logme(X, y), rel=1e-7)


@pytest.mark.parametrize("shape", [(300, 20), (64, 64)])
def test_more_samples_and_square_match_the_official_algorithm(shape):
    rng = np.random.default_rng(1)
    y = np.arange(shape[0]) % 5
    X = rng.normal(size=shape) + 0.5 * y[:, None]
    assert ped.score("logme", X, y) == pytest.approx(official_logme(X, y), rel=1e-9)


def test_ped_logme_with_few_samples_is_finite_and_order_free():
    X, y = few_samples()
    ref = np.random.default_rng(9).normal(size=(50, X.shape[1]))
    base = ped.score("ped+logme", X, y, reference=ref)
    perm = np.random.default_rng(3).permutation(y.size)
    assert np.isfinite(base)
    assert ped.score("ped+logme", X[perm], y[perm], reference=ref) == pytest.approx(base, rel=1e-9)
