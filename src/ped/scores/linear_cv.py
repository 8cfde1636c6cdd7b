"""A cross-validated linear probe: the baseline every transferability score must beat."""

from __future__ import annotations

import warnings

import numpy as np

from .._stats import ClassStats
from .._validation import Labels, check_int, check_positive, check_seed
from ._dense import peak_magnitude
from ._registry import register

__all__ = ["linear_cv"]


def _standardised(stats: ClassStats, train: np.ndarray, test: np.ndarray):
    """The rows ``train`` and ``test`` of the features, standardised with the mean and standard
    deviation of ``train`` (a constant dimension is left unscaled), in place on the gathered
    copies (at most one copy of the features alive). Both are first multiplied by a power of
    two that brings the training part's largest magnitude near 1 (exact), so the squares in
    the standard deviation cannot overflow or underflow."""
    Xtr, Xte = stats.gather(train), stats.gather(test)
    peak = peak_magnitude(Xtr)
    if peak > 0:
        factor = 2.0 ** -np.frexp(peak)[1]
        Xtr *= factor
        Xte *= factor
    mean = Xtr.mean(axis=0)
    std = Xtr.std(axis=0)
    std[std == 0] = 1.0
    Xtr -= mean
    Xtr /= std
    Xte -= mean
    Xte /= std
    return Xtr, Xte


def _fold_ids(stats: ClassStats, folds: int, seed: int) -> np.ndarray:
    """Stratified fold of every sample, defined by the data rather than by positions.

    Within each class the samples are ordered by a seeded random projection of their
    features (``F @ r``, ``r`` standard normal from ``numpy.random.default_rng(seed)``) and
    dealt round-robin into the folds. The folds are therefore the same whatever the order of
    the samples or the names of the classes, and a rigid move of a class (PED) or a positive
    rescaling of the features keeps them.
    """
    r = np.random.default_rng(seed).standard_normal((stats.n_features, 1))
    key = stats.project(r)[:, 0]  # no copy of the features; any positive scale keeps the order
    codes = stats.codes
    ids = np.empty(codes.shape[0], dtype=np.intp)
    for c in range(stats.n_classes):
        members = np.flatnonzero(codes == c)
        members = members[np.argsort(key[members], kind="stable")]
        ids[members] = np.arange(members.shape[0]) % folds
    return ids


@register(
    "linear_cv",
    scale_invariant=True,
    bounds=(0.0, 1.0),
    summary="k-fold cross-validated accuracy of a multinomial logistic regression on "
    "standardised features (a baseline).",
    reference="The linear-probe baseline; cf. Sorkhei et al., arXiv 2503.18528 (2025), "
    "and Kornblith et al., Do Better ImageNet Models Transfer Better?, CVPR 2019.",
)
def linear_cv(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    folds: int = 5,
    C: float = 1.0,
    max_iter: int = 200,
    random_state: int | None = 0,
) -> float:
    r"""Cross-validated linear-probe accuracy.

    The samples are dealt into ``folds`` stratified folds: within each class, in the order of
    a seeded random projection of their features (``random_state``), round-robin, so the
    folds and the value do not depend on the order of the samples or the names of the
    classes. For every fold
    :math:`k`, the features of the other folds are standardised (per-dimension mean and
    standard deviation of those folds; a constant dimension is left unscaled) and a
    multinomial logistic regression

    .. math::
        \min_{W, b}\; \tfrac12\lVert W\rVert_F^2
        + C \sum_{i \notin k} -\log \operatorname{softmax}(W x_i + b)_{y_i}

    is fitted by L-BFGS (scikit-learn, ``max_iter`` iterations). The score is the share of
    all samples whose held-out prediction is right:

    .. math:: \mathrm{linear\_cv} = \frac1N \sum_i [\hat y_{-k(i)}(x_i) = y_i] \in [0, 1].

    A training part holding a single class predicts that class. ``C=1`` on standardised
    features is scikit-learn's default and needs no inner search: the probe is meant to be
    cheap (``folds`` fits), and on the zoo benchmark's targets it ranks models as well as a
    C chosen on a hold-out (issue 12). Higher is better.

    The score is invariant to a positive rescaling of the features (each training part is
    scaled by a power of two of its largest magnitude first, which is exact, then
    standardised). Memory: the rows of one fold at a time, gathered (one copy of the
    features in all).

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.
    folds : int, default 5
        Number of folds (at most the number of samples).
    C : float, default 1.0
        Inverse regularisation strength.
    max_iter : int, default 200
        L-BFGS iterations per fit.
    random_state : int or None, default 0
        Seed of the projection that orders each class before the folds are dealt (None: a
        fresh one on every call).

    Returns
    -------
    float
        Cross-validated accuracy in [0, 1]; higher is better.

    References
    ----------
    .. [1] S. Kornblith, J. Shlens, Q. V. Le. Do Better ImageNet Models Transfer Better?
       CVPR 2019 (the logistic-regression probe).
    .. [2] Sorkhei et al., arXiv 2503.18528, 2025: simple probes against 23 transferability
       metrics over 42,000 transfer experiments.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    folds = check_int(folds, "folds", minimum=2)
    C = check_positive(C, "C")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    random_state = check_seed(random_state)
    codes = stats.codes
    n = codes.shape[0]
    folds = min(folds, n)
    ids = _fold_ids(stats, folds, random_state)
    right = 0
    for k in range(folds):
        test = ids == k
        if not test.any():
            continue
        train_codes = codes[~test]
        if np.unique(train_codes).shape[0] < 2:
            right += int(np.count_nonzero(codes[test] == train_codes[0]))
            continue
        Xtr, Xte = _standardised(stats, np.flatnonzero(~test), np.flatnonzero(test))
        clf = LogisticRegression(C=C, max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(Xtr, train_codes)
        right += int(np.count_nonzero(clf.predict(Xte) == codes[test]))
    return right / n
