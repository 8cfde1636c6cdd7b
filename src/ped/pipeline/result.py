"""The result of `ped.rank`: `RankingResult`, the ranking utilities and rank's defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..evaluation import SCORE_BOUNDS, rank_values, saturated_models, score_bounds, tie_groups
from ..scores import SATURATION_TOL, rank_params
from ..scoring import list_scores

__all__ = [
    "DEFAULT_SCORES",
    "DEFAULT_PARAMS",
    "DEFAULT_REFERENCE",
    "DEFAULT_TEXT_REFERENCE",
    "SCORE_BOUNDS",
    "SATURATION_TOL",
    "RankingResult",
    "default_scores",
    "rank_values",
    "tie_groups",
    "saturated_models",
]

#: The scores `rank` computes unless told otherwise, chosen on the zoo benchmark's fine-tuned
#: ground truth (docs/benchmarks.md, "Every score against both truths"): kNN, the best
#: predictor of fine-tuning there (highest mean weighted tau over fashion-mnist and
#: animal-mnist), orders the table; PARC is the best other per-model score; GBC is the best of
#: the paper's bases, and PED+GBC shows whether moving the classes apart changes its order.
#: LogME and PED+LogME ordered the models against fine-tuning there (negative mean weighted
#: tau) and are computed only when asked for (`-s logme`).
DEFAULT_SCORES: tuple[str, ...] = (
    "knn",
    "parc",
    "gbc",
    "ped+gbc",
)

#: Hyper-parameters `rank` uses for its scores unless the caller passes others, derived from
#: the score registry (`ped.scores.rank_params`: every ``ped+<base>`` at
#: `ped.scores.RANK_DEFAULTS`, PED at nsigma 0.3, the zoo benchmark's choice). A snapshot
#: taken at import; `rank` derives them again at each call, so later registrations count.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = rank_params()

#: The reference domain of PED's rescaling (paper, App. B).
DEFAULT_REFERENCE = "imagenet-val"

#: The reference domain `rank` uses instead of `DEFAULT_REFERENCE` for a text target (the
#: paper has none): ``political-speeches``, general spoken English of another domain than the
#: review and debate targets, and installed with the offline text datasets.
DEFAULT_TEXT_REFERENCE = "political-speeches"


def default_scores() -> list[str]:
    """`DEFAULT_SCORES` restricted to the scores registered in this build.

    Returns
    -------
    list of str
    """
    known = set(list_scores())
    return [s for s in DEFAULT_SCORES if s in known]


def _number(value: Any) -> float | None:
    """A value for JSON: None for a missing (NaN) cell."""
    return None if value is None or value != value else float(value)


def _base_name(score: str) -> str:
    key = score.strip().lower()
    return key[4:] if key.startswith("ped+") else key


@dataclass
class RankingResult:
    """The outcome of `rank`: every score of every model, with ranks, timings and warnings.

    Attributes
    ----------
    dataset : str
        The target dataset's name (as stored in the results database).
    models : list of str
        Canonical model specs, in the order asked.
    scores : list of str
        Score names, in the order asked; the first one orders the table.
    values : dict of str to dict of str to float
        ``{score: {model: value}}``; higher is better for every score.
    seconds : dict of str to float
        Wall time per model: extraction (or cache read), reference statistics and scoring.
    timings : dict of str to dict of str to float
        ``{model: {"extract": s, "reference": s, "score": s}}``.
    reference : str
        What PED rescaled with: a dataset name such as ``"imagenet-val"``, or ``"target"``
        (the target data's own statistics) for every model; ``"mixed"`` if it differed.
    references : dict of str to str
        The same, per model.
    warnings : list of str
        Sentences a user must see (the reference fallback, saturated scores).
    n_samples : dict of str to int
        Target items scored per model.
    cached : dict of str to bool
        Whether each model's features came from the feature store.
    digits : int
        Significant digits within which two values count as tied.
    reasons : dict of str to dict of str to str
        ``{score: {model: reason}}`` for every cell without a value (NaN in `values`): a
        score the model cannot have, or one that is not a finite number on its features.
    priors : dict of str to dict
        ``{model: {"params": int or None, "imagenet_top1": float or None}}``: the data-free
        prior (`ped.models.prior.model_prior`); empty for a model whose prior is unknown.
    stored : dict of str to list of str
        Per model, the scores read back from the results database instead of computed.
    set_level : list of str
        The scores computed over the candidate set (NCTI, ETran, see `ped.hub`): their values
        change when the set of models changes.
    """

    dataset: str
    models: list[str]
    scores: list[str]
    values: dict[str, dict[str, float]]
    seconds: dict[str, float] = field(default_factory=dict)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)
    reference: str = DEFAULT_REFERENCE
    references: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    n_samples: dict[str, int] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)
    digits: int = 4
    reasons: dict[str, dict[str, str]] = field(default_factory=dict)
    priors: dict[str, dict[str, Any]] = field(default_factory=dict)
    stored: dict[str, list[str]] = field(default_factory=dict)
    set_level: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ queries
    def ranks(self, score: str | None = None) -> dict[str, int]:
        """Rank of every model by one score (1 = best; tied models share a rank).

        Parameters
        ----------
        score : str, optional
            Default: the first score.

        Returns
        -------
        dict of str to int
        """
        return rank_values(self.values[self._score(score)], digits=self.digits)

    def order(self, score: str | None = None) -> list[str]:
        """Models from best to worst by one score (ties keep the order asked)."""
        ranks = self.ranks(score)
        return sorted(self.models, key=lambda m: (ranks[m], self.models.index(m)))

    def best(self, score: str | None = None) -> list[str]:
        """The best model by one score, or every model tied for best.

        Returns
        -------
        list of str
            One model, or several when the best value is tied.
        """
        ranks = self.ranks(score)
        return [m for m in self.models if ranks[m] == 1]

    def ties(self, score: str | None = None) -> list[list[str]]:
        """Groups of models tied (within `digits` significant digits) by one score."""
        values = self.values[self._score(score)]
        return tie_groups({m: v for m, v in values.items() if v == v}, digits=self.digits)

    def saturated(self, score: str | None = None) -> list[str]:
        """Models at a bound of one score (see `ped.scores.ScoreInfo.bounds`)."""
        name = self._score(score)
        return saturated_models(name, {m: v for m, v in self.values[name].items() if v == v})

    def flags(self) -> dict[str, list[str]]:
        """Per model, short notes on ties and saturation, such as ``"sfda: saturated"``.

        Returns
        -------
        dict of str to list of str
        """
        out: dict[str, list[str]] = {m: [] for m in self.models}
        for s in self.scores:
            for group in self.ties(s):
                for m in group:
                    others = ", ".join(o for o in group if o != m)
                    out[m].append(f"{s}: tied with {others}")
            for m in self.saturated(s):
                out[m].append(f"{s}: saturated")
            for m, why in self.reasons.get(s, {}).items():
                out[m].append(f"{s}: n/a ({why})")
        return out

    def notes(self) -> list[str]:
        """One sentence per score that ties, saturates or is n/a for a model, for the table's
        footer."""
        lines = []
        for s in self.scores:
            for m, why in self.reasons.get(s, {}).items():
                lines.append(f"{s} is n/a for {m}: {why}")
            sat = self.saturated(s)
            if sat:
                lo, hi = score_bounds(s)
                lines.append(
                    f"{s} is saturated (at its bound {hi if hi is not None else lo}) for "
                    f"{', '.join(sat)}: it cannot order these models."
                )
            for group in self.ties(s):
                if set(group) <= set(sat):
                    continue
                lines.append(
                    f"{s} ties {', '.join(group)} within {self.digits} significant digits: "
                    "their order by this score is arbitrary."
                )
        return lines

    def _score(self, score: str | None) -> str:
        if score is None:
            return self.scores[0]
        if score not in self.values:
            raise ValueError(
                f"Unknown score {score!r} for this ranking; it has {', '.join(self.scores)}."
            )
        return score

    # ------------------------------------------------------------------ conversions
    def to_frame(self, sort_by: str | None = None):
        """The ranking as a pandas DataFrame, best model first.

        Parameters
        ----------
        sort_by : str, optional
            Score that orders the rows; default the first score.

        Returns
        -------
        pandas.DataFrame
            Columns ``model``, then per score ``<score>`` and ``rank[<score>]``, then
            ``params`` and ``imagenet_top1`` (the data-free prior, NaN where unknown),
            ``seconds``, ``cached``, ``reference`` and ``flags`` (ties, saturation and the
            reason of every n/a cell as text, empty when none).
        """
        import pandas as pd

        flags = self.flags()
        ranks = {s: self.ranks(s) for s in self.scores}
        rows = []
        for m in self.order(sort_by):
            row: dict[str, Any] = {"model": m}
            for s in self.scores:
                row[s] = self.values[s].get(m, float("nan"))
                row[f"rank[{s}]"] = ranks[s][m] if row[s] == row[s] else None
            prior = self.priors.get(m) or {}
            for key in ("params", "imagenet_top1"):
                got = prior.get(key)
                row[key] = float("nan") if got is None else got
            row["seconds"] = self.seconds.get(m, float("nan"))
            row["cached"] = self.cached.get(m)
            row["reference"] = self.references.get(m, self.reference)
            row["flags"] = "; ".join(flags[m])
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the inputs, one entry per model (best first), notes, warnings."""
        flags = self.flags()
        ranks = {s: self.ranks(s) for s in self.scores}
        return {
            "dataset": self.dataset,
            "scores": list(self.scores),
            "reference": self.reference,
            "warnings": list(self.warnings),
            "notes": self.notes(),
            "set_level_scores": list(self.set_level),
            "ranking": [
                {
                    "model": m,
                    "values": {s: _number(self.values[s].get(m)) for s in self.scores},
                    "reasons": {s: r[m] for s, r in self.reasons.items() if m in r},
                    "prior": {
                        "params": (self.priors.get(m) or {}).get("params"),
                        "imagenet_top1": (self.priors.get(m) or {}).get("imagenet_top1"),
                    },
                    "stored_scores": list(self.stored.get(m, [])),
                    "ranks": {
                        s: ranks[s][m] if _number(self.values[s].get(m)) is not None else None
                        for s in self.scores
                    },
                    "seconds": self.seconds.get(m),
                    "timings": self.timings.get(m, {}),
                    "n_samples": self.n_samples.get(m),
                    "cached": self.cached.get(m),
                    "reference": self.references.get(m, self.reference),
                    "flags": flags[m],
                }
                for m in self.order()
            ],
        }
