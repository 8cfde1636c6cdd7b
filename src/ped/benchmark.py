"""The offline zoo benchmark: can a score tell the zoo's models apart, and does PED help?

For each target dataset, every candidate model's features are extracted once on a
class-balanced pool of items (the feature store keeps them). Each ground-truth *seed* then
draws its own stratified split of the pool into a training part and a test part of
``n_test`` items; the linear protocol (logistic regression, C chosen on a 20% hold-out of
the training part, refitted on the whole training part) gives the model's test accuracy,
and every score is computed on the same training part, with and without PED. The result
per target is a table of the ground truth (mean and standard error over seeds) and, per
score, the weighted Kendall's tau of the seed-averaged score against the seed-averaged
ground truth with a bootstrap interval over models *and* seeds, the per-seed spread, and
the selection view (rel@1, rel@3).

PED is run with ``nsigma`` 0.3 and 0.6 and with reference statistics from the target
itself (``target``), from another dataset of the same modality (``other``), and, for
images, from crops of natural photographs (``crops``, the ``natural-crops`` dataset),
for the paper's three scores (LogME, SFDA, GBC); every other feature score gets PED at the
default setting (nsigma 0.6, target statistics).

Work is checkpointed per (target, model) in ``records.jsonl`` of the output folder: an
interrupted run resumes where it stopped, and features come from the feature store.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import evaluation as ev
from .dynamics import ReferenceStats
from .report import short_name
from .scoring import list_scores, score_many

__all__ = [
    "load_result",
    "BenchmarkConfig",
    "BenchmarkResult",
    "TARGETS",
    "PAPER_BASES",
    "run_benchmark",
    "ped_name",
    "seed_split",
    "probe_accuracy",
]

#: Targets of the benchmark, their modality and the dataset used as the ``other`` reference.
TARGETS: dict[str, dict[str, str]] = {
    "mnist5k": {"modality": "image", "other": "fashion-mnist"},
    "fashion-mnist": {"modality": "image", "other": "mnist5k"},
    "rotten-tomatoes": {"modality": "text", "other": "political-speeches"},
}
#: The paper's three scores, which get the whole PED grid.
PAPER_BASES: tuple[str, ...] = ("logme", "sfda", "gbc")
#: The linear protocol's C grid used by the benchmark (every other point of the 12-point
#: grid of the fine-tuning protocol, 1e-6 .. 1e5).
BENCH_CS: tuple[float, ...] = (1e-4, 1e-2, 1e0, 1e2)
#: Default PED setting (that of `ped.scoring.DYNAMICS_PARAMS`) for the other bases.
DEFAULT_PED = (0.6, "target")

ProgressFn = Callable[..., None]


def ped_name(base: str, nsigma: float, reference: str) -> str:
    """Name of a PED variant in the benchmark's tables: ``ped+logme[0.6,target]``."""
    return f"ped+{base}[{nsigma:g},{reference}]"


