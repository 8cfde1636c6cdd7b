"""Running the benchmark: per (target, model) the features, the seeds' probes and scores."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..dynamics import ReferenceStats
from ..features import extract
from ..finetune import compute_metric, pool_test_size, probe_decisions, seed_split, select_best
from ..finetune.truth_records import load_records
from ..scoring import score_many
from .config import TARGETS, BenchmarkConfig
from .config import plan_references as _plan_references
from .config import score_plan as _score_plan
from .results import BenchmarkResult, read_records

__all__ = ["run_benchmark", "seed_split", "probe_accuracy", "seed_probe", "split_of_seed"]

ProgressFn = Callable[..., None]


def probe_accuracy(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    *,
    cs: Sequence[float],
    seed: int,
    max_iter: int = 500,
) -> tuple[float, float]:
    """The linear protocol on one split: choose C on a 20% hold-out of train, refit, test.

    Returns
    -------
    (accuracy in percent, chosen C)
    """
    num_classes = int(y.max()) + 1
    fit, val = seed_split(y[train], max(2, int(round(0.2 * train.size))), seed + 1000)
    fit, val = train[fit], train[val]
    scored = []
    for c in cs:
        dec = probe_decisions(c, X[fit], y[fit], X[val], num_classes=num_classes, max_iter=max_iter)
        scored.append((float(c), compute_metric("accuracy", dec, y[val])))
    best_c, _ = select_best(scored)
    dec = probe_decisions(
        best_c, X[train], y[train], X[test], num_classes=num_classes, max_iter=max_iter
    )
    return compute_metric("accuracy", dec, y[test]), best_c


def _score_seed(
    X: np.ndarray,
    y: np.ndarray,
    probs: np.ndarray | None,
    refs: Mapping[str, ReferenceStats],
    plan: Sequence[tuple[str, str, float | None, str | None]],
) -> tuple[dict[str, float], dict[str, float]]:
    """Every score of the plan on one training part.

    The scores of one (nsigma, reference) group are computed by one `score_many` call, so
    they share the class statistics and the PED simulation; each gets an equal share of the
    group's time. A group that raises is retried score by score, so one undefined score
    (NaN) does not take the others with it.
    """
    values: dict[str, float] = {}
    seconds: dict[str, float] = {}
    groups: dict[tuple[float | None, str | None], list[tuple[str, str]]] = {}
    for table, name, s, r in plan:
        groups.setdefault((s, r), []).append((table, name))
    for (s, r), items in groups.items():
        names = [n for _, n in items]
        params = {n: {"nsigma": s} for n in names if n.startswith("ped+")}
        reference = refs[r] if r is not None else None

        def run(subset: list[str], params=params, reference=reference) -> dict[str, float]:
            sub = {n: params[n] for n in subset if n in params}
            return score_many(
                subset, X, y, source_probs=probs, reference=reference, params=sub or None
            )

        t0 = time.perf_counter()
        try:
            got = run(names)
        except (ValueError, np.linalg.LinAlgError):
            got = {}
            for n in names:
                try:
                    got.update(run([n]))
                except (ValueError, np.linalg.LinAlgError):
                    got[n] = float("nan")
        share = (time.perf_counter() - t0) / len(names)
        for table, n in items:
            values[table] = float(got[n])
            seconds[table] = share
    return values, seconds


def run_benchmark(
    targets: Sequence[str] = tuple(TARGETS),
    models: Mapping[str, Sequence[str]] | None = None,
    *,
    config: BenchmarkConfig | None = None,
    out: str | Path | None = None,
    store: Any = None,
    progress: ProgressFn | None = None,
    log: Callable[[str], None] | None = None,
    finetune: str | Path | None = None,
) -> BenchmarkResult:
    """Run (or resume) the zoo benchmark.

    A record stored before a score (or the data-free prior) joined the plan gets only what
    it lacks, computed from the feature store, and is appended again (the last line wins).

    Parameters
    ----------
    targets : sequence of str
        Keys of `TARGETS`.
    models : mapping of modality to sequence of str, optional
        Model specs per modality (``{"image": [...], "text": [...]}``); default every
        installed zoo candidate of that modality.
    config : BenchmarkConfig, optional
    out : str or Path, optional
        Folder of the checkpoint ``records.jsonl``; None keeps nothing on disk but features.
    store : FeatureStore, str or Path, optional
        Feature store (default ``$PED_HOME/features``).
    progress : callable, optional
        ``progress(done, total, description=...)`` once per (target, model).
    log : callable, optional
        Receives one line per finished (target, model).
    finetune : str or Path, optional
        Folder of the fine-tuning ground truth's ``records.jsonl`` (`ped.finetune.protocol`),
        read into `BenchmarkResult.finetune` so that the scores are judged against it too.

    Returns
    -------
    BenchmarkResult
    """
    from ..models import list_zoo  # imports torch: only when the benchmark runs

    config = config or BenchmarkConfig()
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise ValueError(f"Unknown benchmark target {unknown[0]!r}; choose from {list(TARGETS)}.")
    if models is None:
        zoo = [e for e in list_zoo() if e.installed]
        models = {m: [e.spec for e in zoo if e.modality == m] for m in ("image", "text")}
    ckpt = Path(out) / "records.jsonl" if out is not None else None
    if ckpt is not None:
        ckpt.parent.mkdir(parents=True, exist_ok=True)
    done = read_records(ckpt) if ckpt is not None else {}
    key = config.key()
    # Model-major order: a partial run covers every target with the same models.
    jobs = [
        (t, m)
        for modality in ("text", "image")
        for m in models.get(modality, [])
        for t in targets
        if TARGETS[t]["modality"] == modality
    ]
    result = BenchmarkResult(config)
    if finetune is not None:
        ft = load_records(Path(finetune) / "records.jsonl")
        result.finetune = [r for r in ft if r.get("target") in targets]
    for i, (target, spec) in enumerate(jobs):
        stored = done.get((key, target, spec))
        if stored is not None and not _same_split(config, stored):
            stored = None  # split by an earlier rule (a small target): run the pair again
        if stored is not None and not _missing(config, stored):
            result.records.append(stored)
            if progress is not None:
                progress(i + 1, len(jobs), description=f"{target}: {spec} (stored)")
            continue
        if stored is not None:  # written before scores were added: compute only those
            rec = _upgrade_pair(config, stored, store)
        else:
            rec = _run_pair(config, target, spec, store)
        result.records.append(rec)
        if ckpt is not None:
            with ckpt.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
        if log is not None:
            log(_pair_line(rec))
        if progress is not None:
            progress(i + 1, len(jobs), description=f"{target}: {spec}")
    return result


def split_of_seed(
    config: BenchmarkConfig, labels: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The (train, test) positions of one ground-truth seed in a target's pool.

    A stratified split of ``config.n_test`` test items, scaled down on a target smaller than
    the pool (`ped.finetune.pool_test_size`); the fine-tuned truth uses the same split.
    """
    n_test = pool_test_size(labels.shape[0], config.pool, config.n_test)
    return seed_split(labels, n_test, seed)


