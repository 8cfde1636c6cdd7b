"""The registry of transferability scores: explicit, by lower-case name."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ScoreInfo",
    "register",
    "get_score",
    "registered",
    "RANK_DEFAULTS",
    "SATURATION_TOL",
    "rank_params",
]

#: Parameters of PED's dynamics that `ped.rank` (and `ped rank`) give every ``ped+<base>``
#: unless the caller sets them; chosen on the zoo benchmark (docs/benchmarks.md): at nsigma
#: 0.3 PED never did worse than at 0.6 for LogME, SFDA or GBC, and at 0.6 it lowered GBC's
#: weighted tau on both image targets. `ped.score` keeps the paper's defaults
#: (`ped.scoring.DYNAMICS_PARAMS`, nsigma 0.6): these override them for ranking only.
RANK_DEFAULTS: dict[str, Any] = {"nsigma": 0.3}

#: Absolute distance to a bound within which a score counts as saturated.
SATURATION_TOL = 1e-3


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
    bounds : tuple of (float or None, float or None)
        The values the score can reach, ``(lower, upper)``, None where unbounded (SFDA lies
        in [0, 1], GBC is at most 0). A model within `SATURATION_TOL` of a bound is
        *saturated*: the score no longer tells it apart from other saturated models.
        ``ped+<base>`` shares its base's bounds.
    higher_is_better : bool
        The score's direction; True for every registered score (a paper's loss is negated).
    rank_defaults : dict
        Hyper-parameters `ped.rank` uses for this score instead of the signature's defaults
        (empty: the signature's); ``ped+<base>`` also gets `RANK_DEFAULTS`.
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
    bounds: tuple[float | None, float | None] = (None, None)
    higher_is_better: bool = True
    rank_defaults: dict[str, Any] = field(default_factory=dict)

    def is_saturated(self, value: float, tol: float = SATURATION_TOL) -> bool:
        """Whether ``value`` lies within ``tol`` of one of the score's `bounds`."""
        lo, hi = self.bounds
        return (hi is not None and value >= hi - tol) or (lo is not None and value <= lo + tol)


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
    bounds: tuple[float | None, float | None] = (None, None),
    higher_is_better: bool = True,
    rank_defaults: dict[str, Any] | None = None,
) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Decorator registering a score implementation under ``name``.

    Parameters
    ----------
    name : str
        Lower-case name without ``+``.
    needs_features, needs_source_probs, accepts_targets, summary, reference,
    scale_invariant, bounds, higher_is_better, rank_defaults
        The facts of `ScoreInfo`; the hyper-parameters and their defaults are read off the
        implementation's keyword arguments.
    """
    if name != name.lower() or "+" in name:
        raise ValueError(f"Expected a lower-case score name without '+', got {name!r}.")
    lo, hi = bounds
    if lo is not None and hi is not None and not lo < hi:
        raise ValueError(f"Expected bounds (lower, upper) with lower < upper, got {bounds!r}.")

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
            bounds=(lo, hi),
            higher_is_better=bool(higher_is_better),
            rank_defaults=dict(rank_defaults or {}),
        )
        unknown = sorted(set(rank_defaults or {}) - set(defaults))
        if unknown:
            del _REGISTRY[name]
            raise ValueError(
                f"rank_defaults of score {name!r} name unknown parameters {unknown}; "
                f"it takes {sorted(defaults) or 'none'}."
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
            "and 'ped+<name>' or 'sa+<name>' for any score that reads features."
        )
    return _REGISTRY[key]


def registered() -> dict[str, ScoreInfo]:
    """Every registered score by name (a copy: registering goes through `register`)."""
    return dict(_REGISTRY)


def rank_params() -> dict[str, dict[str, Any]]:
    """The hyper-parameters `ped.rank` uses per score name, derived from the registry.

    Every score with `ScoreInfo.rank_defaults` gets them; every ``ped+<base>`` of a score
    that reads features gets `RANK_DEFAULTS` (and its base's rank defaults), so a newly
    registered features score has its ``ped+`` variant ranked like the others.

    Returns
    -------
    dict of str to dict
    """
    out: dict[str, dict[str, Any]] = {}
    for name, info in sorted(_REGISTRY.items()):
        if info.rank_defaults:
            out[name] = dict(info.rank_defaults)
        if info.needs_features:
            out[f"ped+{name}"] = {**RANK_DEFAULTS, **info.rank_defaults}
    return out
