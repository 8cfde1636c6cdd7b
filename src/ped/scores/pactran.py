"""PACTran: PAC-Bayesian transferability metrics (Ding et al., ECCV 2022).

Every PACTran metric is a bound on a loss (lower is better in the paper); ``ped`` returns
its negation so that higher is better, as for every score.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

from .._stats import ClassStats
from .._validation import Labels, check_int, check_positive, check_seed
from ._dense import dense_features, peak_magnitude
from ._pca import covariance_pca, pca_project
from ._registry import register
from .nleep import _fit_mixture, _n_components_for_variance

__all__ = [
    "pactran_gauss",
    "pactran_linear",
    "pactran_dir",
    "pactran_gamma",
    "pactran_ndir",
    "pactran_ngamma",
    "pac_gauss_terms",
    "pac_dirichlet",
    "pac_gamma",
]

_REFERENCE = (
    "Ding et al., PACTran: PAC-Bayesian Metrics for Estimating the Transferability of "
    "Pretrained Models to Classification Tasks, ECCV 2022 (arXiv:2203.05126)."
)
_EPS = 1e-10  # the official additive constant inside logs


def _onehot(codes: np.ndarray, n_classes: int) -> sp.csr_array:
    import scipy.sparse as sp

    n = codes.shape[0]
    return sp.csr_array((np.ones(n), (np.arange(n), codes)), shape=(n, n_classes))


def pac_gauss_terms(
    X: np.ndarray,
    codes: np.ndarray,
    n_classes: int,
    *,
    lda_factor: float = 1.0,
    random_state: Any = 0,
    max_iter: int = 100,
    _owned: bool = False,
) -> tuple[float, float]:
    r"""The two terms of PACTran-Gaussian: ``(loss, log_sigma2_inv)``.

    Fits the L2-regularised softmax regression of the centred features
    :math:`X_c = X - \bar x` on the one-hot labels :math:`Y` by minimising

    .. math::
        L(W, b) = \frac1N \sum_i \sum_c Y_{ic}\big(\log(Y_{ic} + 10^{-10})
        - \log \mathrm{softmax}(X_c W + b)_{ic}\big) + \frac{\lVert W\rVert^2}{2\lambda},
        \qquad \lambda = \text{lda\_factor}\cdot N

    with scipy's L-BFGS-B (analytic gradient, ``maxiter=max_iter``, ``tol=1e-6``), started,
    as the official code, from :math:`W_0 = 0.03\,\mathcal N(0, 1)` drawn by
    ``np.random.RandomState(random_state).normal(size=(D, C))`` and :math:`b_0 = 0`. Then,
    with :math:`p = \mathrm{softmax}(X_c W^* + b^*)`,

    .. math::
        \sigma^{-2} = \frac{\lambda}{K}\Big(\sum_{d,c} \big[(X_c^{2})^T (p - p^2)\big]_{dc}
        + \frac{K}{\lambda} + \sum_{i,c} (p - p^2)_{ic}\Big) + 10^{-10}, \quad K = D C,

    the official elementwise "second derivative" (note: without the :math:`1/N` of the loss).

    Returns
    -------
    loss : float
        :math:`L(W^*, b^*)`.
    log_sigma2_inv : float
        :math:`\log \sigma^{-2}`.
    """
    import scipy.optimize  # scipy.optimize and .special load only when a score runs
    from scipy.special import logsumexp

    N, D = X.shape
    C = n_classes
    Xc = np.array(X, dtype=np.float64, copy=not _owned)
    Xc -= Xc.mean(axis=0)
    lam = lda_factor * N
    rows = np.arange(N)
    label_log = np.log(1.0 + _EPS)  # Y log(Y + 1e-10) is this for the true class, 0 elsewhere

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        theta = theta.reshape(D + 1, C)
        W, b = theta[:D], theta[D:]
        logits = Xc @ W + b
        lse = logsumexp(logits, axis=1, keepdims=True)
        xent = np.sum(label_log - (logits[rows, codes] - lse[:, 0])) / N
        loss = xent + 0.5 * np.sum(W * W) / lam
        g = np.exp(logits - lse)
        g[rows, codes] -= 1.0
        g /= N
        grad = np.concatenate([Xc.T @ g + W / lam, g.sum(axis=0, keepdims=True)], axis=0)
        return loss, grad.ravel()

    random_state = check_seed(random_state, generator=np.random.RandomState)
    W0 = np.random.RandomState(random_state).normal(size=(D, C)) * 0.03
    theta0 = np.concatenate([W0, np.zeros((1, C))], axis=0).ravel()
    res = scipy.optimize.minimize(
        loss_and_grad,
        theta0,
        method="L-BFGS-B",
        jac=True,
        options={"maxiter": max_iter},
        tol=1e-6,
    )
    loss, _ = loss_and_grad(res.x)
    theta = res.x.reshape(D + 1, C)
    logits = Xc @ theta[:D] + theta[D:]
    p = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    pp = p - p * p
    K = D * C
    h_sum = np.einsum("i,i->", np.einsum("ij,ij->i", Xc, Xc), pp.sum(axis=1))
    h_sum += K / lam + pp.sum()
    sigma2_inv = h_sum * lam / K + _EPS
    return float(loss), float(np.log(sigma2_inv))


def _check_gauss(lda_factor, max_iter):
    return check_positive(lda_factor, "lda_factor"), check_int(max_iter, "max_iter", minimum=1)


def _bounded_features(stats: ClassStats) -> np.ndarray:
    """The features as a float64 copy; PACTran-Gaussian's prior and its softmax terms are in
    absolute units, so features beyond 2**100 in magnitude (whose squares leave the float64
    range) are a ValueError rather than a NaN."""
    X = dense_features(stats, writable=True)
    if stats.offsets is not None:
        X *= stats.scale  # gathered rows come in the statistics' units: back to true units
    peak = peak_magnitude(X)
    if not np.isfinite(peak) or peak > 2.0**100:
        raise ValueError(
            f"PACTran-Gaussian cannot score features of magnitude {peak:.3g}: its fixed prior and "
            "softmax terms are in absolute units and overflow beyond 2**100; rescale the features."
        )
    return X


@register(
    "pactran_gauss",
    summary="Minus the PAC-Bayes bound of a Gaussian-prior softmax regression on the features.",
    reference=_REFERENCE,
)
def pactran_gauss(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    lda_factor: float = 1.0,
    s2_factor: float = 100.0,
    random_state: Any = 0,
    max_iter: int = 100,
) -> float:
    r"""Minus PACTran-Gaussian, as the official ``calculate_pac_gauss``.

    .. math::
        \text{PACTran-Gauss} = L(W^*, b^*) + \frac12\,\frac{K}{\lambda}\,
        \frac{s}{D}\,\log \sigma^{-2}

    with the fitted regression loss :math:`L`, :math:`K = DC`, :math:`\lambda = \text{lda\_factor}
    \cdot N`, :math:`s` = ``s2_factor`` and :math:`\sigma^{-2}` as in `pac_gauss_terms`. The
    paper's quantity is a bound (lower is better); this returns its negation, so higher is
    better. The official script pairs ``lda_factor`` 10, 1, 0.1 with ``s2_factor``
    {1000, 100}, {100, 10}, {10, 1}; any positive pair is accepted here. The defaults
    (1, 100) are the setting ETran's repository uses.

    Optimiser: scipy's L-BFGS-B from the official random start, stopped by ``tol=1e-6``
    (relative reduction of the loss) or ``max_iter`` iterations, not at the optimum; another
    start (``random_state``) moves the value by up to about 2e-3 relative. Because the start
    is drawn per class column, the value also moves by that much when the classes are
    renamed in another order.

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.
    lda_factor : float, default 1.0
        Prior variance per sample, :math:`\lambda / N`.
    s2_factor : float, default 100.0
        Weight of the flatness term (times :math:`1/D`).
    random_state : int, RandomState or None, default 0
        Seed of the start (0 equals the official code after ``np.random.seed(0)``).
    max_iter : int, default 100
        L-BFGS-B iterations at most.

    Returns
    -------
    float
        Minus the PACTran-Gaussian bound; higher is better.

    References
    ----------
    .. [1] N. Ding, X. Chen, T. Levinboim, S. Changpinyo, R. Soricut. PACTran: PAC-Bayesian
       Metrics for Estimating the Transferability of Pretrained Models to Classification
       Tasks. ECCV 2022. arXiv:2203.05126.
    """
    lda_factor, max_iter = _check_gauss(lda_factor, max_iter)
    s2_factor = check_positive(s2_factor, "s2_factor")
    loss, log_s2inv = pac_gauss_terms(
        _bounded_features(stats),
        stats.codes,
        stats.n_classes,
        lda_factor=lda_factor,
        random_state=random_state,
        max_iter=max_iter,
        _owned=True,
    )
    D, C = stats.n_features, stats.n_classes
    lam = lda_factor * stats.n_samples
    return -float(loss + 0.5 * (D * C) / lam * (s2_factor / D) * log_s2inv)


@register(
    "pactran_linear",
    summary="Minus the regularised softmax-regression loss on the features (PACTran's "
    "linear metric).",
    reference=_REFERENCE,
)
def pactran_linear(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    lda_factor: float = 1.0,
    random_state: Any = 0,
    max_iter: int = 100,
) -> float:
    r"""Minus PACTran's linear metric: the fitted loss :math:`L(W^*, b^*)` of `pac_gauss_terms`
    (the official ``pac_opt``, PACTran-Gaussian without its flatness term).

    Lower loss is better in the paper; this returns :math:`-L`, so higher is better. The
    optimiser and its start are those of `pactran_gauss` (same caveats).

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.
    lda_factor : float, default 1.0
        Prior variance per sample, :math:`\lambda / N`.
    random_state : int, RandomState or None, default 0
        Seed of the start.
    max_iter : int, default 100
        L-BFGS-B iterations at most.

    Returns
    -------
    float
        Minus the regularised cross-entropy at the fitted weights; higher is better.

    References
    ----------
    .. [1] N. Ding, X. Chen, T. Levinboim, S. Changpinyo, R. Soricut. PACTran. ECCV 2022.
       arXiv:2203.05126.
    """
    lda_factor, max_iter = _check_gauss(lda_factor, max_iter)
    loss, _ = pac_gauss_terms(
        _bounded_features(stats),
        stats.codes,
        stats.n_classes,
        lda_factor=lda_factor,
        random_state=random_state,
        max_iter=max_iter,
        _owned=True,
    )
    return -float(loss)


def _variational(P: np.ndarray, codes: np.ndarray, n_classes: int, alpha: float, dirichlet: bool):
    """The official 10 mean-field rounds shared by PACTran-Dirichlet and -Gamma.

    Returns ``(a0, A, q, log_q, log_s)``; ``A`` is the posterior of the last round's start
    (not refreshed after the final ``q``, as the official code).
    """
    from scipy.special import digamma, logsumexp

    Y = _onehot(codes, n_classes)
    counts = np.bincount(codes, minlength=n_classes).astype(np.float64)
    a0 = alpha * counts[:, None] / counts.sum() + _EPS  # (C, 1)
    log_s = np.log(P + _EPS)
    q = P
    for _ in range(10):
        A = a0 + Y.T @ q  # (C, Z)
        logits = log_s + digamma(A)[codes]
        if dirichlet:
            logits -= digamma(A.sum(axis=0))[None, :]
        log_q = logits - logsumexp(logits, axis=1, keepdims=True)
        q = np.exp(log_q)
    return a0, A, q, log_q, log_s


def pac_dirichlet(P: np.ndarray, codes: np.ndarray, n_classes: int, alpha: float = 1.0) -> float:
    r"""The official PACTran-Dirichlet value (lower is better), from source probabilities.

    With :math:`a_0 = \alpha N_c/N + 10^{-10}`, :math:`\log s = \log(P + 10^{-10})` and the
    10 mean-field rounds :math:`A = a_0 + Y^T q`,
    :math:`q = \mathrm{softmax}(\log s + Y\psi(A) - \psi(\textstyle\sum_c A_{c\cdot}))`,

    .. math::
        -\frac{1}{NC}\sum_z\Big[\ln\Gamma(\textstyle\sum_c a_0) - \sum_c \ln\Gamma(a_0)
        - \ln\Gamma(\textstyle\sum_c A_{cz}) + \sum_c \ln\Gamma(A_{cz})
        - \sum_i q_{iz}(\log q_{iz} - \log s_{iz})\Big].
    """
    from scipy.special import gammaln

    a0, A, q, log_q, log_s = _variational(P, codes, n_classes, alpha, dirichlet=True)
    log_c0 = gammaln(a0.sum()) - gammaln(a0).sum()
    log_c = gammaln(A.sum(axis=0)) - gammaln(A).sum(axis=0)
    kl = np.sum(q * (log_q - log_s), axis=0)
    total = np.sum(log_c0 - log_c - kl)
    return float(-total / (P.shape[0] * n_classes))


def pac_gamma(P: np.ndarray, codes: np.ndarray, n_classes: int, alpha: float = 1.0) -> float:
    r"""The official PACTran-Gamma value (lower is better), from source probabilities.

    As `pac_dirichlet` with Gamma priors of rate 1 (the mean-field logits lack the
    :math:`\psi(\sum_c A)` term) and :math:`\ell_i = \sum_z P_{iz} \sum_c A_{cz}`:

    .. math::
        \frac{1}{NC}\Big[\sum_{c,z}\big(\ln\Gamma(a_{0,c}) - \ln\Gamma(A_{cz})\big)
        + \sum_i\Big(\sum_z q_{iz}(\log q_{iz} - \log s_{iz}) + \log \ell_i - 1\Big)\Big] + 1.
    """
    from scipy.special import gammaln

    a0, A, q, log_q, log_s = _variational(P, codes, n_classes, alpha, dirichlet=False)
    ell = P @ A.sum(axis=0)
    first = np.sum(gammaln(a0) - gammaln(A))
    second = np.sum(np.sum(q * (log_q - log_s), axis=1) + np.log(ell) - 1.0)
    return float((first + second) / (P.shape[0] * n_classes) + 1.0)


_SOURCE_DOC = r"""
    Parameters
    ----------
    source_probs : ndarray of shape (n_samples, n_source_classes)
        Softmax outputs of the source classifier (validated).
    alpha : float, default 1.0
        Concentration of the prior, :math:`a_0 = \alpha N_c / N`.

    Returns
    -------
    float
        Minus the official value; higher is better.

    References
    ----------
    .. [1] N. Ding, X. Chen, T. Levinboim, S. Changpinyo, R. Soricut. PACTran. ECCV 2022.
       arXiv:2203.05126.
