"""Evaluation and report workflows behind `ped evaluate` and `ped report`.

Each function reads what earlier commands stored (the results database, the feature store,
a scores or ground-truth file), evaluates, and returns results; nothing here prints. The
command line renders what comes back.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..dynamics import ReferenceStats, simulate
from ..errors import PedError
from ..features import reference_stats
from ..features.store import open_entry
from ..report import evaluate, load_scores, short_name, write_report
from ..store import ResultsDB

__all__ = [
    "EvaluationRun",
    "ReportRun",
    "open_db",
    "resolve_truth",
    "read_truth_file",
    "align_to_truth",
    "gather_scores",
    "evaluate_dataset",
    "stored_dynamics",
    "build_report",
]


def open_db(db: ResultsDB | str | Path | None) -> ResultsDB:
    """The results database at ``db`` (default ``$PED_HOME/results.sqlite``)."""
    return db if isinstance(db, ResultsDB) else ResultsDB(db)


def read_truth_file(path: Path, dataset: str) -> dict[str, float]:
    """Ground truth from a JSON file: ``{model: value}`` or ``{dataset: {model: value}}``."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"Ground-truth file {path} is not valid JSON: {exc}.") from None
    if isinstance(data, dict) and dataset in data and isinstance(data[dataset], dict):
        data = data[dataset]
    if not isinstance(data, dict) or not all(isinstance(v, (int, float)) for v in data.values()):
        raise ValueError(
            f"Expected ground truth in {path} as {{model: accuracy}} or "
            f"{{dataset: {{model: accuracy}}}}, got another layout."
        )
    return {str(k): float(v) for k, v in data.items()}


def resolve_truth(db: ResultsDB, dataset: str, truth: str | None) -> tuple[str, dict[str, float]]:
    """The ground truth to evaluate against: ``(source name, {model: value})``.

    Parameters
    ----------
    db : ResultsDB
    dataset : str
    truth : str or None
        A source of the results database (``linear``, ``full``, ``published:...``) or a JSON
        file; None picks ``full``, then ``linear``, then any other source of `dataset`.

    Returns
    -------
    tuple of (str, dict of str to float)

    Raises
    ------
    FileNotFoundError, ValueError
        A missing file, or no ground truth for `dataset`.
    """
    if truth is not None and (truth.endswith(".json") or os.path.sep in truth):
        path = Path(truth)
        if not path.is_file():
            raise FileNotFoundError(f"Ground-truth file not found: {path}")
        return str(path), read_truth_file(path, dataset)
    sources = [s for s, ds, n, _ in db.truth_sources(dataset) if ds == dataset and n >= 2]
    if truth is None:
        preferred = [s for s in ("full", "linear") if s in sources] + sources
        if not preferred:
            raise ValueError(
                f"No ground truth for {dataset!r} in {db.path} or the published tables: run "
                f"`ped finetune MODEL {dataset} --protocol linear` for each model, or pass "
                "--truth SOURCE|FILE."
            )
        truth = preferred[0]
    values = db.ground_truth(truth, dataset)
    if not values:
        have = ", ".join(sources) or "none"
        raise ValueError(
            f"Ground-truth source {truth!r} has nothing for {dataset!r}; sources with "
            f"{dataset!r}: {have}."
        )
    return truth, values


def align_to_truth(
    scores: Mapping[str, Mapping[str, float]], truth: Mapping[str, float]
) -> dict[str, dict[str, float]]:
    """Rename scored models to the ground truth's names where only the prefix differs."""
    short = {short_name(m): m for m in truth}
    return {
        s: {(m if m in truth else short.get(short_name(m), m)): v for m, v in vals.items()}
        for s, vals in scores.items()
    }


def gather_scores(
    dataset: str,
    scores_file: Path | None,
    db: ResultsDB,
    names: Sequence[str] | None = None,
) -> dict[str, dict[str, float]]:
    """Stored scores of `dataset`: from a JSON file, else from the results database.

    Raises
    ------
    ValueError
        When a named score, or every score, is missing.
    """
    if scores_file is not None:
        _, scores = load_scores(scores_file, dataset)
        where = str(scores_file)
    else:
        # a score stored without a value (n/a, with its reason) has nothing to evaluate
        stored = db.scores(dataset)
        scores = {
            s: {m: v for m, v in vals.items() if math.isfinite(v)} for s, vals in stored.items()
        }
        scores = {s: vals for s, vals in scores.items() if vals}
        where = f"the results database {db.path}"
    if names:
        missing = [n for n in names if n not in scores]
        if missing:
            raise ValueError(
                f"No {missing[0]!r} scores for {dataset!r} in {where}; it has "
                f"{', '.join(scores) or 'none'}."
            )
        scores = {n: scores[n] for n in names}
    if not scores:
        raise ValueError(
            f"No scores for {dataset!r} in {where}: run `ped rank {dataset} MODEL ...` first, "
            "or pass --scores FILE."
        )
    return scores


@dataclass
class EvaluationRun:
    """An evaluation of one dataset's stored scores and the scores it was computed on."""

    evaluation: Any
    scores: dict[str, dict[str, float]]

    @property
    def left_out(self) -> list[str]:
        """Scored models without ground truth."""
        return sorted({m for v in self.evaluation.missing.values() for m in v})


