from __future__ import annotations

import numpy as np
import pytest
from _helpers import blobs, moved

import ped


def direct_hscore(f, y, google=False):
    covf = np.cov(f, rowvar=False)
    g = np.zeros_like(f)
    for c in np.unique(y):
        g[y == c] = f[y == c].mean(0)
    covg = np.cov(g, rowvar=False)
    if google:
        return np.trace(np.linalg.pinv(covf, rcond=1e-5) * covg)
    return np.trace(np.linalg.pinv(covf, rcond=1e-15) @ covg)


def test_matches_direct_formula():
    X, y = blobs(dim=20)
    assert ped.score("hscore", X, y) == pytest.approx(direct_hscore(X, y), rel=1e-9)


def test_google_variant_is_elementwise():
    X, y = blobs(dim=20)
    assert ped.score("hscore", X, y, variant="google") == pytest.approx(
        direct_hscore(X, y, google=True), rel=1e-9
    )


def test_bounded_by_classes_minus_one():
    # tr(S_t^+ S_b) <= rank(S_b) <= C - 1; with N <= D it reaches C - 1.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 50))
    y = np.repeat(np.arange(3), 4)
    assert ped.score("hscore", X, y) == pytest.approx(2.0, rel=1e-9)
    X, y = blobs(dim=20)
    assert 0.0 <= ped.score("hscore", X, y) <= 3.0 + 1e-9


def test_float32_and_translated_statistics():
    X, y = blobs(dim=20)
    assert ped.score("hscore", X.astype(np.float32), y) == pytest.approx(
        direct_hscore(X.astype(np.float32).astype(np.float64), y), rel=1e-6
    )
    Xm, ref = moved(X, y)
    assert ped.score("ped+hscore", X, y, reference=ref, nsigma=2.0) == pytest.approx(
        direct_hscore(Xm, y), rel=1e-7
    )


def test_rejects_unknown_variant():
    X, y = blobs()
    with pytest.raises(
        ValueError, match=r"Expected variant to be one of \['reference', 'google'\]"
    ):
        ped.score("hscore", X, y, variant="matrix")
