"""TransRate: the coding-rate gain of the features from knowing the labels (Huang et al.)."""

from __future__ import annotations

import numpy as np

from .._stats import ClassStats
from .._validation import Labels, check_positive
from ._linalg import logdet_identity_plus
from ._registry import register

__all__ = ["transrate", "coding_rate"]


def coding_rate(gram: np.ndarray, n: int, eps: float, scale: float = 1.0) -> float:
    r""":math:`\tfrac12\log\det(I + \tfrac{1}{n\epsilon} G)` of a PSD Gram (or scatter)
    matrix ``G`` (either :math:`Z^T Z` or :math:`Z Z^T`, whose non-zero spectra agree), from
    the Cholesky factor of :math:`I + G/(n\epsilon)` (`logdet_identity_plus`).

    ``G`` may be given in units of ``scale**2`` (the Gram of ``Z / scale``). Where
    :math:`s^2/(n\epsilon)` leaves the floating-point range, the terms
    :math:`\log(1 + e\,s^2/(n\epsilon))` are taken on logarithms of the eigenvalues instead,
    without overflow."""
    with np.errstate(over="ignore", under="ignore"):
        c = scale * scale / (n * eps)
    if np.isfinite(c) and c > 0:
        value = logdet_identity_plus(gram, c)
        if np.isfinite(value):
            return 0.5 * value
    e = np.clip(np.linalg.eigvalsh(gram), 0.0, None)
    with np.errstate(divide="ignore"):
        log_ratio = np.log(e) + 2.0 * np.log(scale) - np.log(n * eps)
    return 0.5 * float(np.sum(np.logaddexp(0.0, log_ratio)))


def _small_gram(Z: np.ndarray) -> np.ndarray:
    """The smaller of :math:`Z Z^T` and :math:`Z^T Z` (a symmetric rank-k update)."""
    return Z @ Z.T if Z.shape[0] < Z.shape[1] else Z.T @ Z


def _class_rows(stats: ClassStats, Z: np.ndarray | None = None):
    """Yield the rows of every class in turn, centred on the global mean (float64): taken
    from ``Z`` (the centred features) when given, else gathered straight from the features
    (`ClassStats.gather`), so that one class is the only copy alive."""
    order = np.argsort(stats.codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(stats.counts)])
    mean = None if Z is not None else stats.mean
    for c in range(stats.n_classes):
        idx = order[starts[c] : starts[c + 1]]
        if Z is not None:
            yield Z[idx]
            continue
        Zc = stats.gather(idx)
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

    Every log-determinant comes from a Cholesky factor (`coding_rate`), of the smaller of
    the two Gram matrices: :math:`R(Z)` from the cached D x D scatter matrix when
    :math:`N \ge D`, else from the N x N Gram of the centred rows; each class rate from the
    smaller of :math:`Z_c^T Z_c` and :math:`Z_c Z_c^T`, with the rows of one class at a time
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
    N, D = stats.n_samples, stats.n_features
    Z = None
    if N < D:
        # The N x N Gram of the centred rows costs N^2 D against the D x D scatter's N D^2.
        Z = stats.gather(np.arange(N))
        Z -= Z.mean(axis=0)
        total = coding_rate(_small_gram(Z), N, eps, stats.scale)
    else:
        total = coding_rate(stats.scatter, N, eps, stats.scale)
    within = 0.0
    for Zc in _class_rows(stats, Z):
        within += coding_rate(_small_gram(Zc), Zc.shape[0], eps, stats.scale)
    return float(total - within / stats.n_classes)
