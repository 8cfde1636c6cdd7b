from __future__ import annotations

import numpy as np
import pytest
from _helpers import blobs, moved
from sklearn.decomposition import PCA

import ped


def direct_gbc(X, y, gaussian):
    """The official formula, written out with loops."""
    k = min(64, X.shape[1], X.shape[0])
    Z = PCA(n_components=k, svd_solver="full").fit_transform(X)
    stats = {}
    for c in np.unique(y):
        Zc = Z[y == c]
        stats[c] = (Zc.mean(0), np.maximum(Zc.var(0), 1e-4))
    total = 0.0
    for a in stats:
        for b in stats:
            if a == b:
                continue
            (m1, v1), (m2, v2) = stats[a], stats[b]
            if gaussian == "spherical":
                v1, v2 = v1.mean(), v2.mean()
            avg = (v1 + v2) / 2
            db = np.sum((m1 - m2) ** 2 / avg) / 8 + 0.5 * (
                np.sum(np.log(avg)) - 0.5 * np.sum(np.log(v1)) - 0.5 * np.sum(np.log(v2))
            )
            total += np.exp(-db)
    return -total


@pytest.mark.parametrize("gaussian", ["spherical", "diagonal"])
def test_matches_direct_formula(gaussian):
    X, y = blobs(dim=80, n_per_class=40)
    assert ped.score("gbc", X, y, gaussian=gaussian) == pytest.approx(
        direct_gbc(X, y, gaussian), rel=1e-9
    )


@pytest.mark.parametrize("gaussian", ["spherical", "diagonal"])
def test_fewer_dims_than_64_uses_all(gaussian):
    X, y = blobs(dim=12)
    assert ped.score("gbc", X, y, gaussian=gaussian) == pytest.approx(
        direct_gbc(X, y, gaussian), rel=1e-9
    )


def test_far_apart_classes_score_zero():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 50)
    X = rng.normal(size=(100, 5)) + 1000.0 * y[:, None]
    assert -1e-12 < ped.score("gbc", X, y) <= 0.0


@pytest.mark.parametrize("gaussian", ["spherical", "diagonal"])
def test_identical_classes_score_minus_two(gaussian):
    # Two classes with the same points: D_B = 0 for both ordered pairs.
    rng = np.random.default_rng(0)
    A = rng.normal(size=(20, 3))
    X = np.vstack([A, A])
    y = np.repeat([0, 1], 20)
    assert ped.score("gbc", X, y, gaussian=gaussian) == pytest.approx(-2.0, abs=1e-12)


def test_spherical_log_term_has_no_dimension_factor():
    # Same means, spherical variances s1 = 1 and s2 = 4 in k = 3 dims. The official quirk
    # gives D_B = 0.5 * (ln 2.5 - 0.5 ln 1 - 0.5 ln 4), not 3 times that.
    rng = np.random.default_rng(0)
    base = rng.normal(size=(4000, 3))
    base = (base - base.mean(0)) / base.std(0)
    # Rotate so PCA sees the two scales on the same axes; variances stay per dimension 1 and 4.
    X = np.vstack([base, 2.0 * base])
    y = np.repeat([0, 1], 4000)
    expected_db = 0.5 * (np.log(2.5) - 0.5 * np.log(4.0))
    assert ped.score("gbc", X, y, gaussian="spherical") == pytest.approx(
        -2 * np.exp(-expected_db), rel=1e-9
    )


def test_one_sample_classes_and_few_samples():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 100))
    y = np.array([0, 1, 2, 2, 3])
    value = ped.score("gbc", X, y)
    assert np.isfinite(value) and value <= 0.0


def test_float32_and_input_untouched():
    X, y = blobs(dim=70)
    X32 = X.astype(np.float32)
    before = X32.copy()
    v32 = ped.score("gbc", X32, y)
    np.testing.assert_array_equal(X32, before)
    assert v32 == pytest.approx(ped.score("gbc", X32.astype(np.float64), y), rel=1e-9)


def test_translated_statistics():
    X, y = blobs(dim=70)
    Xm, ref = moved(X, y)
    assert ped.score("ped+gbc", X, y, reference=ref, nsigma=2.0) == pytest.approx(
        direct_gbc(Xm, y, "spherical"), rel=1e-8
    )


def test_rejects_unknown_gaussian():
    X, y = blobs()
    with pytest.raises(ValueError, match=r"Expected gaussian to be one of \['spherical', "):
        ped.score("gbc", X, y, gaussian="full")
