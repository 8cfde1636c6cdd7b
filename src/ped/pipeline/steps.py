"""`rank`: the user's one-shot job, "here are my models and my data, which one do I fine-tune?".

The way of the data (design.md): dataset spec -> dataset -> for each model: feature store
(`ped.features.extract`, extracting on a miss) -> reference statistics for PED
(`ped.features.reference_stats`) -> every asked score at once (`ped.scoring.score_many`,
sharing class statistics and PED runs) -> results database (`ped.store.ResultsDB`) -> a
`RankingResult` that becomes a table, a CSV, JSON or a plot.

When the reference dataset of PED (ImageNet val by default) is not on this machine, PED
rescales with the target data's own per-dimension mean and standard deviation instead, and
the result carries a warning that says so; it never happens silently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dynamics import ReferenceStats
from ..errors import MissingDatasetError, PedError
from ..hub import HUB_NOTE
from ..scores import rank_params
from ..scoring import list_scores
from ..store import ResultsDB
from . import datapath
from .cells import SET_LEVEL_SCORES, cell_params, check_params, compute_cells, score_the_set
from .datapath import DataPath
from .result import DEFAULT_REFERENCE, DEFAULT_TEXT_REFERENCE, RankingResult, default_scores

__all__ = ["rank", "effective_params", "open_target"]

logger = logging.getLogger(__name__)

Progress = Callable[..., None]


def _dataset_name(dataset: Any) -> str:
    if isinstance(dataset, str):
        return dataset.strip()
    return str(getattr(dataset, "spec", None) or getattr(dataset, "name", None) or "dataset")


def _model_name(model: Any, features: Any = None) -> str:
    name = getattr(features, "model", None)
    if isinstance(name, str) and name:
        return name
    if isinstance(model, str):
        return model.strip()
    return str(getattr(model, "spec", None) or model)


def _open_db(db: Any) -> Any:
    if db is False:
        return None
    return db if isinstance(db, ResultsDB) else ResultsDB(db)


def _scoped(progress: Progress | None, description: str) -> Progress | None:
    if progress is None:
        return None

    def callback(done: int, total: int | None = None, **info: Any) -> None:
        info.setdefault("description", description)
        progress(done, total, **info)

    return callback


def _missing_reference_reason(reference: Any, exc: BaseException) -> str:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"the reference dataset {_dataset_name(reference)!r} is not on this machine [{detail}]"


def rank(
    dataset: Any,
    models: Sequence[Any] | str,
    *,
    scores: Iterable[str] | None = None,
    reference: Any = DEFAULT_REFERENCE,
    limit: int | None = None,
    split: str = "all",
    reference_limit: int | None = None,
    on_missing_reference: str = "fallback",
    params: Mapping[str, Mapping[str, Any]] | None = None,
    store: Any = None,
    db: Any = None,
    batch_size: int = 64,
    device: str | None = None,
    digits: int = 4,
    progress: Progress | None = None,
    data_path: DataPath | None = None,
) -> RankingResult:
    """Rank pretrained models for fine-tuning on one target dataset.

    For each model: features from the store (extracted on a miss), PED's reference
    statistics, every score at once (`ped.scoring.score_many`), recorded in the database.

    Parameters
    ----------
    dataset : str or Dataset
        A dataset spec (``"mnist5k"``, ``"imagefolder:/data/x"``, ...) or a loaded dataset.
    models : sequence of str or Backbone, or str
        Model specs (``"zoo:efficientnet-lite0"``, ``"timm:resnet50"``, ...) or backbones.
    scores : iterable of str, optional
        Score names; default `DEFAULT_SCORES` (those registered in this build). The first
        orders the ranking. ``"ncti"``, ``"etran"``: set-level scores over all the models
        (`ped.hub`). A cell a model cannot have is NaN, its reason in `RankingResult.reasons`.
    reference : str, Dataset, "target" or None, default "imagenet-val"
        Where PED's rescaling statistics come from: a dataset spec (default ImageNet val, as
        in the paper; for a text target the default becomes `DEFAULT_TEXT_REFERENCE`), ``"target"`` for the target data's own statistics, or None for the
        same with a warning. If the reference dataset is missing (`MissingDatasetError`),
        the target's statistics are used and `RankingResult.warnings` says so.
    limit : int, optional
        Score the first `limit` target items of `ped.data.balanced_order`.
    split : str, default "all"
        Target split of a spec (the paper scores ``"all"``); a loaded dataset keeps its own.
    reference_limit : int, optional
        Reference items to use (default: all of them, 50 000 for ImageNet val).
    on_missing_reference : {"fallback", "raise"}, default "fallback"
        What a missing reference dataset does: fall back to the target's own statistics
        with a warning, or raise `MissingDatasetError` (the CLI raises when the user named
        ``--reference`` explicitly).
    params : mapping, optional
        Per-score hyper-parameters, as in `ped.scoring.score_many`; they override
        `DEFAULT_PARAMS` (PED at nsigma 0.3). Cells stored with the same features and
        parameters are read back from `db`, not computed.
    store : FeatureStore, str or Path, optional
        Feature store (default ``$PED_HOME/features``).
    db : ResultsDB, str, Path or False, optional
        Results database (default ``$PED_HOME/results.sqlite``); False records nothing.
    batch_size, device : int (default 64), str (default the CPU)
        Extraction batch size and device.
    digits : int, default 4
        Significant digits within which two scores count as tied.
    progress : callable, optional
        ``progress(done, total, description=...)`` during extraction, and once per model.
    data_path : DataPath, optional
        The functions that open datasets, extract features, compute reference statistics and
        read priors (default `ped.pipeline.datapath.DATA_PATH`, the library's).

    Returns
    -------
    RankingResult

    Raises
    ------
    UnknownModelError, UnknownDatasetError, MissingDatasetError, MissingDependencyError
        From loading a model or the target (a missing *reference* is not: see `reference`).
    ValueError
        For an unknown score name or an empty list of models.

    Examples
    --------
    >>> res = rank("mnist5k", ["zoo:efficientnet-lite0", "zoo:ppocr-rec"],
    ...            limit=500)  # doctest: +SKIP
    >>> res.to_frame()  # doctest: +SKIP
    """
    where = dict(limit=limit, split=split, reference_limit=reference_limit, store=store)
    how = dict(
        batch_size=batch_size,
        device=device,
        progress=progress,
        data_path=data_path or datapath.DATA_PATH,
    )
    models, ctx = _prepare(
        dataset, models, scores, reference, on_missing_reference, params, where, how
    )
    database = _open_db(db)
    result = RankingResult(ctx.dataset_name, [], ctx.names, {n: {} for n in ctx.names})
    runs: list[_ModelRun] = []
    for i, model in enumerate(models):
        runs.append(_score_model(model, ctx, database))
        _add_to_result(result, runs[-1])
        _record(database, runs[-1], ctx)
        if progress is not None:
            progress(i + 1, len(models), description="models")
    score_the_set(result, runs, ctx, database)
    _finish(result, ctx, digits)
    return result


# ---------------------------------------------------------------------- the steps of rank
def effective_params(
    names: Sequence[str], params: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """The hyper-parameters `rank` passes to each score: the registry's rank defaults
    (`ped.scores.rank_params`), overridden by the caller's `params`.

    Parameters
    ----------
    names : sequence of str
        Score names asked.
    params : mapping, optional
        ``{score: {parameter: value}}`` from the caller; scores not asked are ignored.

    Returns
    -------
    dict of str to dict
    """
    defaults = rank_params()
    effective = {n: dict(defaults[n]) for n in names if n in defaults}
    for n, p in (params or {}).items():
        if n in names:
            effective[n] = {**effective.get(n, {}), **dict(p)}
    return effective


def _prepare(
    dataset: Any,
    models: Sequence[Any] | str,
    scores: Iterable[str] | None,
    reference: Any,
    on_missing_reference: str,
    params: Mapping[str, Mapping[str, Any]] | None,
    where: dict[str, Any],
    how: dict[str, Any],
) -> tuple[list[Any], _RankContext]:
    """Check the request, open the target and the reference: everything before the first
    model, so a bad target or score fails before any feature is extracted."""
    models, names = _check_request(models, scores, where["limit"], on_missing_reference)
    needs_reference = any(n.startswith("ped+") for n in names)
    target, dataset_name = _open_target(dataset, where["split"], how["data_path"])
    if reference == DEFAULT_REFERENCE and getattr(target, "modality", "image") == "text":
        reference = DEFAULT_TEXT_REFERENCE  # PED's reference must be of the target's kind
    reference, fallback_reason = _check_reference(
        reference, needs_reference, on_missing_reference, how["data_path"]
    )
    if params:
        check_params(names, params)
    context = _RankContext(
        target=target,
        dataset_name=dataset_name,
        names=names,
        params=effective_params(names, params),
        reference=reference,
        fallback_reason=fallback_reason,
        on_missing_reference=on_missing_reference,
        needs_reference=needs_reference,
        **where,
        **how,
    )
    return models, context


def _check_request(
    models: Sequence[Any] | str,
    scores: Iterable[str] | None,
    limit: int | None,
    on_missing_reference: str,
) -> tuple[list[Any], list[str]]:
    """Validate what was asked before any work: models, score names, limit, policy."""
    if isinstance(models, str):
        models = [models]
    models = list(models)
    if not models:
        raise ValueError("Expected at least one model, got none.")
    names = list(scores) if scores is not None else default_scores()
    if not names:
        raise ValueError("Expected at least one score name, got none.")
    names = [n.strip().lower() for n in names]
    valid = set(list_scores()) | set(SET_LEVEL_SCORES)
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"Unknown score {unknown[0]!r}; choose among {', '.join(sorted(valid))}.")
    if limit is not None and int(limit) < 2:
        raise ValueError(f"Expected limit >= 2 or None, got {limit}.")
    if on_missing_reference not in ("fallback", "raise"):
        raise ValueError(
            f"Expected on_missing_reference to be 'fallback' or 'raise', got "
            f"{on_missing_reference!r}."
        )
    return models, names


def open_target(spec: str, split: str = "all") -> Any:
    """The target dataset of a spec, as `rank` opens it (the CLI summarises it first).

    Parameters
    ----------
    spec : str
        A dataset spec.
    split : str, default "all"

    Returns
    -------
    Dataset
    """
    return datapath.DATA_PATH.load_dataset(spec, split)


def _open_target(dataset: Any, split: str, data_path: DataPath) -> tuple[Any, str]:
    """The target dataset (loaded from a spec) and the name the results are stored under."""
    if isinstance(dataset, str):
        target = data_path.load_dataset(dataset, split)
        return target, str(getattr(target, "spec", dataset))
    return dataset, _dataset_name(dataset)


def _check_reference(
    reference: Any, needs_reference: bool, on_missing_reference: str, data_path: DataPath
) -> tuple[Any, str | None]:
    """The reference to use and, when PED must fall back to the target, the reason why.

    Finds out once, before any extraction, whether a named reference dataset is here.
    """
    if reference is None:
        return None, "no reference dataset was given"
    if isinstance(reference, str) and reference.strip().lower() == "target":
        return "target", None
    if isinstance(reference, str) and needs_reference:
        try:
            data_path.load_dataset(reference)
        except MissingDatasetError as exc:
            if on_missing_reference == "raise":
                raise
            return reference, _missing_reference_reason(reference, exc)
    return reference, None


@dataclass
class _RankContext:
    """What every model of one `rank` call shares."""

    target: Any
    dataset_name: str
    names: list[str]
    params: dict[str, dict[str, Any]]
    reference: Any
    fallback_reason: str | None
    on_missing_reference: str
    needs_reference: bool
    limit: int | None
    split: str
    reference_limit: int | None
    store: Any
    batch_size: int
    device: str | None
    progress: Progress | None
    data_path: DataPath


@dataclass
class _ModelRun:
    """One model's features, scores and timings."""

    name: str
    features: Any
    values: dict[str, float]
    timings: dict[str, float]
    reference: str
    n_samples: int
    started: float
    reasons: dict[str, str]
    cells: dict[str, dict[str, Any]]
    computed: set[str]
    prior: dict[str, Any] | None = None


def _reference_for(model: Any, X: np.ndarray, label: str, ctx: _RankContext) -> tuple[Any, str]:
    """PED's reference statistics for one model and where they come from.

    A reference dataset found missing only now switches the rest of the run to the target's
    own statistics (`ctx.fallback_reason` says why), unless the caller asked to raise.
    """
    if not ctx.needs_reference:
        return None, "none"
    if ctx.reference == "target" or ctx.fallback_reason is not None:
        return ReferenceStats.from_features(X, source="target"), "target"
    try:
        ref = ctx.data_path.reference_stats(
            model,
            ctx.reference,
            limit=ctx.reference_limit,
            store=ctx.store,
            progress=_scoped(ctx.progress, f"{label}: reference"),
        )
    except MissingDatasetError as exc:
        if ctx.on_missing_reference == "raise":
            raise
        ctx.fallback_reason = _missing_reference_reason(ctx.reference, exc)
        return ReferenceStats.from_features(X, source="target"), "target"
    return ref, str(getattr(ref, "source", None) or _dataset_name(ctx.reference))


def _expected_reference(ctx: _RankContext) -> str:
    """Where PED's reference statistics will come from, as recorded with a ``ped+`` cell."""
    if not ctx.needs_reference:
        return "none"
    if ctx.reference == "target" or ctx.fallback_reason is not None:
        return "target"
    return _dataset_name(ctx.reference)


def _cells_of(ctx: _RankContext, fs: Any, reference: str) -> dict[str, dict[str, Any]]:
    where = {
        "limit": ctx.limit,
        "split": str(getattr(ctx.target, "split", ctx.split)),
        "reference": reference,
        "reference_limit": ctx.reference_limit,
    }
    key = getattr(fs, "key", None)
    return {
        n: cell_params(n, key, where, ctx.params.get(n, {}))
        for n in ctx.names
        if n not in SET_LEVEL_SCORES
    }


def _score_model(model: Any, ctx: _RankContext, database: Any = None) -> _ModelRun:
    """Features (extracted on a miss), then every per-model score not already stored with the
    same features and parameters (PED's reference statistics only when a ``ped+`` score must
    be computed)."""
    label = _model_name(model)
    started = time.time()
    t0 = time.perf_counter()
    fs = ctx.data_path.extract(
        model,
        ctx.target,
        limit=ctx.limit,
        batch_size=ctx.batch_size,
        device=ctx.device,
        store=ctx.store,
        progress=_scoped(ctx.progress, f"{label}: features"),
    )
    t_extract = time.perf_counter() - t0
    name = _model_name(model, fs)
    ref_source = _expected_reference(ctx)
    cells = _cells_of(ctx, fs, ref_source)
    stored = database.lookup_scores(name, ctx.dataset_name, cells) if database else {}
    values = {n: v.value for n, v in stored.items()}
    reasons = {n: v.reason for n, v in stored.items() if v.reason}
    todo = [n for n in cells if n not in stored]
    t_reference = t_score = 0.0
    if todo:
        X = np.asarray(fs.features)
        # Scores read one label per item (VOC2007: the first positive class, as official).
        y = np.asarray(fs.labels)
        t1 = time.perf_counter()
        ref = None
        if any(n.startswith("ped+") for n in todo):
            ref, ref_source = _reference_for(model, X, label, ctx)
            if ref_source == "target":  # a reference found missing only now
                cells = _cells_of(ctx, fs, "target")
        t_reference = time.perf_counter() - t1
        t2 = time.perf_counter()
        new, why = compute_cells(
            todo,
            X,
            y,
            source_probs=getattr(fs, "source_probs", None),
            reference=ref,
            params=ctx.params,
        )
        values.update(new)
        reasons.update(why)
        t_score = time.perf_counter() - t2
    return _ModelRun(
        name=name,
        features=fs,
        values={n: float(values[n]) for n in cells},
        timings={
            "extract": t_extract,
            "reference": t_reference,
            "score": t_score,
            "total": time.perf_counter() - t0,
        },
        reference=ref_source,
        n_samples=int(np.shape(fs.labels)[0]),
        started=started,
        reasons=reasons,
        cells=cells,
        computed=set(todo),
        prior=_prior(model, name, database, ctx.data_path),
    )


def _prior(model: Any, name: str, database: Any, data_path: DataPath) -> dict[str, Any] | None:
    """The model's data-free prior: from the database, else computed (loading the model) and
    stored. None when it cannot be had; the ranking goes on without it."""
    if database is not None:
        stored = database.prior(name)
        if stored is not None:
            return stored
    try:
        prior = data_path.model_prior(model)
    except (PedError, ValueError, ImportError, OSError, RuntimeError) as exc:
        logger.info("no prior for %s: %s", name, exc)
        return None
    if database is not None:
        database.record_prior(name, prior["params"], prior["imagenet_top1"])
    return prior


def _add_to_result(result: RankingResult, run: _ModelRun) -> None:
    result.models.append(run.name)
    for n, v in run.values.items():
        result.values[n][run.name] = v
    result.seconds[run.name] = run.timings["total"]
    result.timings[run.name] = {k: run.timings[k] for k in ("extract", "reference", "score")}
    result.references[run.name] = run.reference
    result.n_samples[run.name] = run.n_samples
    result.cached[run.name] = bool(getattr(run.features, "cached", False))
    for n, why in run.reasons.items():
        result.reasons.setdefault(n, {})[run.name] = why
    result.priors[run.name] = dict(run.prior) if run.prior else {}
    result.stored[run.name] = sorted(set(run.cells) - run.computed)


def _record(database: Any, run: _ModelRun, ctx: _RankContext) -> None:
    """Store the cells this run computed, each with its parameters, and the run itself."""
    if database is None:
        return
    fs = run.features
    split = str(getattr(ctx.target, "split", ctx.split))
    share = run.timings["score"] / max(len(run.computed), 1)
    for n in run.computed:
        database.record_score(
            run.name,
            ctx.dataset_name,
            n,
            run.values[n],
            params=run.cells[n],
            seconds=share,
            reason=run.reasons.get(n),
        )
    reference = ctx.reference
    database.record_run(
        "rank",
        f"{run.name}|{ctx.dataset_name}",
        started=run.started,
        seconds=run.timings["total"],
        info={
            "limit": ctx.limit,
            "split": split,
            "reference": run.reference,
            "params": {k: dict(v) for k, v in ctx.params.items()},
            "model": run.name,
            "dataset": ctx.dataset_name,
            "feature_key": getattr(fs, "key", None),
            "feature_path": str(getattr(fs, "path", "") or ""),
            "reference_dataset": _dataset_name(reference) if reference else None,
            "reference_limit": ctx.reference_limit,
            "scores": dict(run.values),
            "reasons": dict(run.reasons),
            "stored": sorted(set(run.cells) - run.computed),
            "timings": {k: run.timings[k] for k in ("extract", "reference", "score")},
        },
    )


def _finish(result: RankingResult, ctx: _RankContext, digits: int = 4) -> None:
    """The overall reference and the warnings a user must see (ties within `digits`)."""
    result.digits = digits
    used = set(result.references.values()) - {"none"}
    result.reference = used.pop() if len(used) == 1 else ("mixed" if used else "none")
    warnings: list[str] = []
    if ctx.fallback_reason is not None and ctx.needs_reference:
        reason, _, detail = ctx.fallback_reason.partition(" [")
        warnings.append(
            f"PED reference: {reason}, so PED rescaled every model's features with the target "
            "data's own per-dimension mean and std (pass --reference DATASET, or reference=, "
            "for another reference domain)." + (f" Details: {detail.rstrip(']')}" if detail else "")
        )
    elif ctx.reference == "target" and ctx.needs_reference:
        warnings.append(
            "PED reference: the target data's own statistics, as asked (reference='target')."
        )
    if result.set_level:
        warnings.append(HUB_NOTE)
    warnings += [line for line in result.notes() if "saturated" in line]
    result.warnings = warnings
