from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from _helpers import blobs, moved
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

import ped
from ped.scores.parc import parc_correlation


def direct_parc(X, y, exact_labels=False):
    """The official PARC (PCA, StandardScaler, corrcoef RDMs, Spearman of the triangles)."""
    k = min(32, X.shape[0], X.shape[1])
    Z = PCA(n_components=k, svd_solver="randomized", random_state=1919, iterated_power=1)
    F = StandardScaler().fit_transform(Z.fit_transform(X))
    rdm1 = 1 - np.corrcoef(F)
    iu = np.triu_indices(len(y), 1)
    if exact_labels:
        rdm2 = (y[:, None] != y[None, :]).astype(float)
    else:
        rdm2 = 1 - np.corrcoef(np.eye(y.max() + 1)[y])
    return scipy.stats.spearmanr(rdm1[iu], rdm2[iu])[0] * 100


def test_matches_official_formula():
    X, y = blobs(dim=64, n_per_class=50)
    assert ped.score("parc", X, y) == pytest.approx(direct_parc(X, y), rel=1e-9)


def test_exact_label_rdm_option():
    X, y = blobs(dim=64, n_per_class=50)
    assert ped.score("parc", X, y, faithful=False) == pytest.approx(
        direct_parc(X, y, exact_labels=True), rel=1e-9
    )


def test_fewer_than_32_features_caps_the_dimension():
    X, y = blobs(dim=10)
    value = ped.score("parc", X, y)
    assert np.isfinite(value)
    assert value == pytest.approx(direct_parc(X, y), rel=1e-9)


def test_fewer_samples_than_features():
    X, y = blobs(dim=200, n_per_class=5)
    assert ped.score("parc", X, y) == pytest.approx(direct_parc(X, y), rel=1e-9)


def test_rank_correlation_with_ties_matches_scipy():
    rng = np.random.default_rng(0)
    R = rng.normal(size=(40, 3))
    R[10] = R[3]  # duplicated rows: ties in the feature RDM
    R[11] = R[3]
    R -= R.mean(1, keepdims=True)
    R /= np.linalg.norm(R, axis=1, keepdims=True)
    levels = rng.integers(0, 3, 40 * 39 // 2).astype(np.uint8)
    iu = np.triu_indices(40, 1)
    rdm = np.clip(1 - R @ R.T, 0, 2)[iu]
    expected = scipy.stats.spearmanr(rdm, levels)[0]
    assert parc_correlation(R, levels, 3) == pytest.approx(expected, rel=1e-12)


def test_separated_classes_reach_the_largest_possible_correlation():
    # Every within-class dissimilarity below every cross-class one: the rank correlation
    # with the two-valued label RDM is that of a perfect split, and shuffled labels give ~0.
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(40), 5)
    X = rng.normal(size=(40, 40))[y] * 10 + 0.01 * rng.normal(size=(200, 40))
    M, m_same = 200 * 199 // 2, 40 * 10
    best = scipy.stats.spearmanr(np.arange(M), np.r_[np.zeros(m_same), np.ones(M - m_same)])[0]
    assert ped.score("parc", X, y, faithful=False) == pytest.approx(100 * best, rel=1e-9)
    assert abs(ped.score("parc", X, rng.permutation(y), faithful=False)) < 2.0


def test_subsampling_scores_the_sampled_labels():
    X, y = blobs(dim=40, n_per_class=50)
    a = ped.score("parc", X, y, max_samples=120, random_state=0)
    assert a == ped.score("parc", X, y, max_samples=120, random_state=0)
    # The subsample: floor(30 * 120 / 200) per class, drawn as the implementation does.
    rng = np.random.default_rng(0)
    rows = np.sort(
        np.concatenate([rng.choice(np.flatnonzero(y == c), 30, replace=False) for c in range(4)])
    )
    assert a == pytest.approx(direct_parc(X[rows], y[rows]), rel=1e-9)


def test_translated_statistics_and_input_untouched():
    X, y = blobs(dim=40)
    before = X.copy()
    Xm, ref = moved(X, y)
    assert ped.score("ped+parc", X, y, reference=ref, nsigma=2.0) == pytest.approx(
        direct_parc(Xm, y), rel=1e-7
    )
    np.testing.assert_array_equal(X, before)


def test_all_singleton_classes_give_zero():
    rng = np.random.default_rng(0)
    assert ped.score("parc", rng.normal(size=(6, 8)), np.arange(6)) == 0.0