@dataclass
class BenchmarkConfig:
    """Settings of one benchmark run (all of them enter the checkpoint key).

    Attributes
    ----------
    pool : int
        Items per target extracted per model (the first ``pool`` of the balanced order).
    n_test : int
        Test items per ground-truth seed (drawn from the pool, stratified).
    seeds : int
        Ground-truth seeds (splits of the pool).
    cs : tuple of float
        C grid of the linear probe.
    nsigmas : tuple of float
        PED's ``nsigma`` values for the paper's bases.
    references : tuple of str
        PED reference statistics: ``target``, ``other``, ``crops``.
    image_size : int
        Input side of the zoo networks that take any size.
    reference_limit : int
        Items of the ``other`` / ``crops`` reference data.
    max_iter : int
        L-BFGS iterations of each probe fit.
    """

    pool: int = 3000
    n_test: int = 2000
    seeds: int = 3
    cs: tuple[float, ...] = BENCH_CS
    nsigmas: tuple[float, ...] = (0.3, 0.6)
    references: tuple[str, ...] = ("target", "other", "crops")
    image_size: int = 96
    reference_limit: int = 1200
    max_iter: int = 500

    def __post_init__(self) -> None:
        self.cs = tuple(float(c) for c in self.cs)
        self.nsigmas = tuple(float(s) for s in self.nsigmas)
        self.references = tuple(self.references)
        bad = [r for r in self.references if r not in ("target", "other", "crops")]
        if bad:
            raise ValueError(f"Unknown reference {bad[0]!r}; choose target, other or crops.")
        if self.n_test < 2 or self.pool - self.n_test < 20:
            raise ValueError(
                f"Expected n_test >= 2 and at least 20 training items, got pool={self.pool}, "
                f"n_test={self.n_test}."
            )
        if self.seeds < 1:
            raise ValueError(f"Expected seeds >= 1, got {self.seeds}.")

    def key(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def seed_split(labels: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of ``range(len(labels))`` into (train, test) with ``n_test`` test items.

    Each class contributes ``round(n_test * n_c / n)`` test items (adjusted so they sum to
    ``n_test``), drawn with ``numpy.random.default_rng(seed)``.
    """
    labels = np.asarray(labels)
    n = labels.shape[0]
    classes, counts = np.unique(labels, return_counts=True)
    want = np.floor(n_test * counts / n).astype(int)
    order = np.argsort(-(n_test * counts / n - want), kind="stable")
    want[order[: n_test - want.sum()]] += 1
    rng = np.random.default_rng(seed)
    test = []
    for c, k in zip(classes, want):
        idx = np.flatnonzero(labels == c)
        test.append(rng.choice(idx, size=min(k, idx.size - 1), replace=False))
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(n), test)
    return train, test


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
    from .finetune import _select, compute_metric, probe_decisions

    num_classes = int(y.max()) + 1
    fit, val = seed_split(y[train], max(2, int(round(0.2 * train.size))), seed + 1000)
    fit, val = train[fit], train[val]
    scored = []
    for c in cs:
        dec = probe_decisions(c, X[fit], y[fit], X[val], num_classes=num_classes, max_iter=max_iter)
        scored.append((float(c), compute_metric("accuracy", dec, y[val])))
    best_c, _ = _select(scored)
    dec = probe_decisions(
        best_c, X[train], y[train], X[test], num_classes=num_classes, max_iter=max_iter
    )
    return compute_metric("accuracy", dec, y[test]), best_c


def _score_plan(config: BenchmarkConfig, references: Sequence[str], has_probs: bool):
    """``[(table name, score name, nsigma or None, reference or None), ...]``."""
    plan = []
    bases = list_scores(include_ped=False)
    feature_bases = [b for b in bases if f"ped+{b}" in list_scores()]
    for b in bases:
        if b not in feature_bases and not has_probs:
            continue  # LEEP / NCE read the source classifier, which this model lacks
        plan.append((b, b, None, None))
    for b in feature_bases:
        if b in PAPER_BASES:
            for s in config.nsigmas:
                for r in references:
                    plan.append((ped_name(b, s, r), f"ped+{b}", s, r))
        else:
            s, r = DEFAULT_PED
            plan.append((ped_name(b, s, r), f"ped+{b}", s, r))
    return plan


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


@dataclass
class BenchmarkResult:
    """Everything one benchmark run measured.

    Attributes
    ----------
    config : BenchmarkConfig
    records : list of dict
        One per (target, model): dims, timings, and per seed the ground truth and scores.
    """

    config: BenchmarkConfig
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def targets(self) -> list[str]:
        return list(dict.fromkeys(r["target"] for r in self.records))

    def models(self, target: str) -> list[str]:
        return [r["model"] for r in self.records if r["target"] == target]

    def _recs(self, target: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["target"] == target]

    def truth(self, target: str) -> dict[str, dict[str, float]]:
        """Per model: mean, standard error and per-seed test accuracies."""
        out = {}
        for r in self._recs(target):
            acc = np.array([s["accuracy"] for s in r["seeds"]])
            se = float(acc.std(ddof=1) / math.sqrt(acc.size)) if acc.size > 1 else float("nan")
            out[r["model"]] = {"mean": float(acc.mean()), "se": se, "seeds": acc.tolist()}
        return out

    def score_names(self, target: str) -> list[str]:
        names: dict[str, None] = {}
        for r in self._recs(target):
            for s in r["seeds"]:
                names.update(dict.fromkeys(s["scores"]))
        return list(names)

    def evaluate(self, target: str, *, n_boot: int = 1000) -> dict[str, dict[str, Any]]:
        """Per score: weighted tau with a bootstrap interval over models and seeds, and more.

        The headline is the weighted tau of the seed-averaged score against the seed-averaged
        ground truth; the interval resamples models and, per model, a ground-truth seed (the
        score taken on that seed's training part). ``seed_mean`` / ``seed_sd`` are the tau of
        each seed's scores against that seed's ground truth, averaged.
        """
        from .pipeline import saturated_models, tie_groups

        recs = self._recs(target)
        out: dict[str, dict[str, Any]] = {}
        replicates: dict[str, tuple[list[str], np.ndarray]] = {}
        for name in self.score_names(target):
            rows = [
                (r["model"], [s["scores"].get(name, float("nan")) for s in r["seeds"]],
                 [s["accuracy"] for s in r["seeds"]])
                for r in recs
            ]  # fmt: skip
            # Sorted by model name, so that the bootstrap is a function of the records and not
            # of the order they were written in (a resumed run appends).
            rows = sorted(
                (row for row in rows if all(math.isfinite(v) for v in row[1])), key=lambda r: r[0]
            )
            if len(rows) < 3:
                continue
            models = [m for m, _, _ in rows]
            S = np.array([v for _, v, _ in rows]).T  # (seeds, models)
            T = np.array([t for _, _, t in rows]).T
            x, y = S.mean(axis=0), T.mean(axis=0)
            reps = ev.bootstrap_replicates(S, T, n_boot=n_boot)
            replicates[name] = (models, reps)
            per_seed = [ev.weighted_tau(S[k], T[k]) for k in range(S.shape[0])]
            vals = dict(zip(models, x.tolist()))
            out[name] = {
                "n_models": len(models),
                "weighted_tau": ev.weighted_tau(x, y),
                "ci": ev.percentile_interval(reps),
                "seed_mean": float(np.mean(per_seed)),
                "seed_sd": float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0,
                "kendall_tau": ev.kendall_tau(x, y),
                "pearson": ev.pearson(x, y),
                "rel@1": ev.rel_at_k(x, y, 1),
                "rel@3": ev.rel_at_k(x, y, 3),
                "best": models[int(np.argmax(x))],
                "ties": [g for g in tie_groups(vals) if len(g) > 1],
                "saturated": saturated_models(name.split("[")[0], vals),
                "values": vals,
            }
        # PED against its own base on the same resamples: the paired difference of tau.
        for name, row in out.items():
            base = name[4:].split("[")[0] if name.startswith("ped+") else None
            if base in replicates and replicates[base][0] == replicates[name][0]:
                row["delta"] = row["weighted_tau"] - out[base]["weighted_tau"]
                row["delta_ci"] = ev.percentile_interval(replicates[name][1] - replicates[base][1])
        return out

    def to_dict(self, *, n_boot: int = 1000) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "targets": {
                t: {
                    "models": self.models(t),
                    "truth": self.truth(t),
                    "scores": self.evaluate(t, n_boot=n_boot),
                    "seconds": {
                        "extract": sum(r["extract_seconds"] for r in self._recs(t)),
                        "probe": sum(s["probe_seconds"] for r in self._recs(t) for s in r["seeds"]),
                        "scores": sum(
                            sum(s["score_seconds"].values())
                            for r in self._recs(t)
                            for s in r["seeds"]
                        ),
                    },
                }
                for t in self.targets
            },
            "records": self.records,
        }


def read_records(path: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The finished (target, model) records of a ``records.jsonl``, keyed by
    ``(config key, target, spec)``; a line cut by a crash is skipped."""
    done = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            done[(rec["config_key"], rec["target"], rec["spec"])] = rec
    return done


def load_result(
    out: str | Path, targets: Sequence[str], config: BenchmarkConfig | None = None
) -> BenchmarkResult:
    """The stored records of ``out/records.jsonl`` for these targets and this configuration,
    without computing anything (``ped benchmark --render-only``)."""
    config = config or BenchmarkConfig()
    key = config.key()
    stored = read_records(Path(out) / "records.jsonl").values()
    return BenchmarkResult(
        config, [r for r in stored if r["config_key"] == key and r["target"] in targets]
    )


def run_benchmark(
    targets: Sequence[str] = tuple(TARGETS),
    models: Mapping[str, Sequence[str]] | None = None,
    *,
    config: BenchmarkConfig | None = None,
    out: str | Path | None = None,
    store: Any = None,
    progress: ProgressFn | None = None,
    log: Callable[[str], None] | None = None,
) -> BenchmarkResult:
    """Run (or resume) the zoo benchmark.

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

    Returns
    -------
    BenchmarkResult
    """
    from .features import extract
    from .models import list_zoo, load_backbone

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
    for i, (target, spec) in enumerate(jobs):
        if (key, target, spec) in done:
            result.records.append(done[(key, target, spec)])
            if progress is not None:
                progress(i + 1, len(jobs), description=f"{target}: {spec} (stored)")
            continue
        modality = TARGETS[target]["modality"]
        bb = load_backbone(spec, image_size=config.image_size) if modality == "image" else (
            load_backbone(spec)
        )  # fmt: skip
        t0 = time.perf_counter()
        fs = extract(bb, target, limit=config.pool, store=store)
        refs: dict[str, ReferenceStats] = {}
        for r in config.references:
            if r == "other":
                other = TARGETS[target]["other"]
                # Another benchmark target is read from its pool (already in the store).
                lim = config.pool if other in TARGETS else config.reference_limit
                rf = extract(bb, other, limit=lim, store=store)
                refs[r] = ReferenceStats.from_features(rf.features, source=other)
            elif r == "crops" and modality == "image":
                rf = extract(bb, "natural-crops", limit=config.reference_limit, store=store)
                refs[r] = ReferenceStats.from_features(rf.features, source="natural-crops")
        extract_seconds = time.perf_counter() - t0
        X = np.asarray(fs.features, dtype=np.float32)
        y = np.asarray(fs.labels)
        probs = None if fs.source_probs is None else np.asarray(fs.source_probs)
        plan = _score_plan(config, [r for r in config.references if r in refs or r == "target"],
                           probs is not None)  # fmt: skip
        seeds = []
        for seed in range(config.seeds):
            train, test = seed_split(y, config.n_test, seed)
            t1 = time.perf_counter()
            acc, c = probe_accuracy(
                X, y, train, test, cs=config.cs, seed=seed, max_iter=config.max_iter
            )
            probe_seconds = time.perf_counter() - t1
            Xtr, ytr = X[train], y[train]
            seed_refs = dict(refs)
            seed_refs["target"] = ReferenceStats.from_features(Xtr, source="target")
            values, secs = _score_seed(
                Xtr, ytr, None if probs is None else probs[train], seed_refs, plan
            )
            seeds.append(
                {
                    "seed": seed,
                    "n_train": int(train.size),
                    "n_test": int(test.size),
                    "accuracy": acc,
                    "c": c,
                    "probe_seconds": probe_seconds,
                    "scores": values,
                    "score_seconds": secs,
                }
            )
        rec = {
            "config_key": key,
            "target": target,
            "model": fs.model,
            "spec": spec,
            "n_features": fs.n_features,
            "n_pool": fs.n_samples,
            "extract_seconds": extract_seconds,
            "extract_cached": bool(fs.cached),
            "seeds": seeds,
        }
        result.records.append(rec)
        if ckpt is not None:
            with ckpt.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
        if log is not None:
            accs = [s["accuracy"] for s in seeds]
            log(
                f"{target} {spec}: acc {np.mean(accs):.2f} (seeds {', '.join(f'{a:.1f}' for a in accs)}); "
                f"extract {extract_seconds:.1f} s, probe {sum(s['probe_seconds'] for s in seeds):.1f} s, "
                f"scores {sum(sum(s['score_seconds'].values()) for s in seeds):.1f} s"
            )
        if progress is not None:
            progress(i + 1, len(jobs), description=f"{target}: {spec}")
    return result


# --------------------------------------------------------------------------------------------
# Tables and plots


def _f(v: Any, digits: int = 3) -> str:
    return "–" if v is None or not math.isfinite(float(v)) else f"{float(v):.{digits}f}"


def ped_summary(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per target and paper base: weighted tau without PED, at the default and at the best."""
    rows = []
    for target, t in summary["targets"].items():
        scores = t["scores"]
        for base in PAPER_BASES:
            if base not in scores:
                continue
            variants = {k: v for k, v in scores.items() if k.startswith(f"ped+{base}[")}
            default = scores.get(ped_name(base, *DEFAULT_PED))
            best = max(variants.items(), key=lambda kv: kv[1]["weighted_tau"], default=None)
            rows.append(
                {
                    "target": target,
                    "base": base,
                    "plain": scores[base]["weighted_tau"],
                    "plain_ci": scores[base]["ci"],
                    "default": None if default is None else default["weighted_tau"],
                    "default_ci": None if default is None else default["ci"],
                    "best_variant": None if best is None else best[0],
                    "best": None if best is None else best[1]["weighted_tau"],
                }
            )
    return rows


def render_markdown(summary: Mapping[str, Any], plots: Mapping[str, str] | None = None) -> str:
    """The benchmark's tables as Markdown (what ``ped benchmark`` writes to ``tables.md``)."""
    plots = dict(plots or {})
    cfg = summary["config"]
    lines = [
        f"Settings: pool {cfg['pool']} items per target and model, {cfg['seeds']} ground-truth "
        f"seeds, each a stratified split into {cfg['pool'] - cfg['n_test']} training and "
        f"{cfg['n_test']} test items; linear probe C grid {list(cfg['cs'])} chosen on a 20% "
        f"hold-out of the training part; scores on the training part; images at "
        f"{cfg['image_size']} px. Intervals: 95% percentile bootstrap over models and, per "
        "model, a ground-truth seed (1000 replicates).",
        "",
    ]
    if "heatmap" in plots:
        lines += [f"![weighted tau per target and score]({plots['heatmap']})", ""]
    targets = list(summary["targets"])
    lines += [
        "### PED against the plain score",
        "",
        "Weighted τ of each PED variant, and in brackets its difference from the plain score "
        "with a 95% paired bootstrap interval (the same resamples of models and seeds for "
        "both). An interval that excludes 0 is a difference the benchmark can resolve.",
        "",
    ]
    for base in PAPER_BASES:
        lines += [f"| {base} | " + " | ".join(targets) + " |", "|---" * (len(targets) + 1) + "|"]
        names = [base] + [ped_name(base, ns, r) for ns in cfg["nsigmas"] for r in cfg["references"]]
        for name in names:
            cells = []
            for t in targets:
                row = summary["targets"][t]["scores"].get(name)
                if row is None:
                    cells.append("–")
                elif "delta" in row:
                    lo, hi = row["delta_ci"]
                    cells.append(
                        f"{_f(row['weighted_tau'])} ({row['delta']:+.3f} [{_f(lo, 2)}, {_f(hi, 2)}])"
                    )
                else:
                    lo, hi = row["ci"]
                    cells.append(f"{_f(row['weighted_tau'])} [{_f(lo, 2)}, {_f(hi, 2)}]")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    image_targets = [t for t in targets if TARGETS.get(t, {}).get("modality") == "image"]
    lines += [
        "### Every score, mean over the targets",
        "",
        "Sorted by the mean over the image targets (where the zoo has 37 models; the text "
        "target has 4, on which most scores are perfect). `–`: not defined there (crop "
        "statistics exist for images only; LEEP and NCE need a source classifier, and are "
        "taken over the 4 models that have one).",
        "",
        "| score | " + " | ".join(targets) + " | mean, images | mean, all |",
        "|---" * (len(targets) + 3) + "|",
    ]
    names = list(dict.fromkeys(n for t in targets for n in summary["targets"][t]["scores"]))

    def mean_of(name: str, ts: Sequence[str]) -> float:
        vals = [summary["targets"][t]["scores"].get(name, {}).get("weighted_tau") for t in ts]
        ok = [v for v in vals if v is not None and math.isfinite(v)]
        return float(np.mean(ok)) if ts and len(ok) == len(ts) else float("nan")

    rows = [(n, mean_of(n, image_targets), mean_of(n, targets)) for n in names]
    rows.sort(key=lambda r: -r[1] if math.isfinite(r[1]) else math.inf)
    for name, m_img, m_all in rows:
        vals = [summary["targets"][t]["scores"].get(name, {}).get("weighted_tau") for t in targets]
        lines.append(
            f"| {name} | " + " | ".join(_f(v) for v in vals) + f" | {_f(m_img)} | {_f(m_all)} |"
        )
    lines.append("")
    for target, t in summary["targets"].items():
        truth = t["truth"]
        sec = t["seconds"]
        lines += [
            f"### {target}: {len(t['models'])} models",
            "",
            f"Time: extraction {sec['extract']:.0f} s (0 when read from the store), linear "
            f"probes {sec['probe']:.0f} s, scores {sec['scores']:.0f} s.",
            "",
        ]
        if f"truth:{target}" in plots:
            lines += [f"![ground truth on {target}]({plots[f'truth:{target}']})", ""]
        lines += ["| score | models | weighted τ [95% CI] | per seed (mean ± sd) | Kendall τ | "
                  "Pearson | rel@1 | rel@3 | top model | flags |",
                  "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for name, s in t["scores"].items():
            flags = []
            if s["saturated"]:
                flags.append(f"saturated: {', '.join(short_name(m) for m in s['saturated'])}")
            if s["ties"]:
                flags.append(
                    "ties: " + "; ".join("=".join(short_name(m) for m in g) for g in s["ties"])
                )
            lines.append(
                f"| {name} | {s['n_models']} | {_f(s['weighted_tau'])} [{_f(s['ci'][0])}, "
                f"{_f(s['ci'][1])}] | {_f(s['seed_mean'])} ± {_f(s['seed_sd'])} | "
                f"{_f(s['kendall_tau'])} | {_f(s['pearson'])} | {_f(s['rel@1'])} | "
                f"{_f(s['rel@3'])} | {short_name(s['best'])} | {' '.join(flags)} |"
            )
        lines += ["", f"Ground truth on {target} (linear probe, test accuracy %):", ""]
        lines += ["| model | dim | mean | s.e. | seeds |", "|---|---|---|---|---|"]
        dims = {r["model"]: r["n_features"] for r in summary["records"] if r["target"] == target}
        for m, g in sorted(truth.items(), key=lambda kv: -kv[1]["mean"]):
            lines.append(
                f"| {short_name(m)} | {dims.get(m, '')} | {g['mean']:.2f} | {_f(g['se'], 2)} | "
                f"{', '.join(f'{a:.2f}' for a in g['seeds'])} |"
            )
        lines.append("")
        for base in PAPER_BASES:
            key = f"scatter:{target}:{base}"
            if key in plots:
                lines += [f"![{base} vs ground truth on {target}]({plots[key]})", ""]
    return "\n".join(lines)


def plot_truth(summary: Mapping[str, Any], target: str, path: str | Path) -> Path:
    """Ground truth per model with its standard error over seeds, best on top."""
    from .report import _pyplot

    plt = _pyplot()
    truth = summary["targets"][target]["truth"]
    items = sorted(truth.items(), key=lambda kv: kv[1]["mean"])
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.22 * len(items)), constrained_layout=True)
    ys = np.arange(len(items))
    means = [g["mean"] for _, g in items]
    ses = [0 if not math.isfinite(g["se"]) else g["se"] for _, g in items]
    ax.barh(ys, means, xerr=ses, color="tab:blue", alpha=0.8, capsize=2)
    ax.set_yticks(ys, [short_name(m) for m, _ in items], fontsize=7)
    lo = min(means) - 5
    ax.set_xlim(max(0, lo), min(100, max(means) + 3))
    ax.set_xlabel("linear-probe test accuracy (%), ± s.e. over seeds")
    ax.set_title(f"{target}: ground truth", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_scatter(summary: Mapping[str, Any], target: str, base: str, path: str | Path) -> Path:
    """A base score and its default PED variant against the ground truth, one dot per model."""
    from .report import _label_points, _pyplot

    plt = _pyplot()
    t = summary["targets"][target]
    names = [base, ped_name(base, *DEFAULT_PED)]
    names = [n for n in names if n in t["scores"]]
    fig, axes = plt.subplots(
        1, len(names), figsize=(5.5 * len(names), 4.2), squeeze=False, constrained_layout=True
    )
    for ax, name in zip(axes[0], names):
        vals = t["scores"][name]["values"] if "values" in t["scores"][name] else {}
        models = [m for m in vals if m in t["truth"]]
        xs = [vals[m] for m in models]
        ys = [t["truth"][m]["mean"] for m in models]
        ax.scatter(xs, ys, color="tab:orange" if name.startswith("ped+") else "tab:blue", s=14)
        _label_points(ax, [short_name(m) for m in models], xs, ys)
        ax.set_title(f"{name}: weighted τ = {t['scores'][name]['weighted_tau']:.3f}", fontsize=9)
        ax.set_xlabel("score (mean over seeds)")
        ax.set_ylabel("linear-probe accuracy (%)")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{target}", fontsize=10)
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_outputs(
    result: BenchmarkResult,
    folder: str | Path,
    *,
    n_boot: int = 1000,
    plots: bool = True,
    docs: str | Path | None = None,
) -> dict[str, Any]:
    """Write ``results.json``, ``tables.md`` and the PNG plots of a run into ``folder``.

    With ``docs``, the tables also replace the text between the lines
    ``<!-- benchmark:begin -->`` and ``<!-- benchmark:end -->`` of that Markdown file
    (plots linked relative to it).

    Returns
    -------
    dict
        The summary written to ``results.json``.
    """
    import os

    from .report import plot_heatmap

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    summary = result.to_dict(n_boot=n_boot)
    files: dict[str, str] = {}
    if plots and summary["targets"]:
        main = [s for b in PAPER_BASES for s in (b, ped_name(b, *DEFAULT_PED))]
        others = [b for b in list_scores(include_ped=False) if b not in PAPER_BASES]
        table = {
            t: {s: v["scores"][s]["weighted_tau"] for s in main + others if s in v["scores"]}
            for t, v in summary["targets"].items()
        }
        files["heatmap"] = plot_heatmap(
            table, folder / "heatmap.png", title="weighted τ against the linear-probe truth"
        ).name
        for t in summary["targets"]:
            files[f"truth:{t}"] = plot_truth(summary, t, folder / f"truth-{t}.png").name
            for b in PAPER_BASES:
                if b in summary["targets"][t]["scores"]:
                    files[f"scatter:{t}:{b}"] = plot_scatter(
                        summary, t, b, folder / f"scatter-{t}-{b}.png"
                    ).name
    (folder / "results.json").write_text(json.dumps(summary, indent=1))
    (folder / "tables.md").write_text(render_markdown(summary, files) + "\n")
    if docs is not None:
        docs = Path(docs)
        rel = os.path.relpath(folder, docs.parent)
        text = docs.read_text() if docs.is_file() else ""
        begin, end = "<!-- benchmark:begin -->", "<!-- benchmark:end -->"
        body = render_markdown(summary, {k: f"{rel}/{v}" for k, v in files.items()})
        block = f"{begin}\n{body}\n{end}"
        if begin in text and end in text:
            text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
        else:
            text = text + ("\n" if text else "") + block + "\n"
        docs.write_text(text)
    return summary
