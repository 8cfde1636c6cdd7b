"""TransRate: the coding-rate gain of the features from knowing the labels (Huang et al.)."""

from __future__ import annotations

import numpy as np
from scipy import linalg

from .._stats import ClassStats
from .._validation import Labels, check_positive
from ._registry import register

__all__ = ["transrate", "coding_rate"]


def coding_rate(gram: np.ndarray, n: int, eps: float, scale: float = 1.0) -> float:
    r""":math:`\tfrac12\log\det(I + \tfrac{1}{n\epsilon} G)` of a PSD Gram (or scatter)
    matrix ``G`` (either :math:`Z^T Z` or :math:`Z Z^T`, whose non-zero spectra agree).

    ``G`` may be given in units of ``scale**2`` (the Gram of ``Z / scale``); the terms
    :math:`\log(1 + e\,s^2/(n\epsilon))` are then taken on logarithms, without overflow."""
    e = np.clip(linalg.eigvalsh(gram, check_finite=False), 0.0, None)
    if scale == 1.0:
        with np.errstate(over="ignore"):
            ratio = e / (n * eps)
        if np.isfinite(ratio).all():
            return 0.5 * float(np.sum(np.log1p(ratio)))
    with np.errstate(divide="ignore"):
        log_ratio = np.log(e) + 2.0 * np.log(scale) - np.log(n * eps)
    return 0.5 * float(np.sum(np.logaddexp(0.0, log_ratio)))


def _class_rows(stats: ClassStats):
    """Yield the rows of every class in turn, centred on the global mean (float64), gathered
    straight from the features (`ClassStats.gather`): one class is the only copy alive."""
    order = np.argsort(stats.codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(stats.counts)])
    mean = stats.mean
    for c in range(stats.n_classes):
        Zc = stats.gather(order[starts[c] : starts[c + 1]])
        Zc -= mean
        yield Zc


@register(
    "transrate",
    summary="Coding rate of the features minus their mean coding rate within each class.",
    reference="Huang et al., Frustratingly Easy Transferability Estimation, ICML 2022 "
    "(arXiv:2106.09362).",
)
def transrate(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    eps: float = 1e-4,
) -> float:
    r"""TransRate (Huang et al., ICML 2022), as the code published with the paper.

    With :math:`Z` the features centred on their mean (N x D) and :math:`Z_c` the rows of
    class :math:`c` (still centred on the *global* mean),

    .. math::
        R(Z, \epsilon) = \tfrac12\log\det\Big(I + \frac{1}{n\epsilon} Z^T Z\Big), \qquad
        \mathrm{TrR} = R(Z, \epsilon) - \frac1C\sum_c R(Z_c, \epsilon),

    with :math:`n` the number of rows of the matrix at hand and ``eps`` = 1e-4. As in the
    official code, :math:`\epsilon` enters without the square and the factor :math:`D` of
    the paper's formula, and the class rates are averaged uniformly (the paper weighs them by
    :math:`n_c/N`). Higher is better.

    :math:`R(Z)` comes from the eigenvalues of the cached scatter matrix; each class rate from
    the smaller of :math:`Z_c^T Z_c` and :math:`Z_c Z_c^T`, with the rows of one class at a time
    gathered from the samples (never a C x D x D array).

    Not invariant to the feature scale: ``eps`` is an absolute distortion (features scaled
    towards 0 give TransRate 0). Features of any magnitude are computed without overflow
    (divided by a power of two, the logarithms taken with the scale).

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.
    eps : float, default 1e-4
        Distortion of the coding rate.

    Returns
    -------
    float
        TransRate, in nats; higher is better.

    References
    ----------
    .. [1] L.-K. Huang, J. Huang, Y. Rong, Q. Yang, Y. Wei. Frustratingly Easy
       Transferability Estimation. ICML 2022. arXiv:2106.09362.
    """
    eps = check_positive(eps, "eps")
    N = stats.n_samples
    total = coding_rate(stats.scatter, N, eps, stats.scale)
    within = 0.0
    for Zc in _class_rows(stats):
        n_c = Zc.shape[0]
        G = Zc @ Zc.T if n_c < Zc.shape[1] else Zc.T @ Zc
        within += coding_rate(G, n_c, eps, stats.scale)
    return float(total - within / stats.n_classes)
