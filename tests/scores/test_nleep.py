from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.mixture
from _helpers import blobs, moved
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture

import ped


def direct_nleep(X, y, ratio=5, seed=0, log=False):
    """The official pipeline: PCA(0.8), GaussianMixture(ratio * C), LEEP over posteriors."""
    n, C = len(y), len(np.unique(y))
    Z = PCA(n_components=0.8).fit_transform(X)
    post = GaussianMixture(n_components=int(ratio * C), random_state=seed).fit(Z).predict_proba(Z)
    pyz = np.stack([post[y == c].sum(0) / n for c in range(C)])
    py_x = post @ (pyz / pyz.sum(0)).T
    p = py_x[np.arange(n), y]
    return np.mean(np.log(p)) if log else np.mean(p)


def test_matches_official_pipeline():
    X, y = blobs(dim=20)
    assert ped.score("nleep", X, y, random_state=0) == pytest.approx(direct_nleep(X, y), rel=1e-9)


def test_log_option_is_mean_log():
    X, y = blobs(dim=20)
    value = ped.score("nleep", X, y, random_state=0, log=True)
    assert value == pytest.approx(direct_nleep(X, y, log=True), rel=1e-9)
    assert value <= 0.0


def test_component_ratio_and_seed():
    X, y = blobs(dim=20)
    assert ped.score("nleep", X, y, random_state=3, component_ratio=1) == pytest.approx(
        direct_nleep(X, y, ratio=1, seed=3), rel=1e-9
    )


def test_components_capped_at_samples():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 4))
    y = np.array([0, 0, 1, 1, 2, 2])  # 5 * 3 = 15 components > 6 samples
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn may not converge on 6 points
        value = ped.score("nleep", X, y, random_state=0)
    assert 0.0 < value <= 1.0


def test_translated_statistics():
    X, y = blobs(dim=20)
    Xm, ref = moved(X, y)
    assert ped.score("ped+nleep", X, y, reference=ref, nsigma=2.0, random_state=0) == pytest.approx(
        direct_nleep(Xm, y), rel=1e-7
    )


class _FailsBelow(GaussianMixture):
    """A mixture that fails as sklearn does when reg_covar is below a threshold."""

    threshold = 1e-5
    calls: list[float] = []

    def fit(self, X, y=None):
        type(self).calls.append(self.reg_covar)
        if self.reg_covar < self.threshold * 0.999:
            raise ValueError(
                "Fitting the mixture model failed because some components have ill-defined "
                "empirical covariance (for instance caused by singleton or collapsed samples)."
            )
        return super().fit(X, y)


def test_ill_defined_covariance_retries_with_larger_reg_covar(monkeypatch):
    X, y = blobs(dim=20)
    _FailsBelow.calls = []
    monkeypatch.setattr(sklearn.mixture, "GaussianMixture", _FailsBelow)
    with pytest.warns(RuntimeWarning, match=r"reg_covar=1e-06 .*retrying with reg_covar=1e-05"):
        value = ped.score("nleep", X, y, random_state=0)
    assert _FailsBelow.calls == pytest.approx([1e-6, 1e-5])
    assert 0.0 < value <= 1.0


def test_gives_up_after_three_retries(monkeypatch):
    X, y = blobs(dim=20)
    _FailsBelow.calls = []
    monkeypatch.setattr(_FailsBelow, "threshold", 1.0)
    monkeypatch.setattr(sklearn.mixture, "GaussianMixture", _FailsBelow)
    with pytest.warns(RuntimeWarning), pytest.raises(ValueError, match="ill-defined"):
        ped.score("nleep", X, y, random_state=0)
    assert len(_FailsBelow.calls) == 4


def test_other_errors_are_not_retried(monkeypatch):
    class Broken(GaussianMixture):
        def fit(self, X, y=None):
            raise ValueError("something else")

    X, y = blobs(dim=20)
    monkeypatch.setattr(sklearn.mixture, "GaussianMixture", Broken)
    with pytest.raises(ValueError, match="something else"):
        ped.score("nleep", X, y, random_state=0)
