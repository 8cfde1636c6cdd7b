"""Shared linear algebra of the scores that reduce the features first (GBC, NLEEP, PARC).

The principal axes come from the eigendecomposition of the (cached) covariance of
`ClassStats` instead of an SVD of the N x D samples; the samples are then projected with
`ClassStats.project`, so a translated `ClassStats` (PED) is handled without materialising the
moved features. Signs follow scikit-learn's ``svd_flip(u_based_decision=False)`` convention
(the largest-magnitude loading of every component is positive), so the projections equal
``PCA(...).fit_transform`` up to rounding.
"""

from __future__ import annotations

import numpy as np

from .._stats import ClassStats, add_rows
from ._linalg import sym_eigh

__all__ = ["covariance_pca", "pca_project", "flip_signs", "class_moments"]


def flip_signs(components: np.ndarray) -> np.ndarray:
    """Return ``components`` (k, D) with each row's largest-magnitude entry made positive."""
    if components.shape[0] == 0:
        return components
    idx = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(components.shape[0]), idx])
    signs[signs == 0] = 1.0
    return components * signs[:, None]


def covariance_pca(
    stats: ClassStats, n_components: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Principal axes of the features from the eigendecomposition of their covariance.

    Parameters
    ----------
    stats : ClassStats
        Statistics of the (possibly translated) features.
    n_components : int, optional
        Keep only the leading ``n_components`` axes (computed with a partial
        eigendecomposition); all D when None.

    Returns
    -------
    eigvals : ndarray of shape (k,)
        Population variances along the axes, descending, negative round-off clipped to 0.
    components : ndarray of shape (k, n_features)
        Orthonormal axes as rows, signs as scikit-learn's PCA.
    """
    cov = stats.covariance
    D = cov.shape[0]
    # A full divide-and-conquer decomposition and a slice beats a partial one (_linalg).
    e, V = sym_eigh(cov)
    if n_components is not None and n_components < D:
        e, V = e[D - n_components :], V[:, D - n_components :]
    e = np.clip(e[::-1], 0.0, None)
    comps = flip_signs(np.ascontiguousarray(V[:, ::-1].T))
    return e, comps


def pca_project(stats: ClassStats, components: np.ndarray) -> np.ndarray:
    """Centred projection ``(F - mean) @ components.T`` of shape (n_samples, k), float64."""
    P = np.ascontiguousarray(components.T)
    Z = stats.project(P)
    Z -= stats.mean @ P
    return Z


def class_moments(
    Z: np.ndarray, codes: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Class means and population variances (two-pass) of the rows of ``Z``.

    Returns
    -------
    means, variances : ndarray of shape (n_classes, k)
    """
    counts = np.bincount(codes, minlength=n_classes).astype(np.float64)
    order = np.argsort(codes, kind="stable")
    Zs = Z[order]
    starts = np.concatenate([[0], np.cumsum(counts[:-1])]).astype(np.intp)
    means = np.add.reduceat(Zs, starts, axis=0) / counts[:, None]
    add_rows(Zs, means, codes[order], subtract=True)
    Zs *= Zs
    variances = np.add.reduceat(Zs, starts, axis=0) / counts[:, None]
    return means, variances
