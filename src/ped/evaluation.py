"""How well transferability scores predict fine-tuning results: rank correlations, top-k.

Every function takes two sequences of equal length, or two ``{model: value}`` mappings
(aligned on the first mapping's keys; a ``"duration"`` key is ignored, as the official
``tw.py`` drops it), and returns a Python float.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as _st

from ._validation import check_int, check_pair

__all__ = [
    "weighted_tau",
    "kendall_tau",
    "pearson",
    "weighted_pearson",
    "rel_at_k",
    "recall_at_k",
    "bootstrap_ci",
    "BootstrapCI",
    "bootstrap_replicates",
    "percentile_interval",
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


@dataclass(frozen=True)
class BootstrapCI:
    """A point estimate with a percentile bootstrap interval."""

    estimate: float
    low: float
    high: float
    level: float
    n_boot: int
    n_valid: int

    def as_dict(self) -> dict[str, float]:
        return {
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "level": self.level,
            "n_boot": self.n_boot,
        }


def bootstrap_ci(
    scores: Values,
    truth: Values,
    metric: str | Callable[[np.ndarray, np.ndarray], float] = "weighted_tau",
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    truth_samples: np.ndarray | None = None,
    random_state: int | None = 0,
) -> BootstrapCI:
    """Percentile bootstrap interval of a metric over models (and ground-truth seeds).

    Models are resampled with replacement (resamples in which a metric is undefined, such as
    one distinct model, are dropped). When ``truth_samples`` of shape (n_seeds, n_models) is
    given, each replicate also draws one ground-truth seed per model, so the interval covers
    the ground truth's own noise.

    Parameters
    ----------
    scores, truth : sequence or mapping
        As in `weighted_tau`.
    metric : str or callable, default="weighted_tau"
        A name from `METRICS` or a function of two arrays.
    n_boot : int, default=1000
        Bootstrap replicates.
    level : float, default=0.95
        Coverage of the interval.
    truth_samples : ndarray of shape (n_seeds, n_models), optional
        Ground truth per seed, in the same model order as ``scores``.
    random_state : int or None, default=0
        Seed of the resampling.

    Returns
    -------
    BootstrapCI
        ``estimate`` (the metric on the full data), ``low``, ``high``.
    """
    x, y, _ = check_pair(scores, truth, names=("scores", "truth"))
    if isinstance(metric, str) and metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}. Valid metrics: {', '.join(METRICS)}.")
    fn = METRICS[metric] if isinstance(metric, str) else metric
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    if not 0 < level < 1:
        raise ValueError(f"Expected level in (0, 1), got {level!r}.")
    rng = np.random.default_rng(random_state)
    n = x.shape[0]
    T = None
    if truth_samples is not None:
        T = np.asarray(truth_samples, dtype=np.float64)
        if T.ndim != 2 or T.shape[1] != n:
            raise ValueError(
                f"Expected truth_samples of shape (n_seeds, {n}), got {np.shape(truth_samples)}."
            )
    vals = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        if np.unique(idx).size < 3:
            continue
        yt = y[idx] if T is None else T[rng.integers(0, T.shape[0], n), idx]
        xs = x[idx]
        if np.ptp(xs) == 0 or np.ptp(yt) == 0:
            continue
        with np.errstate(all="ignore"):
            v = fn(xs, yt)
        if np.isfinite(v):
            vals.append(v)
    est = float(fn(x, y))
    lo, hi = percentile_interval(np.asarray(vals, dtype=np.float64), level)
    return BootstrapCI(est, lo, hi, level, n_boot, len(vals))


def bootstrap_replicates(
    score_samples: np.ndarray,
    truth_samples: np.ndarray,
    metric: str | Callable[[np.ndarray, np.ndarray], float] = "weighted_tau",
    *,
    n_boot: int = 1000,
    random_state: int | None = 0,
) -> np.ndarray:
    """A metric on resamples of the models and, per model, of one seed of scores and truth.

    Unlike `bootstrap_ci` (one score per model), the score is also measured per seed (on that
    seed's data), and each replicate takes the score and the truth of the *same* seed. The
    draws depend only on the shape and ``random_state``, so two scores over the same models
    get the same resamples and their replicates can be subtracted (a paired difference).

    Parameters
    ----------
    score_samples, truth_samples : ndarray of shape (n_seeds, n_models)
    metric : str or callable, default="weighted_tau"
    n_boot : int, default=1000
    random_state : int or None, default=0

    Returns
    -------
    ndarray of shape (n_boot,)
        The metric per replicate; NaN where it is undefined (fewer than 3 distinct models,
        or a constant score or truth).
    """
    S = np.asarray(score_samples, dtype=np.float64)
    T = np.asarray(truth_samples, dtype=np.float64)
    if S.ndim != 2 or S.shape != T.shape:
        raise ValueError(
            f"Expected score and truth samples of the same shape (n_seeds, n_models), got "
            f"{S.shape} and {T.shape}."
        )
    fn = METRICS[metric] if isinstance(metric, str) else metric
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    rng = np.random.default_rng(random_state)
    n_seeds, n = S.shape
    vals = np.full(n_boot, np.nan)
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        k = rng.integers(0, n_seeds, n)
        if np.unique(idx).size < 3:
            continue
        xs, ys = S[k, idx], T[k, idx]
        if np.ptp(xs) == 0 or np.ptp(ys) == 0:
            continue
        with np.errstate(all="ignore"):
            vals[b] = fn(xs, ys)
    return vals


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> list[float]:
    """``[low, high]`` percentile interval of the finite replicates (NaN, NaN if none)."""
    vals = np.asarray(replicates, dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return [float("nan"), float("nan")]
    lo, hi = np.quantile(vals, [(1 - level) / 2, 1 - (1 - level) / 2])
    return [float(lo), float(hi)]
