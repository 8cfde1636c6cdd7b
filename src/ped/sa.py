r"""SA, "Spread and Attract": a feature transformation taken before a base score (WACV 2025).

Like PED, SA moves the features before a classic score is taken (``"sa+<base>"``):

1. **Gate.** With :math:`\bar\lambda` the mean of the two largest eigenvalues of the
   (population) covariance of the raw features, SA applies only when
   :math:`\max(e^{-5\bar\lambda}, 10^{-10}) < 10^{-9}`, i.e. :math:`\bar\lambda > \ln(10^9)/5
   \approx 4.1447`. Otherwise the base score is taken on the untouched features.
2. **Reduce.** ``PCA(n_components=min(64, N), svd_solver='randomized', random_state=1919,
   iterated_power=1).fit_transform(X)`` (scikit-learn's).
3. **Spread.** The official code computes a per-class spread and then overwrites it with the
   attract step's output, so the spread has no effect; it is not computed here.
4. **Attract.** With class means :math:`m_a`, radii :math:`R_a = \sqrt{\sum_j
   \mathrm{Var}_j(Z_a)}` (population variances) and :math:`d_{ab} = \lVert m_a - m_b\rVert`,
   every sample of class :math:`a` moves by

   .. math::
       \Delta_a = \alpha \sum_{b \ne a} \big(d_{ab} - \sigma(R_a + R_b)\big)
       \frac{m_a - m_b}{d_{ab}} :

   pairs closer than :math:`\sigma(R_a + R_b)` are pulled together, farther pairs pushed
   apart. Every class moves rigidly, so only class statistics change.

References
----------
.. [1] P. K. Singh, ... "Spread and Attract" (enhancing transferability estimation), WACV 2025.
   Official code: github.com/prafful-kumar/enhancing_TE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._stats import ClassStats
from ._validation import check_bool, check_features_labels, check_int, check_positive
from .scores import dense_features, sym_eigh

__all__ = [
    "SA_PARAMS",
    "SpreadAttract",
    "spread_attract",
    "spread_attract_stats",
    "sa_gate_value",
    "attract_offsets",
]

#: Parameters of every ``sa+<base>`` score, with their defaults (the official script's).
SA_PARAMS: dict[str, Any] = {
    "sa_alpha": 0.005,
    "sa_sigma": 0.6,
    "sa_components": 64,
    "sa_random_state": 1919,
    "sa_gate": True,
}

_GATE_THRESHOLD = 1e-9


@dataclass(frozen=True)
class SpreadAttract:
    """The result of `spread_attract`.

    Attributes
    ----------
    features : ndarray of shape (n_samples, k)
        The transformed features (k = the PCA width), or the input features (as float64)
        when the gate stayed closed.
    applied : bool
        Whether the transformation was applied.
    gate_value : float
        :math:`\\max(e^{-5\\bar\\lambda}, 10^{-10})`; SA applies when it is below 1e-9.
    offsets : ndarray of shape (n_classes, k) or None
        The attract displacement of every class (None when not applied).
    """

    features: np.ndarray
    applied: bool
    gate_value: float
    offsets: np.ndarray | None


def sa_gate_value(stats: ClassStats) -> float:
    r""":math:`\max(e^{-5\bar\lambda}, 10^{-10})`, :math:`\bar\lambda` the mean of the two
    largest eigenvalues of the population covariance of the features."""
    e = sym_eigh(stats.covariance)[0]
    top = np.sort(e)[::-1][:2]
    return max(float(np.exp(-5.0 * top.mean())), 1e-10)


def attract_offsets(
    means: np.ndarray, class_vars: np.ndarray, *, alpha: float = 0.005, sigma: float = 0.6
) -> np.ndarray:
    r"""The attract displacement :math:`\Delta_a` of every class (see the module docstring).

    Parameters
    ----------
    means : ndarray of shape (n_classes, k)
        Class means.
    class_vars : ndarray of shape (n_classes, k)
        Per-class population variances.
    alpha : float
        Step size.
    sigma : float
        Radius multiplier.

    Returns
    -------
    ndarray of shape (n_classes, k)
        Displacements; a pair of classes with coinciding means adds nothing (its direction is
        undefined; the official code gives NaN there).
    """
    R = np.sqrt(class_vars.sum(axis=1))
    C = means.shape[0]
    # Pairwise distances row by row (the Gram form loses digits for close means).
    d = np.empty((C, C))
    for a in range(C):
        diff = means[a] - means
        d[a] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    with np.errstate(divide="ignore", invalid="ignore"):
        W = alpha * (d - sigma * (R[:, None] + R[None, :])) / d
    W[~np.isfinite(W) | (d == 0)] = 0.0
    np.fill_diagonal(W, 0.0)
    # sum_b W_ab (m_a - m_b) = (W 1)_a m_a - (W M)_a
    return W.sum(axis=1)[:, None] * means - W @ means


def spread_attract_stats(
    stats: ClassStats,
    *,
    sa_alpha: float = 0.005,
    sa_sigma: float = 0.6,
    sa_components: int = 64,
    sa_random_state: Any = 1919,
    sa_gate: bool = True,
    _features: bool = False,
) -> tuple[ClassStats, SpreadAttract]:
    """`spread_attract` on validated class statistics: the statistics of the transformed
    features (``stats`` itself when the gate stays closed) and the result record (whose
    ``features`` is an empty array unless ``_features``, to spare an N x D copy)."""
    alpha = check_positive(sa_alpha, "sa_alpha", allow_zero=True)
    sigma = check_positive(sa_sigma, "sa_sigma", allow_zero=True)
    n_comp = check_int(sa_components, "sa_components", minimum=1)
    gate = check_bool(sa_gate, "sa_gate")
    value = sa_gate_value(stats)
    if gate and not value < _GATE_THRESHOLD:
        feats = stats.features() if _features else np.empty((0, 0))
        return stats, SpreadAttract(features=feats, applied=False, gate_value=value, offsets=None)
    from sklearn.decomposition import PCA  # scikit-learn loads only when SA runs

    k = min(n_comp, stats.n_samples, stats.n_features)
    Z = PCA(
        n_components=k,
        svd_solver="randomized",
        random_state=sa_random_state,
        iterated_power=1,
        copy=False,  # centres the copy made here in place
    ).fit_transform(dense_features(stats, writable=True))
    reduced = ClassStats(Z, stats.labels, device=stats.device)
    offsets = attract_offsets(reduced.means, reduced.class_vars, alpha=alpha, sigma=sigma)
    moved = reduced.translated(offsets)
    feats = Z + offsets[stats.codes] if _features else np.empty((0, 0))
    result = SpreadAttract(features=feats, applied=True, gate_value=value, offsets=offsets)
    return moved, result


def spread_attract(
    features: Any,
    labels: Any,
    *,
    alpha: float = 0.005,
    sigma: float = 0.6,
    n_components: int = 64,
    random_state: Any = 1919,
    gate: bool = True,
) -> SpreadAttract:
    r"""Apply SA ("Spread and Attract", WACV 2025) to features, as the official ``SA``.

    See the module docstring for the gate, the 64-dimensional randomized PCA and the attract
    step. ``ped.score("sa+<base>", X, y)`` takes the base score on ``.features``.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Features (not modified).
    labels : array-like of shape (n_samples,)
        Class labels of any hashable type.
    alpha : float, default 0.005
        Attract step size.
    sigma : float, default 0.6
        Radius multiplier: pairs of classes closer than ``sigma`` times their summed radii are
        pulled together, farther pairs pushed apart.
    n_components : int, default 64
        PCA width, capped at ``min(n_samples, n_features)`` (the official code caps at
        ``n_samples`` only and fails on fewer than 64 features).
    random_state : int, RandomState or None, default 1919
        Seed of the randomized PCA (the official value).
    gate : bool, default True
        Apply the official gate (transform only when the two leading covariance eigenvalues
        average above about 4.1447); False always transforms.

    Returns
    -------
    SpreadAttract
        The transformed features, whether SA applied, the gate value and the class offsets.

    Examples
    --------
    >>> import numpy as np, ped
    >>> from ped.sa import spread_attract
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1, 2], 40)
    >>> X = 4 * rng.normal(size=(120, 80)) + 3 * y[:, None]
    >>> out = spread_attract(X, y)
    >>> out.applied, out.features.shape
    (True, (120, 64))
    """
    X, lab = check_features_labels(features, labels)
    stats = ClassStats(X, lab)
    _, result = spread_attract_stats(
        stats,
        sa_alpha=alpha,
        sa_sigma=sigma,
        sa_components=n_components,
        sa_random_state=random_state,
        sa_gate=gate,
        _features=True,
    )
    return result
