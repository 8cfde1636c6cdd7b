"""`ped demo`: the offline image zoo against a linear probe (`ped.workflows.demo`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from ._common import console, staged_progress, titled_table, warn
from ._tables import evaluation_table, ranking_table

app = typer.Typer()


def _show(kind: str, payload: Any, progress: Any = None) -> None:
    """Print each part of the demo as soon as the workflow hands it over (after ending the
    progress bar of the stage that produced it)."""
    if progress is not None:
        progress.close()
    if kind == "plan":
        console.print(
            f"[bold]ped demo[/]: {len(payload.backbones)} models x {', '.join(payload.datasets)}; "
            f"{payload.limit} items per split, {payload.image_size} px inputs where the network "
            f"takes any size; ground truth: linear probe over {len(payload.cs)} C values."
        )
        warn(payload.skipped)
    elif kind == "ranking":
        ds = payload.dataset
        console.print(ranking_table(payload, title=f"{ds}: ranking by {payload.scores[0]}"))
        warn(payload.warnings + [n for n in payload.notes() if n not in payload.warnings])
    elif kind == "evaluation":
        console.print(evaluation_table(payload))


def _summary(result: Any) -> None:
    from ..workflows.demo import DEMO_SCORES

    targets = result.plan.datasets
    table = titled_table("weighted τ against the linear-probe ground truth")
    table.add_column("score")
    for ds in targets:
        table.add_column(ds, justify="right")
    for s in DEMO_SCORES:
        table.add_row(s, *[f"{result.summary[ds]['weighted_tau'][s]:.3f}" for ds in targets])
    console.print(table)
    for ds in targets:
        console.print(Text(f"{ds}: best by ground truth {result.summary[ds]['best_by_truth']}"))
    timing = titled_table("time per stage")
    timing.add_column("stage")
    timing.add_column("seconds", justify="right")
    for name, sec in result.stages:
        timing.add_row(name, f"{sec:.1f}")
    timing.add_row("[bold]total[/]", f"[bold]{result.seconds:.1f}[/]")
    console.print(timing)
    console.print(Text(f"report written to {result.report}"))


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
    report_format: str = typer.Option("html", "--format", help="Report format: html or md."),
    db: Path | None = typer.Option(None, help="Results database (default $PED_HOME)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Rank the offline image zoo on mnist5k and fashion-mnist against a linear probe.

    Every score with and without PED, the linear-protocol ground truth (computed when it is
    not stored), weighted taus, timings per stage, and a report.
    """
    from ..workflows.demo import run_demo

    with staged_progress(enabled=not quiet) as progress:
        result = run_demo(
            limit=limit,
            out=out,
            quick=quick,
            image_size=image_size,
            datasets=dataset or None,
            models=model or None,
            fmt=report_format,
            db=db,
            progress=progress,
            on_event=lambda kind, payload: _show(kind, payload, progress),
        )
    _summary(result)
