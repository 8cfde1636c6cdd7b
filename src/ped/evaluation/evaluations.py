"""Evaluations of scores against a ground truth: `evaluate` and `evaluate_seeds`.

`evaluate` measures one dataset's scores against one ground truth (weighted Kendall's tau as
the headline, Kendall's tau, Pearson, rel@k, recall@k, bootstrap intervals over models) and
pairs every score with its PED version (``ped evaluate``, ``ped report``). `evaluate_seeds`
measures scores and ground truth taken on several seeds of the same data (the zoo benchmark):
intervals over models and seeds, and PED's paired difference from its base score.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .bootstrap import BootstrapCI, bootstrap_ci, bootstrap_replicates, percentile_interval
from .metrics import METRICS, kendall_tau, pearson, rel_at_k, weighted_tau
from .ranking import saturated_models, tie_groups

__all__ = [
    "HEADLINE",
    "EVAL_METRICS",
    "CI_METRICS",
    "ScoreEvaluation",
    "Evaluation",
    "evaluate",
    "pair_names",
    "evaluate_seeds",
]

#: The metric reports lead with (the paper's).
HEADLINE = "weighted_tau"
#: Metrics of every evaluation row, in display order.
EVAL_METRICS: tuple[str, ...] = (
    "weighted_tau",
    "kendall_tau",
    "pearson",
    "rel@1",
    "rel@3",
    "recall@1",
    "recall@3",
)
#: Metrics that get a bootstrap interval.
CI_METRICS: tuple[str, ...] = ("weighted_tau", "kendall_tau", "pearson")


@dataclass
class ScoreEvaluation:
    """One score measured against one ground truth.

    Attributes
    ----------
    score : str
        Score name (``"logme"``, ``"ped+logme"``).
    models : list of str
        Models present in both the scores and the ground truth.
    metrics : dict of str to float
        Every metric of `EVAL_METRICS` (NaN where undefined).
    intervals : dict of str to BootstrapCI
        Percentile bootstrap intervals over models for `CI_METRICS`.
    values : dict of str to float
        The score of each model.
    """

    score: str
    models: list[str]
    metrics: dict[str, float]
    intervals: dict[str, BootstrapCI] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "n_models": len(self.models),
            "metrics": dict(self.metrics),
            "intervals": {k: v.as_dict() for k, v in self.intervals.items()},
            "values": dict(self.values),
        }


@dataclass
class Evaluation:
    """Every score of one dataset measured against one ground truth.

    Attributes
    ----------
    dataset : str
    source : str
        The ground-truth source (``"linear"``, ``"published:self_supervised_resnet50"``, ...).
    truth : dict of str to float
        Ground truth of each model (fine-tuning accuracy, percent).
    rows : dict of str to ScoreEvaluation
        One per score, in the order given.
    missing : dict of str to list of str
        Per score, the scored models that have no ground truth (left out).
    level : float
        Coverage of the bootstrap intervals.
    """

    dataset: str
    source: str
    truth: dict[str, float]
    rows: dict[str, ScoreEvaluation]
    missing: dict[str, list[str]] = field(default_factory=dict)
    level: float = 0.95

    def pairs(self) -> list[tuple[str, ScoreEvaluation | None, ScoreEvaluation | None]]:
        """``(base, row without PED, row with PED)`` for every base score, in order."""
        return [(b, self.rows.get(p), self.rows.get(q)) for b, p, q in pair_names(self.rows)]

    def headline(self) -> dict[str, float]:
        """``{score: weighted tau}``."""
        return {s: r.metrics[HEADLINE] for s, r in self.rows.items()}

    def to_frame(self):
        """One row per base score: every metric without and with PED, side by side.

        Returns
        -------
        pandas.DataFrame
            Columns ``score``, ``n_models``, then per metric ``<metric>`` and
            ``<metric>[ped]``, and ``<metric>_low``/``_high`` (and ``[ped]``) for the
            bootstrap intervals.
        """
        import pandas as pd

        out = []
        for base, plain, ped in self.pairs():
            row: dict[str, Any] = {"score": base}
            n = max(len(r.models) for r in (plain, ped) if r is not None)
            row["n_models"] = n
            for m in EVAL_METRICS:
                for suffix, r in (("", plain), ("[ped]", ped)):
                    row[m + suffix] = r.metrics[m] if r is not None else float("nan")
            for m in CI_METRICS:
                for suffix, r in (("", plain), ("[ped]", ped)):
                    ci = r.intervals.get(m) if r is not None else None
                    row[f"{m}_low{suffix}"] = ci.low if ci else float("nan")
                    row[f"{m}_high{suffix}"] = ci.high if ci else float("nan")
            out.append(row)
        return pd.DataFrame(out)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the inputs, every row, and the pairs with their tau gains."""
        return {
            "dataset": self.dataset,
            "truth_source": self.source,
            "truth": dict(self.truth),
            "level": self.level,
            "scores": {s: r.as_dict() for s, r in self.rows.items()},
            "missing_truth": {k: v for k, v in self.missing.items() if v},
            "pairs": [
                {
                    "score": b,
                    "without_ped": p.metrics if p else None,
                    "with_ped": q.metrics if q else None,
                    "weighted_tau_gain": (
                        q.metrics[HEADLINE] - p.metrics[HEADLINE] if p and q else None
                    ),
                }
                for b, p, q in self.pairs()
            ],
        }


