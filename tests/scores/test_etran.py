from __future__ import annotations

import numpy as np
import pytest
from _helpers import blobs, moved
from scipy.special import logsumexp, softmax

import ped


def direct_lda_with_eigen_step(X, y):
    """The official construction written out: shrunk within-class covariance, between
    scatter, ``eigh`` of the non-symmetric ``inv(S_w) S_b``, coefficients ``mu V V^T``."""
    classes, codes = np.unique(y, return_inverse=True)
    priors = np.bincount(codes) / len(y)
    means = np.stack([X[codes == c].mean(0) for c in range(len(classes))])
    Sw = sum(p * np.cov(X[codes == c].T, bias=True) for c, p in enumerate(priors))
    shrink = 0.3
    D = X.shape[1]
    Sw = (1 - shrink) * Sw + shrink * np.trace(Sw) / D * np.eye(D)
    Sb = np.cov(X.T, bias=True) - Sw
    _, V = np.linalg.eigh(np.linalg.inv(Sw) @ Sb)
    coef = means @ V @ V.T
    intercept = -0.5 * np.diag(means @ coef.T) + np.log(priors)
    P = softmax(X @ coef.T + intercept, axis=1)
    return P[np.arange(len(y)), codes].mean()


def test_lda_equals_the_official_construction_whose_eigen_step_cancels():
    X, y = blobs(n_per_class=30, n_classes=5, dim=7)
    keep = (y != 0) | (np.cumsum(y == 0) <= 12)  # unequal priors
    X, y = X[keep], y[keep]
    assert ped.score("etran_lda", X, y) == pytest.approx(
        direct_lda_with_eigen_step(X, y), rel=1e-10
    )


def test_lda_is_a_nearest_mean_classifier():
    # Equal priors and equal-norm means: the score is the softmax of -||x - mu||^2 / 2.
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 30)
    X = rng.normal(size=(90, 4))
    means = np.stack([X[y == c].mean(0) for c in range(3)])
    P = softmax(-0.5 * ((X[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    # -||x - mu||^2 / 2 = x.mu - ||mu||^2 / 2 - ||x||^2 / 2; the last term cancels.
    assert ped.score("etran_lda", X, y) == pytest.approx(P[np.arange(90), y].mean(), rel=1e-12)


@pytest.mark.parametrize("n, k", [(400, 2), (1500, 7), (1000, 5)])
def test_energy_is_mean_of_lowest_logsumexp(n, k):
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, 6))
    y = rng.integers(0, 3, n)
    E = np.sort(logsumexp(X, axis=1))
    assert ped.score("etran_energy", X, y) == pytest.approx(E[:k].mean(), rel=1e-13)


def test_energy_below_200_samples_is_the_smallest_energy():
    # The official count int(5) * N // 1000 is 0 below 200 samples (a NaN mean); ped uses 1.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 5))
    y = rng.integers(0, 2, 150)
    assert ped.score("etran_energy", X, y) == pytest.approx(logsumexp(X, axis=1).min(), rel=1e-13)
    assert ped.score("etran_energy", X, y, percent=10) == pytest.approx(
        np.sort(logsumexp(X, axis=1))[:15].mean(), rel=1e-13
    )


def test_translated_features_are_read():
    X, y = blobs()
    Xm, ref = moved(X, y)
    for name in ("etran_energy", "etran_lda"):
        assert ped.score(f"ped+{name}", X, y, reference=ref, nsigma=2.0) == pytest.approx(
            ped.score(name, Xm, y), rel=1e-12
        )


def test_percent_out_of_range():
    X, y = blobs()
    with pytest.raises(ValueError, match=r"Expected percent in \[0.1, 100.0\], got 0.05"):
        ped.score("etran_energy", X, y, percent=0.05)
