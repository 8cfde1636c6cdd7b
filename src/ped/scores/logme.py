"""LogME: the log maximum evidence of a Bayesian linear model on the features."""

from __future__ import annotations

import numpy as np

from .._stats import ClassStats
from .._validation import Labels
from ._linalg import sym_eigh
from ._registry import register

__all__ = ["logme", "logme_evidence"]


def _spectrum(stats: ClassStats, cutoff: float = 1e-10) -> tuple[np.ndarray, np.ndarray, int]:
    """For N > D, the official truncated SVD from the eigendecomposition of ``F^T F``:
    ``(sigma, V, 0)`` with ``sigma`` the squared singular values above ``cutoff`` (1e-10 in
    the features' own units; descending) and ``V`` the matching (D, k) right singular vectors
    of F."""
    e, V = sym_eigh(stats.gram)  # scaled, divide and conquer, one BLAS thread
    e = e[::-1]
    V = V[:, ::-1]
    s = np.sqrt(np.clip(e, 0.0, None))
    k = int(np.sum(s > cutoff))
    return s[:k] ** 2, V[:, :k], 0


def _sample_spectrum(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For N <= D, the official thin SVD of F from the eigendecomposition of the N x N Gram
    ``F F^T``: ``(sigma, U)`` with all N squared singular values (descending) and the (N, N)
    left singular vectors. Eigenvalues at the round-off level of the largest (below
    ``N * eps * max``) are zero singular values: exactly 0 here, about ``1e-32 max`` in the
    official SVD, a difference that no term of the evidence can see."""
    e, U = sym_eigh(F @ F.T)
    e, U = e[::-1], U[:, ::-1]
    top = float(e[0]) if e.size else 0.0
    e = np.where(e > F.shape[0] * np.finfo(np.float64).eps * top, e, 0.0)
    return e, U


def logme_evidence(
    sigma: np.ndarray,
    x2: np.ndarray,
    r0: float,
    n_samples: int,
    n_features: int,
    *,
    max_iter: int = 11,
    tol: float = 1e-3,
    n_zero: int = 0,
    log_scale2: float = 0.0,
) -> float:
    """Maximised log evidence (per sample) of one target, from the feature spectrum.

    Parameters
    ----------
    sigma : ndarray of shape (k,)
        Non-zero squared singular values of the feature matrix F.
    x2 : ndarray of shape (k,)
        Squared projections ``(U^T t)^2`` of the target onto the left singular vectors.
    r0 : float
        Energy of the target outside the span of F, ``||t||^2 - sum(x2)``.
    n_samples, n_features : int
        N and D.
    max_iter, tol : int, float
        The fixed-point iteration of You et al. (2021): at most 11 rounds, stopping when the
        relative change of ``lambda = alpha / beta`` is at most 1e-3.
    n_zero : int
        Zero singular values to include in the log-determinant (the official thin-SVD path for
        N <= D keeps them; each adds ``ln alpha``).
    log_scale2 : float, default 0
        ``sigma`` is given in units of :math:`e^{L}` with ``L = log_scale2``: the squared
        singular values are ``sigma * exp(L)``. With ``L != 0`` the iteration runs on
        ``ln alpha`` and ``ln beta`` so that features of any magnitude give the
        value of the formula without overflow (the result equals that of
        ``sigma * exp(L)`` to rounding).

    Returns
    -------
    float
        ``[D/2 ln a + N/2 ln b - 1/2 sum ln(a + b sigma) - b/2 res2 - a/2 m2 - N/2 ln 2 pi] / N``.
        When no singular value is positive (features without signal) the official iteration
        divides by zero (alpha = 0); the value returned is then the exact evidence, in which
        the D terms in alpha cancel: ``[N/2 ln b - b/2 |t|^2 - N/2 ln 2 pi] / N`` with
        ``b = N / (|t|^2 + 1e-5)``.
    """
    N, D = n_samples, n_features
    sigma = np.asarray(sigma, dtype=np.float64)
    x2 = np.asarray(x2, dtype=np.float64)
    if not np.any(sigma > 0):
        res2 = float(np.sum(x2)) + r0
        beta = N / (res2 + 1e-5)
        return float((N / 2.0 * np.log(beta) - beta / 2.0 * res2 - N / 2.0 * np.log(2 * np.pi)) / N)
    if log_scale2 != 0.0:
        return _evidence_log_domain(sigma, x2, r0, N, D, max_iter, tol, n_zero, log_scale2)
    alpha, beta = 1.0, 1.0
    for _ in range(max_iter):
        lam = alpha / beta
        gamma = float(np.sum(sigma / (sigma + lam)))
        m2 = float(np.sum(sigma * x2 / (lam + sigma) ** 2))
        res2 = float(np.sum(x2 / (1.0 + sigma / lam) ** 2)) + r0
        alpha = gamma / (m2 + 1e-5)
        beta = (N - gamma) / (res2 + 1e-5)
        new_lam = alpha / beta
        if abs(new_lam - lam) / lam <= tol:
            break
    evidence = (
        D / 2.0 * np.log(alpha)
        + N / 2.0 * np.log(beta)
        - 0.5 * (np.sum(np.log(alpha + beta * sigma)) + n_zero * np.log(alpha))
        - beta / 2.0 * res2
        - alpha / 2.0 * m2
        - N / 2.0 * np.log(2 * np.pi)
    )
    return float(evidence / N)


def _evidence_log_domain(
    sigma: np.ndarray,
    x2: np.ndarray,
    r0: float,
    N: int,
    D: int,
    max_iter: int,
    tol: float,
    n_zero: int,
    L: float,
) -> float:
    """`logme_evidence` for squared singular values ``sigma * exp(L)``, on logarithms."""
    zero = sigma <= 0
    r0 = r0 + float(np.sum(x2[zero]))  # a zero singular value only adds its x^2 to res2
    n_zero += int(np.sum(zero))
    sigma, x2 = sigma[~zero], x2[~zero]
    ln_sigma = np.log(sigma)
    ln_eps = np.log(1e-5)
    ln_alpha = ln_beta = 0.0
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        for _ in range(max_iter):
            ln_lam = ln_alpha - ln_beta
            lam = np.exp(ln_lam - L)  # lambda in the units of sigma
            gamma = float(np.sum(sigma / (sigma + lam)))
            m2 = float(np.sum(sigma * x2 / (lam + sigma) ** 2))  # true m2 = m2 * exp(-L)
            res2 = float(np.sum(x2 / (1.0 + sigma / lam) ** 2)) + r0
            ln_alpha = np.log(gamma) - np.logaddexp(np.log(m2) - L, ln_eps)
            ln_beta = np.log(N - gamma) - np.log(res2 + 1e-5)
            change = abs(np.expm1((ln_alpha - ln_beta) - ln_lam))
            if np.isfinite(change) and change <= tol:
                break
        log_det = float(np.sum(np.logaddexp(ln_alpha, ln_beta + L + ln_sigma)))
        alpha_m2 = float(np.exp(ln_alpha + np.log(m2) - L))
    evidence = (
        D / 2.0 * ln_alpha
        + N / 2.0 * ln_beta
        - 0.5 * (log_det + n_zero * ln_alpha)
        - np.exp(ln_beta) / 2.0 * res2
        - alpha_m2 / 2.0
        - N / 2.0 * np.log(2 * np.pi)
    )
    return float(evidence / N)


@register(
    "logme",
    accepts_targets=True,
    summary="Log maximum evidence of a Bayesian linear classifier on the features.",
    reference="You et al., LogME: Practical Assessment of Pre-trained Models for Transfer "
    "Learning, ICML 2021 (arXiv:2102.11005).",
)
def logme(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
) -> float:
    r"""LogME (You et al., ICML 2021), the fixed-point version of the official code.

    Each class ``c`` (or each column of ``targets``) is a regression target
    :math:`t = 1[y = c]` of a Bayesian linear model :math:`t \sim \mathcal N(F w, \beta^{-1})`,
    :math:`w \sim \mathcal N(0, \alpha^{-1} I)`. The evidence is maximised over
    :math:`\alpha, \beta` by a fixed-point iteration on the spectrum of :math:`F^T F`, and
    the score is the mean over targets of the per-sample log evidence

    .. math::
        \mathcal L = \frac{1}{N}\Big[\tfrac D2\ln\alpha + \tfrac N2\ln\beta
        - \tfrac12\sum_i\ln(\alpha+\beta\sigma_i) - \tfrac\beta2\|t - Fm\|^2
        - \tfrac\alpha2\|m\|^2 - \tfrac N2\ln 2\pi\Big].

    For N > D everything is computed from the Gram matrix :math:`F^T F` and the class sums
    :math:`F^T t` (no second pass over the samples), which is the official truncated SVD
    (singular values above 1e-10). For N <= D the official code takes the thin SVD of F, with
    all :math:`\min(N, D) = N` singular values; here they come from the N x N Gram
    :math:`F F^T` (faster than the D x D one), and the result does not depend on the order of
    the rows. (The D x D spectrum would add D - N round-off eigenvalues, about
    :math:`10^{-16}` of the largest, that an absolute cut-off keeps as signal: the value
    then depends on the row order.)

    With N < D the official value is not the exact maximum evidence: its log-determinant
    sums :math:`\ln(\alpha + \beta\sigma_i)` over the N singular values only, while the
    exact evidence has D terms (the D - N zero eigenvalues of :math:`F^T F` each add
    :math:`\ln\alpha`), and the two can differ widely: on the N = 100, D = 256, 4-class
    example of issue 13 the official code gives 5.72, tllib's variant of LogME (eigenvalues of
    the full D x D matrix) -0.27. This follows the official code.

    Not invariant to the feature scale: the exact maximum evidence is (scaling F by s is
    absorbed by :math:`\alpha \to s^2\alpha`), but the official fixed point starts at
    :math:`\alpha = \beta = 1`, adds 1e-5 to :math:`\|m\|^2` and cuts singular values at an
    absolute 1e-10. Features of any magnitude are computed without overflow (divided by a
    power of two, the iteration then runs on :math:`\ln\alpha, \ln\beta`); when no singular
    value passes the cut-off (all-zero or tiny features) the official code divides by zero
    and this returns the exact evidence of a model without features (see `logme_evidence`).

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.
    targets : ndarray of shape (n_samples, n_targets), optional
        Real-valued targets (regression, multi-label); replaces the one-hot class targets.

    Returns
    -------
    float
        Mean log evidence per sample; higher is better.

    References
    ----------
    .. [1] K. You, Y. Liu, J. Wang, M. Long. LogME: Practical Assessment of Pre-trained Models
       for Transfer Learning. ICML 2021. arXiv:2102.11005.
    """
    N, D = stats.n_samples, stats.n_features
    if targets is None:
        tt = stats.counts.astype(np.float64)  # ||t||^2 = n_c for t = 1[y = c]
    else:
        tt = np.einsum("ij,ij->j", targets, targets)
    n_zero = 0
    if N <= D:
        # The official thin SVD of F, from the N x N Gram (cheaper than D x D, and free of
        # the D - N round-off eigenvalues of F^T F that an absolute cut-off cannot tell apart
        # from signal).
        sigma, U = _sample_spectrum(stats.features())
        if targets is None:
            X = np.zeros((N, stats.n_classes))  # U^T t: class sums of the rows of U
            np.add.at(X.T, stats.codes, U)
        else:
            X = U.T @ targets
    else:
        sigma, V, n_zero = _spectrum(stats, cutoff=1e-10 / stats.scale)
        s = np.sqrt(sigma)
        if targets is None:
            Ft = stats.sums.T  # (D, C): F^T t for t = 1[y = c] is the class sum
        else:
            Ft = np.zeros((D, targets.shape[1]))
            for rows, block in stats.iter_blocks():
                Ft += block.T @ targets[rows]
        X = (V.T @ Ft) / s[:, None]  # (k, n_targets) = U^T t
    X2 = X**2
    evidences = [
        logme_evidence(
            sigma,
            X2[:, j],
            float(tt[j] - X2[:, j].sum()),
            N,
            D,
            n_zero=n_zero,
            log_scale2=2.0 * np.log(stats.scale),
        )
        for j in range(X2.shape[1])
    ]
    return float(np.mean(evidences))
