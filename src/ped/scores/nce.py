"""NCE: the negative conditional entropy of target labels given source labels (Tran et al.)."""

from __future__ import annotations

import numpy as np

from .._stats import ClassStats
from .._validation import Labels
from ._registry import register

__all__ = ["nce"]


@register(
    "nce",
    bounds=(None, 0.0),
    needs_features=False,
    needs_source_probs=True,
    summary="Negative conditional entropy of the target labels given the source classifier's "
    "hard predictions.",
    reference="Tran et al., Transferability and Hardness of Supervised Classification Tasks, "
    "ICCV 2019 (arXiv:1908.08142).",
)
def nce(
    *,
    stats: ClassStats | None = None,
    labels: Labels,
    source_probs: np.ndarray,
    targets: np.ndarray | None = None,
) -> float:
    r"""NCE (Tran et al., ICCV 2019), as the LogME repository's ``NCE.py``.

    The source labels are the argmax of the source classifier's outputs,
    :math:`z_i = \arg\max_z \theta_z(x_i)` (first maximum on ties). With the empirical joint
    :math:`P(y, z) = \#\{i: y_i = y, z_i = z\}/N`,

    .. math::
        \mathrm{NCE} = -H(Y \mid Z) = \sum_{z: P(z) > 0} P(z) \sum_y
        \tilde P(y \mid z) \log \tilde P(y \mid z),
        \qquad \tilde P(y \mid z) = P(y, z)/P(z) + 10^{-20},

    the :math:`10^{-20}` being the official code's guard against :math:`\log 0`. It is at most
    0 (0 when the source labels determine the target labels); higher is better.

    Parameters
    ----------
    labels : Labels
        Target labels.
    source_probs : ndarray of shape (n_samples, n_source_classes)
        Outputs of the source classifier (only their argmax is used).

    Returns
    -------
    float
        :math:`-H(Y \mid Z)`; higher is better.

    References
    ----------
    .. [1] A. T. Tran, C. V. Nguyen, T. Hassner. Transferability and Hardness of Supervised
       Classification Tasks. ICCV 2019. arXiv:1908.08142.
    """
    z = np.argmax(source_probs, axis=1)
    N = z.shape[0]
    C_t, C_s = labels.n_classes, source_probs.shape[1]
    joint = np.bincount(labels.codes * C_s + z, minlength=C_t * C_s).reshape(C_t, C_s) / N
    pz = joint.sum(axis=0)
    used = pz > 0
    cond = joint[:, used] / pz[used] + 1e-20  # P(y | z), (C_t, n_used)
    entropy = -(cond * np.log(cond)).sum(axis=0)
    return float(-np.sum(entropy * pz[used]))
