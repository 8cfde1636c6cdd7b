"""NCTI: Neural Collapse inspired Transferability Index (Wang et al., ICCV 2023).

NCTI itself exists only over a set of models (min-max scaled components summed across the
candidates); one model gets its three components here, and `ped.hub` combines them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._stats import ClassStats
from .._validation import Labels, check_choice, check_int, check_seed
from ._dense import dense_features, peak_magnitude
from ._registry import register

__all__ = ["ncti", "ncti_components", "NCTI_COMPONENTS"]

#: The three NCTI components, in the order `ncti_components` returns them.
NCTI_COMPONENTS = ("seli", "ncc", "vc")


def _nuclear_norm(A: np.ndarray) -> float:
    if A.size == 0:
        return 0.0
    return float(np.linalg.svd(A, compute_uv=False).sum())


def ncti_components(
    X: np.ndarray,
    codes: np.ndarray,
    n_classes: int,
    *,
    n_components: int = 64,
    random_state: Any = 0,
    _owned: bool = False,
    variance_scale: float = 1.0,
) -> tuple[float, float, float]:
    r"""The three components of NCTI for one model: ``(seli, ncc, vc)``.

    1. :math:`Z` = ``PCA(n_components, random_state=random_state).fit_transform(X)``
       (scikit-learn's default solver; on wide, short inputs it picks the randomized solver,
       whose draw the seed fixes). ``n_components`` is capped at ``min(n_samples,
       n_features)``, where the official code fails.
    2. :math:`t = \max(e^{-\sum_{i<32}\lambda_i}, 10^{-10})` over the PCA's explained
       variances; ``LinearDiscriminantAnalysis(solver='svd')`` when :math:`t = 10^{-10}`,
       else ``(solver='eigen', shrinkage=t)`` (scikit-learn's).
    3. **seli** (simplex-ETF-like spread): the nuclear norm of the centred LDA projection
       :math:`F - \bar F` (N x min(C-1, k)).
    4. **ncc** (nearest-centre accuracy): :math:`\frac1N\sum_i P_{i, y_i}` with
       :math:`P` = the LDA's in-sample probabilities.
    5. **vc** (within-class variability): :math:`\log \sum_c \lVert P_{[y = c]}\rVert_*`.

    The paper's score for a set of models is
    :math:`\mathrm{mm}(\text{seli}) + \mathrm{mm}(\text{ncc}) - \mathrm{mm}(\text{vc})`
    (``ped.hub_scores``): seli and ncc are better high, vc better low.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features (not modified).
    codes : ndarray of shape (n_samples,)
        Label codes ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes.
    n_components : int, default 64
        PCA dimensions (capped as above).
    random_state : int, RandomState or None, default 0
        Seed of the randomized PCA solver when scikit-learn picks it (0 equals the official
        code after ``np.random.seed(0)``).
    variance_scale : float, default 1.0
        Factor that takes the PCA's explained variances to the features' true units (the
        square of a power of two the features were divided by); it enters only the LDA's
        shrinkage temperature.

    Returns
    -------
    tuple of float
        ``(seli, ncc, vc)``.
    """
    random_state = check_seed(random_state, generator=np.random.RandomState)
    k = min(n_components, X.shape[0], X.shape[1])
    from sklearn.decomposition import PCA  # scikit-learn loads only when NCTI runs
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    pca = PCA(n_components=k, random_state=random_state, copy=not _owned)
    Z = pca.fit_transform(np.asarray(X, dtype=np.float64))
    top = float(pca.explained_variance_[:32].sum())
    with np.errstate(over="ignore", invalid="ignore"):
        total = top * variance_scale if top > 0 else 0.0  # in the features' true units
    temp = max(float(np.exp(-total)) if np.isfinite(total) else 0.0, 1e-10)
    if temp == 1e-10:
        lda = LinearDiscriminantAnalysis(solver="svd")
    else:
        lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage=temp)
    F = lda.fit_transform(Z, codes)
    seli = _nuclear_norm(F - F.mean(axis=0, keepdims=True))
    P = lda.predict_proba(Z)
    ncc = float(P[np.arange(X.shape[0]), codes].sum() / X.shape[0])
    vc = float(np.log(sum(_nuclear_norm(P[codes == c]) for c in range(n_classes))))
    return seli, ncc, vc


@register(
    "ncti",
    summary="One component of NCTI (neural-collapse transferability) for one model: the "
    "LDA's nearest-centre accuracy by default.",
    reference="Wang et al., How Far Pre-trained Models Are from Neural Collapse on the Target "
    "Dataset Informs their Transferability, ICCV 2023.",
)
def ncti(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    component: str = "ncc",
    n_components: int = 64,
    random_state: Any = 0,
) -> float:
    r"""One NCTI component of one model (see `ncti_components`), higher is better.

    ``component="seli"`` returns the nuclear norm of the centred LDA features, ``"ncc"``
    (the default) the mean LDA probability of the true class, ``"vc"`` **minus**
    :math:`\log \sum_c \lVert P_{[y=c]}\rVert_*` (the paper subtracts vc, so its negation is
    higher-is-better). The paper's NCTI only exists across a set of candidate models, after
    min-max scaling of every component over the set: use ``ped.hub_scores(["ncti"], ...)``
    for it; the single-model default is ``ncc``, the bounded component.

    Deviations from the official code: the PCA is capped at ``min(n_samples, n_features)``
    dimensions (the official ``PCA(64)`` fails below 64); its randomized solver, when
    scikit-learn picks it, is seeded by ``random_state`` instead of the global RNG.

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.
    component : {"seli", "ncc", "vc"}, default "ncc"
        Which component to return.
    n_components : int, default 64
        PCA dimensions.
    random_state : int, RandomState or None, default 0
        Seed of the randomized PCA solver.

    Returns
    -------
    float
        The component (vc negated); higher is better.

    References
    ----------
    .. [1] Z. Wang, Y. Luo, L. Zheng, Z. Huang, M. Baktashmotlagh. How Far Pre-trained Models
       Are from Neural Collapse on the Target Dataset Informs their Transferability.
       ICCV 2023.
    """
    component = check_choice(component, "component", NCTI_COMPONENTS)
    n_components = check_int(n_components, "n_components", minimum=1)
    random_state = check_seed(random_state, generator=np.random.RandomState)
    X = dense_features(stats, writable=True)
    # Features of extreme magnitude are divided by a power of two (exact); seli, ncc and vc do
    # not change with the scale, the shrinkage's variances are taken back to the true units.
    unit = stats.scale if stats.offsets is not None else 1.0  # gathered rows come in units
    peak = peak_magnitude(X)
    s = 1.0
    if peak > 0 and not 2.0**-100 <= peak <= 2.0**100:
        s = 2.0 ** int(np.round(np.log2(peak)))
        X *= 1.0 / s
    with np.errstate(over="ignore"):
        variance_scale = float(np.square(np.float64(unit) * s))  # inf beyond float64: fine
    seli, ncc, vc = ncti_components(
        X,
        stats.codes,
        stats.n_classes,
        n_components=n_components,
        random_state=random_state,
        _owned=True,
        variance_scale=variance_scale,
    )
    return {"seli": seli, "ncc": ncc, "vc": -vc}[component]
