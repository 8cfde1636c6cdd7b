"""Ground-truth fine-tuning sweeps that resume, are stored, and scale out (`finetune`).

Two protocols: ``"full"`` (default; `ped.finetune.training`), the protocol behind the published
accuracies of ssl-transfer and SFDA, and ``"linear"`` (`ped.finetune.probe`), the cheaper
ground truth of ssl-transfer's linear evaluation. Every ``(lr, w)`` pair of the full grid
trains on ``train`` and is scored on ``val``; the best pair (`select_best`: strict ``>``,
starting from 0; ties keep the earlier pair, and the grid runs lr descending then w ascending,
as in ssl-transfer) is retrained from the pretrained weights on ``trainval`` and scored on
``test`` with the dataset's metric. The linear protocol does the same over its C grid; the grid
value is reported in the ``c`` field of each point, and ``lr``, ``w`` and ``wd`` are None there.
The splits are those of `ped.finetune.splits`.

Every finished grid point is stored in the results database (`ped.store.ResultsDB`) under
the hash of its whole configuration before the next one starts, so an interrupted sweep
rerun with the same arguments runs only what is missing, and a finished one runs nothing.
The points run as jobs of `ped.runner` (in this process, or on Ray).

Scores are percentages (×100): accuracy, mean per-class accuracy or 11-point mAP.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..runner import Job, run_jobs
from ..store import ResultsDB, library_versions
from . import jobs
from .probe import DEFAULT_CS, select_best
from .splits import Splits
from .training import DEFAULT_LRS, DEFAULT_WS, resolve_device

__all__ = ["finetune", "SweepResult", "PROTOCOLS"]

#: Protocol names.
PROTOCOLS = ("full", "linear")

# Bump when a change of this package changes what a stored point means.
_PROTOCOL_VERSION = 1

Progress = Callable[..., None]


def finetune(
    model: Any,
    dataset: str | Mapping[str, Any] | Splits,
    *,
    protocol: str = "full",
    lrs: Sequence[float] = DEFAULT_LRS,
    ws: Sequence[float] = DEFAULT_WS,
    cs: Sequence[float] = DEFAULT_CS,
    steps: int = 5000,
    batch_size: int = 64,
    image_size: int | None = None,
    seed: int = 0,
    limit: int | None = None,
    device: str | None = None,
    db: Any = None,
    executor: str | None = None,
    address: str | None = None,
    num_cpus: float = 1,
    num_gpus: float | None = None,
    max_iter: int = 1000,
    progress: Progress | None = None,
    resolve_model: Callable[..., Any] | None = None,
    resolve_data: Callable[..., Splits] | None = None,
) -> SweepResult:
    """Run (or resume) a fine-tuning sweep and report the test score of the best point.

    Parameters
    ----------
    model : str or Backbone
        A model spec (``"zoo:efficientnet-lite0"``) or a loaded backbone.
    dataset : str, mapping or Splits
        A dataset spec, or splits as described in `resolve_splits`.
    protocol : {"full", "linear"}, default "full"
        See the module docstring. ``"full"`` falls back to ``"linear"`` (and says so in
        ``notes``) for a backbone whose ``module`` is None.
    lrs, ws : sequence of float, default (0.1, 0.01, 0.001, 0.0001), (0, 1e-6, 1e-5, 1e-4, 1e-3)
        Full protocol: learning rates (tried in this order), the grid's w (decay = w / lr).
    cs : sequence of float, default logspace(-6, 5, 12)
        Inverse regularisation strengths (linear protocol).
    steps, batch_size : int, default 5000, 64
        SGD iterations per grid point and for the final retraining (full protocol); batch size.
    image_size : int, optional
        Input side of image networks that take any size (as the spec's ``?image_size=N``);
        default: the backbone's native size.
    seed : int, default 0
        Seeds the hold-out split, head initialisation, shuffling and augmentation.
    limit : int, optional
        Use the first `limit` items (class-balanced order) of each split.
    device : str, optional
        Torch device; default ``"cuda"`` when available, else ``"cpu"``.
    db : ResultsDB, str or Path, optional
        Results database (default ``$PED_HOME/results.sqlite``).
    executor : {"local", "ray"}, optional
        Where the grid points run (default in this process); see `ped.runner.run_jobs`.
    address : str, optional
        Ray cluster address; None starts or joins a local Ray.
    num_cpus, num_gpus : float
        Resources of each Ray job; `num_gpus` defaults to 1 when the device is CUDA, else 0.
    max_iter : int, default 1000
        L-BFGS iterations of the linear protocol.
    progress : callable, optional
        ``progress(done, total, **info)`` after each grid point.
    resolve_model, resolve_data : callable, optional
        Stand-ins for `ped.finetune.jobs.resolve_model` ``(model, device, image_size)`` and
        `~ped.finetune.jobs.resolve_data` ``(dataset, seed, limit)``; all jobs get their output.

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        For an unknown protocol or metric, an empty grid, or non-positive steps or sizes.
    UnknownModelError, UnknownDatasetError, MissingDatasetError, MissingDependencyError
        From loading the model, the dataset or Ray.

    Examples
    --------
    >>> res = finetune("zoo:efficientnet-lite0", "mnist5k", lrs=[0.01], ws=[0],
    ...                steps=200, limit=1000)  # doctest: +SKIP
    >>> res.best, res.test_score  # doctest: +SKIP
    """
    started = time.perf_counter()
    lrs, ws, cs = _checked_grid(protocol, steps, batch_size, limit, lrs, ws, cs)
    database = db if isinstance(db, ResultsDB) else ResultsDB(db)
    backbone = (resolve_model or jobs.resolve_model)(model, device, image_size)
    splits = (resolve_data or jobs.resolve_data)(dataset, seed, limit)
    ran, notes = _protocol_that_runs(protocol, backbone, model, bool(lrs and ws), bool(cs))
    sweep = _new_sweep(database, backbone, splits, ran, model=model, dataset=dataset,
                       resolved=(resolve_model is not None, resolve_data is not None),
                       image_size=image_size, seed=seed, limit=limit, steps=steps,
                       batch_size=batch_size, max_iter=max_iter, device=device,
                       executor=executor, address=address, num_cpus=num_cpus,
                       num_gpus=num_gpus, progress=progress)  # fmt: skip
    if ran == "full":
        found, grid = _full_grid(sweep, lrs, ws, int(steps)), {"lrs": lrs, "ws": ws}
    else:
        found, grid = _linear_grid(sweep, cs, int(max_iter)), {"cs": cs}
    return _finish(sweep, *found, grid, protocol, notes, started, steps)


def _protocol_that_runs(
    protocol: str, backbone: Any, model: Any, full_grid: bool, linear_grid: bool
) -> tuple[str, list[str]]:
    """The protocol to run, and a note when ``"full"`` falls back to ``"linear"``."""
    ran, notes = protocol, []
    if protocol == "full" and getattr(backbone, "module", None) is None:
        ran = "linear"
        notes.append(
            f"{_model_name(backbone, model)} has no trainable torch module, so the linear "
            "protocol ran instead of full fine-tuning."
        )
    if not (full_grid if ran == "full" else linear_grid):
        raise ValueError("Expected a non-empty hyper-parameter grid, got an empty one.")
    return ran, notes


def _model_name(backbone: Any, model: Any) -> str:
    return str(getattr(backbone, "spec", model if isinstance(model, str) else "model"))


def _new_sweep(
    database: ResultsDB,
    backbone: Any,
    splits: Splits,
    protocol: str,
    *,
    model: Any,
    dataset: Any,
    resolved: tuple[bool, bool],
    image_size: int | None,
    seed: int,
    limit: int | None,
    steps: int,
    batch_size: int,
    max_iter: int,
    device: str | None,
    executor: str | None,
    address: str | None,
    num_cpus: float,
    num_gpus: float | None,
    progress: Progress | None,
) -> _Sweep:
    """The state of a sweep: its base configuration, and what its jobs receive.

    Remote workers get the specs (and load them once per process); local jobs, and every job
    when a resolver was given (`resolved`: model, data), get the loaded backbone and splits.
    """
    model_name = _model_name(backbone, model)
    remote = (executor or "local") != "local"
    specs = [
        remote and isinstance(arg, str) and not r for arg, r in zip((model, dataset), resolved)
    ]
    device_name = resolve_device(device)
    if num_gpus is None:
        num_gpus = 1.0 if device_name.startswith("cuda") else 0.0
    base = _base_config(backbone, model_name, splits, protocol, image_size, seed, limit, steps,
                        batch_size, max_iter)  # fmt: skip
    return _Sweep(
        database=database,
        base=base,
        model_name=model_name,
        splits=splits,
        protocol=protocol,
        versions=library_versions(),
        batch_size=int(batch_size),
        seed=int(seed),
        limit=limit,
        model_arg=backbone.spec if specs[0] else backbone,
        data_arg=dataset if specs[1] else splits,
        device=device if remote else device_name,
        executor=executor,
        address=address,
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        progress=progress,
    )


def _checked_grid(
    protocol: str,
    steps: int,
    batch_size: int,
    limit: int | None,
    lrs: Sequence[float],
    ws: Sequence[float],
    cs: Sequence[float],
) -> tuple[list[float], list[float], list[float]]:
    """The grids as lists of floats, after checking the protocol, sizes and grid values."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"Expected protocol to be one of {list(PROTOCOLS)}, got {protocol!r}.")
    for label, value in (("steps", steps), ("batch_size", batch_size)):
        if int(value) < 1:
            raise ValueError(f"Expected {label} >= 1, got {value}.")
    if limit is not None and int(limit) < 2:
        raise ValueError(f"Expected limit >= 2 or None, got {limit}.")
    lrs = [float(x) for x in lrs]
    ws = [float(x) for x in ws]
    cs = [float(x) for x in cs]
    if any(lr <= 0 for lr in lrs) or any(w < 0 for w in ws) or any(c <= 0 for c in cs):
        raise ValueError(
            f"Expected positive learning rates and C values and non-negative w, got "
            f"lrs={lrs}, ws={ws}, cs={cs}."
        )
    return lrs, ws, cs


def _base_config(
    backbone: Any,
    model_name: str,
    splits: Splits,
    protocol: str,
    image_size: int | None,
    seed: int,
    limit: int | None,
    steps: int,
    batch_size: int,
    max_iter: int,
) -> dict[str, Any]:
    """What every point of the sweep shares: the part of each point's hash that is not a
    hyper-parameter value or the phase."""
    digest = getattr(backbone, "digest", None)
    preprocess = getattr(backbone, "preprocess_id", None)
    base = {
        "v": _PROTOCOL_VERSION,
        "model": model_name,
        "model_digest": digest() if callable(digest) else None,
        "preprocess": str(preprocess()) if callable(preprocess) else None,
        "dataset": splits.name,
        "dataset_fingerprint": splits.fingerprint,
        "protocol": protocol,
        "image_size": image_size,
        "seed": int(seed),
        "limit": limit,
    }
    if protocol == "full":
        base["steps"] = int(steps)
        base["batch_size"] = int(batch_size)
    else:  # frozen eval-mode features do not depend on the batch size
        base["max_iter"] = int(max_iter)
    return base


@dataclass
class _Sweep:
    """What the steps of one sweep share: where points are stored, and how jobs run."""

    database: ResultsDB
    base: dict[str, Any]
    model_name: str
    splits: Splits
    protocol: str
    versions: dict[str, Any]
    batch_size: int
    seed: int
    limit: int | None
    model_arg: Any
    data_arg: Any
    device: str | None
    executor: str | None
    address: str | None
    num_cpus: float
    num_gpus: float
    progress: Progress | None
    n_computed: int = 0

    def config(self, phase: str, **hp: float) -> dict[str, Any]:
        """The whole configuration of one point (what its hash is taken of)."""
        return {**self.base, "phase": phase, **hp}

    def stored(self, cfg: Mapping[str, Any]) -> dict[str, Any] | None:
        """The stored row of a point, or None if it has not run."""
        return self.database.point(_hash(cfg))

    def store(
        self, phase: str, cfg: dict[str, Any], score: float, seconds: float, **hp: float | None
    ) -> dict[str, Any]:
        """Store a point this call computed and return its row."""
        self.database.record_point(
            _hash(cfg),
            model=self.model_name,
            dataset=self.splits.name,
            protocol=self.protocol,
            phase=phase,
            score=score,
            metric=self.splits.metric,
            seconds=seconds,
            steps=self.base.get("steps"),
            batch_size=self.batch_size,
            seed=self.seed,
            limit=self.limit,
            config=cfg,
            versions=self.versions,
            **hp,
        )
        self.n_computed += 1
        return self.database.point(_hash(cfg))

    def run(self, fn: Callable[..., Any], arg_lists: Sequence[tuple[Any, ...]],
            keys: Sequence[str], on_result: Callable[..., None] | None = None) -> list[Any]:  # fmt: skip
        """Run ``fn(model, data, *args)`` for each argument tuple with the sweep's executor."""
        work = [
            Job(
                fn,
                (self.model_arg, self.data_arg, *args),
                key=key,
                num_cpus=self.num_cpus,
                num_gpus=self.num_gpus,
            )  # fmt: skip
            for args, key in zip(arg_lists, keys)
        ]
        return run_jobs(work, executor=self.executor, address=self.address, on_result=on_result)

    def report(self, done: int, total: int, **info: Any) -> None:
        if self.progress is not None:
            self.progress(done, total, **info)


def _full_grid(
    sweep: _Sweep, lrs: Sequence[float], ws: Sequence[float], steps: int
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """The full protocol: every missing (lr, w) point on val, then the best one on test."""
    points = []
    for lr, w in [(lr, w) for lr in lrs for w in ws]:
        cfg = sweep.config("val", lr=lr, w=w)
        points.append({"lr": lr, "w": w, "wd": (w / lr if w else 0.0), "c": None, "cfg": cfg,
                       "row": sweep.stored(cfg)})  # fmt: skip
    todo = [p for p in points if p["row"] is None]
    total = len(todo) + 1
    tail = (steps, sweep.batch_size, sweep.seed, sweep.limit, sweep.device)
    done = [0]  # results arrive in any order on Ray

    def on_val(i: int, job: Job, result: tuple[float, float]) -> None:
        p = todo[i]
        p["row"] = sweep.store("val", p["cfg"], result[0], result[1], lr=p["lr"], w=p["w"],
                               wd=p["wd"])  # fmt: skip
        p["computed"] = True
        done[0] += 1
        sweep.report(done[0], total, phase="val", lr=p["lr"], w=p["w"], score=result[0])

    name = f"{sweep.model_name}|{sweep.splits.name}"
    sweep.run(
        jobs.full_point_job,
        [("val", p["lr"], p["w"], *tail) for p in todo],
        [f"{name}|lr={p['lr']:g}|w={p['w']:g}" for p in todo],
        on_result=on_val,
    )
    best_point, best_score = select_best([(p, _score_of(p["row"])) for p in points])
    hp = {"lr": best_point["lr"], "w": best_point["w"]}
    test_cfg = sweep.config("test", **hp)
    test_row = sweep.stored(test_cfg)
    if test_row is None:
        ((score, seconds),) = sweep.run(
            jobs.full_point_job, [("test", hp["lr"], hp["w"], *tail)], [f"{name}|test"]
        )
        test_row = sweep.store("test", test_cfg, score, seconds, **hp, wd=best_point["wd"])
        sweep.report(total, total, phase="test", score=score)
    best = {**hp, "wd": best_point["wd"], "c": None, "score": best_score}
    return points, best, test_row


def _linear_grid(
    sweep: _Sweep, cs: Sequence[float], max_iter: int
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """The linear protocol: one job fits every missing C on val and the best one on test."""
    points = []
    for c in cs:
        cfg = sweep.config("val", c=c)
        points.append({"lr": None, "w": None, "wd": None, "c": c, "cfg": cfg,
                       "row": sweep.stored(cfg)})  # fmt: skip
    known = {p["c"]: _score_of(p["row"]) for p in points if p["row"] is not None}
    # The test point depends on the best C, known only once every C is scored.
    test_row = None
    if len(known) == len(cs):
        best_c, _ = select_best([(c, known[c]) for c in cs])
        test_row = sweep.stored(sweep.config("test", c=best_c))
    if len(known) < len(cs) or test_row is None:
        args = (list(cs), known, True, sweep.batch_size, sweep.seed, sweep.limit, sweep.device,
                max_iter)  # fmt: skip
        key = f"{sweep.model_name}|{sweep.splits.name}|linear"
        (out,) = sweep.run(jobs.linear_job, [args], [key])
        test_row = _store_linear(sweep, points, out)
    best_point, best_score = select_best([(p, _score_of(p["row"])) for p in points])
    best = {"lr": None, "w": None, "wd": None, "c": best_point["c"], "score": best_score}
    return points, best, test_row


def _store_linear(
    sweep: _Sweep, points: Sequence[dict[str, Any]], out: Mapping[str, Any]
) -> dict[str, Any]:
    """Store what a linear job fitted; the extraction time is shared among its fits."""
    share = out["extract_seconds"] / max(1, len(out["val"]) + 1)
    by_c = {p["c"]: p for p in points}
    total = len(out["val"]) + 1
    for i, (c, score, seconds) in enumerate(out["val"]):
        p = by_c[c]
        p["row"] = sweep.store("val", p["cfg"], score, seconds + share, c=c)
        p["computed"] = True
        sweep.report(i + 1, total, phase="val", c=c, score=score)
    c, score, seconds = out["test"]
    test_row = sweep.store("test", sweep.config("test", c=c), score, seconds + share, c=c)
    sweep.report(total, total, phase="test", score=score)
    return test_row


def _finish(
    sweep: _Sweep,
    points: Sequence[dict[str, Any]],
    best: dict[str, Any],
    test_row: Mapping[str, Any],
    grid: Mapping[str, Any],
    requested: str,
    notes: list[str],
    started: float,
    steps: int,
) -> SweepResult:
    """Record the sweep (and the run, if this call computed anything) and build the result."""
    val_scores = [
        {
            "lr": p["lr"],
            "w": p["w"],
            "wd": p["wd"],
            "c": p["c"],
            "score": _score_of(p["row"]),
            "seconds": p["row"]["seconds"],
            "cached": not p.get("computed", False),
        }
        for p in points
    ]
    compute_seconds = sum(v["seconds"] for v in val_scores) + float(test_row["seconds"])
    sweep_cfg = {**sweep.base, **grid}
    splits, ran = sweep.splits, sweep.protocol
    test_score = _score_of(test_row)
    if not math.isfinite(test_score):
        notes.append(
            f"the final run's {splits.metric} is not a number (training diverged): no ground "
            "truth was recorded; try a smaller learning rate."
        )
    else:
        sweep.database.record_sweep(
            _hash(sweep_cfg), model=sweep.model_name, dataset=splits.name, protocol=ran,
            best=best, val_score=best["score"], test_score=test_score, metric=splits.metric,
            seconds=compute_seconds, config=sweep_cfg, versions=sweep.versions, source=requested,
        )  # fmt: skip
    seconds = time.perf_counter() - started
    if sweep.n_computed:
        sweep.database.record_run(
            "sweep",
            _hash(sweep_cfg),
            started=time.time() - seconds,
            seconds=seconds,
            info={"n_computed": sweep.n_computed, "executor": sweep.executor or "local"},
        )
    return SweepResult(
        model=sweep.model_name,
        dataset=splits.name,
        protocol=ran,
        requested_protocol=requested,
        metric=splits.metric,
        best=best,
        val_scores=val_scores,
        test_score=test_score,
        seconds=seconds,
        compute_seconds=compute_seconds,
        n_computed=sweep.n_computed,
        steps=int(steps) if ran == "full" else None,
        batch_size=sweep.batch_size,
        seed=sweep.seed,
        limit=sweep.limit,
        notes=notes,
        config=sweep_cfg,
    )


@dataclass
class SweepResult:
    """What a sweep found.

    Attributes
    ----------
    model, dataset : str
        Canonical model spec and dataset name.
    protocol : str
        The protocol that ran (``"linear"`` when ``"full"`` was asked of a backbone without a
        trainable module; `requested_protocol` keeps what was asked, `notes` says why).
    metric : str
        The test metric.
    best : dict
        The chosen point: ``lr``, ``w``, ``wd`` (full protocol) or ``c`` (linear), and its
        validation ``score``.
    val_scores : list of dict
        One per grid point, in grid order: ``lr``, ``w``, ``wd``, ``c``, ``score``,
        ``seconds`` and ``cached`` (True when read from the database instead of run).
    test_score : float
        Test metric (×100) after retraining the best point on trainval.
    seconds : float
        Wall time of this call.
    compute_seconds : float
        Sum of the stored seconds of every point of the sweep (the cost of the ground truth,
        whether this call or an earlier one paid it).
    n_computed : int
        Points (validation and test) this call actually ran.
    """

    model: str
    dataset: str
    protocol: str
    requested_protocol: str
    metric: str
    best: dict[str, Any]
    val_scores: list[dict[str, Any]]
    test_score: float
    seconds: float
    compute_seconds: float
    n_computed: int
    steps: int | None
    batch_size: int
    seed: int
    limit: int | None
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)


def _hash(config: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def _score_of(row: Mapping[str, Any] | None) -> float:
    """A stored point's score; NaN for a point stored without one (a diverged run)."""
    value = None if row is None else row["score"]
    return float("nan") if value is None else float(value)
