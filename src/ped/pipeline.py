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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .dynamics import ReferenceStats
from .errors import MissingDatasetError
from .evaluation import SCORE_BOUNDS, rank_values, saturated_models, tie_groups
from .scoring import list_scores, score_many

__all__ = [
    "DEFAULT_SCORES",
    "DEFAULT_PARAMS",
    "DEFAULT_REFERENCE",
    "SCORE_BOUNDS",
    "RankingResult",
    "rank",
    "default_scores",
    "rank_values",
    "tie_groups",
    "saturated_models",
]

logger = logging.getLogger(__name__)

Progress = Callable[..., None]

#: The scores `rank` computes unless told otherwise, chosen on the zoo benchmark
#: (docs/benchmarks.md): PARC, the best predictor there (highest mean weighted tau over the
#: two image targets), orders the table; GBC is the runner-up; LogME is the paper's main score;
#: the PED versions show whether moving the classes apart changes the order.
DEFAULT_SCORES: tuple[str, ...] = (
    "parc",
    "gbc",
    "ped+gbc",
    "logme",
    "ped+logme",
)

#: Hyper-parameters `rank` uses for its scores unless the caller passes others (chosen on
#: the zoo benchmark, docs/benchmarks.md).
#: PED with nsigma 0.3: on the benchmark it never did worse than 0.6 for LogME, SFDA or GBC,
#: and at 0.6 it lowered GBC's weighted tau on both image targets.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    f"ped+{base}": {"nsigma": 0.3}
    for base in ("gbc", "hscore", "logme", "nleep", "parc", "reg_hscore", "sfda", "transrate")
}

#: The reference domain of PED's rescaling (paper, App. B).
DEFAULT_REFERENCE = "imagenet-val"


