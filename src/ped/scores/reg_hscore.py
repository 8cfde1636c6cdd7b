"""Regularised H-score: the H-score with a Ledoit-Wolf shrunk feature covariance."""

from __future__ import annotations

import numpy as np

from .._stats import ClassStats
from .._validation import Labels
from ._linalg import sym_eigh
from ._registry import register
from .hscore import between_class_factor

__all__ = ["reg_hscore", "ledoit_wolf_shrinkage"]


def ledoit_wolf_shrinkage(stats: ClassStats) -> float:
    r"""Ledoit-Wolf shrinkage intensity of the feature covariance towards :math:`\mu I`.

    With :math:`S` the population covariance, :math:`\mu = \mathrm{tr}(S)/D` and centred
    samples :math:`x_i`,

    .. math::
        \delta = \|S - \mu I\|_F^2 / D, \quad
        \beta = \min\Big(\delta,\ \frac{1}{D N}\Big[\frac1N\sum_i \|x_i\|^4 - \|S\|_F^2\Big]\Big),
        \quad \alpha = \beta / \delta,

    the estimator of scikit-learn's ``ledoit_wolf_shrinkage`` (one pass over the samples for
    :math:`\sum_i\|x_i\|^4`; everything else from the cached covariance).
    """
    S = stats.covariance
    N, D = stats.n_samples, stats.n_features
    mu = float(np.trace(S)) / D
    fro2 = float(np.sum(S * S))
    delta = (fro2 - D * mu * mu) / D
    fourth = 0.0
    mean = stats.mean
    for _, block in stats.iter_blocks():
        block -= mean
        sq = np.einsum("ij,ij->i", block, block)
        fourth += float(sq @ sq)
    beta = min(delta, (fourth / N - fro2) / (D * N))
    if delta <= 0 or beta <= 0:
        return 0.0
    return float(beta / delta)


@register(
    "reg_hscore",
    scale_invariant=True,
    summary="H-score with the feature covariance shrunk towards a scaled identity (Ledoit-Wolf).",
    reference="Ibrahim et al., Newer is not always better: Rethinking transferability metrics, "
    "their peculiarities, stability and performance, ECML-PKDD 2022 (arXiv:2110.06893).",
)
def reg_hscore(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
) -> float:
    r"""Shrinkage-based H-score (Ibrahim et al., 2022).

    The H-score's feature covariance is ill-conditioned when D is large against N; the
    regularised score replaces it by the Ledoit-Wolf estimate

    .. math::
        \mathrm{Cov}_\alpha(f) = (1 - \alpha)\,\mathrm{Cov}(f) + \alpha\,\mu I,
        \qquad \mu = \mathrm{tr}\,\mathrm{Cov}(f) / D,

    with :math:`\alpha` from `ledoit_wolf_shrinkage`, and scales the class-mean covariance
    accordingly:

    .. math::
        H_\alpha = \mathrm{tr}\big(\mathrm{Cov}_\alpha(f)^{-1}\,(1 - \alpha)\,
        \mathrm{Cov}(g)\big),

    with population covariances throughout (:math:`\mathrm{Cov}(g) = S_b / N`). It is
    computed from the eigendecomposition of the cached covariance:
    :math:`H_\alpha = (1-\alpha)\sum_k \|B v_k\|^2 / (N[(1-\alpha)e_k + \alpha\mu])`.
    Higher is better. When every feature is constant the score is 0. Invariant to the
    feature scale: :math:`\alpha` is a ratio of quantities that all gain :math:`s^4` for
    features :math:`sF`, and :math:`\mu`, :math:`\mathrm{Cov}(f)` and :math:`\mathrm{Cov}(g)`
    all gain :math:`s^2`.

    Both covariances are population ones (divided by N). tllib and transformer-ranker divide
    the class-mean covariance by N - 1 while their Ledoit-Wolf covariance divides by N, so
    their value is this one times N / (N - 1) (docs/deviations.md).

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.

    Returns
    -------
    float
        The regularised H-score; higher is better.

    References
    ----------
    .. [1] S. Ibrahim, N. Ponomareva, R. Mazumder. Newer is not always better: Rethinking
       transferability metrics, their peculiarities, stability and performance. ECML-PKDD
       2022. arXiv:2110.06893.
    .. [2] O. Ledoit, M. Wolf. A well-conditioned estimator for large-dimensional covariance
       matrices. Journal of Multivariate Analysis 88(2), 2004.
    """
    alpha = ledoit_wolf_shrinkage(stats)
    S = stats.covariance
    D = stats.n_features
    mu = float(np.trace(S)) / D
    e, V = sym_eigh(S)
    shrunk = (1.0 - alpha) * np.clip(e, 0.0, None) + alpha * mu
    keep = shrunk > 1e-15 * max(shrunk.max(), 0.0)
    if not keep.any() or mu <= 0:
        return 0.0
    P = between_class_factor(stats) @ V[:, keep]
    return float((1.0 - alpha) * np.sum((P * P) / shrunk[keep]) / stats.n_samples)
