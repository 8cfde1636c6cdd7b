"""LEEP: the log expected empirical prediction of the source classifier (Nguyen et al., 2020)."""

from __future__ import annotations

import numpy as np

from .._stats import ClassStats
from .._validation import Labels, check_bool
from ._registry import register

__all__ = ["leep", "expected_empirical_prediction"]


def expected_empirical_prediction(
    probs: np.ndarray, codes: np.ndarray, n_classes: int
) -> np.ndarray:
    r"""Probability of every sample's own label under the empirical source-to-target predictor.

    With :math:`\theta(x_i)` the rows of ``probs`` (a distribution over source classes
    :math:`z`), :math:`P(y, z) = \frac1N\sum_{i: y_i = y}\theta_z(x_i)`,
    :math:`P(y \mid z) = P(y, z) / P(z)`, and the result is
    :math:`p_i = \sum_z \theta_z(x_i) P(y_i \mid z)`.

    Parameters
    ----------
    probs : ndarray of shape (n_samples, n_sources)
        Rows of non-negative weights summing to 1 (softmax outputs or mixture posteriors).
    codes : ndarray of shape (n_samples,)
        Target labels in ``0 .. n_classes - 1``.
    n_classes : int
        Number of target classes.

    Returns
    -------
    ndarray of shape (n_samples,)
        :math:`p_i`, in (0, 1].
    """
    import scipy.sparse as sp  # scipy.sparse loads only when the score runs

    N, n_sources = probs.shape
    # P(y, z): a sparse one-hot product, no copy of the (n_samples, n_sources) matrix.
    onehot = sp.csr_array((np.full(N, 1.0 / N), (codes, np.arange(N))), shape=(n_classes, N))
    joint = np.asarray(onehot @ probs, dtype=np.float64)
    pz = joint.sum(axis=0)
    # A source class no sample puts weight on contributes nothing (theta_z = 0 everywhere);
    # the official code divides 0 by 0 there.
    cond = np.divide(joint, pz, out=np.zeros_like(joint), where=pz > 0)  # P(y | z)
    # p_i = theta(x_i) . P(y_i | .), in row blocks of about 32 MB so that the gathered rows
    # cond[codes] never exist at full size.
    out = np.empty(N)
    step = max(1, (32 * 2**20) // (8 * max(1, n_sources)))
    for start in range(0, N, step):
        rows = slice(start, min(start + step, N))
        out[rows] = np.einsum("ij,ij->i", probs[rows], cond[codes[rows]])
    return out


@register(
    "leep",
    bounds=(None, 0.0),
    needs_features=False,
    needs_source_probs=True,
    summary="Log expected empirical prediction of the source classifier's outputs.",
    reference="Nguyen et al., LEEP: A New Measure to Evaluate Transferability of Learned "
    "Representations, ICML 2020 (arXiv:2002.12462).",
)
def leep(
    *,
    stats: ClassStats | None = None,
    labels: Labels,
    source_probs: np.ndarray,
    targets: np.ndarray | None = None,
    log: bool = True,
) -> float:
    r"""LEEP (Nguyen et al., ICML 2020), as the LogME repository's ``LEEP.py``.

    From the source classifier's softmax outputs :math:`\theta(x_i)` over source classes
    :math:`z`, the empirical joint :math:`P(y, z) = \frac1N \sum_{i: y_i = y}\theta_z(x_i)`
    gives the conditional :math:`P(y \mid z) = P(y, z)/P(z)` and

    .. math::
        \mathrm{LEEP} = \frac1N \sum_i \log \sum_z \theta_z(x_i)\, P(y_i \mid z).

    It is at most 0; higher is better. ``log=False`` gives the mean of the expected
    empirical prediction without the log, as the SFDA repository's variant.

    Parameters
    ----------
    labels : Labels
        Target labels.
    source_probs : ndarray of shape (n_samples, n_source_classes)
        Softmax outputs of the source classifier.
    log : bool, default True
        Average the log (the published LEEP) or the probability itself.

    Returns
    -------
    float
        The score; higher is better.

    References
    ----------
    .. [1] C. V. Nguyen, T. Hassner, M. Seeger, C. Archambeau. LEEP: A New Measure to
       Evaluate Transferability of Learned Representations. ICML 2020. arXiv:2002.12462.
    """
    log = check_bool(log, "log")
    p = expected_empirical_prediction(source_probs, labels.codes, labels.n_classes)
    if log:
        return float(np.mean(np.log(np.maximum(p, np.finfo(np.float64).tiny))))
    return float(np.mean(p))