def default_scores() -> list[str]:
    """`DEFAULT_SCORES` restricted to the scores registered in this build.

    Returns
    -------
    list of str
    """
    known = set(list_scores())
    return [s for s in DEFAULT_SCORES if s in known]


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
        return tie_groups(self.values[self._score(score)], digits=self.digits)

    def saturated(self, score: str | None = None) -> list[str]:
        """Models at a bound of one score (see `SCORE_BOUNDS`)."""
        name = self._score(score)
        return saturated_models(name, self.values[name])

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
        return out

    def notes(self) -> list[str]:
        """One sentence per score that ties or saturates, for the table's footer."""
        lines = []
        for s in self.scores:
            sat = self.saturated(s)
            if sat:
                lo, hi = SCORE_BOUNDS.get(_base_name(s), (None, None))
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
            ``seconds``, ``cached``, ``reference`` and ``flags`` (ties and saturation as
            text, empty when none).
        """
        import pandas as pd

        flags = self.flags()
        ranks = {s: self.ranks(s) for s in self.scores}
        rows = []
        for m in self.order(sort_by):
            row: dict[str, Any] = {"model": m}
            for s in self.scores:
                row[s] = self.values[s].get(m, float("nan"))
                row[f"rank[{s}]"] = ranks[s][m]
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
            "ranking": [
                {
                    "model": m,
                    "values": {s: self.values[s].get(m) for s in self.scores},
                    "ranks": {s: ranks[s][m] for s in self.scores},
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


# ---------------------------------------------------------------------- the data path
# Thin seams over ped.features, so the pipeline can be tested with stand-ins.
def _extract(model: Any, dataset: Any, **kwargs: Any) -> Any:
    from .features import extract

    return extract(model, dataset, **kwargs)


def _reference_stats(model: Any, dataset: Any, **kwargs: Any) -> ReferenceStats:
    from .features import reference_stats

    return reference_stats(model, dataset, **kwargs)


def _load_dataset(spec: str, split: str = "all") -> Any:
    from .data import load_dataset

    return load_dataset(spec, split)


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
    from .store import ResultsDB

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
) -> RankingResult:
    """Rank pretrained models for fine-tuning on one target dataset.

    For each model, the target features are read from the feature store (extracted on a
    miss), PED's reference statistics are computed (or read) on the reference dataset, every
    score is computed at once with `ped.scoring.score_many`, and the scores are recorded in
    the results database.

    Parameters
    ----------
    dataset : str or Dataset
        A dataset spec (``"mnist5k"``, ``"imagefolder:/data/x"``, ...) or a loaded dataset.
    models : sequence of str or Backbone, or str
        Model specs (``"zoo:efficientnet-lite0"``, ``"timm:resnet50"``, ...) or loaded
        backbones.
    scores : iterable of str, optional
        Score names; default `DEFAULT_SCORES` (those registered in this build). The first
        orders the ranking.
    reference : str, Dataset, "target" or None, default "imagenet-val"
        Where PED's rescaling statistics come from: a dataset spec (default ImageNet val, as
        in the paper), ``"target"`` for the target data's own statistics, or None for the
        same with a warning. If the reference dataset is missing (`MissingDatasetError`),
        the target's statistics are used and `RankingResult.warnings` says so.
    limit : int, optional
        Score the first `limit` target items of `ped.data.balanced_order`.
    split : str, default "all"
        Target split when `dataset` is a spec (the paper scores train + test: ``"all"``);
        a loaded dataset keeps its own.
    reference_limit : int, optional
        Reference items to use (default: all of them, 50 000 for ImageNet val).
    on_missing_reference : {"fallback", "raise"}, default "fallback"
        What a missing reference dataset does: fall back to the target's own statistics
        with a warning, or raise `MissingDatasetError` (the CLI raises when the user named
        ``--reference`` explicitly).
    params : mapping, optional
        Per-score hyper-parameters, as in `ped.scoring.score_many`; they override
        `DEFAULT_PARAMS` (PED at nsigma 0.3, the benchmark's choice).
    store : FeatureStore, str or Path, optional
        Feature store (default ``$PED_HOME/features``).
    db : ResultsDB, str, Path or False, optional
        Results database (default ``$PED_HOME/results.sqlite``); False records nothing.
    batch_size : int, default 64
        Extraction batch size.
    device : str, optional
        Extraction device (default the CPU).
    digits : int, default 4
        Significant digits within which two scores count as tied.
    progress : callable, optional
        ``progress(done, total, description=...)`` during extraction, and once per model.

    Returns
    -------
    RankingResult

    Raises
    ------
    UnknownModelError, UnknownDatasetError, MissingDatasetError, MissingDependencyError
        From loading a model or the target dataset (a missing *reference* dataset is not an
        error: see `reference`).
    ValueError
        For an unknown score name or an empty list of models.

    Examples
    --------
    >>> res = rank("mnist5k", ["zoo:efficientnet-lite0", "zoo:ppocr-rec"],
    ...            limit=500)  # doctest: +SKIP
    >>> res.to_frame()  # doctest: +SKIP
    """
    if isinstance(models, str):
        models = [models]
    models = list(models)
    if not models:
        raise ValueError("Expected at least one model, got none.")
    names = list(scores) if scores is not None else default_scores()
    if not names:
        raise ValueError("Expected at least one score name, got none.")
    names = [n.strip().lower() for n in names]
    valid = set(list_scores())
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"Unknown score {unknown[0]!r}; choose among {', '.join(sorted(valid))}.")
    if limit is not None and int(limit) < 2:
        raise ValueError(f"Expected limit >= 2 or None, got {limit}.")
    needs_reference = any(n.startswith("ped+") for n in names)
    # The benchmark's chosen settings (DEFAULT_PARAMS) apply unless the caller sets them.
    effective = {n: dict(DEFAULT_PARAMS[n]) for n in names if n in DEFAULT_PARAMS}
    for n, p in (params or {}).items():
        if n in names:
            effective[n] = {**effective.get(n, {}), **dict(p)}

    # Fail on a bad target before any model is loaded or any feature extracted.
    if isinstance(dataset, str):
        target = _load_dataset(dataset, split)
        dataset_name = str(getattr(target, "spec", dataset))
    else:
        target = dataset
        dataset_name = _dataset_name(dataset)

    if on_missing_reference not in ("fallback", "raise"):
        raise ValueError(
            f"Expected on_missing_reference to be 'fallback' or 'raise', got "
            f"{on_missing_reference!r}."
        )
    warnings: list[str] = []
    fallback_reason: str | None = None
    if reference is None:
        fallback_reason = "no reference dataset was given"
    elif isinstance(reference, str) and reference.strip().lower() == "target":
        reference = "target"
    elif isinstance(reference, str) and needs_reference:
        # Find out once, before any extraction, whether the reference data are here.
        try:
            _load_dataset(reference)
        except MissingDatasetError as exc:
            if on_missing_reference == "raise":
                raise
            fallback_reason = _missing_reference_reason(reference, exc)
    database = _open_db(db)

    result = RankingResult(
        dataset=dataset_name,
        models=[],
        scores=names,
        values={n: {} for n in names},
        digits=digits,
    )
    for i, model in enumerate(models):
        label = _model_name(model)
        started = time.time()
        t0 = time.perf_counter()
        fs = _extract(
            model,
            target,
            limit=limit,
            batch_size=batch_size,
            device=device,
            store=store,
            progress=_scoped(progress, f"{label}: features"),
        )
        t_extract = time.perf_counter() - t0
        name = _model_name(model, fs)
        X = np.asarray(fs.features)
        # Scores read one label per item (VOC2007: the first positive class, as official).
        y = np.asarray(fs.labels)
        t1 = time.perf_counter()
        ref: Any = None
        ref_source = "none"
        if needs_reference:
            if reference == "target" or fallback_reason is not None:
                ref = ReferenceStats.from_features(X, source="target")
                ref_source = "target"
            else:
                try:
                    ref = _reference_stats(
                        model,
                        reference,
                        limit=reference_limit,
                        store=store,
                        progress=_scoped(progress, f"{label}: reference"),
                    )
                    ref_source = str(getattr(ref, "source", None) or _dataset_name(reference))
                except MissingDatasetError as exc:
                    if on_missing_reference == "raise":
                        raise
                    fallback_reason = _missing_reference_reason(reference, exc)
                    ref = ReferenceStats.from_features(X, source="target")
                    ref_source = "target"
        t_reference = time.perf_counter() - t1
        t2 = time.perf_counter()
        values = score_many(
            names,
            X,
            y,
            source_probs=getattr(fs, "source_probs", None),
            reference=ref,
            params=effective or None,
        )
        t_score = time.perf_counter() - t2
        total = time.perf_counter() - t0
        result.models.append(name)
        for n, v in values.items():
            result.values[n][name] = float(v)
        result.seconds[name] = total
        result.timings[name] = {"extract": t_extract, "reference": t_reference, "score": t_score}
        result.references[name] = ref_source
        result.n_samples[name] = int(X.shape[0])
        result.cached[name] = bool(getattr(fs, "cached", False))
        if database is not None:
            record = {
                "limit": limit,
                "split": str(getattr(target, "split", split)),
                "reference": ref_source,
            }
            if effective:
                record["params"] = {k: dict(v) for k, v in effective.items()}
            share = t_score / max(len(names), 1)
            for n, v in values.items():
                database.record_score(name, dataset_name, n, v, params=record, seconds=share)
            database.record_run(
                "rank",
                f"{name}|{dataset_name}",
                started=started,
                seconds=total,
                info={
                    **record,
                    "model": name,
                    "dataset": dataset_name,
                    "split": str(getattr(target, "split", split)),
                    "feature_key": getattr(fs, "key", None),
                    "feature_path": str(getattr(fs, "path", "") or ""),
                    "reference_dataset": _dataset_name(reference) if reference else None,
                    "reference_limit": reference_limit,
                    "scores": dict(values),
                    "timings": result.timings[name],
                },
            )
        if progress is not None:
            progress(i + 1, len(models), description="models")

    used = set(result.references.values()) - {"none"}
    result.reference = used.pop() if len(used) == 1 else ("mixed" if used else "none")
    if fallback_reason is not None and needs_reference:
        reason, _, detail = fallback_reason.partition(" [")
        warnings.append(
            f"PED reference: {reason}, so PED rescaled every model's features with the target "
            "data's own per-dimension mean and std (pass --reference DATASET, or reference=, "
            "for another reference domain)." + (f" Details: {detail.rstrip(']')}" if detail else "")
        )
    elif reference == "target" and needs_reference:
        warnings.append(
            "PED reference: the target data's own statistics, as asked (reference='target')."
        )
    for line in result.notes():
        if "saturated" in line:
            warnings.append(line)
    result.warnings = warnings
    return result
