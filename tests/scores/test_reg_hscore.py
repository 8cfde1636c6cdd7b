from __future__ import annotations

import numpy as np
import pytest
from _helpers import blobs, moved
from sklearn.covariance import ledoit_wolf_shrinkage as sk_shrinkage

import ped
from ped._stats import ClassStats
from ped._validation import check_labels
from ped.scores.reg_hscore import ledoit_wolf_shrinkage


def direct_reg_hscore(f, y):
    f = f - f.mean(0)
    alpha = sk_shrinkage(f)
    S = np.cov(f, rowvar=False, bias=True)
    mu = np.trace(S) / f.shape[1]
    S_alpha = (1 - alpha) * S + alpha * mu * np.eye(f.shape[1])
    g = np.zeros_like(f)
    for c in np.unique(y):
        g[y == c] = f[y == c].mean(0)
    return np.trace(np.linalg.inv(S_alpha) @ ((1 - alpha) * np.cov(g, rowvar=False, bias=True)))


@pytest.mark.parametrize("shape", [(120, 12), (20, 60)])
def test_shrinkage_matches_sklearn(shape):
    rng = np.random.default_rng(0)
    X = rng.normal(size=shape) @ rng.normal(size=(shape[1], shape[1]))
    stats = ClassStats(X, check_labels(np.arange(shape[0]) % 3))
    assert ledoit_wolf_shrinkage(stats) == pytest.approx(sk_shrinkage(X), rel=1e-9)


def test_matches_direct_formula():
    X, y = blobs(dim=20)
    assert ped.score("reg_hscore", X, y) == pytest.approx(direct_reg_hscore(X, y), rel=1e-9)


def test_more_features_than_samples_is_finite_and_below_hscore():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(15, 60))
    y = np.repeat(np.arange(3), 5)
    value = ped.score("reg_hscore", X, y)
    assert value == pytest.approx(direct_reg_hscore(X, y), rel=1e-9)
    assert 0.0 < value < ped.score("hscore", X, y)


def test_translated_statistics():
    X, y = blobs(dim=20)
    Xm, ref = moved(X, y)
    assert ped.score("ped+reg_hscore", X, y, reference=ref, nsigma=2.0) == pytest.approx(
        direct_reg_hscore(Xm, y), rel=1e-7
    )


def test_constant_features_score_zero():
    X = np.ones((10, 4))
    assert ped.score("reg_hscore", X, np.arange(10) % 2) == 0.0


def peers_reg_hscore(f, y):
    """The shrinkage H-score as tllib and transformer-ranker compute it: scikit-learn's
    Ledoit-Wolf covariance (divided by N) against ``np.cov`` of the class means (divided by
    N - 1)."""
    from sklearn.covariance import LedoitWolf

    f = f - f.mean(0)
    lw = LedoitWolf(assume_centered=False).fit(f)
    g = np.zeros_like(f)
    for c in np.unique(y):
        g[y == c] = f[y == c].mean(0)
    covg = np.cov(g, rowvar=False)
    return np.trace(np.linalg.pinv(lw.covariance_, rcond=1e-15) @ ((1 - lw.shrinkage_) * covg))


@pytest.mark.parametrize("shape", [(120, 12), (15, 40)])
def test_peers_differ_by_exactly_n_minus_one_over_n(shape):
    # docs/deviations.md: ped keeps one (population) convention; the peers mix two.
    rng = np.random.default_rng(2)
    y = np.arange(shape[0]) % 3
    X = rng.normal(size=shape) + y[:, None]
    N = shape[0]
    ours = ped.score("reg_hscore", X, y)
    assert ours == pytest.approx(peers_reg_hscore(X, y) * (N - 1) / N, rel=1e-9)
    assert ours != pytest.approx(peers_reg_hscore(X, y), rel=1e-4)
