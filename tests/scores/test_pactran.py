from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from _helpers import blobs
from scipy.special import digamma, gammaln, logsumexp, softmax

import ped
from ped.scores import pactran


def direct_pac_gauss(X, y, lda_factor, s2_factor, seed=0):
    """The official computation written out: dense one-hot, separate loss and gradient."""
    C = y.max() + 1
    Y = np.eye(C)[y]
    Xc = X - X.mean(0)
    n, d = Xc.shape
    lam = lda_factor * n

    def split(t):
        t = t.reshape(d + 1, C)
        return t[:d], t[d:]

    def loss(t):
        w, b = split(t)
        z = Xc @ w + b
        lq = z - logsumexp(z, axis=1, keepdims=True)
        return np.sum(Y * (np.log(Y + 1e-10) - lq)) / n + 0.5 * np.sum(w**2) / lam

    def grad(t):
        w, b = split(t)
        g = (softmax(Xc @ w + b, axis=1) - Y) / n
        return np.concatenate([Xc.T @ g + w / lam, g.sum(0, keepdims=True)]).ravel()

    w0 = np.random.RandomState(seed).normal(size=(d, C)) * 0.03
    t = np.concatenate([w0, np.zeros((1, C))]).ravel()
    t = scipy.optimize.minimize(
        loss, t, method="L-BFGS-B", jac=grad, options=dict(maxiter=100), tol=1e-6
    ).x
    w, b = split(t)
    p = softmax(Xc @ w + b, axis=1)
    h = np.concatenate([(Xc**2).T @ (p - p**2) + 1 / lam, (p - p**2).sum(0, keepdims=True)])
    s2inv = h.sum() * lam / (d * C) + 1e-10
    opt = loss(t)
    return opt + 0.5 * d * C / lam * s2_factor / d * np.log(s2inv), opt


def direct_pac_source(P, y, alpha, kind):
    Y = np.eye(y.max() + 1)[y]
    a0 = alpha * Y.sum(0)[:, None] / Y.sum() + 1e-10
    log_s = np.log(P + 1e-10)
    q = P
    for _ in range(10):
        A = a0 + np.einsum("ny,nz->yz", Y, q)
        logits = log_s + Y @ digamma(A)
        if kind == "dir":
            logits = logits - digamma(A.sum(0))[None]
        lq = logits - logsumexp(logits, axis=1, keepdims=True)
        q = np.exp(lq)
    if kind == "dir":
        c0 = gammaln(a0.sum()) - gammaln(a0).sum()
        c = gammaln(A.sum(0)) - gammaln(A).sum(0)
        return -np.sum(c0 - c - np.sum(q * (lq - log_s), axis=0)) / Y.size
    ell = P @ A.sum(0)
    val = np.sum(gammaln(a0) - gammaln(A)) + np.sum(
        np.sum(q * (lq - log_s), axis=1) + np.log(ell) - 1
    )
    return val / Y.size + 1


def _probs(y, n_source=9, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(y.size, n_source)) + 2 * np.eye(n_source)[y % n_source]
    return softmax(logits, axis=1)


@pytest.mark.parametrize("lda_factor, s2_factor", [(10.0, 1000.0), (1.0, 10.0), (0.1, 1.0)])
def test_gauss_and_linear_equal_the_official_computation(lda_factor, s2_factor):
    X, y = blobs(n_per_class=25, n_classes=4, dim=9)
    gauss, opt = direct_pac_gauss(X, y, lda_factor, s2_factor)
    got = ped.score("pactran_gauss", X, y, lda_factor=lda_factor, s2_factor=s2_factor)
    assert got == pytest.approx(-gauss, rel=1e-8)
    got = ped.score("pactran_linear", X, y, lda_factor=lda_factor)
    assert got == pytest.approx(-opt, rel=1e-8)


def test_gauss_start_is_seeded():
    X, y = blobs(n_per_class=25, n_classes=4, dim=9)
    a = ped.score("pactran_gauss", X, y, random_state=1)
    assert a == pytest.approx(-direct_pac_gauss(X, y, 1.0, 100.0, seed=1)[0], rel=1e-8)
    assert a != ped.score("pactran_gauss", X, y)


@pytest.mark.parametrize("kind", ["dir", "gamma"])
@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_source_estimators_equal_the_official_computation(kind, alpha):
    _, y = blobs(n_per_class=20, n_classes=5)
    P = _probs(y)
    got = ped.score(f"pactran_{kind}", None, y, source_probs=P, alpha=alpha)
    assert got == pytest.approx(-direct_pac_source(P, y, alpha, kind), rel=1e-12)


def test_informative_source_beats_uninformative():
    _, y = blobs(n_per_class=30, n_classes=3)
    good = _probs(y)
    flat = np.full_like(good, 1.0 / good.shape[1])
    for name in ("pactran_dir", "pactran_gamma"):
        assert ped.score(name, None, y, source_probs=good) > ped.score(
            name, None, y, source_probs=flat
        )


@pytest.mark.parametrize("kind", ["dir", "gamma"])
def test_mixture_variants_use_the_gmm_posterior(kind):
    X, y = blobs(n_per_class=30, n_classes=3, dim=8)
    stats = ped.scoring._Inputs(X, y, None, True).stats
    post = pactran.gmm_posteriors(stats, random_state=0)
    assert post.shape == (90, 9)  # max(min(3, 18), 9) components
    ref = direct_pac_source(post, y, 1.0, kind)
    assert ped.score(f"pactran_n{kind}", X, y) == pytest.approx(-ref, rel=1e-9)


def test_parameter_errors():
    X, y = blobs()
    with pytest.raises(ValueError, match=r"Expected lda_factor > 0, got 0"):
        ped.score("pactran_gauss", X, y, lda_factor=0)
    with pytest.raises(ValueError, match=r"Expected s2_factor > 0, got -1"):
        ped.score("pactran_gauss", X, y, s2_factor=-1)
    with pytest.raises(ValueError, match=r"Expected max_iter >= 1, got 0"):
        ped.score("pactran_linear", X, y, max_iter=0)
    with pytest.raises(ValueError, match=r"Expected alpha > 0, got 0"):
        ped.score("pactran_dir", None, y, source_probs=_probs(y), alpha=0)
