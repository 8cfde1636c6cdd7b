"""The bootstrap of the evaluations: resamples of the models and, per model, of a seed.

`bootstrap_replicates` is the one resampling loop; `bootstrap_ci` (one score per model, as
``ped evaluate`` reports) and the zoo benchmark's intervals (a score per seed) are its two uses,
and `percentile_interval` summarises the replicates of either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_pair
from .metrics import METRICS, Values

__all__ = ["BootstrapCI", "bootstrap_ci", "bootstrap_replicates", "percentile_interval"]


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
    the ground truth's own noise. The replicates are those of `bootstrap_replicates` with the
    same score on every seed.

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
    fn = _metric_function(metric)
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    if not 0 < level < 1:
        raise ValueError(f"Expected level in (0, 1), got {level!r}.")
    n = x.shape[0]
    T = y[None, :]
    if truth_samples is not None:
        T = np.asarray(truth_samples, dtype=np.float64)
        if T.ndim != 2 or T.shape[1] != n:
            raise ValueError(
                f"Expected truth_samples of shape (n_seeds, {n}), got {np.shape(truth_samples)}."
            )
    # The score is the same on every seed: one bootstrap, `bootstrap_replicates`, draws both.
    reps = bootstrap_replicates(np.broadcast_to(x, T.shape), T, fn, n_boot=n_boot,
                                random_state=random_state)  # fmt: skip
    lo, hi = percentile_interval(reps, level)
    return BootstrapCI(float(fn(x, y)), lo, hi, level, n_boot, int(np.isfinite(reps).sum()))


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
    fn = _metric_function(metric)
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    rng = np.random.default_rng(random_state)
    n_seeds, n = S.shape
    vals = np.full(n_boot, np.nan)
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        # One seed has nothing to draw (and numpy draws nothing for a range of one value).
        k = rng.integers(0, n_seeds, n) if n_seeds > 1 else np.zeros(n, dtype=np.int64)
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


def _metric_function(metric: str | Callable[[np.ndarray, np.ndarray], float]) -> Callable:
    if isinstance(metric, str) and metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}. Valid metrics: {', '.join(METRICS)}.")
    return METRICS[metric] if isinstance(metric, str) else metric
