"""Rank correlations and top-k measures between scores and a ground truth.

Every function takes two sequences of equal length, or two ``{model: value}`` mappings
(aligned on the first mapping's keys; a ``"duration"`` key is ignored, as the official
``tw.py`` drops it), and returns a Python float.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats as _st

from .._validation import check_int, check_pair

__all__ = [
    "weighted_tau",
    "kendall_tau",
    "pearson",
    "weighted_pearson",
    "rel_at_k",
    "recall_at_k",
    "METRICS",
]

Values = Sequence[float] | np.ndarray | Mapping[Any, float]


def weighted_tau(scores: Values, truth: Values) -> float:
    r"""Weighted Kendall's tau between scores and ground truth (the paper's headline metric).

    Hyperbolic additive weighting (Vigna, 2015): a swap between the elements ranked ``r`` and
    ``s`` (0 = best) costs :math:`1/(r+1) + 1/(s+1)`, so disagreements among the top models
    weigh most. This is ``scipy.stats.weightedtau(scores, truth)`` with its defaults
    (``rank=True``: the average of the values ranked by scores and by truth, hence symmetric),
    exactly as the official ``tw.py``.

    Parameters
    ----------
    scores, truth : sequence of float or mapping of model to float
        Scores and ground truth (e.g. fine-tuning accuracy) of the same models.

    Returns
    -------
    float
        In [-1, 1]; 1 when both order the models the same.

    References
    ----------
    .. [1] S. Vigna. A weighted correlation index for rankings with ties. WWW 2015.
    """
    x, y, _ = check_pair(scores, truth, names=("scores", "truth"))
    return float(_st.weightedtau(x, y)[0])


def kendall_tau(scores: Values, truth: Values) -> float:
    """Kendall's tau-b (``scipy.stats.kendalltau``), as the official ``rank_correlation.py``."""
    x, y, _ = check_pair(scores, truth, names=("scores", "truth"))
    return float(_st.kendalltau(x, y)[0])


def pearson(scores: Values, truth: Values) -> float:
    """Pearson's correlation coefficient (``scipy.stats.pearsonr``)."""
    x, y, _ = check_pair(scores, truth, names=("scores", "truth"))
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(_st.pearsonr(x, y)[0])


def weighted_pearson(
    scores: Values, truth: Values, weights: Sequence[float] | None = None
) -> float:
    r"""Weighted Pearson correlation with the official default weights.

    .. math::
        r_w = \frac{\sum_i w_i (x_i - \bar x_w)(y_i - \bar y_w)}
        {\sqrt{\sum_i w_i (x_i - \bar x_w)^2 \sum_i w_i (y_i - \bar y_w)^2}}

    The official ``wpearson`` weights the models ``n, n-1, ..., 1`` in *input order* (its JSON
    files are sorted by descending score). Here the default weights follow the same rule
    applied to the descending order of ``scores``, so the result does not depend on how the
    input happens to be sorted; on input sorted by descending score the two coincide. The
    official code rounds to 4 decimals; this returns the unrounded value (and the official
    function cannot be called at all in PED's code: bug B6).
    """
    x, y, _ = check_pair(scores, truth, names=("scores", "truth"))
    n = x.shape[0]
    if weights is None:
        order = np.argsort(-x, kind="stable")
        w = np.empty(n)
        w[order] = np.arange(n, 0, -1, dtype=np.float64)
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.shape[0] != n:
            raise ValueError(f"Expected {n} weights, got {w.shape[0]}.")
        if (w < 0).any() or w.sum() <= 0:
            raise ValueError("Expected non-negative weights with a positive sum.")
    mx = np.sum(w * x) / w.sum()
    my = np.sum(w * y) / w.sum()
    cov = np.sum(w * (x - mx) * (y - my))
    vx = np.sum(w * (x - mx) ** 2)
    vy = np.sum(w * (y - my) ** 2)
    if vx == 0 or vy == 0:
        return float("nan")
    return float(cov / np.sqrt(vx * vy))


def rel_at_k(scores: Values, truth: Values, k: int = 1) -> float:
    """Relative accuracy of the best of the top-``k`` models by score.

    ``max(truth of the k highest-scored models) / max(truth)``: 1.0 means trusting the score's
    top-k loses nothing. Ties in the scores keep input order (Python's stable sort), as the
    official code. The ground truth must be positive (accuracies).
    """
    x, y, _ = check_pair(scores, truth, names=("scores", "truth"))
    k = check_int(k, "k", minimum=1)
    if y.max() <= 0:
        raise ValueError(f"Expected a positive best ground truth for rel@k, got {y.max():.6g}.")
    top = np.argsort(-x, kind="stable")[:k]
    return float(y[top].max() / y.max())


def recall_at_k(scores: Values, truth: Values, k: int = 1) -> float:
    """1.0 if the top-1 model by score is among the ``k`` best by ground truth, else 0.0.

    The intended meaning of the official ``recall_k``, which crashes in Python 3 (bug B5).
    """
    x, y, _ = check_pair(scores, truth, names=("scores", "truth"))
    k = check_int(k, "k", minimum=1)
    best = int(np.argsort(-x, kind="stable")[0])
    top_truth = np.argsort(-y, kind="stable")[:k]
    return float(best in set(top_truth.tolist()))


#: The evaluation metrics by name, for reports.
METRICS: dict[str, Callable[..., float]] = {
    "weighted_tau": weighted_tau,
    "kendall_tau": kendall_tau,
    "pearson": pearson,
    "weighted_pearson": weighted_pearson,
    "rel@1": lambda s, t: rel_at_k(s, t, 1),
    "rel@3": lambda s, t: rel_at_k(s, t, 3),
    "recall@1": lambda s, t: recall_at_k(s, t, 1),
    "recall@3": lambda s, t: recall_at_k(s, t, 3),
}
