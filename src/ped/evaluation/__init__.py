"""How well transferability scores predict fine-tuning results: one place for every evaluation.

- Rank correlations and top-k measures (`weighted_tau`, `kendall_tau`, `pearson`,
  `weighted_pearson`, `rel_at_k`, `recall_at_k`): each takes two sequences of equal length, or
  two ``{model: value}`` mappings (aligned on the first mapping's keys; a ``"duration"`` key is
  ignored, as the official ``tw.py`` drops it), and returns a Python float.
- One bootstrap over models and ground-truth seeds (`bootstrap_replicates`), summarised by
  `percentile_interval`; `bootstrap_ci` is its one-score-per-model form.
- Ranking utilities shared by `ped rank` and the benchmark: competition ranks of rounded values
  (`rank_values`), ties (`tie_groups`) and scores at a bound (`saturated_models`).
- Evaluations: `evaluate` (one dataset's scores against one ground truth, ``ped evaluate`` and
  ``ped report``) and `evaluate_seeds` (scores and ground truth measured per seed, the zoo
  benchmark); `judge_twice` (every score against two ground truths side by side, and the
  truths against each other) and `swap_resolution` (what one swapped pair does to tau).
"""

from __future__ import annotations

from .bootstrap import BootstrapCI, bootstrap_ci, bootstrap_replicates, percentile_interval
from .evaluations import (
    CI_METRICS,
    EVAL_METRICS,
    HEADLINE,
    Evaluation,
    ScoreEvaluation,
    evaluate,
    evaluate_seeds,
    pair_names,
)
from .metrics import (
    METRICS,
    kendall_tau,
    pearson,
    recall_at_k,
    rel_at_k,
    weighted_pearson,
    weighted_tau,
)
from .ranking import (
    SATURATION_TOL,
    SCORE_BOUNDS,
    rank_values,
    saturated_models,
    score_bounds,
    tie_groups,
)
from .truths import judge_twice, swap_resolution

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
    "SCORE_BOUNDS",
    "score_bounds",
    "SATURATION_TOL",
    "rank_values",
    "tie_groups",
    "saturated_models",
    "HEADLINE",
    "EVAL_METRICS",
    "CI_METRICS",
    "ScoreEvaluation",
    "Evaluation",
    "evaluate",
    "pair_names",
    "evaluate_seeds",
    "judge_twice",
    "swap_resolution",
]