"""


@register(
    "pactran_dir",
    needs_features=False,
    needs_source_probs=True,
    summary="Minus PACTran-Dirichlet: a PAC-Bayes bound over the source classifier's "
    "probabilities with Dirichlet priors.",
    reference=_REFERENCE,
)
def pactran_dir(
    *,
    stats: ClassStats | None = None,
    labels: Labels,
    source_probs: np.ndarray,
    targets: np.ndarray | None = None,
    alpha: float = 1.0,
) -> float:
    alpha = check_positive(alpha, "alpha")
    return -pac_dirichlet(source_probs, labels.codes, labels.n_classes, alpha)


pactran_dir.__doc__ = (
    r"""Minus PACTran-Dirichlet (`pac_dirichlet`), as the official ``calculate_pac_dir``.

    The official value is a bound (lower is better); this returns its negation.
"""
    + _SOURCE_DOC
)


@register(
    "pactran_gamma",
    needs_features=False,
    needs_source_probs=True,
    summary="Minus PACTran-Gamma: a PAC-Bayes bound over the source classifier's "
    "probabilities with Gamma priors.",
    reference=_REFERENCE,
)
def pactran_gamma(
    *,
    stats: ClassStats | None = None,
    labels: Labels,
    source_probs: np.ndarray,
    targets: np.ndarray | None = None,
    alpha: float = 1.0,
) -> float:
    alpha = check_positive(alpha, "alpha")
    return -pac_gamma(source_probs, labels.codes, labels.n_classes, alpha)


pactran_gamma.__doc__ = (
    r"""Minus PACTran-Gamma (`pac_gamma`), as the official ``calculate_pac_gamma``.

    The official value is a bound (lower is better); this returns its negation.
