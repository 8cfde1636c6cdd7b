"""The shared linear algebra of the scores: log-determinants and the BLAS thread setting."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import blobs
from threadpoolctl import threadpool_info, threadpool_limits

import ped
from ped.scores import _linalg


def _blas_threads() -> int:
    return max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")


@pytest.mark.parametrize("d", [1, 7, 64])
def test_logdet_identity_plus_equals_slogdet(d):
    Z = np.random.default_rng(d).normal(size=(3 * d + 2, d))
    G = Z.T @ Z
    c = 0.37
    expected = np.linalg.slogdet(np.eye(d) + c * G)[1]
    assert _linalg.logdet_identity_plus(G, c) == pytest.approx(expected, rel=1e-12)
    assert np.array_equal(G, Z.T @ Z)  # not modified


def test_logdet_identity_plus_rank_deficient_and_empty():
    Z = np.random.default_rng(0).normal(size=(3, 10))
    G = Z.T @ Z  # rank 3 of 10
    expected = np.sum(np.log1p(2.0 * np.linalg.eigvalsh(Z @ Z.T)))
    assert _linalg.logdet_identity_plus(G, 2.0) == pytest.approx(expected, rel=1e-12)
    assert _linalg.logdet_identity_plus(np.zeros((0, 0)), 1.0) == 0.0


def test_logdet_identity_plus_clips_an_indefinite_matrix():
    # I + cG is not positive definite here: the Cholesky factor fails and the eigenvalue
    # route clips the negative eigenvalue (round-off of a PSD matrix, in practice) to 0.
    G = np.diag([-3.0, 1.0, 2.0])
    assert _linalg.logdet_identity_plus(G, 1.0) == pytest.approx(np.log(2.0) + np.log(3.0))


def test_blas_thread_limit_is_off_by_default(monkeypatch):
    monkeypatch.delenv("PED_BLAS_THREADS", raising=False)
    assert _linalg.blas_thread_limit() is None
    monkeypatch.setenv("PED_BLAS_THREADS", " ")
    assert _linalg.blas_thread_limit() is None
    monkeypatch.setenv("PED_BLAS_THREADS", "3")
    assert _linalg.blas_thread_limit() == 3


@pytest.mark.parametrize("raw", ["0", "-2", "two", "1.5"])
def test_blas_thread_limit_rejects_non_positive_integers(monkeypatch, raw):
    monkeypatch.setenv("PED_BLAS_THREADS", raw)
    with pytest.raises(
        ValueError,
        match=rf"^Expected the environment variable PED_BLAS_THREADS to be a positive integer "
        rf"\(a number of threads\), got '{raw}'; unset it",
    ):
        _linalg.blas_thread_limit()


def _threads_seen_by_logme(monkeypatch) -> int:
    """The BLAS thread count inside LogME's eigendecomposition during `ped.score`."""
    seen = []
    real = _linalg.np.linalg.eigh

    def spy(*args, **kwargs):
        seen.append(_blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(_linalg.np.linalg, "eigh", spy)
    X, y = blobs()
    ped.score("logme", X, y)
    assert len(seen) == 1
    return seen[0]


def test_scores_use_the_threads_of_the_environment(monkeypatch):
    # No pin: the eigendecomposition runs with whatever the caller's BLAS setting is.
    monkeypatch.delenv("PED_BLAS_THREADS", raising=False)
    with threadpool_limits(limits=2, user_api="blas"):
        outer = _blas_threads()
        assert _threads_seen_by_logme(monkeypatch) == outer == 2


def test_ped_blas_threads_limits_a_score_and_only_while_it_runs(monkeypatch):
    monkeypatch.setenv("PED_BLAS_THREADS", "1")
    with threadpool_limits(limits=2, user_api="blas"):
        assert _threads_seen_by_logme(monkeypatch) == 1
        assert _blas_threads() == 2
