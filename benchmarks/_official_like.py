"""Straightforward re-implementations of the official algorithms, for timing only.

Each function follows the official code's algorithm as described in
``shared/docs/reference-behaviour.md`` (PED ``metrics.py``, thuml LogME, Google's GBC and
H-score, the SFDA repository), written the way that code is written: float64 copies of the
features, ``np.cov`` per class, a C x C x D PED step, an SVD of ``X^T X`` for LogME, the full
N x N RDMs for PARC. They exist so that `bench_scores.py --official` measures the speed-ups of
`ped` instead of assuming them; they are not part of the package and not tested for parity
(the parity vectors in ``shared/parity`` are).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.stats
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler


# ------------------------------------------------------------------------------ LogME
def logme(X: np.ndarray, y: np.ndarray) -> float:
    """LogME, fixed-point version; N > D path: SVD of the D x D matrix ``F^T F``."""
    f = X.astype(np.float64)
    N, D = f.shape
    if N > D:
        u, s, vh = np.linalg.svd(f.T @ f, full_matrices=True)
        s = np.sqrt(s)
        k = int(np.sum(s > 1e-10))
        s, vh = s[:k], vh[:k]
        u = f @ vh.T / s.reshape(1, -1)
    else:
        u, s, vh = np.linalg.svd(f, full_matrices=False)
    sigma = s.reshape(-1, 1) ** 2
    evidences = []
    for c in range(int(y.max()) + 1):
        t = (y == c).astype(np.float64)
        x = u.T @ t.reshape(-1, 1)
        x2 = x**2
        res_x2 = (t**2).sum() - x2.sum()
        alpha, beta = 1.0, 1.0
        for _ in range(11):
            t_ = alpha / beta
            gamma = (sigma / (sigma + t_)).sum()
            m2 = (sigma * x2 / ((t_ + sigma) ** 2)).sum()
            res2 = (x2 / ((1 + sigma / t_) ** 2)).sum() + res_x2
            alpha = gamma / (m2 + 1e-5)
            beta = (N - gamma) / (res2 + 1e-5)
            t_new = alpha / beta
            if abs(t_new - t_) / t_ <= 1e-3:
                break
        ev = (
            D / 2.0 * np.log(alpha)
            + N / 2.0 * np.log(beta)
            - 0.5 * np.sum(np.log(alpha + beta * sigma))
            - beta / 2.0 * res2
            - alpha / 2.0 * m2
            - N / 2.0 * np.log(2 * np.pi)
        )
        evidences.append(ev / N)
    return float(np.mean(evidences))


# ------------------------------------------------------------------------------- SFDA
def _sfda_fit(X, y, shrinkage=None):
    classes = np.unique(y)
    N, D = X.shape
    priors = np.array([np.mean(y == c) for c in classes])
    means = np.array([X[y == c].mean(axis=0) for c in classes])
    Sw = np.zeros((D, D))
    for i, c in enumerate(classes):
        Sw += priors[i] * np.atleast_2d(np.cov(X[y == c].T, bias=1))
    if shrinkage is None:
        x = Sw.sum(axis=1)
        for _ in range(3):
            t = Sw @ x
            yy = t / np.linalg.norm(t)
            t = Sw @ yy
            x = t / np.linalg.norm(t)
        lam_max = x @ Sw @ yy
        shrinkage = max(np.exp(-5 * lam_max), 1e-10)
    St = np.cov(X.T, bias=1)
    St = (1 - shrinkage) * St + shrinkage * np.trace(St) / D * np.eye(D)
    Sws = (1 - shrinkage) * Sw + shrinkage * np.trace(Sw) / D * np.eye(D)
    Sb = St - Sws
    evals, evecs = scipy.linalg.eigh(Sb, Sws)
    evecs = evecs[:, np.argsort(evals)[::-1]]
    coef = means @ evecs @ evecs.T
    intercept = -0.5 * np.diag(means @ coef.T) + np.log(priors)
    return coef, intercept, shrinkage


def _softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def sfda(X: np.ndarray, y: np.ndarray) -> float:
    """SFDA with ConfMix; np.cov per class and ``scipy.linalg.eigh(S_b, S_w)``."""
    X = X.astype(np.float64)  # the official code mixes in place; work on a copy
    C = int(y.max()) + 1
    coef, intercept, lam = _sfda_fit(X, y)
    prob = _softmax(X @ coef.T + intercept)
    soft = np.exp(prob) / np.exp(prob).sum(axis=1, keepdims=True)
    means = np.array([X[y == c].mean(axis=0) for c in range(C)])
    total = means.sum(axis=0)
    for c in range(C):
        idx = np.flatnonzero(y == c)
        q = soft[idx, c][:, None]
        outer = (total - means[c]) / (C - 1)
        X[idx] = q * X[idx] + (1 - q) * outer
    coef, intercept, _ = _sfda_fit(X, y, lam)
    prob = _softmax(X @ coef.T + intercept)
    return float(np.mean(prob[np.arange(X.shape[0]), y]))


# -------------------------------------------------------------------------------- PED
def ped_dynamics(X, y, general_X, nsigma=0.6, time_step=0.1, exit_ratio=0.5, eps=1e-3, k=1.0):
    """PED_Score's loop around One_Step_PED with its C x C x D tensor; returns moved X."""

    def one_step(X):
        s_mean = general_X.mean(axis=0)
        s_std = np.maximum(general_X.std(axis=0), eps)
        Z = (X - s_mean) / s_std
        C = int(y.max()) + 1
        means = np.array([Z[y == c].mean(axis=0) for c in range(C)])
        rad = np.sqrt(np.array([Z[y == c].var(axis=0).sum() for c in range(C)]))
        diff = means[:, None, :] - means[None, :, :]  # C x C x D
        dist = np.sqrt((diff**2).sum(axis=2))
        F = np.maximum(abs(nsigma) * rad[:, None] + abs(nsigma) * rad[None, :] - dist, 0)
        np.fill_diagonal(F, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            u = diff / dist[:, :, None]
        u[np.arange(C), np.arange(C)] = 0
        s = np.minimum(0.5 * time_step**2 * k * F, F)
        T = np.triu(s)[:, :, None] * u  # upper triangle, then antisymmetrise
        T = T - np.transpose(T, (1, 0, 2))
        delta = T.sum(axis=1)
        Zn = Z + delta[y]
        return Zn * s_std + s_mean, float(np.abs(delta).sum())

    n = 0
    P0 = None
    while n < 6:
        Xn, P = one_step(X)
        if P0 is None:
            P0 = P
        with np.errstate(divide="ignore", invalid="ignore"):
            r = P / P0
        if r > exit_ratio:
            X = Xn
        else:
            break
        n += 1
    return X


# ------------------------------------------------------------------------------- NLEEP
def nleep(X: np.ndarray, y: np.ndarray, component_ratio=5, random_state=0) -> float:
    """PCA(0.8) then a full-covariance GaussianMixture with ``component_ratio * C`` parts.

    The official code fails on float32 features of realistic shape ("ill-defined empirical
    covariance"), so this runs on a float64 copy, the only way it completes."""
    C = int(y.max()) + 1
    Z = PCA(n_components=0.8).fit_transform(X.astype(np.float64))
    gmm = GaussianMixture(n_components=int(component_ratio * C), random_state=random_state)
    gmm.fit(Z)
    post = gmm.predict_proba(Z)
    joint = np.zeros((C, post.shape[1]))
    for c in range(C):
        joint[c] = post[y == c].sum(axis=0) / X.shape[0]
    cond = joint / joint.sum(axis=0, keepdims=True)
    p = post @ cond.T
    return float(np.mean(p[np.arange(X.shape[0]), y]))


# -------------------------------------------------------------------------------- PARC
def parc(X: np.ndarray, y: np.ndarray, seed=0) -> float:
    """PARC with the 15,000-sample subsample (labels, not the B1 bug), full N x N RDMs and
    ``scipy.stats.spearmanr`` over the upper triangles."""
    rng = np.random.default_rng(seed)
    N = X.shape[0]
    if N > 15000:
        p = 15000 / N
        idx = np.concatenate(
            [
                rng.choice(np.flatnonzero(y == c), int(np.floor(p * np.sum(y == c))), False)
                for c in np.unique(y)
            ]
        )
        X, y = X[idx], y[idx]
    Z = PCA(n_components=32, svd_solver="randomized", random_state=1919, iterated_power=1)
    Z = StandardScaler().fit_transform(Z.fit_transform(X))
    onehot = np.eye(int(y.max()) + 1)[y]
    rdm1 = 1 - np.corrcoef(Z)
    rdm2 = 1 - np.corrcoef(onehot)
    iu = np.triu_indices(rdm1.shape[0], k=1)
    return float(100 * scipy.stats.spearmanr(rdm1[iu], rdm2[iu])[0])


# --------------------------------------------------------------------------------- GBC
def gbc(X: np.ndarray, y: np.ndarray, gaussian="spherical") -> float:
    """PCA(64, svd_solver='full') to float32, then Bhattacharyya coefficients pair by pair."""
    Z = PCA(n_components=64, svd_solver="full").fit_transform(X).astype(np.float32)
    C = int(y.max()) + 1
    stats = []
    for c in range(C):
        Zc = Z[y == c]
        v = np.maximum(Zc.var(axis=0), 1e-4)
        stats.append((Zc.mean(axis=0), v if gaussian == "diagonal" else np.mean(v)))
    total = 0.0
    for a in range(C):
        for b in range(C):
            if a == b:
                continue
            (m1, s1), (m2, s2) = stats[a], stats[b]
            s = (s1 + s2) / 2
            db = 0.125 * np.sum((m1 - m2) ** 2 / s) + 0.5 * (
                np.sum(np.log(s)) - 0.5 * np.sum(np.log(s1)) - 0.5 * np.sum(np.log(s2))
            )
            total += np.exp(-db)
    return float(-total)


# ------------------------------------------------------------------------------ H-score
def hscore(X: np.ndarray, y: np.ndarray) -> float:
    """``tr(pinv(cov(F), rcond=1e-15) cov(G))`` with G the class-mean rows."""
    f = X.astype(np.float64)
    cov_f = np.cov(f, rowvar=False)
    g = np.zeros_like(f)
    for c in np.unique(y):
        g[y == c] = f[y == c].mean(axis=0)
    cov_g = np.cov(g, rowvar=False)
    return float(np.trace(np.linalg.pinv(cov_f, rcond=1e-15) @ cov_g))


# ------------------------------------------------------------------------------ LEEP/NCE
def leep(probs: np.ndarray, y: np.ndarray) -> float:
    """thuml LEEP: mean log of the expected empirical prediction."""
    N, Cs = probs.shape
    C = int(y.max()) + 1
    joint = np.zeros((C, Cs))
    for c in range(C):
        joint[c] = probs[y == c].sum(axis=0) / N
    cond = (joint / joint.sum(axis=0, keepdims=True)).T
    eep = probs @ cond
    return float(np.mean(np.log(eep[np.arange(N), y])))


def nce(source: np.ndarray, y: np.ndarray) -> float:
    """thuml NCE on hard source labels."""
    C, Cs = int(y.max()) + 1, int(source.max()) + 1
    joint = np.zeros((C, Cs))
    np.add.at(joint, (y, source), 1.0)
    joint /= joint.sum()
    pz = joint.sum(axis=0, keepdims=True)
    cond = joint / np.where(pz > 0, pz, 1) + 1e-20
    return float(np.sum(joint * np.log(cond)))


# ---------------------------------------------------------------------------- TransRate
def _rate_lu(Z: np.ndarray, eps: float) -> float:
    """Half the log-determinant of ``I_D + Z^T Z / (n eps)``, by an LU factorisation
    (``numpy.linalg.slogdet``) of the D x D matrix, whatever the number of rows n."""
    n, d = Z.shape
    return 0.5 * np.linalg.slogdet(np.eye(d) + (Z.T @ Z) / (n * eps))[1]


def transrate(X: np.ndarray, y: np.ndarray, eps: float = 1e-4) -> float:
    """TransRate as Transfer-Learning-Library (tllib) computes it: features centred on their
    mean, the coding rate of all rows minus the uniform mean of the per-class coding rates,
    each from ``slogdet`` of a D x D matrix (one LU factorisation per class, plus one)."""
    Z = X.astype(np.float64)
    Z -= Z.mean(axis=0, keepdims=True)
    classes = int(y.max()) + 1
    within = sum(_rate_lu(Z[y == c], eps) for c in range(classes))
    return float(_rate_lu(Z, eps) - within / classes)


#: Estimated extra peak memory (bytes) of each official-like run: name -> f(N, D, C).
MEMORY = {
    "logme": lambda N, D, C: 3 * N * D * 8,
    "sfda": lambda N, D, C: 4 * N * D * 8,
    "ped": lambda N, D, C: 4 * C * C * D * 8 + 4 * N * D * 8,
    "nleep": lambda N, D, C: 2 * N * D * 8,
    "parc": lambda N, D, C: 8 * min(N, 15000) ** 2 * 8,
    "gbc": lambda N, D, C: 4 * N * D * 8,
    "hscore": lambda N, D, C: 4 * N * D * 8,
    "transrate": lambda N, D, C: 2 * N * D * 8 + 3 * D * D * 8,
}
