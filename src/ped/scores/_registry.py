"""The registry of transferability scores: explicit, by lower-case name."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ScoreInfo", "register", "get_score", "registered"]


@dataclass(frozen=True)
class ScoreInfo:
    """What the registry knows of one score.

    Attributes
    ----------
    name : str
        Lower-case registry name (``"logme"``).
    func : callable
        The implementation, called as ``func(stats=..., labels=..., source_probs=...,
        targets=..., **params)`` with validated inputs (see `ped.scoring`).
    needs_features : bool
        Whether the score reads the features (``False`` for LEEP and NCE).
    needs_source_probs : bool
        Whether the score reads the source classifier's probabilities.
    accepts_targets : bool
        Whether 2-D float targets (regression, multi-label) are accepted in place of labels.
    summary : str
        One line: what the score measures.
    reference : str
        The paper it comes from.
    defaults : dict
        Hyper-parameters and their defaults, read off the implementation's signature.
    scale_invariant : bool
        Whether the score's formula gives the same value for the features multiplied by any
        positive constant (1e-200 or 1e200 as 1); derived in each score's docstring.
    """

    name: str
    func: Callable[..., float]
    needs_features: bool = True
    needs_source_probs: bool = False
    accepts_targets: bool = False
    summary: str = ""
    reference: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    scale_invariant: bool = False


_REGISTRY: dict[str, ScoreInfo] = {}
_RESERVED = {"stats", "labels", "source_probs", "targets"}


def register(
    name: str,
    *,
    needs_features: bool = True,
    needs_source_probs: bool = False,
    accepts_targets: bool = False,
    summary: str = "",
    reference: str = "",
    scale_invariant: bool = False,
) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Decorator registering a score implementation under ``name``."""
    if name != name.lower() or "+" in name:
        raise ValueError(f"Expected a lower-case score name without '+', got {name!r}.")

    def deco(func: Callable[..., float]) -> Callable[..., float]:
        if name in _REGISTRY:
            raise ValueError(f"Score {name!r} is already registered.")
        sig = inspect.signature(func)
        defaults = {
            k: p.default
            for k, p in sig.parameters.items()
            if k not in _RESERVED and p.default is not inspect.Parameter.empty
        }
        _REGISTRY[name] = ScoreInfo(
            name=name,
            func=func,
            needs_features=needs_features,
            needs_source_probs=needs_source_probs,
            accepts_targets=accepts_targets,
            summary=summary,
            reference=reference,
            defaults=defaults,
            scale_invariant=scale_invariant,
        )
        return func

    return deco


def get_score(name: str) -> ScoreInfo:
    """Look a score up by name; an unknown name raises ValueError listing the valid ones."""
    if not isinstance(name, str):
        raise TypeError(f"Expected a score name as a string, got {type(name).__name__}.")
    key = name.lower()
    if key not in _REGISTRY:
        raise ValueError(
            f"Unknown score {name!r}. Valid scores: {', '.join(sorted(_REGISTRY))}, "
            "and 'ped+<name>' for any score that reads features."
        )
    return _REGISTRY[key]


def registered() -> dict[str, ScoreInfo]:
    return dict(_REGISTRY)
