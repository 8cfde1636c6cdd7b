"""LogME against an independent, straightforward implementation of the official algorithm."""

from __future__ import annotations

import numpy as np
import pytest

import ped


def official_logme(F: np.ndarray, y: np.ndarray) -> float:
    """The official fixed-point LogME (thuml/LogME ``_fit_fixed_point``), written from the
    algorithm's description: thin SVD of F when N <= D, truncated SVD of F^T F otherwise."""
    F = np.asarray(F, dtype=np.float64)
    N, D = F.shape
    if N > D:
        _, s2, vh = np.linalg.svd(F.T @ F)
        s = np.sqrt(s2)
        k = int(np.sum(s > 1e-10))
        s, vh = s[:k], vh[:k]
        u = (F @ vh.T) / s
    else:
        u, s, _ = np.linalg.svd(F, full_matrices=False)
    sigma = s**2
    evidences = []
    for c in range(int(y.max()) + 1):
        t = (y == c).astype(np.float64)
        x2 = (u.T @ t) ** 2
        r0 = t @ t - x2.sum()
        alpha = beta = 1.0
        for _ in range(11):
            lam = alpha / beta
            gamma = np.sum(sigma / (sigma + lam))
            m2 = np.sum(sigma * x2 / (lam + sigma) ** 2)
            res2 = np.sum(x2 / (1 + sigma / lam) ** 2) + r0
            alpha = gamma / (m2 + 1e-5)
            beta = (N - gamma) / (res2 + 1e-5)
            if abs(alpha / beta - lam) / lam <= 1e-3:
                break
        ev = (
            D / 2 * np.log(alpha)
            + N / 2 * np.log(beta)
            - 0.5 * np.sum(np.log(alpha + beta * sigma))
            - beta / 2 * res2
            - alpha / 2 * m2
            - N / 2 * np.log(2 * np.pi)
        )
        evidences.append(ev / N)
    return float(np.mean(evidences))


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
