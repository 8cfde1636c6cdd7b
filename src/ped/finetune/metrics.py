"""Test metrics of the fine-tuning protocol, in percent: accuracy, mean per-class accuracy and
the 11-point interpolated mAP of PASCAL VOC 2007."""

from __future__ import annotations

import numpy as np

__all__ = ["METRICS", "compute_metric"]

#: Test metrics a dataset can declare.
METRICS = ("accuracy", "mean_per_class_accuracy", "map11")


def compute_metric(
    metric: str,
    logits: np.ndarray,
    labels: np.ndarray,
    targets: np.ndarray | None = None,
) -> float:
    """A test metric of §4.1, in percent.

    Parameters
    ----------
    metric : {"accuracy", "mean_per_class_accuracy", "map11"}
        ``accuracy``: top-1. ``mean_per_class_accuracy``: the confusion matrix's diagonal
        over its row sums, averaged over the classes present in `labels`. ``map11``: per
        class, the 11-point interpolated average precision of the raw scores (for t in 0,
        0.1, ..., 1 the highest precision at recall >= t), averaged over classes.
    logits : ndarray of shape (n_samples, n_classes)
        Raw scores.
    labels : ndarray of shape (n_samples,)
        True class indices.
    targets : ndarray of shape (n_samples, n_classes), optional
        Multi-hot truth; needed for ``map11``.

    Returns
    -------
    float
        The metric times 100.

    Raises
    ------
    ValueError
        If the metric is unknown, or ``map11`` is asked without targets.
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if metric == "accuracy":
        return float(np.mean(np.argmax(logits, axis=1) == labels) * 100.0)
    if metric == "mean_per_class_accuracy":
        pred = np.argmax(logits, axis=1)
        per_class = [np.mean(pred[labels == c] == c) for c in np.unique(labels)]
        return float(np.mean(per_class) * 100.0)
    if metric == "map11":
        if targets is None:
            raise ValueError("Expected multi-hot targets for metric 'map11', got None.")
        targets = np.asarray(targets)
        aps = [_ap11(targets[:, c], logits[:, c]) for c in range(targets.shape[1])]
        return float(np.mean(aps) * 100.0)
    raise ValueError(f"Expected metric to be one of {list(METRICS)}, got {metric!r}.")


def _ap11(truth: np.ndarray, scores: np.ndarray) -> float:
    r"""11-point interpolated average precision of one class (VOC 2007).

    .. math:: AP = \frac{1}{11} \sum_{t \in \{0, 0.1, \ldots, 1\}} \max_{r \ge t} p(r)

    with the precision-recall curve of scikit-learn (0 where no recall reaches ``t``).
    """
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(truth, scores)
    points = []
    for t in np.arange(0.0, 1.1, 0.1):
        mask = recall >= t
        points.append(float(precision[mask].max()) if mask.any() else 0.0)
    return float(np.mean(points))
