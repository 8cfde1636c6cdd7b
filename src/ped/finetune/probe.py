"""The linear protocol: a logistic-regression probe on frozen features, and its C grid.

The cheaper ground truth of ssl-transfer's linear evaluation. Features of the frozen backbone
(eval preprocessing, no augmentation) are standardised with the training mean and standard
deviation, and an L2-regularised multinomial logistic regression (scikit-learn, L-BFGS) is
fitted for each inverse regularisation strength ``C`` (default ``logspace(-6, 5, 12)``),
selected on ``val`` with `select_best`, refitted on ``trainval`` and scored on ``test``.
`select_best` is also the choice of the full protocol's (lr, w) and of the zoo benchmark's C.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..features import extract
from .metrics import compute_metric
from .splits import Concat, Splits, View, balanced_first
from .training import resolve_device

__all__ = ["DEFAULT_CS", "select_best", "probe_decisions", "linear_sweep"]

#: Inverse regularisation strengths C of the linear protocol: logspace(-6, 5, 12).
DEFAULT_CS: tuple[float, ...] = tuple(float(c) for c in np.logspace(-6, 5, 12))


def select_best(scored: Sequence[tuple[Any, float]]) -> tuple[Any, float]:
    """The best point of a validated grid, as ssl-transfer chooses it.

    A strict ``>`` starting from 0: the first point whose score beats every earlier one (and
    0) wins, so ties keep the earlier point, and a grid scoring at most 0 everywhere keeps its
    first point with a best score of 0.

    Parameters
    ----------
    scored : sequence of (point, score)
        Grid points in the order they were tried (lr descending, then w ascending; C
        ascending) with their validation scores.

    Returns
    -------
    (point, score)
        The chosen point and its score (0.0 when no score is positive).

    Examples
    --------
    >>> select_best([("a", 50.0), ("b", 70.0), ("c", 70.0)])
    ('b', 70.0)
    """
    best, best_score = scored[0][0], 0.0
    for point, score in scored:
        if score > best_score:
            best, best_score = point, score
    return best, best_score


def _view_features(backbone: Any, view: View, batch_size: int, device: str) -> np.ndarray:
    out = []
    for start in range(0, len(view), batch_size):
        items = [
            backbone.transform(view.item(i))
            for i in range(start, start + batch_size)
            if i < len(view)
        ]
        feats, _ = backbone.forward(backbone.collate(items))
        out.append(np.asarray(feats, dtype=np.float32))
    return np.concatenate(out) if out else np.zeros((0, int(backbone.feature_dim)), np.float32)


def _split_features(
    backbone: Any,
    splits: Splits,
    *,
    batch_size: int,
    device: str,
    limit: int | None,
    store: Any = None,
) -> dict[str, np.ndarray]:
    """Features of train, val, trainval and test (each item computed once)."""
    cache: dict[int, np.ndarray] = {}  # id(base dataset) -> features of the full base

    def of(view: View) -> np.ndarray:
        base = view.base
        if isinstance(base, Concat):
            return np.concatenate([of(base.parts[0]), of(base.parts[1])])[view.indices]
        key = id(base)
        if key not in cache:
            cache[key] = _base_features(backbone, base, splits, batch_size, device, limit, store)
        full = cache[key]
        return full[view.indices] if full.shape[0] == len(base) else full

    return {k: of(getattr(splits, k)) for k in ("train", "val", "trainval", "test")}


def _base_features(
    backbone: Any,
    base: Any,
    splits: Splits,
    batch_size: int,
    device: str,
    limit: int | None,
    store: Any,
) -> np.ndarray:
    # Loaded splits go through ped.features (its cache is shared with scoring); a cut split's
    # rows come back in balanced order, so they are scattered into the full-length array.
    source = next((s for k, s in splits.sources.items() if getattr(base, "split", None) == k), None)
    if source is not None:
        fs = extract(
            backbone,
            source[0],
            split=source[1],
            limit=limit,
            batch_size=batch_size,
            device=device,
            store=store,
        )
        feats = np.asarray(fs.features, dtype=np.float32)
        labels = np.asarray(fs.labels)
        base_labels = np.asarray(base.labels)
        if feats.shape[0] == len(base) and np.array_equal(labels, base_labels):
            return feats
        first = balanced_first(base_labels, limit)
        if first is not None and np.array_equal(labels, base_labels[first]):
            full = np.zeros((len(base), feats.shape[1]), np.float32)
            full[first] = feats
            return full
    return _view_features(backbone, View(base), batch_size, device)


def _logreg(c: float, multilabel: bool, max_iter: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=max_iter)
    if multilabel:
        from sklearn.multiclass import OneVsRestClassifier

        return OneVsRestClassifier(model)
    return model


def _fit_score(
    c: float,
    x_fit: np.ndarray,
    fit_view: View,
    x_eval: np.ndarray,
    eval_view: View,
    metric: str,
    num_classes: int,
    max_iter: int,
) -> float:
    y = fit_view.targets if fit_view.targets is not None else fit_view.labels
    scores = probe_decisions(
        c, x_fit, y, x_eval, num_classes=num_classes, multilabel=fit_view.targets is not None,
        max_iter=max_iter,
    )  # fmt: skip
    return compute_metric(metric, scores, eval_view.labels, eval_view.targets)


def probe_decisions(
    c: float,
    x_fit: np.ndarray,
    y_fit: np.ndarray,
    x_eval: np.ndarray,
    *,
    num_classes: int,
    multilabel: bool = False,
    max_iter: int = 1000,
) -> np.ndarray:
    """One fit of the linear protocol: an L2 logistic regression on standardised features.

    Features are standardised with the fit set's mean and std (+1e-8), the classifier is
    scikit-learn's ``LogisticRegression(C=c, max_iter=max_iter)`` (one-vs-rest for
    multi-label targets), and its decision values on ``x_eval`` are returned with one column
    per class (``-inf`` for classes absent from the fit set).

    Parameters
    ----------
    c : float
        Inverse regularisation strength.
    x_fit : ndarray of shape (n_fit, n_features)
    y_fit : ndarray of shape (n_fit,) or (n_fit, num_classes)
        Class indices, or multi-hot targets when `multilabel`.
    x_eval : ndarray of shape (n_eval, n_features)
    num_classes : int
    multilabel : bool, default False
    max_iter : int, default 1000
        L-BFGS iterations.

    Returns
    -------
    ndarray of shape (n_eval, num_classes)
    """
    from sklearn.exceptions import ConvergenceWarning

    mean = x_fit.mean(axis=0)
    std = x_fit.std(axis=0) + 1e-8
    clf = _logreg(c, multilabel, max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit((x_fit - mean) / std, y_fit)
    scores = clf.decision_function((x_eval - mean) / std)
    if scores.ndim == 1:  # binary problem: one column of scores for class 1
        scores = np.stack([-scores, scores], axis=1)
    classes = getattr(clf, "classes_", np.arange(scores.shape[1]))
    if not multilabel and scores.shape[1] != num_classes:
        full = np.full((scores.shape[0], num_classes), -np.inf)
        full[:, np.asarray(classes, dtype=np.int64)] = scores
        scores = full
    return scores


def linear_sweep(
    backbone: Any,
    splits: Splits,
    *,
    cs: Sequence[float],
    known: Mapping[float, float] | None = None,
    need_test: bool = True,
    batch_size: int = 64,
    device: str | None = None,
    limit: int | None = None,
    max_iter: int = 1000,
    store: Any = None,
) -> dict[str, Any]:
    """The linear protocol's work: fit the missing C values, then refit the best on trainval.

    Parameters
    ----------
    backbone : Backbone
        Needs ``transform``, ``collate`` and ``forward`` (or is extracted by `ped.features`).
    splits : Splits
    cs : sequence of float
        The whole C grid, in order.
    known : mapping of float to float, optional
        Validation scores already stored; those C values are not fitted again.
    need_test : bool, default True
        Whether to refit on trainval and score test.
    batch_size, device, limit, store
        Feature extraction settings.
    max_iter : int, default 1000
        L-BFGS iterations of each fit.

    Returns
    -------
    dict
        ``{"val": [(c, score, seconds), ...] for the newly fitted C, "test": (c, score,
        seconds) or None, "extract_seconds": float}``.
    """
    device = resolve_device(device)
    known = dict(known or {})
    start = time.perf_counter()
    feats = _split_features(
        backbone, splits, batch_size=batch_size, device=device, limit=limit, store=store
    )
    extract_seconds = time.perf_counter() - start
    new = []
    scores = dict(known)
    for c in cs:
        if c in known:
            continue
        t0 = time.perf_counter()
        s = _fit_score(
            c,
            feats["train"],
            splits.train,
            feats["val"],
            splits.val,
            splits.metric,
            splits.num_classes,
            max_iter,
        )
        new.append((float(c), s, time.perf_counter() - t0))
        scores[c] = s
    test = None
    if need_test:
        best_c, _ = select_best([(c, scores[c]) for c in cs])
        t0 = time.perf_counter()
        s = _fit_score(
            best_c,
            feats["trainval"],
            splits.trainval,
            feats["test"],
            splits.test,
            splits.metric,
            splits.num_classes,
            max_iter,
        )
        test = (float(best_c), s, time.perf_counter() - t0)
    return {"val": new, "test": test, "extract_seconds": extract_seconds}
