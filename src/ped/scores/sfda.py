"""SFDA: Self-challenging Fisher Discriminant Analysis (Shao et al., ECCV 2022)."""

from __future__ import annotations

import numpy as np

from .._stats import ClassStats
from .._validation import Labels, check_bool, check_fraction
from ._registry import register

__all__ = ["sfda", "sfda_classifier", "largest_eigenvalue"]


def largest_eigenvalue(A: np.ndarray, n_iter: int = 3) -> float:
    """The official SFDA power iteration for the top eigenvalue of a symmetric matrix.

    Starts from the row sums ``A 1`` and takes ``n_iter`` rounds of two normalised products;
    returns :math:`x^T A y` for the last pair.
    """
    x = A.sum(axis=1)
    y = x
    for _ in range(n_iter):
        t = A @ x
        y = t / np.linalg.norm(t)
        t = A @ y
        x = t / np.linalg.norm(t)
    return float(x @ A @ y)


def _shrunk(S: np.ndarray, shrinkage: float) -> np.ndarray:
    D = S.shape[0]
    out = (1.0 - shrinkage) * S
    out.flat[:: D + 1] += shrinkage * np.trace(S) / D
    return out


def sfda_classifier(
    stats: ClassStats, shrinkage: float | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    r"""Fit the SFDA classifier: ``(coef, intercept, shrinkage)``.

    With :math:`S_w = \sum_c \pi_c \mathrm{Cov}(X_c)` and its shrunk version
    :math:`\tilde S_w = (1-\lambda) S_w + \lambda \tfrac{\mathrm{tr} S_w}{D} I`, the official
    code solves :math:`S_b v = e \tilde S_w v` and keeps every eigenvector, so its coefficients
    :math:`W = M V V^T` equal :math:`M \tilde S_w^{-1}` exactly: SFDA's classifier is
    shrinkage LDA. That is computed here with a Cholesky solve. The intercept is
    :math:`b_c = -\tfrac12 \mu_c^T W_c + \ln \pi_c`. When ``shrinkage`` is None it is
    :math:`\max(e^{-5\lambda_{max}(S_w)}, 10^{-10})`, from three rounds of power iteration.
    """
    return _classifier_from_moments(
        stats.means,
        stats.within_scatter / stats.n_samples,
        stats.priors,
        shrinkage,
        scale=stats.scale,
    )


def _classifier_from_moments(
    M: np.ndarray,
    Sw: np.ndarray,
    priors: np.ndarray,
    shrinkage: float | None,
    scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, float]:
    """`sfda_classifier` from class means ``M`` (C, D), the pooled within-class covariance
    ``Sw`` (D, D) and the class priors, all in units of ``scale`` (features / scale). Given the
    shrinkage, the classifier's logits do not depend on those units; the estimated shrinkage
    reads the top eigenvalue in the features' own units, ``scale**2`` times that of ``Sw``."""
    if shrinkage is None:
        top = largest_eigenvalue(Sw)
        with np.errstate(over="ignore"):
            top = top * scale * scale if top > 0 else 0.0
        shrinkage = max(float(np.exp(-5.0 * top)), 1e-10)
    import scipy.linalg  # loads only when the score runs

    Sw_shrunk = _shrunk(Sw, shrinkage)
    try:
        factor = scipy.linalg.cho_factor(Sw_shrunk, lower=True, check_finite=False)
        coef = scipy.linalg.cho_solve(factor, M.T, check_finite=False).T
    except np.linalg.LinAlgError:
        coef = np.linalg.lstsq(Sw_shrunk, M.T, rcond=None)[0].T
    intercept = -0.5 * np.einsum("ij,ij->i", M, coef) + np.log(priors)
    return coef, intercept, shrinkage


def _softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


@register(
    "sfda",
    bounds=(0.0, 1.0),
    summary="Class separability after Fisher discriminant analysis with self-challenging mixing.",
    reference="Shao et al., Not All Models Are Equal: Predicting Model Transferability in a "
    "Self-challenging Fisher Space, ECCV 2022 (arXiv:2207.03036).",
)
def sfda(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    shrinkage: float | None = None,
    double_softmax: bool = True,
) -> float:
    r"""SFDA score (Shao et al., ECCV 2022), two stages with ConfMix, as the official code.

    1. Fit the shrinkage-regularised Fisher classifier (`sfda_classifier`) and take in-sample
       probabilities :math:`p(c \mid x_i)`.
    2. ConfMix: with :math:`q_i = \mathrm{softmax}_c(p(c \mid x_i))_{y_i}` (the official
       "soften" step, a second softmax over probabilities) and the mean of the other classes'
       means :math:`\bar\mu_{-c} = (\sum_k \mu_k - \mu_c)/(C - 1)`, every sample becomes
       :math:`\tilde x_i = q_i x_i + (1 - q_i)\bar\mu_{-y_i}`.
    3. Refit with the same shrinkage on the mixed features; the score is
       :math:`\frac1N \sum_i p(y_i \mid \tilde x_i)` (no logarithm).

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.
    shrinkage : float in [0, 1], optional
        Fixed shrinkage; None estimates it as the official code.
    double_softmax : bool, default=True
        Apply the official second softmax in ConfMix (False uses the probabilities as they
        are, the paper's description).

    Returns
    -------
    float
        Mean probability of the true class in the self-challenged Fisher space, in (0, 1].

    Raises
    ------
    ValueError
        When the within-class scatter is zero (constant or class-constant features, one
        sample per class): the classifier inverts it, and the official code returns NaN.

    Notes
    -----
    The official ``SFDA_Score`` overwrites its input array with the mixed features (B12);
    here the input is never modified. Not invariant to the feature scale: the estimated
    shrinkage :math:`e^{-5\lambda_{max}}` reads the absolute size of the within-class scatter
    (with a fixed ``shrinkage`` the score is invariant). The classifier is computed as :math:`M \tilde S_w^{-1}`
    rather than through the generalised eigenproblem (mathematically identical). The mixed
    features are never formed: their class means and within-class scatter come from one
    weighted pass over the samples (`ClassStats.weighted_sums`) and their logits from the
    projection of the original features, so the cost is about two Gram matrices.

    References
    ----------
    .. [1] W. Shao, X. Zhao, Y. Ge, Z. Zhang, L. Yang, X. Wang, Y. Shan, P. Luo. Not All Models
       Are Equal: Predicting Model Transferability in a Self-challenging Fisher Space.
       ECCV 2022. arXiv:2207.03036.
    """
    if shrinkage is not None:
        shrinkage = check_fraction(shrinkage, "shrinkage")
    double_softmax = check_bool(double_softmax, "double_softmax")
    if not np.trace(stats.within_scatter) > 0:
        raise ValueError(
            "SFDA is undefined for these features: their within-class scatter is zero (every "
            "class is constant, as with constant features or one sample per class), and the "
            "Fisher classifier inverts it. Use a score that needs no within-class variation "
            "(logme, hscore, gbc) or give classes several distinct samples."
        )
    codes = stats.codes
    N, C = stats.n_samples, stats.n_classes
    rows = np.arange(N)
    coef, intercept, lam = sfda_classifier(stats, shrinkage)
    prob = _softmax(stats.project(coef.T) + intercept)
    q = _softmax(prob)[rows, codes] if double_softmax else prob[rows, codes]
    del prob
    M = stats.means
    outer = (M.sum(axis=0)[None, :] - M) / max(C - 1, 1)
    means2, within2 = _mixed_moments(stats, q, outer)
    coef2, intercept2, _ = _classifier_from_moments(
        means2, within2 / N, stats.priors, lam, scale=stats.scale
    )
    # Logits of the mixed rows without forming them:
    # x~_i W^T = q_i (x_i W^T) + (1 - q_i) (o_{y_i} W^T).
    logits = stats.project(coef2.T)
    logits *= q[:, None]
    logits += (1.0 - q)[:, None] * (outer @ coef2.T)[codes]
    logits += intercept2
    prob2 = _softmax(logits)
    return float(prob2[rows, codes].sum() / N)


def _mixed_moments(
    stats: ClassStats, q: np.ndarray, outer: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""Class means and within-class scatter of the ConfMix rows
    :math:`\tilde x_i = q_i x_i + (1 - q_i) o_{y_i}`, from one weighted pass.

    With the shifted rows :math:`z_i = x_i - K_{y_i}` of `ClassStats.weighted_sums`,
    :math:`\tilde x_i - \tilde m_c = q_i z_i + q_i a_c + b_c` where :math:`a_c = K_c - o_c` and
    :math:`b_c = o_c - \tilde m_c`, so the scatter is
    :math:`\sum q_i^2 z_i z_i^T` plus rank-C terms in the weighted class sums.
    """
    n = stats.counts.astype(np.float64)
    w1 = np.bincount(stats.codes, weights=q, minlength=stats.n_classes)
    w2 = np.bincount(stats.codes, weights=q * q, minlength=stats.n_classes)
    G, S1, S2 = stats.weighted_sums(q)
    K = stats.shift
    means = (S1 + w1[:, None] * K + (n - w1)[:, None] * outer) / n[:, None]
    A = K - outer
    B = outer - means
    cross = S2.T @ A + S1.T @ B + A.T @ (w1[:, None] * B)
    W = G + cross + cross.T + A.T @ (w2[:, None] * A) + B.T @ (n[:, None] * B)
    return means, 0.5 * (W + W.T)