def pair_names(names: Iterable[str]) -> list[tuple[str, str | None, str | None]]:
    """Pair every score with its PED version: ``(base, base or None, "ped+base" or None)``.

    Parameters
    ----------
    names : iterable of str

    Returns
    -------
    list of tuple
        In order of first appearance of either member.
    """
    names = list(names)
    present = set(names)
    seen: dict[str, None] = {}
    for n in names:
        seen.setdefault(n[4:] if n.startswith("ped+") else n, None)
    return [
        (b, b if b in present else None, f"ped+{b}" if f"ped+{b}" in present else None)
        for b in seen
    ]


def _safe(fn: Any, x: np.ndarray, y: np.ndarray) -> float:
    try:
        with np.errstate(all="ignore"):
            v = float(fn(x, y))
    except ValueError:
        return float("nan")
    return v if math.isfinite(v) else float("nan")


def evaluate(
    scores: Mapping[str, Mapping[str, float]],
    truth: Mapping[str, float],
    *,
    dataset: str = "",
    source: str = "",
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int | None = 0,
) -> Evaluation:
    """Measure how well each score predicts the ground truth on one dataset.

    Parameters
    ----------
    scores : mapping of str to mapping of str to float
        ``{score name: {model: value}}``.
    truth : mapping of str to float
        ``{model: fine-tuning accuracy}``.
    dataset, source : str
        Names carried into the result (the dataset, the ground-truth source).
    n_boot : int, default 1000
        Bootstrap replicates of the intervals (0 skips them).
    level : float, default 0.95
        Coverage of the intervals.
    random_state : int or None, default 0
        Seed of the resampling.

    Returns
    -------
    Evaluation

    Raises
    ------
    ValueError
        If a score shares fewer than two models with the ground truth.
    """
    rows: dict[str, ScoreEvaluation] = {}
    missing: dict[str, list[str]] = {}
    truth = {str(k): float(v) for k, v in truth.items() if k != "duration"}
    for name, vals in scores.items():
        vals = {str(k): float(v) for k, v in vals.items() if k != "duration"}
        common = [m for m in vals if m in truth and math.isfinite(vals[m])]
        missing[name] = [m for m in vals if m not in truth]
        if len(common) < 2:
            have = ", ".join(sorted(truth)) or "none"
            raise ValueError(
                f"Score {name!r} on {dataset or 'this dataset'} shares {len(common)} model(s) "
                f"with the ground truth {source or ''} (which has: {have}); at least 2 are "
                "needed. Compute the ground truth (ped finetune) or choose another --truth."
            )
        x = np.array([vals[m] for m in common])
        y = np.array([truth[m] for m in common])
        metrics = {m: _safe(METRICS[m], x, y) for m in EVAL_METRICS}
        intervals = {}
        if n_boot:
            for m in CI_METRICS:
                intervals[m] = bootstrap_ci(
                    x, y, m, n_boot=n_boot, level=level, random_state=random_state
                )
        rows[name] = ScoreEvaluation(name, common, metrics, intervals, {m: vals[m] for m in common})
    return Evaluation(dataset, source, truth, rows, missing, level)


