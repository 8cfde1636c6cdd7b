from __future__ import annotations

import numpy as np
import pytest
from _helpers import blobs

import ped


def direct_linear_cv(X, y, folds=5, C=1.0, seed=0):
    """Straightforward re-statement: folds dealt per class in the order of a seeded projection,
    scikit-learn's scaler + probe."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    r = np.random.default_rng(seed).standard_normal(X.shape[1])
    key = (X * 2.0 ** -np.frexp(np.abs(X).max())[1]) @ r
    ids = np.empty(len(y), dtype=int)
    for c in np.unique(y):
        m = np.flatnonzero(y == c)
        m = m[np.argsort(key[m], kind="stable")]
        ids[m] = np.arange(m.size) % folds
    right = 0
    for k in range(folds):
        te = ids == k
        sc = StandardScaler().fit(X[~te])
        clf = LogisticRegression(C=C, max_iter=200).fit(sc.transform(X[~te]), y[~te])
        right += (clf.predict(sc.transform(X[te])) == y[te]).sum()
    return right / len(y)


def test_matches_scikit_learn_pipeline():
    X, y = blobs(dim=10, sep=0.7)
    got = ped.score("linear_cv", X, y)
    assert got == pytest.approx(direct_linear_cv(X, y), abs=1e-12)
    assert 0.25 < got < 1.0  # overlapping blobs: informative, not perfect


def test_separable_is_one_and_noise_is_chance():
    X, y = blobs(dim=10, sep=8.0)
    assert ped.score("linear_cv", X, y) == 1.0
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(200, 5))
    labels = np.repeat(np.arange(4), 50)
    assert ped.score("linear_cv", noise, labels) < 0.4


def test_scale_invariant_and_seeded():
    X, y = blobs(dim=10, sep=0.7)
    base = ped.score("linear_cv", X, y)
    for s in (1e-200, 1e-3, 1e150):
        assert ped.score("linear_cv", X * s, y) == base
    assert ped.score("linear_cv", X, y, random_state=0) == base


def test_order_and_class_names_do_not_matter():
    X, y = blobs(dim=10, sep=0.7)
    base = ped.score("linear_cv", X, y)
    perm = np.random.default_rng(5).permutation(y.size)
    assert ped.score("linear_cv", X[perm], y[perm]) == base
    assert ped.score("linear_cv", X, np.array([3, 0, 2, 1])[y]) == base


def test_tiny_classes_and_folds():
    X, y = blobs(n_per_class=2, n_classes=3, dim=4)
    v = ped.score("linear_cv", X, y, folds=10)  # folds capped at N; every class smaller
    assert 0.0 <= v <= 1.0
    with pytest.raises(ValueError, match="folds"):
        ped.score("linear_cv", X, y, folds=1)
    with pytest.raises(ValueError, match="C"):
        ped.score("linear_cv", X, y, C=0.0)


def test_ped_variant_exists():
    X, y = blobs(dim=10, sep=0.7)
    ref = np.random.default_rng(1).normal(size=(50, 10))
    assert "ped+linear_cv" in ped.list_scores()
    assert 0.0 <= ped.score("ped+linear_cv", X, y, reference=ref) <= 1.0
