from __future__ import annotations

import numpy as np
import pytest
from _helpers import blobs
from sklearn.decomposition import PCA

import ped
from ped.sa import SA_PARAMS, attract_offsets, spread_attract

GATE = np.log(1e9) / 5  # the mean of the two leading eigenvalues above which SA applies


def direct_attract(Z, y, alpha, sigma):
    """The attract step with a double loop over the classes."""
    classes = np.unique(y)
    m = {c: Z[y == c].mean(0) for c in classes}
    R = {c: np.sqrt(Z[y == c].var(0).sum()) for c in classes}
    out = Z.copy()
    for a in classes:
        for b in classes:
            if a != b:
                d = np.linalg.norm(m[a] - m[b])
                out[y == a] += alpha * (d - sigma * (R[a] + R[b])) * (m[a] - m[b]) / d
    return out


def _wide(scale, seed=0):
    X, y = blobs(n_per_class=30, n_classes=4, dim=80, seed=seed)
    return X * scale, y


def test_attract_equals_the_double_loop():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(5), 12)
    Z = rng.normal(size=(60, 7)) + 2.0 * rng.normal(size=(5, 7))[y]
    means = np.stack([Z[y == c].mean(0) for c in range(5)])
    var = np.stack([Z[y == c].var(0) for c in range(5)])
    got = Z + attract_offsets(means, var, alpha=0.01, sigma=0.6)[y]
    np.testing.assert_allclose(got, direct_attract(Z, y, 0.01, 0.6), rtol=0, atol=1e-13)


def test_attract_pulls_close_pairs_and_pushes_far_pairs():
    means = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
    var = np.full((3, 2), 0.5)  # R = 1 for every class: threshold 1.2 at sigma 0.6
    off = attract_offsets(means, var, alpha=0.1, sigma=0.6)
    # Class 0: pulled towards class 1 (d = 1 < 1.2) by 0.02, pushed from class 2 by 0.88.
    np.testing.assert_allclose(off[0], [0.1 * (1 - 1.2) * -1 + 0.1 * (10 - 1.2) * -1, 0.0])


def test_coinciding_means_add_no_displacement():
    means = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 0.0]])
    off = attract_offsets(means, np.ones((3, 2)), alpha=0.1, sigma=0.6)
    assert np.isfinite(off).all()
    np.testing.assert_allclose(off[0], off[1])


def test_gate_follows_the_two_leading_eigenvalues():
    X, y = _wide(1.0)
    lam = np.sort(np.linalg.eigvalsh(np.cov(X.T, bias=True)))[-2:].mean()
    below = spread_attract(X * np.sqrt(0.99 * GATE / lam), y)
    above = spread_attract(X * np.sqrt(1.01 * GATE / lam), y)
    assert not below.applied and below.features.shape == X.shape
    assert above.applied and above.features.shape == (120, 64)
    assert spread_attract(X * np.sqrt(0.99 * GATE / lam), y, gate=False).applied


def test_transform_is_seeded_pca_then_attract():
    X, y = _wide(3.0)
    out = spread_attract(X, y)
    Z = PCA(64, svd_solver="randomized", random_state=1919, iterated_power=1).fit_transform(X)
    np.testing.assert_allclose(out.features, direct_attract(Z, y, 0.005, 0.6), atol=1e-9)


def test_sa_score_is_the_base_on_the_transformed_features():
    X, y = _wide(3.0)
    moved = spread_attract(X, y).features
    for base in ("logme", "sfda", "etran_lda", "knn"):
        assert ped.score(f"sa+{base}", X, y) == pytest.approx(ped.score(base, moved, y), rel=1e-9)
    # closed gate: the base on the untouched features
    X1, y1 = _wide(0.1)
    assert ped.score("sa+logme", X1, y1) == ped.score("logme", X1, y1)


def test_narrow_features_cap_the_pca():
    # The official PCA(64) fails on 12 features; SA uses 12 components.
    X, y = blobs(dim=12)
    out = spread_attract(X * 10, y)
    assert out.applied and out.features.shape == (X.shape[0], 12)
    assert np.isfinite(ped.score("sa+sfda", X * 10, y))


def test_sa_parameters_are_described_and_checked():
    params = ped.describe_score("sa+logme")["params"]
    assert {k: params[k] for k in SA_PARAMS} == SA_PARAMS
    X, y = _wide(3.0)
    a = ped.score("sa+logme", X, y, sa_alpha=0.05)
    assert a != ped.score("sa+logme", X, y)
    with pytest.raises(ValueError, match=r"Unknown parameter 'nsigma' for score 'sa\+logme'"):
        ped.score("sa+logme", X, y, nsigma=0.6)
    with pytest.raises(ValueError, match=r"Expected sa_sigma >= 0, got -1"):
        ped.score("sa+logme", X, y, sa_sigma=-1)
    with pytest.raises(ValueError, match=r"'sa\+leep' is undefined \(SA moves features\)"):
        ped.score("sa+leep", None, y, source_probs=np.full((len(y), 3), 1 / 3))
    assert "sa+logme" in ped.list_scores() and "sa+leep" not in ped.list_scores()