def evaluate_seeds(
    scores: Mapping[str, Mapping[str, Sequence[float]]],
    truth: Mapping[str, Sequence[float]],
    *,
    n_boot: int = 1000,
    score_of: Callable[[str], str] | None = None,
    pair_prefixes: Sequence[str] = ("ped+",),
    versus: Sequence[str] = (),
) -> dict[str, dict[str, Any]]:
    """Scores and ground truth measured on several seeds: weighted tau with intervals and more.

    For each score, the models with a finite score on every seed are taken in name order (so
    that the result is a function of the values and not of the order they came in), and the
    headline is the weighted tau of the seed-averaged score against the seed-averaged ground
    truth. Its interval comes from `bootstrap_replicates`: models are resampled and, per model,
    one seed, whose score and truth are taken together. ``seed_mean`` / ``seed_sd`` are the
    tau of each seed's scores against that seed's truth. A PED variant whose base score covers
    the same models also gets ``delta``, its tau minus the base's, with a paired interval
    ``delta_ci`` from the same resamples.

    Parameters
    ----------
    scores : mapping of str to mapping of str to sequence of float
        ``{score: {model: value per seed}}``.
    truth : mapping of str to sequence of float
        ``{model: ground truth per seed}``, seeds in the same order.
    n_boot : int, default 1000
        Bootstrap replicates.
    score_of : callable, optional
        Maps a table name to the registered score it measures (the benchmark's
        ``ped+logme[0.3,target]`` is ``ped+logme``): its bounds flag saturation, and a
        ``ped+<base>`` variant is paired with ``<base>``. Default: the name itself.
    pair_prefixes : sequence of str, default ("ped+",)
        Transformations of a base score that get ``delta`` and ``delta_ci`` (``"sa+"`` adds
        SA's difference from its base).
    versus : sequence of str, default ()
        Reference scores (baselines) every other score is paired with: a score over the same
        models as a reference gets ``versus[ref] = {"delta", "delta_ci"}``, its tau minus
        the reference's with a paired interval from the same resamples.

    Returns
    -------
    dict of str to dict
        Per score with at least 3 models: ``n_models``, ``weighted_tau``, ``ci`` (95%),
        ``seed_mean``, ``seed_sd``, ``kendall_tau``, ``pearson``, ``rel@1``, ``rel@3``,
        ``best``, ``ties``, ``saturated``, ``values`` (seed means), and for PED variants
        ``delta`` and ``delta_ci``; ``versus`` where `versus` applies.
    """
    score_of = score_of or (lambda name: name)
    out: dict[str, dict[str, Any]] = {}
    replicates: dict[str, tuple[list[str], np.ndarray]] = {}
    for name, per_model in scores.items():
        models = sorted(m for m, v in per_model.items() if all(math.isfinite(x) for x in v))
        if len(models) < 3:
            continue
        S = np.array([per_model[m] for m in models], dtype=np.float64).T  # (seeds, models)
        T = np.array([truth[m] for m in models], dtype=np.float64).T
        reps = bootstrap_replicates(S, T, n_boot=n_boot)
        replicates[name] = (models, reps)
        out[name] = _seed_row(score_of(name), models, S, T, reps)
    for name, row in out.items():
        registered = score_of(name)
        prefix = next((p for p in pair_prefixes if registered.startswith(p)), None)
        base = registered[len(prefix) :] if prefix else None
        if base in replicates and replicates[base][0] == replicates[name][0]:
            row["delta"] = row["weighted_tau"] - out[base]["weighted_tau"]
            row["delta_ci"] = percentile_interval(replicates[name][1] - replicates[base][1])
        for ref in versus:
            if ref != name and ref in replicates and replicates[ref][0] == replicates[name][0]:
                row.setdefault("versus", {})[ref] = {
                    "delta": row["weighted_tau"] - out[ref]["weighted_tau"],
                    "delta_ci": percentile_interval(replicates[name][1] - replicates[ref][1]),
                }
    return out


def _seed_row(
    score: str, models: list[str], S: np.ndarray, T: np.ndarray, reps: np.ndarray
) -> dict[str, Any]:
    """One score's row of `evaluate_seeds`, from its (seeds, models) samples."""
    x, y = S.mean(axis=0), T.mean(axis=0)
    per_seed = [weighted_tau(S[k], T[k]) for k in range(S.shape[0])]
    vals = dict(zip(models, x.tolist()))
    return {
        "n_models": len(models),
        "weighted_tau": weighted_tau(x, y),
        "ci": percentile_interval(reps),
        "seed_mean": float(np.mean(per_seed)),
        "seed_sd": float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0,
        "kendall_tau": kendall_tau(x, y),
        "pearson": pearson(x, y),
        "rel@1": rel_at_k(x, y, 1),
        "rel@3": rel_at_k(x, y, 3),
        "best": models[int(np.argmax(x))],
        "ties": [g for g in tie_groups(vals) if len(g) > 1],
        "saturated": saturated_models(score, vals),
        "values": vals,
    }
