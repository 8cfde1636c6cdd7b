"""ped: rank pretrained models for fine-tuning, without fine-tuning them.

Implements PED (Li et al., "Exploring Model Transferability through the Lens of Potential
Energy", ICCV 2023) and the transferability scores it builds on (LogME, SFDA, NLEEP, GBC,
PARC, LEEP, NCE, H-score, TransRate, ...).

The public names below are loaded on first use (PEP 562), so ``import ped`` and the command
line start without numpy, scipy or torch; ``ped.score`` then costs what the numeric core
costs, and ``ped.rank`` what the data path costs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> (module, attribute); an attribute of None means the module itself.
_PUBLIC: dict[str, tuple[str, str | None]] = {
    "ReferenceStats": ("ped.dynamics", "ReferenceStats"),
    "Simulation": ("ped.dynamics", "Simulation"),
    "simulate": ("ped.dynamics", "simulate"),
    "score": ("ped.scoring", "score"),
    "score_many": ("ped.scoring", "score_many"),
    "list_scores": ("ped.scoring", "list_scores"),
    "describe_score": ("ped.scoring", "describe_score"),
    "evaluation": ("ped.evaluation", None),
    "extract": ("ped.features", "extract"),
    "reference_stats": ("ped.features", "reference_stats"),
    "rank": ("ped.pipeline", "rank"),
    "finetune": ("ped.finetune", "finetune"),
    "run_benchmark": ("ped.benchmark", "run_benchmark"),
    "spread_attract": ("ped.sa", "spread_attract"),
    "HubScore": ("ped.hub", "HubScore"),
    "hub_score": ("ped.hub", "hub_score"),
    "hub_scores": ("ped.hub", "hub_scores"),
}

__all__ = [
    "ReferenceStats",
    "Simulation",
    "simulate",
    "score",
    "score_many",
    "list_scores",
    "describe_score",
    "evaluation",
    "spread_attract",
    "HubScore",
    "hub_score",
    "hub_scores",
    "__version__",
]

if TYPE_CHECKING:  # what static tools see; at run time `__getattr__` loads these
    from . import evaluation
    from .dynamics import ReferenceStats, Simulation, simulate
    from .hub import HubScore, hub_score, hub_scores
    from .sa import spread_attract
    from .scoring import describe_score, list_scores, score, score_many


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'ped' has no attribute {name!r}")
    module, attribute = _PUBLIC[name]
    mod = importlib.import_module(module)
    value = mod if attribute is None else getattr(mod, attribute)
    if name not in {"finetune", "evaluation"}:  # those are also submodule names
        globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