"""
    + _SOURCE_DOC
)


def gmm_posteriors(stats: ClassStats, random_state: Any = 0, reg_covar: float = 1e-6):
    r"""The official ``gmm_estimator``: PCA keeping 80% of the variance, then a
    full-covariance Gaussian mixture of :math:`\max(\min(C, \lfloor 0.2N \rfloor),
    \lfloor 0.1N \rfloor)` components (at least 1, at most N); its posteriors (N, K)."""
    random_state = check_seed(random_state, generator=np.random.RandomState)
    eigvals, comps = covariance_pca(stats)
    Z = pca_project(stats, comps[: _n_components_for_variance(eigvals, 0.8)])
    N, C = stats.n_samples, stats.n_classes
    k = min(max(min(C, int(N * 0.2)), int(N * 0.1), 1), N)
    return _fit_mixture(Z, k, random_state, reg_covar)


_GMM_DOC = r"""
    The source classifier is replaced, as in the official ``gmm_estimator``, by the
    posteriors of a Gaussian mixture (`gmm_posteriors`): PCA to 80% of the variance, then
    :math:`\max(\min(C, \lfloor 0.2N\rfloor), \lfloor 0.1N\rfloor)` full-covariance
    components (300 for N = 3000: slow in high dimension). The official mixture is
    unseeded; ``random_state=0`` equals it after ``np.random.seed(0)`` with the same
    scikit-learn. An ill-defined covariance is retried with a larger ``reg_covar`` (as
    N-LEEP).

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.
    alpha : float, default 1.0
        Concentration of the prior.
    random_state : int, RandomState or None, default 0
        Seed of the mixture.

    Returns
    -------
    float
        Minus the official value; higher is better.

    References
    ----------
    .. [1] N. Ding, X. Chen, T. Levinboim, S. Changpinyo, R. Soricut. PACTran. ECCV 2022.
       arXiv:2203.05126.
"""


@register(
    "pactran_ndir",
    summary="Minus PACTran-Dirichlet over the posteriors of a Gaussian mixture fitted on the "
    "features.",
    reference=_REFERENCE,
)
def pactran_ndir(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    alpha: float = 1.0,
    random_state: Any = 0,
) -> float:
    alpha = check_positive(alpha, "alpha")
    post = gmm_posteriors(stats, random_state)
    return -pac_dirichlet(post, stats.codes, stats.n_classes, alpha)


pactran_ndir.__doc__ = "Minus PACTran-Dirichlet on mixture posteriors (``pac_ndir``).\n" + _GMM_DOC


@register(
    "pactran_ngamma",
    summary="Minus PACTran-Gamma over the posteriors of a Gaussian mixture fitted on the features.",
    reference=_REFERENCE,
)
def pactran_ngamma(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    alpha: float = 1.0,
    random_state: Any = 0,
) -> float:
    alpha = check_positive(alpha, "alpha")
    post = gmm_posteriors(stats, random_state)
    return -pac_gamma(post, stats.codes, stats.n_classes, alpha)


pactran_ngamma.__doc__ = "Minus PACTran-Gamma on mixture posteriors (``pac_ngam``).\n" + _GMM_DOC
