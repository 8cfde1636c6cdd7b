"""The ``scores`` and ``priors`` tables of the results database (a part of `ResultsDB`).

A score is stored with its parameters (sorted JSON, part of its identity), so that a later
`ped rank` with the same features and parameters reads it instead of computing it again. A
score a model cannot have (NaN, or an error such as LEEP without a source classifier) is
stored with no value and the reason, and read back as NaN.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

__all__ = ["ScoresTable", "StoredScore", "params_key"]


def params_key(params: Mapping[str, Any] | None) -> str:
    """The stored form of a score's parameters: sorted JSON (its identity in the table)."""
    return json.dumps(dict(params or {}), sort_keys=True, default=str)


class StoredScore(NamedTuple):
    """One stored score: its value (NaN when missing) and, when missing, the reason."""

    value: float
    reason: str | None


def _value(raw: Any) -> float:
    return float("nan") if raw is None else float(raw)


class ScoresTable:
    """Methods of `ped.store.ResultsDB` that read and write scores and model priors."""

    def record_score(
        self,
        model: str,
        dataset: str,
        name: str,
        value: float | None,
        params: Mapping[str, Any] | None = None,
        seconds: float | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        """Store one transferability score (replacing one with the same inputs).

        Parameters
        ----------
        model, dataset : str
            What was scored.
        name : str
            Score name, e.g. ``"logme"`` or ``"ped+logme"``.
        value : float or None
            The score; NaN, infinite or None is stored as missing, with `reason`.
        params : mapping, optional
            The score's parameters (part of its identity, stored as sorted JSON).
        seconds : float, optional
            Time the score took.
        reason : str, optional
            Why the value is missing; default "the score is not a finite number".
        """
        number = None if value is None else float(value)
        if number is not None and not math.isfinite(number):
            number = None
        if number is None:
            reason = reason or f"the score is not a finite number ({value})"
        else:
            reason = None
        with self._write() as con:  # type: ignore[attr-defined]
            con.execute(
                "INSERT OR REPLACE INTO scores (model, dataset, name, params, value, reason, "
                "seconds, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (model, dataset, name, params_key(params), number, reason, seconds, time.time()),
            )

    def scores(
        self,
        dataset: str,
        names: list[str] | tuple[str, ...] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, dict[str, float]]:
        """Stored scores on one dataset.

        Parameters
        ----------
        dataset : str
            Dataset name.
        names : sequence of str, optional
            Keep only these score names.
        params : mapping, optional
            Keep only rows with exactly these parameters; by default the newest row of each
            (model, name) wins.

        Returns
        -------
        dict
            ``{name: {model: value}}``; a missing value (see `score_reasons`) is NaN.
        """
        out: dict[str, dict[str, float]] = {}
        for r in self._score_rows(dataset, names, params):
            out.setdefault(r["name"], {})[r["model"]] = _value(r["value"])
        return out

    def score_reasons(
        self, dataset: str, names: list[str] | tuple[str, ...] | None = None
    ) -> dict[str, dict[str, str]]:
        """Why stored scores on one dataset have no value: ``{name: {model: reason}}``.

        The newest row of each (model, name) counts, as in `scores`.
        """
        newest: dict[tuple[str, str], str | None] = {}
        for r in self._score_rows(dataset, names, None):
            newest[(r["name"], r["model"])] = r["reason"]
        out: dict[str, dict[str, str]] = {}
        for (name, model), reason in newest.items():
            if reason is not None:
                out.setdefault(name, {})[model] = reason
        return out

    def lookup_scores(
        self, model: str, dataset: str, wanted: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, StoredScore]:
        """The stored scores of one model with exactly the given parameters.

        Parameters
        ----------
        model, dataset : str
            What was scored.
        wanted : mapping of str to mapping
            ``{score name: its full parameters as recorded}``.

        Returns
        -------
        dict of str to StoredScore
            The names found; a name not stored with these parameters is absent.
        """
        found: dict[str, StoredScore] = {}
        for name, params in wanted.items():
            rows = self._read(  # type: ignore[attr-defined]
                "SELECT value, reason FROM scores WHERE model = ? AND dataset = ? AND name = ? "
                "AND params = ?",
                (model, dataset, name, params_key(params)),
            )
            if rows:
                found[name] = StoredScore(_value(rows[0]["value"]), rows[0]["reason"])
        return found

    def _score_rows(
        self, dataset: str, names: Iterable[str] | None, params: Mapping[str, Any] | None
    ) -> list[Any]:
        sql = "SELECT model, name, value, reason FROM scores WHERE dataset = ?"
        args: list[Any] = [dataset]
        if params is not None:
            sql += " AND params = ?"
            args.append(params_key(params))
        rows = self._read(sql + " ORDER BY created, id", tuple(args))  # type: ignore[attr-defined]
        keep = None if names is None else set(names)
        return [r for r in rows if keep is None or r["name"] in keep]

    # ----------------------------------------------------------------- priors
    def record_prior(self, model: str, params: int | None, imagenet_top1: float | None) -> None:
        """Store a model's data-free prior (see `ped.models.prior.ModelPrior`)."""
        with self._write() as con:  # type: ignore[attr-defined]
            con.execute(
                "INSERT OR REPLACE INTO priors (model, params, imagenet_top1, created) "
                "VALUES (?, ?, ?, ?)",
                (model, params, imagenet_top1, time.time()),
            )

    def prior(self, model: str) -> dict[str, Any] | None:
        """A model's stored prior, ``{"params": int or None, "imagenet_top1": float or None}``,
        or None when none is stored."""
        rows = self._read(  # type: ignore[attr-defined]
            "SELECT params, imagenet_top1 FROM priors WHERE model = ?", (model,)
        )
        if not rows:
            return None
        return {"params": rows[0]["params"], "imagenet_top1": rows[0]["imagenet_top1"]}
