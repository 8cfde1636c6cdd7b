"""kNN: leave-one-out k-nearest-neighbour accuracy, as transformer-ranker's estimator."""

from __future__ import annotations

import numpy as np

from .._stats import ClassStats
from .._validation import Labels, check_choice, check_int
from ._dense import dense_features
from ._registry import register

__all__ = ["knn", "knn_predictions"]

_BLOCK_ELEMENTS = 1 << 20  # entries of one (rows x n) block of distances (8 MB in float64)


def knn_predictions(
    X: np.ndarray, codes: np.ndarray, n_classes: int, *, k: int = 3, metric: str = "euclidean"
) -> np.ndarray:
    r"""Leave-one-out majority vote of the ``k`` nearest neighbours of every sample.

    The distances are computed one block of rows at a time (about 4 million entries per
    block), so memory stays O(block x N + N k): no N x N matrix is held.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float64
        Features.
    codes : ndarray of shape (n_samples,)
        Label codes in ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes.
    k : int
        Neighbours per vote, at most ``n_samples - 1``.
    metric : {"euclidean", "cosine"}
        Euclidean distance, or cosine distance :math:`1 - \cos(x_i, x_j)` (a zero row has
        cosine similarity 0 with every row).

    Returns
    -------
    ndarray of shape (n_samples,), intp
        Predicted code of every sample; a tied vote goes to the smallest code.
    """
    n = X.shape[0]
    if metric == "cosine":
        norms = np.sqrt(np.einsum("ij,ij->i", X, X))
        F = np.empty_like(X)
        for start in range(0, n, 4096):  # no temporary of the features' size
            part = slice(start, start + 4096)
            np.divide(X[part], np.where(norms[part] > 0, norms[part], 1.0)[:, None], out=F[part])
        sq = None
    else:
        F = X
        sq = np.einsum("ij,ij->i", X, X)
    rows_per_block = max(1, _BLOCK_ELEMENTS // max(n, 1))
    pred = np.empty(n, dtype=np.intp)
    for start in range(0, n, rows_per_block):
        stop = min(n, start + rows_per_block)
        G = F[start:stop] @ F.T
        if sq is None:
            dist = np.subtract(1.0, G, out=G)  # cosine distance
        else:
            # Squared distances, ||a||^2 + ||b||^2 - 2 a.b: same order as the distances.
            G *= -2.0
            G += sq[start:stop, None]
            G += sq[None, :]
            dist = G
        dist[np.arange(stop - start), np.arange(start, stop)] = np.inf  # leave one out
        nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]
        votes = np.zeros((stop - start, n_classes), dtype=np.intp)
        np.add.at(votes, (np.arange(stop - start)[:, None], codes[nearest]), 1)
        pred[start:stop] = np.argmax(votes, axis=1)  # first maximum: the smallest code
    return pred


@register(
    "knn",
    summary="Leave-one-out accuracy of a k-nearest-neighbour majority vote on the features.",
    reference="The kNN estimator of transformer-ranker (Garbas et al., ACL Demo 2024, "
    "arXiv:2409.05997).",
)
def knn(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    k: int = 3,
    metric: str = "euclidean",
) -> float:
    r"""Leave-one-out k-nearest-neighbour accuracy, as transformer-ranker's ``NearestNeighbors``.

    Every sample :math:`x_i` is classified by the majority label among its ``k`` nearest other
    samples (the sample itself is excluded), and the score is the fraction classified
    correctly:

    .. math:: \mathrm{kNN} = \frac1N \sum_i \big[\operatorname{mode}\{y_j : j \in
       \mathcal N_k(i)\} = y_i\big],

    with :math:`\mathcal N_k(i)` the ``k`` nearest samples to :math:`x_i`, :math:`j \ne i`,
    by Euclidean or cosine distance. Higher is better.

    Ties follow the official estimator: a vote with several most frequent labels goes to
    the **smallest label** (the behaviour of ``torch.mode``), which is frequent at ``k = 3``
    with many classes (three different labels). Because of this rule the score can change
    when the label values are renamed (the order of the labels matters); the sorted label
    values are used, as everywhere in ``ped``. Ties between equal distances are broken
    arbitrarily, as ``torch.topk`` does.

    Deviations from the official estimator: with exactly two classes the official code scores
    the F1 of class 1 (torchmetrics' ``'binary'`` task); this returns the accuracy for every
    number of classes. The official score is a float32; this is the exact fraction in
    float64 (they differ by float32 rounding, below 6e-8 relative). The distances are
    computed blockwise in float64 from the Gram matrix (memory O(block x N), as the
    official batches of 1024 rows).

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.
    k : int, default 3
        Neighbours per vote, at most ``n_samples - 1``.
    metric : {"euclidean", "cosine"}, default "euclidean"
        Distance between samples.

    Returns
    -------
    float
        Leave-one-out accuracy in [0, 1]; higher is better.

    References
    ----------
    .. [1] L. Garbas, M. Ploner, A. Akbik. TransformerRanker: A Tool for Efficiently Finding
       the Best-Suited Language Models for Downstream Classification Tasks. ACL 2024 System
       Demonstrations. arXiv:2409.05997.
    """
    k = check_int(k, "k", minimum=1)
    metric = check_choice(metric, "metric", ("euclidean", "cosine"))
    n = stats.n_samples
    if k > n - 1:
        raise ValueError(
            f"Expected k <= n_samples - 1 = {n - 1} (leave-one-out neighbours), got k={k}; "
            "pass a smaller k."
        )
    pred = knn_predictions(dense_features(stats), stats.codes, stats.n_classes, k=k, metric=metric)
    return float(np.count_nonzero(pred == stats.codes) / n)
