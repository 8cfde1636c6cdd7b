"""`ped evaluate`, `ped report` and `ped reproduce`: how well scores predict fine-tuning."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from ._common import console, print_json, progress_bar, warn
from ._tables import evaluation_table, fmt

app = typer.Typer()


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
    from ..workflows.reporting import evaluate_dataset

    run = evaluate_dataset(
        dataset,
        db=db,
        scores_file=scores_file,
        truth=truth,
        names=score or None,
        n_boot=n_boot,
        level=level,
    )
    e = run.evaluation
    if as_json:
        print_json(e.to_dict())
        return
    console.print(evaluation_table(e))
    if run.left_out:
        warn([f"left out, no ground truth in {e.source}: {', '.join(run.left_out)}"])


@app.command("report")
def report_cmd(
    datasets: list[str] = typer.Argument(..., help="Datasets to report on."),
    scores_file: Path | None = typer.Option(
        None, "--scores", help="Scores as JSON instead of the results database."
    ),
    truth: str | None = typer.Option(
        None,
        "--truth",
        help="Ground-truth source or JSON file (default: full, then linear; without one, "
        "the report ranks the models and compares the scores).",
    ),
    score: list[str] = typer.Option(
        None, "--score", "-s", help="Only these scores; the first orders the ranking."
    ),
    report_format: str = typer.Option("html", "--format", help="html (self-contained) or md."),
    out: Path = typer.Option(Path("ped-report"), "--out", help="Folder to write into."),
    db: Path | None = typer.Option(None, help="Results database (default $PED_HOME)."),
    n_boot: int = typer.Option(1000, help="Bootstrap replicates of the intervals."),
    dynamics: bool = typer.Option(True, help="Plot PED energy/displacement (stored features)."),
) -> None:
    """Write an HTML or Markdown report: the ranking by every score, their agreement, and
    how well each predicts the ground truth where one is known."""
    from ..workflows.reporting import build_report

    run = build_report(
        datasets,
        out=out,
        fmt=report_format,
        db=db,
        scores_file=scores_file,
        truth=truth,
        names=score or None,
        n_boot=n_boot,
        dynamics=dynamics,
    )
    for ds, values in run.scores.items():
        n = len({m for v in values.values() for m in v})
        console.print(Text(f"{ds}: {n} models, {len(values)} scores ({', '.join(values)})"))
    for e in run.evaluations:
        console.print(evaluation_table(e))
    warn(run.notes)
    console.print(Text(f"report written to {run.path}"))


@app.command("reproduce")
def reproduce_cmd(
    directory: Path | None = typer.Argument(
        None,
        help="Features in the official layout ({model}_{dataset}_feature.npy, "
        "{model}_{dataset}_label.npy, {model}_imagenet_feature.npy). Default: the store.",
    ),
    store: Path | None = typer.Option(None, help="Read the feature store instead."),
    nsigma: float | None = typer.Option(
        None, help="PED's radius multiplier (0.3 and 0.6 in the paper).", show_default="0.6"
    ),
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
            progress=progress,
            **({"nsigma": nsigma} if nsigma is not None else {}),
        )
    if as_json:
        warn(res.missing, to_stderr=True)
        print_json(res.to_dict())
        return
    diff = res.diff()
    table = Table(
        title=f"Weighted τ vs published fine-tuning accuracy (nsigma={res.nsigma:g})",
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
            cell = fmt(v, 3) if v is None else f"{v:.3f}"
            cell += f"\n({p:.3f}, {d:+.3f})" if p is not None and d is not None else "\n(–)"
            cells.append(Text(cell))
        table.add_row(s, *cells, fmt(means.get(s), 3))
    console.print(table)
    warn(res.missing)
