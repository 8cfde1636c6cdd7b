from __future__ import annotations

import numpy as np
import pytest
from _helpers import blobs
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

import ped
from ped.scores.ncti import ncti_components


def official_like(X, y):
    """The official sequence: the global RNG seeded, PCA(64) with the default solver."""
    np.random.seed(0)
    pca = PCA(n_components=min(64, *X.shape))
    Z = pca.fit_transform(X.copy())
    temp = max(np.exp(-pca.explained_variance_[:32].sum()), 1e-10)
    if temp == 1e-10:
        clf = LinearDiscriminantAnalysis(solver="svd")
    else:
        clf = LinearDiscriminantAnalysis(solver="eigen", shrinkage=float(temp))
    F = clf.fit_transform(Z, y)
    F = F - F.mean(0, keepdims=True)
    P = clf.predict_proba(Z)
    vc = np.log(sum(np.linalg.norm(P[y == c], ord="nuc") for c in np.unique(y)))
    return np.linalg.norm(F, ord="nuc"), P[np.arange(len(y)), y].mean(), vc


@pytest.mark.parametrize(
    "n_per_class, dim, scale",
    [
        (40, 80, 1.0),  # svd branch (large variances), full solver
        (40, 80, 0.05),  # eigen branch with shrinkage (small variances)
        (20, 700, 1.0),  # wide and short: scikit-learn picks the randomized solver
    ],
)
def test_components_equal_the_official_sequence(n_per_class, dim, scale):
    X, y = blobs(n_per_class=n_per_class, n_classes=5, dim=dim)
    X = X * scale
    got = ncti_components(X, y, 5)
    assert got == pytest.approx(official_like(X, y), rel=1e-10)
    assert ped.score("ncti", X, y, component="seli") == pytest.approx(got[0], rel=1e-12)
    assert ped.score("ncti", X, y) == pytest.approx(got[1], rel=1e-12)
    assert ped.score("ncti", X, y, component="vc") == pytest.approx(-got[2], rel=1e-12)


def test_narrow_features_cap_the_pca():
    # The official PCA(64) fails on 12 features; ped uses 12 components.
    X, y = blobs(dim=12)
    assert np.isfinite(ped.score("ncti", X, y))
    assert ncti_components(X, y, 4) == pytest.approx(official_like(X, y), rel=1e-10)


def test_collapsed_classes_give_perfect_ncc():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 25)
    X = np.eye(4)[y] @ rng.normal(size=(4, 70)) * 50 + 1e-3 * rng.normal(size=(100, 70))
    assert ped.score("ncti", X, y) == pytest.approx(1.0, abs=1e-9)


def test_component_errors():
    X, y = blobs()
    with pytest.raises(ValueError, match=r"Expected component to be one of .* got 'sum'"):
        ped.score("ncti", X, y, component="sum")
