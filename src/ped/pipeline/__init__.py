"""`rank`: the user's one-shot job, "here are my models and my data, which one do I fine-tune?".

The way of the data (design.md): dataset spec -> dataset -> for each model: feature store
(`ped.features.extract`, extracting on a miss) -> reference statistics for PED
(`ped.features.reference_stats`) -> every asked score at once (`ped.scoring.score_many`,
sharing class statistics and PED runs) -> results database (`ped.store.ResultsDB`) -> a
`RankingResult` that becomes a table, a CSV, JSON or a plot.

When the reference dataset of PED (ImageNet val by default) is not on this machine, PED
rescales with the target data's own per-dimension mean and standard deviation instead, and
the result carries a warning that says so; it never happens silently.
"""

from __future__ import annotations

from .datapath import DATA_PATH, DataPath
from .result import (
    DEFAULT_PARAMS,
    DEFAULT_REFERENCE,
    DEFAULT_SCORES,
    DEFAULT_TEXT_REFERENCE,
    SATURATION_TOL,
    SCORE_BOUNDS,
    RankingResult,
    default_scores,
    rank_values,
    saturated_models,
    tie_groups,
)
from .steps import effective_params, open_target, rank

__all__ = [
    "DEFAULT_SCORES",
    "DEFAULT_PARAMS",
    "DEFAULT_REFERENCE",
    "DEFAULT_TEXT_REFERENCE",
    "SCORE_BOUNDS",
    "SATURATION_TOL",
    "RankingResult",
    "rank",
    "DataPath",
    "DATA_PATH",
    "effective_params",
    "open_target",
    "default_scores",
    "rank_values",
    "tie_groups",
    "saturated_models",
]
