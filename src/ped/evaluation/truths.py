"""Scores judged against two ground truths at once, and what a number of models can resolve.

`judge_twice` measures every score against several ground truths (the zoo benchmark's linear
probe and its fine-tuned accuracy) on the same models and seeds, so that the rows can be read
side by side, and measures the ground truths against each other. `swap_resolution` says how
much one swap of two neighbouring models moves Kendall's and the weighted tau for ``n`` models:
a difference smaller than that is one model pair.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .._validation import check_int
from .bootstrap import bootstrap_replicates, percentile_interval
from .evaluations import evaluate_seeds
from .metrics import kendall_tau, weighted_tau

__all__ = ["judge_twice", "swap_resolution"]


def swap_resolution(n: int) -> dict[str, float]:
    """What one swap of two adjacent models does to the rank correlations of ``n`` models.

    Kendall's tau changes by :math:`4 / (n (n - 1))` wherever the swap is; the weighted tau
    (hyperbolic weights, `weighted_tau`) changes most for a swap of the two best models and
    least for the two worst.

    Parameters
    ----------
    n : int
        Number of models, at least 3.

    Returns
    -------
    dict
        ``kendall`` (the change of Kendall's tau), ``weighted_top`` and ``weighted_bottom``
        (the change of the weighted tau for a swap of the two best and of the two worst).
    """
    n = check_int(n, "n", minimum=3)
    truth = np.arange(n, dtype=np.float64)
    top, bottom = truth.copy(), truth.copy()
    top[[-1, -2]] = top[[-2, -1]]  # the two best (highest values) swapped
    bottom[[0, 1]] = bottom[[1, 0]]
    return {
        "kendall": 1.0 - kendall_tau(top, truth),
        "weighted_top": 1.0 - weighted_tau(top, truth),
        "weighted_bottom": 1.0 - weighted_tau(bottom, truth),
    }


def judge_twice(
    scores: Mapping[str, Mapping[str, Sequence[float]]],
    truths: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    n_boot: int = 1000,
    score_of: Callable[[str], str] | None = None,
    pair_prefixes: Sequence[str] = ("ped+",),
    versus: Sequence[str] = (),
) -> dict[str, Any]:
    """Every score against every ground truth, on the models that all the truths share.

    Parameters
    ----------
    scores : mapping of str to mapping of str to sequence of float
        ``{score: {model: value per seed}}``.
    truths : mapping of str to mapping of str to sequence of float
        ``{truth name: {model: accuracy per seed}}``, seeds in the order of the scores'.
    n_boot : int, default 1000
        Bootstrap replicates (models and, per model, a seed; the same resamples for every
        score and truth of the same models).
    score_of : callable, optional
        As in `evaluate_seeds`.
    pair_prefixes : sequence of str, default ("ped+",)
        Transformations whose rows get their paired difference from the base score.
    versus : sequence of str, default ()
        Baselines every score gets its paired difference from (`evaluate_seeds`).

    Returns
    -------
    dict
        ``models`` (the shared models, sorted), ``truths`` (per truth, the rows of
        `evaluate_seeds` on those models) and ``between`` (per pair of truths, ``{"a", "b",
        "weighted_tau", "kendall_tau", "ci"}``: how far the ground truths agree).
    """
    names = list(truths)
    shared = sorted(set.intersection(*(set(truths[t]) for t in names))) if names else []
    models = [m for m in shared if all(math.isfinite(v) for t in names for v in truths[t][m])]
    out: dict[str, Any] = {"models": models, "truths": {}, "between": []}
    if len(models) < 3:
        return out
    for t in names:
        sub = {s: {m: v[m] for m in models if m in v} for s, v in scores.items()}
        truth = {m: truths[t][m] for m in models}
        out["truths"][t] = evaluate_seeds(
            sub, truth, n_boot=n_boot, score_of=score_of, pair_prefixes=pair_prefixes,
            versus=versus,
        )  # fmt: skip
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            A = np.array([truths[a][m] for m in models], dtype=np.float64).T
            B = np.array([truths[b][m] for m in models], dtype=np.float64).T
            reps = bootstrap_replicates(A, B, n_boot=n_boot)
            out["between"].append(
                {
                    "a": a,
                    "b": b,
                    "weighted_tau": weighted_tau(A.mean(0), B.mean(0)),
                    "kendall_tau": kendall_tau(A.mean(0), B.mean(0)),
                    "ci": percentile_interval(reps),
                }
            )
    return out
