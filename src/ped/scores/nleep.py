"""N-LEEP: LEEP with a Gaussian mixture on PCA-reduced features in place of a source classifier."""

from __future__ import annotations

import warnings

import numpy as np

from .._stats import ClassStats, to_units
from .._validation import Labels, check_bool, check_fraction, check_positive, check_seed
from ._pca import covariance_pca, pca_project
from ._registry import register
from .leep import expected_empirical_prediction

__all__ = ["nleep"]

_MAX_RETRIES = 3


def _n_components_for_variance(eigvals: np.ndarray, fraction: float) -> int:
    """Smallest number of leading axes whose explained-variance ratio exceeds ``fraction``,
    as scikit-learn's ``PCA(n_components=fraction)``."""
    total = eigvals.sum()
    if total <= 0:
        return 1
    cumsum = np.cumsum(eigvals / total)
    return int(min(np.searchsorted(cumsum, fraction, side="right") + 1, eigvals.shape[0]))


def _fit_mixture(Z: np.ndarray, n_components: int, random_state, reg_covar: float) -> np.ndarray:
    """Posteriors ``P(z | x)`` of a full-covariance Gaussian mixture fitted on ``Z``; on an
    ill-defined covariance, retry with a 10x larger ``reg_covar`` (and warn)."""
    from sklearn.mixture import GaussianMixture  # heavy: imported when NLEEP runs

    reg = reg_covar
    for attempt in range(_MAX_RETRIES + 1):
        gmm = GaussianMixture(n_components=n_components, random_state=random_state, reg_covar=reg)
        try:
            gmm.fit(Z)
        except ValueError as exc:
            if "ill-defined empirical covariance" not in str(exc):
                raise
            if attempt == _MAX_RETRIES:
                raise ValueError(
                    f"N-LEEP could not fit its {n_components}-component Gaussian mixture: some "
                    "components have an ill-defined (singular) covariance even with "
                    f"reg_covar={reg:g} (in units of the features divided by a power of two). "
                    "Too few samples per "
                    "component or features of extreme magnitude; use a smaller "
                    "component_ratio or a larger reg_covar."
                ) from exc
            warnings.warn(
                f"N-LEEP: the Gaussian mixture could not be fitted with reg_covar={reg:g} "
                f"(ill-defined empirical covariance); retrying with reg_covar={10 * reg:g}.",
                RuntimeWarning,
                stacklevel=3,
            )
            reg *= 10.0
            continue
        return gmm.predict_proba(Z)
    raise AssertionError("unreachable")  # pragma: no cover


@register(
    "nleep",
    bounds=(0.0, 1.0),  # the mean probability of the official default (log=False)
    summary="LEEP over the posteriors of a Gaussian mixture fitted on PCA-reduced features.",
    reference="Li et al., Ranking Neural Checkpoints, CVPR 2021 (arXiv:2011.11200).",
)
def nleep(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    component_ratio: float = 5,
    random_state=0,
    log: bool = False,
    variance_fraction: float = 0.8,
    reg_covar: float = 1e-6,
) -> float:
    r"""N-LEEP (Li et al., CVPR 2021), as the PED repository's ``NLEEP``.

    The features are reduced by PCA to the fewest axes that explain more than
    ``variance_fraction`` (80%) of the variance (``PCA(n_components=0.8)``; the axes come from
    the eigendecomposition of the feature covariance). A Gaussian mixture with full
    covariances and :math:`K = \lfloor r\,C \rfloor` components (``component_ratio`` r) is
    fitted on them (scikit-learn's ``GaussianMixture``, k-means initialisation), and its
    posteriors :math:`\pi_z(x_i) = P(z \mid x_i)` replace the source classifier of LEEP:

    .. math::
        P(y, z) = \frac1N\sum_{i: y_i = y}\pi_z(x_i), \quad
        p_i = \sum_z \pi_z(x_i)\,\frac{P(y_i, z)}{P(z)}, \quad
        \text{N-LEEP} = \frac1N\sum_i p_i .

    The PED code averages :math:`p_i` **without the log** (the default, ``log=False``);
    ``log=True`` gives the mean log of the original N-LEEP paper. Either way higher is better.
    Everything is computed in float64.

    Deviations from the official code: ``random_state`` seeds the mixture, with 0 by default
    (the official code leaves it unseeded, so its score varies between runs, bug B14;
    ``random_state=None`` restores that, and ``random_state=0`` equals the official code run
    after ``np.random.seed(0)``); :math:`K` is cast to int (the official CLI passes a float,
    bug B4) and capped at the number of samples; when the mixture cannot be fitted because a
    component's covariance is ill-defined, the fit is retried with a 10x larger
    ``reg_covar`` (at most 3 times), with a `RuntimeWarning`.

    Not invariant to the feature scale: ``reg_covar`` is an absolute variance added to every
    component. Features of any magnitude are computed without overflow (divided by a power of
    two, ``reg_covar`` with them).

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.
    component_ratio : float, default 5
        Mixture components per class.
    random_state : int, RandomState or None, default 0
        Seed of the mixture's initialisation (None: not reproducible, as the official code).
    log : bool, default False
        Average :math:`\log p_i` instead of :math:`p_i`.
    variance_fraction : float, default 0.8
        Fraction of the variance the PCA keeps.
    reg_covar : float, default 1e-6
        Added to the diagonal of every component covariance (scikit-learn's default).

    Returns
    -------
    float
        The score, in (0, 1] (``log=False``) or at most 0 (``log=True``); higher is better.

    References
    ----------
    .. [1] Y. Li, X. Jia, R. Sang, Y. Zhu, B. Green, L. Wang, B. Gong. Ranking Neural
       Checkpoints. CVPR 2021. arXiv:2011.11200.
    .. [2] C. V. Nguyen, T. Hassner, M. Seeger, C. Archambeau. LEEP: A New Measure to
       Evaluate Transferability of Learned Representations. ICML 2020. arXiv:2002.12462.
    """
    ratio = check_positive(component_ratio, "component_ratio")
    random_state = check_seed(random_state, generator=np.random.RandomState)
    log = check_bool(log, "log")
    fraction = check_fraction(variance_fraction, "variance_fraction")
    reg_covar = check_positive(reg_covar, "reg_covar", allow_zero=True)
    eigvals, comps = covariance_pca(stats)
    k = _n_components_for_variance(eigvals, fraction)
    Z = pca_project(stats, comps[:k])
    n_mix = max(1, min(int(ratio * stats.n_classes), stats.n_samples))
    # reg_covar in the units of the statistics (features / stats.scale), exact.
    if reg_covar > 0:
        reg_covar = float(np.clip(to_units(reg_covar, stats.scale), 2.0**-1000, 2.0**1000))
    post = _fit_mixture(Z, n_mix, random_state, reg_covar)
    p = expected_empirical_prediction(post, stats.codes, stats.n_classes)
    if log:
        return float(np.mean(np.log(np.maximum(p, np.finfo(np.float64).tiny))))
    return float(np.mean(p))
