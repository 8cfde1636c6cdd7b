"""ETran's energy and LDA scores (Gholami et al., ICCV 2023).

ETran itself exists only over a set of models (a min-max scaled sum of these two components
across the candidates); see `ped.hub` for that.
"""

from __future__ import annotations

import numpy as np

from .._stats import ClassStats
from .._validation import Labels, check_fraction
from ._registry import register

__all__ = ["etran_energy", "etran_lda", "energy_count", "nearest_mean_probabilities"]

_REFERENCE = (
    "Gholami et al., ETran: Energy-Based Transferability Estimation, ICCV 2023 (arXiv:2308.02027)."
)


def energy_count(n_samples: int, percent: float) -> int:
    """Number of lowest-energy samples ETran averages: ``int(10 percent) * N // 1000``, at
    least 1 (the official count is 0 below 200 samples at the default 0.5 percent)."""
    return max(1, int(percent * 10) * n_samples // 1000)


@register(
    "etran_energy",
    summary="ETran's energy term: mean log-sum-exp of the features over the least "
    "confident 0.5% of the samples.",
    reference=_REFERENCE,
)
def etran_energy(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    percent: float = 0.5,
) -> float:
    r"""ETran's energy score, as the official ``Energy_Score(X, 0.5, 'bot')`` on the features.

    Every sample gets the free energy of its feature vector read as logits,
    :math:`E_i = \log \sum_j e^{x_{ij}}`; the score is the mean of the :math:`k` smallest
    :math:`E_i`, with :math:`k = \lfloor \lfloor 10 p \rfloor N / 1000 \rfloor` for
    ``percent`` :math:`p` (0.5%, so 2 samples of 400, 7 of 1500). The official pipeline
    (``evaluate_metric.py -me energy``) calls it on the penultimate features, not on logits;
    so does this. Higher is better (ETran adds it with a positive weight). The labels are
    not read.

    Deviation: below 200 samples the official count :math:`k` is 0 and its mean is NaN
    (an empty slice); here :math:`k` is at least 1, so the score is the smallest
    :math:`E_i`.

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.
    percent : float in (0, 100], default 0.5
        Percentage of the samples averaged (truncated to tenths of a percent, as the
        official ``int(percent * 10)``).

    Returns
    -------
    float
        Mean lowest energy score; higher is better.

    References
    ----------
    .. [1] M. Gholami, M. Akbari, X. Wang, B. Kamranian, Y. Zhang. ETran: Energy-Based
       Transferability Estimation. ICCV 2023. arXiv:2308.02027.
    """
    from scipy.special import logsumexp  # scipy.special loads only when the score runs

    percent = check_fraction(percent, "percent", low=0.1, high=100.0)
    E = np.empty(stats.n_samples)
    step = 1024  # rows gathered (as float64, offsets added) and reduced at a time
    for start in range(0, stats.n_samples, step):
        rows = np.arange(start, min(start + step, stats.n_samples))
        E[rows] = logsumexp(stats.gather(rows), axis=1)
    k = energy_count(stats.n_samples, percent)
    return float(np.mean(np.sort(E)[:k]))


def nearest_mean_probabilities(stats: ClassStats) -> np.ndarray:
    r"""In-sample probabilities :math:`\mathrm{softmax}_c(x_i \cdot \mu_c - \tfrac12
    \lVert\mu_c\rVert^2 + \log \pi_c)`, shape (n_samples, n_classes)."""
    M = stats.means
    logits = stats.project(M.T)
    logits += -0.5 * np.einsum("ij,ij->i", M, M) + np.log(stats.priors)
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits


@register(
    "etran_lda",
    summary="ETran's LDA term: mean in-sample probability of the true class under a "
    "nearest-class-mean soft classifier.",
    reference=_REFERENCE,
)
def etran_lda(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
) -> float:
    r"""ETran's LDA score, equal to the official ``LDA_Score``: a nearest-class-mean soft
    classifier.

    .. math::
        \mathrm{LDA} = \frac1N \sum_i \mathrm{softmax}_c\big(x_i\cdot\mu_c
        - \tfrac12\lVert\mu_c\rVert^2 + \log\pi_c\big)_{y_i}

    with class means :math:`\mu_c` and priors :math:`\pi_c = N_c/N`. The official code
    builds a shrunk within-class covariance and the between-class scatter and takes
    ``np.linalg.eigh(inv(S_w) @ S_b)``; ``eigh`` reads only one triangle of that
    non-symmetric matrix and returns a full orthonormal basis :math:`V`, so its coefficients
    :math:`\mu V V^T = \mu`: the whole eigen step cancels and the classifier is the one above
    (Euclidean nearest mean, no covariance). Unlike SFDA there is no ConfMix second pass.
    Higher is better.

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.

    Returns
    -------
    float
        Mean probability of the true class, in (0, 1]; higher is better.

    References
    ----------
    .. [1] M. Gholami, M. Akbari, X. Wang, B. Kamranian, Y. Zhang. ETran: Energy-Based
       Transferability Estimation. ICCV 2023. arXiv:2308.02027.
    """
    P = nearest_mean_probabilities(stats)
    return float(P[np.arange(stats.n_samples), stats.codes].sum() / stats.n_samples)