def seed_probe(
    config: BenchmarkConfig, X: np.ndarray, y: np.ndarray, seed: int
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """The benchmark's linear probe on one seed: (test accuracy in %, chosen C, train, test).

    ``train`` and ``test`` are the seed's positions in the pool (`split_of_seed`).
    """
    train, test = split_of_seed(config, y, seed)
    acc, c = probe_accuracy(X, y, train, test, cs=config.cs, seed=seed, max_iter=config.max_iter)
    return acc, c, train, test


def _run_pair(config: BenchmarkConfig, target: str, spec: str, store: Any) -> dict[str, Any]:
    """The record of one (target, model): its features, then per seed the probe and scores."""
    from ..models import load_backbone  # imports torch

    modality = TARGETS[target]["modality"]
    bb = load_backbone(spec, image_size=config.image_size) if modality == "image" else (
        load_backbone(spec)
    )  # fmt: skip
    t0 = time.perf_counter()
    fs = extract(bb, target, limit=config.pool, store=store)
    refs = _references(config, bb, target, modality, config.references, store)
    extract_seconds = time.perf_counter() - t0
    X = np.asarray(fs.features, dtype=np.float32)
    y = np.asarray(fs.labels)
    probs = None if fs.source_probs is None else np.asarray(fs.source_probs)
    plan = _score_plan(config, [r for r in config.references if r in refs or r == "target"],
                       probs is not None)  # fmt: skip
    seeds = [_run_seed(config, seed, X, y, probs, refs, plan) for seed in range(config.seeds)]
    return {
        "prior": _prior(bb),
        "config_key": config.key(),
        "target": target,
        "model": fs.model,
        "spec": spec,
        "n_features": fs.n_features,
        "n_pool": fs.n_samples,
        "extract_seconds": extract_seconds,
        "extract_cached": bool(fs.cached),
        "seeds": seeds,
    }


def _prior(bb: Any) -> dict[str, float | None]:
    """The model's data-free prior (`ped.models.prior.model_prior`) as a record field."""
    from ..models.prior import model_prior  # imports torch

    p = model_prior(bb)
    return {"params": p.params, "imagenet_top1": p.imagenet_top1}


def _same_split(config: BenchmarkConfig, rec: Mapping[str, Any]) -> bool:
    """Whether a stored record's seeds were split as `pool_test_size` splits its pool now."""
    n_test = pool_test_size(int(rec["n_pool"]), config.pool, config.n_test)
    return all(int(s["n_test"]) == n_test for s in rec["seeds"])


def _missing(config: BenchmarkConfig, rec: Mapping[str, Any]) -> list[tuple]:
    """The plan entries (and the prior, as ``("prior", ...)``) a stored record lacks."""
    modality = TARGETS[rec["target"]]["modality"]
    has_probs = any("leep" in s["scores"] for s in rec["seeds"])  # LEEP ran iff probs exist
    plan = _score_plan(config, _plan_references(config, modality), has_probs)
    todo = [p for p in plan if any(p[0] not in s["scores"] for s in rec["seeds"])]
    if "prior" not in rec:
        todo.append(("prior", None, None, None))
    return todo


def _upgrade_pair(config: BenchmarkConfig, rec: Mapping[str, Any], store: Any) -> dict[str, Any]:
    """A stored record with the scores (and prior) it lacks, features from the feature store.

    Only the missing entries are computed, on each seed's own training part; the values
    already stored are kept as they are.
    """
    from ..models import load_backbone  # imports torch

    target, spec = rec["target"], rec["spec"]
    modality = TARGETS[target]["modality"]
    todo = _missing(config, rec)
    plan = [p for p in todo if p[0] != "prior"]
    bb = load_backbone(spec, image_size=config.image_size) if modality == "image" else (
        load_backbone(spec)
    )  # fmt: skip
    out = json.loads(json.dumps(rec))  # a deep copy
    if len(plan) < len(todo):
        out["prior"] = _prior(bb)
    if not plan:
        return out
    fs = extract(bb, target, limit=config.pool, store=store)
    X = np.asarray(fs.features, dtype=np.float32)
    y = np.asarray(fs.labels)
    probs = None if fs.source_probs is None else np.asarray(fs.source_probs)
    needed = sorted({p[3] for p in plan if p[3] not in (None, "target")})
    refs = _references(config, bb, target, modality, needed, store)
    plan = [p for p in plan if p[3] in (None, "target") or p[3] in refs]
    for seed_rec in out["seeds"]:
        train, _ = split_of_seed(config, y, int(seed_rec["seed"]))
        Xtr, ytr = X[train], y[train]
        seed_refs = dict(refs, target=ReferenceStats.from_features(Xtr, source="target"))
        mine = [p for p in plan if p[0] not in seed_rec["scores"]]
        values, secs = _score_seed(
            Xtr, ytr, None if probs is None else probs[train], seed_refs, mine
        )
        seed_rec["scores"].update(values)
        seed_rec["score_seconds"].update(secs)
    return out


def _references(
    config: BenchmarkConfig,
    bb: Any,
    target: str,
    modality: str,
    references: Sequence[str],
    store: Any,
) -> dict[str, ReferenceStats]:
    """PED's ``other`` and ``crops`` reference statistics of one model (``target``'s are per
    seed), for those of ``references``."""
    refs: dict[str, ReferenceStats] = {}
    for r in references:
        if r == "other":
            other = TARGETS[target]["other"]
            # Another benchmark target is read from its pool (already in the store).
            lim = config.pool if other in TARGETS else config.reference_limit
            rf = extract(bb, other, limit=lim, store=store)
            refs[r] = ReferenceStats.from_features(rf.features, source=other)
        elif r == "crops" and modality == "image":
            rf = extract(bb, "natural-crops", limit=config.reference_limit, store=store)
            refs[r] = ReferenceStats.from_features(rf.features, source="natural-crops")
    return refs


def _run_seed(
    config: BenchmarkConfig,
    seed: int,
    X: np.ndarray,
    y: np.ndarray,
    probs: np.ndarray | None,
    refs: Mapping[str, ReferenceStats],
    plan: Sequence[tuple[str, str, float | None, str | None]],
) -> dict[str, Any]:
    """One ground-truth seed: its split, the probe's test accuracy, every score on train."""
    t1 = time.perf_counter()
    acc, c, train, test = seed_probe(config, X, y, seed)
    probe_seconds = time.perf_counter() - t1
    Xtr, ytr = X[train], y[train]
    seed_refs = dict(refs)
    seed_refs["target"] = ReferenceStats.from_features(Xtr, source="target")
    values, secs = _score_seed(Xtr, ytr, None if probs is None else probs[train], seed_refs, plan)
    return {
        "seed": seed,
        "n_train": int(train.size),
        "n_test": int(test.size),
        "accuracy": acc,
        "c": c,
        "probe_seconds": probe_seconds,
        "scores": values,
        "score_seconds": secs,
    }


def _pair_line(rec: Mapping[str, Any]) -> str:
    """The log line of a finished (target, model)."""
    seeds = rec["seeds"]
    accs = [s["accuracy"] for s in seeds]
    return (
        f"{rec['target']} {rec['spec']}: acc {np.mean(accs):.2f} "
        f"(seeds {', '.join(f'{a:.1f}' for a in accs)}); "
        f"extract {rec['extract_seconds']:.1f} s, "
        f"probe {sum(s['probe_seconds'] for s in seeds):.1f} s, "
        f"scores {sum(sum(s['score_seconds'].values()) for s in seeds):.1f} s"
    )
