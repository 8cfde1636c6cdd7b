"""The cells of a ranking: each (model, score) value, its identity in the results database,
why it is missing when it is, and the scores computed over the whole candidate set.

A cell is computed once: `cell_params` is everything that determines its value (the feature
store's key of the model's features, the limit, the split, PED's reference and the score's own
parameters), stored as the score's parameters, so a repeated `ped rank` reads it back. A score
that a model cannot have (NaN, or an error such as LEEP without a source classifier) is a cell
with no value and a reason; the other cells and models go on.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import PedError
from ..hub import HUB_SCORES, hub_scores
from ..scoring import describe_score, score_many

__all__ = [
    "SET_LEVEL_SCORES",
    "cell_params",
    "check_params",
    "compute_cells",
    "set_level_cells",
    "score_the_set",
]

logger = logging.getLogger(__name__)

#: Scores `rank` computes over the candidate set (`ped.hub`), after every model's features.
SET_LEVEL_SCORES: tuple[str, ...] = tuple(HUB_SCORES)

#: The parameters of the set-level scores (`ped.hub.hub_score`).
_SET_LEVEL_PARAMS: dict[str, tuple[str, ...]] = {
    "ncti": ("n_components", "random_state"),
    "etran": ("percent",),
}

#: What a score may raise for one model's data without the whole run stopping (a constant
#: feature, a missing source classifier, a singular matrix).
_CELL_ERRORS = (ValueError, ArithmeticError, PedError)


def check_params(names: Sequence[str], params: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse, before any work, parameters for a score not asked or a name a score lacks.

    Raises
    ------
    ValueError
        Naming the score and parameter, and the valid ones.
    """
    for name, given in params.items():
        if name not in names:
            raise ValueError(
                f"Parameters given for score {name!r}, which is not asked; asked: "
                f"{', '.join(names)}."
            )
        valid = (
            _SET_LEVEL_PARAMS[name] if name in SET_LEVEL_SCORES else describe_score(name)["params"]
        )
        for key in given:
            if key not in valid:
                raise ValueError(
                    f"Unknown parameter {key!r} for score {name!r}. Valid parameters: "
                    f"{', '.join(sorted(valid)) or 'none'}."
                )


def cell_params(
    name: str, features_key: Any, where: Mapping[str, Any], params: Mapping[str, Any]
) -> dict[str, Any]:
    """Everything that determines one cell's value, as stored with it.

    Parameters
    ----------
    name : str
        The score.
    features_key : str or None
        The feature store's key of the model's features on the target.
    where : mapping
        ``limit``, ``split``, ``reference`` (PED's reference, or ``"target"``) and
        ``reference_limit``; the reference is kept only for ``ped+`` scores.
    params : mapping
        The score's hyper-parameters as `rank` passes them.
    """
    out = {"features": features_key, "limit": where.get("limit"), "split": where.get("split")}
    if name.startswith("ped+"):
        out["reference"] = where.get("reference")
        out["reference_limit"] = where.get("reference_limit")
    out["params"] = dict(params)
    return out


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text


def compute_cells(
    names: Sequence[str],
    X: Any,
    y: Any,
    *,
    source_probs: Any,
    reference: Any,
    params: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, float], dict[str, str]]:
    """Every asked score of one model: ``(values, reasons)``.

    All scores at once (`ped.scoring.score_many`, sharing statistics); if that fails, each
    score alone, so one score's error is that cell's reason and the others keep their value.
    A non-finite value is NaN with a reason.
    """
    values: dict[str, float] = {}
    reasons: dict[str, str] = {}
    own = {n: dict(params.get(n, {})) for n in names if params.get(n)}
    try:
        got = score_many(
            names, X, y, source_probs=source_probs, reference=reference, params=own or None
        )
    except _CELL_ERRORS:
        got = {}
        for n in names:
            try:
                got.update(
                    score_many(
                        [n],
                        X,
                        y,
                        source_probs=source_probs,
                        reference=reference,
                        params={n: own[n]} if n in own else None,
                    )
                )
            except _CELL_ERRORS as exc:
                got[n] = float("nan")
                reasons[n] = _reason(exc)
    for n in names:
        values[n] = float(got[n])
        if not math.isfinite(values[n]) and n not in reasons:
            reasons[n] = f"{n} is not a finite number on these features ({values[n]})"
            values[n] = float("nan")
    return values, reasons


def set_level_cells(
    names: Sequence[str],
    features: Mapping[str, tuple[Any, Any]],
    params: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, str]]]:
    """The set-level scores (`ped.hub`) over every candidate: ``(values, reasons)``, each
    ``{score: {model: ...}}``. A score that fails is n/a for every model, with the reason."""
    values: dict[str, dict[str, float]] = {}
    reasons: dict[str, dict[str, str]] = {}
    pairs = {m: (np.asarray(X), np.asarray(y)) for m, (X, y) in features.items()}
    for n in names:
        try:
            values[n] = dict(hub_scores([n], pairs, params=params)[n].values)
        except _CELL_ERRORS as exc:
            values[n] = {m: float("nan") for m in pairs}
            reasons[n] = {m: _reason(exc) for m in pairs}
    return values, reasons


def score_the_set(result: Any, runs: Sequence[Any], ctx: Any, database: Any) -> None:
    """The set-level scores (NCTI, ETran) over every candidate, once all features are here;
    stored with the candidate set's feature keys, so the same set reads them back."""
    names = [n for n in ctx.names if n in SET_LEVEL_SCORES]
    if not names:
        return
    keys = sorted(str(getattr(r.features, "key", r.name)) for r in runs)
    cells = {n: {"candidates": keys, "params": ctx.params.get(n, {})} for n in names}
    todo = list(names)
    if database is not None:
        found = [database.lookup_scores(r.name, ctx.dataset_name, cells) for r in runs]
        for n in names:
            if all(n in f for f in found):
                todo.remove(n)
                for r, f in zip(runs, found):
                    result.values[n][r.name] = f[n].value
                    if f[n].reason:
                        result.reasons.setdefault(n, {})[r.name] = f[n].reason
    if todo:
        features = {r.name: (r.features.features, r.features.labels) for r in runs}
        values, reasons = set_level_cells(todo, features, ctx.params)
        for n in todo:
            result.values[n].update(values[n])
            for m, why in reasons.get(n, {}).items():
                result.reasons.setdefault(n, {})[m] = why
            for m, v in values[n].items():
                if database is not None:
                    why = reasons.get(n, {}).get(m)
                    database.record_score(m, ctx.dataset_name, n, v, cells[n], reason=why)
    result.set_level = list(names)
