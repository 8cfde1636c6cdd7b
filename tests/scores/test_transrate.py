from __future__ import annotations

import numpy as np
import pytest
from _helpers import blobs, moved

import ped


def coding_rate(Z, eps=1e-4):
    n, d = Z.shape
    return 0.5 * np.linalg.slogdet(np.eye(d) + 1 / (n * eps) * Z.T @ Z)[1]


def direct_transrate(Z, y, eps=1e-4):
    """The code published with the paper."""
    Z = Z - Z.mean(0, keepdims=True)
    K = int(y.max() + 1)
    return coding_rate(Z, eps) - sum(coding_rate(Z[y == c], eps) for c in range(K)) / K


def test_matches_official_code():
    X, y = blobs(dim=20)
    assert ped.score("transrate", X, y) == pytest.approx(direct_transrate(X, y), rel=1e-9)


def test_eps_parameter():
    X, y = blobs(dim=20)
    assert ped.score("transrate", X, y, eps=1e-2) == pytest.approx(
        direct_transrate(X, y, eps=1e-2), rel=1e-9
    )


def test_fewer_samples_than_features_and_singletons():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 40))
    y = np.array([0, 0, 0, 0, 1, 1, 1, 2, 3])
    assert ped.score("transrate", X, y) == pytest.approx(direct_transrate(X, y), rel=1e-9)


def test_classes_larger_than_one_gathered_chunk():
    # Classes of ~650 interleaved rows are gathered in chunks of 512.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1300, 8)) + 3.0 * rng.integers(0, 2, 1300)[:, None]
    y = rng.integers(0, 2, 1300)
    assert ped.score("transrate", X, y) == pytest.approx(direct_transrate(X, y), rel=1e-9)


def test_identical_classes_score_lower_than_separated():
    X, y = blobs(dim=20, sep=4.0)
    rng = np.random.default_rng(0)
    assert ped.score("transrate", X, y) > ped.score("transrate", X, rng.permutation(y))


def test_translated_statistics_and_float32():
    X, y = blobs(dim=20)
    Xm, ref = moved(X, y)
    assert ped.score("ped+transrate", X, y, reference=ref, nsigma=2.0) == pytest.approx(
        direct_transrate(Xm, y), rel=1e-7
    )
    X32 = X.astype(np.float32)
    assert ped.score("transrate", X32, y) == pytest.approx(
        direct_transrate(X32.astype(np.float64), y), rel=1e-9
    )
