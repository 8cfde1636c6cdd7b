"""Ranking utilities shared by `ped rank` and the benchmark: ranks, ties and saturation.

Two values are tied when they agree to a number of significant digits; a score is saturated
for a model when its value sits at one of the score's known bounds (`ped.scores.ScoreInfo.bounds`), where it
no longer tells models apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..scores import SATURATION_TOL, get_score, registered

__all__ = [
    "SCORE_BOUNDS",
    "SATURATION_TOL",
    "rank_values",
    "tie_groups",
    "saturated_models",
    "score_bounds",
]

#: Known bounds of scores, ``{name: (lower, upper)}`` with None where unbounded: a view of
#: `ped.scores.ScoreInfo.bounds` (``ped+<base>`` shares its base's). A model whose score lies
#: within `SATURATION_TOL` of a bound is *saturated*: the score no longer tells it apart from
#: other saturated models (SFDA reaches 1.0 on easy targets, GBC reaches 0 when no classes
#: overlap).
SCORE_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    name: info.bounds for name, info in registered().items() if info.bounds != (None, None)
}


def _base_name(score: str) -> str:
    key = score.strip().lower()
    return key[4:] if key.startswith("ped+") else key


def _round_sig(value: float, digits: int) -> float:
    if not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{digits}g}")


def rank_values(values: Mapping[str, float], *, digits: int = 4) -> dict[str, int]:
    """Competition ranks (1 = best, higher value is better) of rounded values.

    Models whose values agree to ``digits`` significant digits share the better rank
    (``1, 2, 2, 4``); NaN ranks last.

    Parameters
    ----------
    values : mapping of str to float
        ``{model: score}``.
    digits : int, default 4
        Significant digits that count.

    Returns
    -------
    dict of str to int
    """
    rounded = {
        m: (_round_sig(float(v), digits) if math.isfinite(float(v)) else -math.inf)
        for m, v in values.items()
    }
    return {m: 1 + sum(1 for o in rounded.values() if o > r) for m, r in rounded.items()}


def tie_groups(values: Mapping[str, float], *, digits: int = 4) -> list[list[str]]:
    """Groups of two or more models whose values agree to ``digits`` significant digits.

    Parameters
    ----------
    values : mapping of str to float
        ``{model: score}``.
    digits : int, default 4

    Returns
    -------
    list of list of str
        Each group in the input order; groups ordered by value, best first.
    """
    groups: dict[float, list[str]] = {}
    for m, v in values.items():
        v = float(v)
        if math.isfinite(v):
            groups.setdefault(_round_sig(v, digits), []).append(m)
    return [g for k, g in sorted(groups.items(), key=lambda kv: -kv[0]) if len(g) > 1]


def score_bounds(score: str) -> tuple[float | None, float | None]:
    """``(lower, upper)`` bounds of a score from the registry (``ped+<base>``: its base's);
    ``(None, None)`` for an unbounded score or a name this build does not know."""
    try:
        return get_score(_base_name(score)).bounds
    except ValueError:
        return (None, None)


def saturated_models(score: str, values: Mapping[str, float]) -> list[str]:
    """Models whose value of ``score`` sits at one of its bounds (`ped.scores.ScoreInfo.bounds`).

    Parameters
    ----------
    score : str
        Score name (``ped+<base>`` uses the base's bounds).
    values : mapping of str to float

    Returns
    -------
    list of str
    """
    lo, hi = score_bounds(score)
    out = []
    for m, v in values.items():
        v = float(v)
        if not math.isfinite(v):
            continue
        if (hi is not None and v >= hi - SATURATION_TOL) or (
            lo is not None and v <= lo + SATURATION_TOL
        ):
            out.append(m)
    return out