def evaluate_dataset(
    dataset: str,
    *,
    db: ResultsDB | str | Path | None = None,
    scores_file: Path | None = None,
    truth: str | None = None,
    names: Sequence[str] | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
) -> EvaluationRun:
    """How well each stored score of `dataset` predicts its ground truth (`ped evaluate`).

    Parameters
    ----------
    dataset : str
    db : ResultsDB, str or Path, optional
        Results database (default ``$PED_HOME/results.sqlite``).
    scores_file : Path, optional
        Scores as JSON instead of the database.
    truth : str, optional
        Ground-truth source or JSON file (see `resolve_truth`).
    names : sequence of str, optional
        Only these scores.
    n_boot : int, default 1000
        Bootstrap replicates of the intervals.
    level : float, default 0.95
        Coverage of the intervals.

    Returns
    -------
    EvaluationRun
    """
    database = open_db(db)
    source, values = resolve_truth(database, dataset, truth)
    scores = align_to_truth(gather_scores(dataset, scores_file, database, names or None), values)
    e = evaluate(scores, values, dataset=dataset, source=source, n_boot=n_boot, level=level)
    return EvaluationRun(evaluation=e, scores=scores)


def _latest_rank_runs(db: ResultsDB, dataset: str) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    for run in db.runs("rank"):
        info = run.get("info") or {}
        if info.get("dataset") == dataset:
            latest[info.get("model")] = info
    return latest


def stored_dynamics(
    db: ResultsDB, dataset: str, models: Sequence[str]
) -> tuple[dict[str, Any], list[str]]:
    """PED simulations on the stored features of the latest `ped rank` of each model.

    Returns
    -------
    simulations : dict of str to Simulation
    notes : list of str
        One sentence per model left out, and per reference that fell back to the target.
    """
    latest = _latest_rank_runs(db, dataset)
    sims: dict[str, Any] = {}
    notes: list[str] = []
    for m in models:
        info = latest.get(m)
        path = Path(info.get("feature_path") or "") if info else None
        try:  # through the store: checksums checked, no link followed
            fs = open_entry(path) if info and info.get("feature_path") else None
        except PedError:
            fs = None
        if fs is None:
            notes.append(f"no stored features of {m} on {dataset}; PED dynamics not plotted.")
            continue
        X, y = fs.features, np.asarray(fs.labels)
        ref = None
        if info.get("reference") not in (None, "target", "none"):
            try:
                ref = reference_stats(
                    m,
                    info.get("reference_dataset") or info["reference"],
                    limit=info.get("reference_limit"),
                    store=path.parent,
                )
            except (PedError, ImportError, OSError) as exc:
                notes.append(f"{m}: reference statistics unavailable ({exc}); target used.")
        if ref is None:
            ref = ReferenceStats.from_features(X, source="target")
        sims[m] = simulate(X, y, reference=ref)
    return sims, notes


@dataclass
class ReportRun:
    """What `build_report` wrote: the report's path, its evaluations, the scores it ranked
    (``{dataset: {score: {model: value}}}``) and its notes."""

    path: Path
    evaluations: list[Any] = field(default_factory=list)
    scores: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _has_truth(db: ResultsDB, dataset: str) -> bool:
    return any(ds == dataset and n >= 2 for _, ds, n, _ in db.truth_sources(dataset))


def build_report(
    datasets: Sequence[str],
    *,
    out: str | Path = "ped-report",
    fmt: str = "html",
    db: ResultsDB | str | Path | None = None,
    scores_file: Path | None = None,
    truth: str | None = None,
    names: Sequence[str] | None = None,
    n_boot: int = 1000,
    dynamics: bool = True,
) -> ReportRun:
    """Write an HTML or Markdown report of each dataset's stored scores (`ped report`).

    Every dataset gets its ranking: the table, one bar chart per score (best model on top)
    and the agreement between scores (Kendall's tau of every pair). Where a ground truth is
    known (or `truth` names one), the report adds how well each score predicts it.

    Parameters
    ----------
    datasets : sequence of str
    out : str or Path, default "ped-report"
        Folder to write into.
    fmt : {"html", "md"}, default "html"
    db, scores_file, n_boot
        As in `evaluate_dataset`.
    truth : str, optional
        Ground-truth source or JSON file; a named one that is missing is an error. By default
        the first known source (see `resolve_truth`), and a ranking-only report without one.
    names : sequence of str, optional
        Only these scores (the first orders the ranking table).
    dynamics : bool, default True
        Plot PED's energy and displacement from the stored features.

    Returns
    -------
    ReportRun
    """
    if fmt not in ("html", "md"):
        raise ValueError(f"Expected --format html or md, got {fmt!r}.")
    database = open_db(db)
    run = ReportRun(path=Path(out))
    sims: dict[str, dict] = {}
    for ds in datasets:
        scores = gather_scores(ds, scores_file, database, names or None)
        run.scores[ds] = scores
        if truth is not None or _has_truth(database, ds):
            run.evaluations.append(
                evaluate_dataset(
                    ds,
                    db=database,
                    scores_file=scores_file,
                    truth=truth,
                    names=names,
                    n_boot=n_boot,
                ).evaluation
            )
        else:
            run.notes.append(
                f"no ground truth for {ds}: the report ranks the models without evaluating the "
                f"scores (run `ped finetune MODEL {ds} --protocol linear` per model, or pass "
                "--truth FILE, to add the evaluation)."
            )
        if dynamics:
            models = sorted({m for r in scores.values() for m in r})
            sims[ds], more = stored_dynamics(database, ds, models)
            run.notes += more
    run.path = write_report(
        run.evaluations, out, fmt=fmt, dynamics=sims, scores=run.scores, notes=run.notes
    )
    return run
