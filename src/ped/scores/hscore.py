"""H-score: how much of the feature covariance the class-conditional means explain."""

from __future__ import annotations

import numpy as np

from .._stats import ClassStats
from .._validation import Labels, check_choice, check_positive
from ._linalg import sym_eigh
from ._registry import register

__all__ = ["hscore", "between_class_factor"]


def between_class_factor(stats: ClassStats) -> np.ndarray:
    r"""``B`` of shape (n_classes, n_features) with :math:`B^T B = S_b`, the between-class
    scatter :math:`\sum_c n_c (m_c - m)(m_c - m)^T` (the scatter of the features with every
    sample replaced by its class mean)."""
    return (stats.means - stats.mean) * np.sqrt(stats.counts.astype(np.float64))[:, None]


@register(
    "hscore",
    scale_invariant=True,
    summary="Trace of the inverse feature covariance times the covariance of the class means.",
    reference="Bao et al., An Information-Theoretic Approach to Transferability in Task "
    "Transfer Learning, ICIP 2019.",
)
def hscore(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    variant: str = "reference",
    rcond: float | None = None,
) -> float:
    r"""H-score (Bao et al., ICIP 2019).

    With :math:`\mathrm{Cov}(f)` the covariance of the features and :math:`\mathrm{Cov}(g)`
    the covariance of :math:`g(x_i) = \mathbb E[f \mid y_i]` (every sample replaced by its
    class mean),

    .. math:: H = \mathrm{tr}\big(\mathrm{Cov}(f)^{+}\,\mathrm{Cov}(g)\big),

    the reference form (``variant="reference"``; pseudo-inverse with ``rcond=1e-15``
    relative to the largest eigenvalue, as the reference code). Both covariances carry the
    same normalisation, which cancels, so this is :math:`\mathrm{tr}(S_t^{+} S_b)` with the
    total and between-class scatters; it is computed from the eigendecomposition of the
    cached covariance and the C x D class-mean factor, never from the samples again.

    ``variant="google"`` is the google-research ``hscore.py`` form, which multiplies the two
    matrices elementwise (bug B15):
    :math:`\sum_d [\mathrm{Cov}(f)^{+}]_{dd}\,[\mathrm{Cov}(g)]_{dd}`, with ``rcond=1e-5``.

    H is in :math:`[0, \min(C - 1, D)]` for the reference form; higher is better.

    Invariant to the feature scale: for features :math:`sF` both covariances gain
    :math:`s^2`, which the pseudo-inverse cancels (its cut-off is relative), in both variants.

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.
    variant : {"reference", "google"}, default "reference"
        Matrix product or the elementwise product of Google's code.
    rcond : float, optional
        Relative cut-off of the pseudo-inverse; None takes the variant's (1e-15 or 1e-5).

    Returns
    -------
    float
        The H-score; higher is better.

    References
    ----------
    .. [1] Y. Bao, Y. Li, S.-L. Huang, L. Zhang, L. Zheng, A. Zamir, L. Guibas. An
       Information-Theoretic Approach to Transferability in Task Transfer Learning.
       ICIP 2019.
    .. [2] L.-K. Huang, J. Huang, Y. Rong, Q. Yang, Y. Wei. Frustratingly Easy Transferability
       Estimation. ICML 2022. arXiv:2106.09362 (the reference form quoted in [3]).
    .. [3] M. Pándy et al. Transferability Estimation using Bhattacharyya Class Separability.
       CVPR 2022. arXiv:2111.12780 (google-research ``stable_transfer``).
    """
    variant = check_choice(variant, "variant", ("reference", "google"))
    if rcond is None:
        rcond = 1e-15 if variant == "reference" else 1e-5
    rcond = check_positive(rcond, "rcond", allow_zero=True)
    e, V = sym_eigh(stats.scatter)
    keep = np.abs(e) > rcond * max(np.abs(e).max(), 0.0)
    if not keep.any():
        return 0.0
    e, V = e[keep], V[:, keep]
    B = between_class_factor(stats)
    if variant == "reference":
        P = B @ V  # (C, k)
        return float(np.sum((P * P) / e))
    pinv_diag = (V * V) @ (1.0 / e)
    between_diag = np.einsum("cd,cd->d", B, B)
    return float(pinv_diag @ between_diag)
