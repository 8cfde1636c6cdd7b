"""Independent, straightforward implementations of the official algorithms, for tests.

Written from the algorithms' descriptions (docs of the official code in
``reference-behaviour.md``), on whole arrays and with the official libraries' calls (SVDs,
``scipy.linalg.eigh``, scikit-learn's PCA and GaussianMixture), without any of ``ped``'s
shortcuts: they are slow and simple on purpose.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture


def _thin_svd(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(u, sigma)``: left singular vectors and squared singular values as thuml/LogME takes
    them (thin SVD of F when N <= D, else the truncated SVD from F^T F above 1e-10)."""
    N, D = F.shape
    if N > D:
        _, s2, vh = np.linalg.svd(F.T @ F)
        s = np.sqrt(s2)
        k = int(np.sum(s > 1e-10))
        s, vh = s[:k], vh[:k]
        u = (F @ vh.T) / s
    else:
        u, s, _ = np.linalg.svd(F, full_matrices=False)
    return u, s**2


def logme_target(F: np.ndarray, t: np.ndarray) -> float:
    """The official fixed-point evidence per sample of one real target ``t``."""
    F = np.asarray(F, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    N, D = F.shape
    u, sigma = _thin_svd(F)
    x2 = (u.T @ t) ** 2
    r0 = t @ t - x2.sum()
    alpha = beta = 1.0
    for _ in range(11):
        lam = alpha / beta
        gamma = np.sum(sigma / (sigma + lam))
        m2 = np.sum(sigma * x2 / (lam + sigma) ** 2)
        res2 = np.sum(x2 / (1 + sigma / lam) ** 2) + r0
        alpha = gamma / (m2 + 1e-5)
        beta = (N - gamma) / (res2 + 1e-5)
        if abs(alpha / beta - lam) / lam <= 1e-3:
            break
    ev = (
        D / 2 * np.log(alpha)
        + N / 2 * np.log(beta)
        - 0.5 * np.sum(np.log(alpha + beta * sigma))
        - beta / 2 * res2
        - alpha / 2 * m2
        - N / 2 * np.log(2 * np.pi)
    )
    return float(ev / N)


def logme(F: np.ndarray, y: np.ndarray) -> float:
    """Fixed-point LogME (thuml/LogME) of class labels: the mean over classes of the evidence
    of each class's one-hot column (`logme_target`)."""
    y = np.asarray(y)
    return float(
        np.mean([logme_target(F, (y == c).astype(np.float64)) for c in range(int(y.max()) + 1)])
    )


def _softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def _sfda_fit(X, y, shrinkage=None):
    N, D = X.shape
    C = int(y.max()) + 1
    priors = np.bincount(y, minlength=C) / N
    means = np.stack([X[y == c].mean(0) for c in range(C)])
    Sw = sum(priors[c] * np.atleast_2d(np.cov(X[y == c].T, bias=1)) for c in range(C))
    if shrinkage is None:
        x = Sw @ np.ones(D)
        for _ in range(3):
            yv = Sw @ x
            yv = yv / np.linalg.norm(yv)
            x = Sw @ yv
            x = x / np.linalg.norm(x)
        shrinkage = max(np.exp(-5 * (x @ Sw @ yv)), 1e-10)
    St = np.cov(X.T, bias=1)
    St_s = (1 - shrinkage) * St + shrinkage * np.trace(St) / D * np.eye(D)
    Sw_s = (1 - shrinkage) * Sw + shrinkage * np.trace(Sw) / D * np.eye(D)
    evals, evecs = scipy.linalg.eigh(St_s - Sw_s, Sw_s)
    evecs = evecs[:, np.argsort(evals)[::-1]]
    coef = means @ evecs @ evecs.T
    intercept = -0.5 * np.diag(means @ coef.T) + np.log(priors)
    return coef, intercept, shrinkage


def sfda(X: np.ndarray, y: np.ndarray) -> float:
    """SFDA_Score: two Fisher fits with ConfMix and the double softmax, on a copy."""
    X = np.array(X, dtype=np.float64)
    C = int(y.max()) + 1
    coef, b, lam = _sfda_fit(X, y)
    prob = _softmax(X @ coef.T + b)
    prob = np.exp(prob) / np.exp(prob).sum(axis=1, keepdims=True)
    means = np.stack([X[y == c].mean(0) for c in range(C)])
    for c in range(C):
        idx = y == c
        outer = (means.sum(0) - means[c]) / (C - 1)
        q = prob[idx, c][:, None]
        X[idx] = q * X[idx] + (1 - q) * outer
    coef, b, _ = _sfda_fit(X, y, lam)
    prob = _softmax(X @ coef.T + b)
    return float(sum(prob[y == c, c].sum() for c in range(C)) / X.shape[0])


def hscore(X: np.ndarray, y: np.ndarray) -> float:
    """tr(pinv(Cov f, rcond=1e-15) Cov g), g the class mean of each sample."""
    g = np.zeros_like(X, dtype=np.float64)
    for c in np.unique(y):
        g[y == c] = X[y == c].mean(0)
    covf = np.cov(X, rowvar=False)
    return float(np.trace(np.linalg.pinv(covf, rcond=1e-15) @ np.cov(g, rowvar=False)))


def nleep(X: np.ndarray, y: np.ndarray, component_ratio=5, random_state=0) -> float:
    """NLEEP of the PED repository (mean of the expected prediction, no log), seeded."""
    C = int(y.max()) + 1
    Z = PCA(n_components=0.8).fit_transform(X)
    gmm = GaussianMixture(n_components=int(component_ratio * C), random_state=random_state)
    post = gmm.fit(Z).predict_proba(Z)
    joint = np.stack([post[y == c].sum(0) for c in range(C)]) / X.shape[0]
    cond = joint / joint.sum(0, keepdims=True)
    return float(np.mean(np.sum(post * cond[y], axis=1)))


def gbc(X: np.ndarray, y: np.ndarray, gaussian="spherical") -> float:
    """Google's GBC after PCA(64, svd_solver='full'), in float64."""
    Z = PCA(n_components=64, svd_solver="full").fit_transform(X)
    classes = np.unique(y)
    stats = []
    for c in classes:
        v = np.maximum(Z[y == c].var(0), 1e-4)
        stats.append((Z[y == c].mean(0), v.mean() if gaussian == "spherical" else v))
    total = 0.0
    for a, (ma, va) in enumerate(stats):
        for b, (mb, vb) in enumerate(stats):
            if a == b:
                continue
            avg = (va + vb) / 2
            db = np.sum((ma - mb) ** 2 / avg) / 8 + 0.5 * (
                np.sum(np.log(avg)) - 0.5 * np.sum(np.log(va)) - 0.5 * np.sum(np.log(vb))
            )
            total += np.exp(-db)
    return float(-total)
