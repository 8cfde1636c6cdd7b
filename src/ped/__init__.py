"""ped: rank pretrained models for fine-tuning, without fine-tuning them.

Implements PED (Li et al., "Exploring Model Transferability through the Lens of Potential
Energy", ICCV 2023) and the transferability scores it builds on (LogME, SFDA, NLEEP, GBC,
PARC, LEEP, NCE, H-score, TransRate, ...).
"""

from __future__ import annotations

from . import evaluation
from .dynamics import ReferenceStats, Simulation, simulate
from .hub import HubScore, hub_score, hub_scores
from .sa import spread_attract
from .scoring import describe_score, list_scores, score, score_many

__version__ = "0.1.0"

__all__ = [
    "ReferenceStats",
    "Simulation",
    "simulate",
    "spread_attract",
    "HubScore",
    "hub_score",
    "hub_scores",
    "score",
    "score_many",
    "list_scores",
    "describe_score",
    "evaluation",
    "__version__",
]


def __getattr__(name: str):
    # The data path (torch, datasets) is imported only when used.
    if name in {"extract", "reference_stats"}:
        from . import features

        return getattr(features, name)
    if name == "rank":
        from . import pipeline

        return pipeline.rank
    if name == "finetune":
        from . import finetune

        return finetune.finetune
    if name == "run_benchmark":
        from . import benchmark

        return benchmark.run_benchmark
    raise AttributeError(f"module 'ped' has no attribute {name!r}")
