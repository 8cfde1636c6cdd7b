"""`ped rank`: the user's one-shot job, from a dataset and models to a ranking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.text import Text

from ._common import console, print_json, progress_bar, warn
from ._tables import ranking_table
from .features_commands import IMAGE_SIZE_HELP, check_specs, open_and_summarize, with_image_size

app = typer.Typer()


@app.command("rank")
def rank_cmd(
    dataset: str = typer.Argument(..., help="Target dataset spec (mnist5k, imagefolder:DIR, ...)."),
    models: list[str] = typer.Argument(..., help="Model specs (zoo:efficientnet-lite0, ...)."),
    score: list[str] = typer.Option(
        None,
        "--score",
        "-s",
        help="Score name; repeat for several (default: knn, parc, gbc, ped+gbc, "
        "PED at nsigma 0.3; see docs/benchmarks.md).",
    ),
    reference: str | None = typer.Option(
        None,
        "--reference",
        "-r",
        help="Reference dataset for PED's rescaling, or 'target' for the target's own "
        "statistics. Default imagenet-val (political-speeches for a text target), falling back (with a notice) to the target's "
        "statistics when it is not here; a named reference that is missing is an error.",
    ),
    param: list[str] = typer.Option(
        [],
        "--param",
        "-p",
        help="A score's parameter as SCORE.NAME=VALUE, e.g. ped+logme.nsigma=0.6; repeat.",
    ),
    nsigma: float | None = typer.Option(
        None, help="PED's nsigma for every ped+ score asked (default 0.3 in ped rank)."
    ),
    limit: int | None = typer.Option(None, help="Score the first N items (class-balanced)."),
    split: str = typer.Option("all", help="Target split (the paper scores 'all')."),
    reference_limit: int | None = typer.Option(None, help="Use N reference items."),
    image_size: int | None = typer.Option(None, help=IMAGE_SIZE_HELP),
    batch_size: int = typer.Option(64, help="Extraction batch size."),
    device: str | None = typer.Option(None, help="Extraction device (cpu, cuda)."),
    db: Path | None = typer.Option(None, help="Results database (default $PED_HOME)."),
    store: Path | None = typer.Option(None, help="Feature store (default $PED_HOME/features)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    csv: Path | None = typer.Option(None, "--csv", help="Also write the table as CSV."),
    plot: Path | None = typer.Option(None, "--plot", help="Also write a PNG bar chart."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary, no progress bar."),
) -> None:
    """Rank models for fine-tuning on a dataset: extract, score, store, and show the order.

    A repeated command reads every score stored with the same features and parameters."""
    from ..pipeline import DEFAULT_REFERENCE, default_scores, open_target, rank

    specs = [with_image_size(m, image_size) for m in models]
    check_specs(specs)  # a mistyped model is one error line, before the dataset summary
    names = _score_names(score) or default_scores()
    params = _rank_params(param, nsigma, names)
    show = not (quiet or as_json)
    target = open_and_summarize(dataset, split, limit, show=show, loader=open_target)
    # default: ImageNet val, or for a text target DEFAULT_TEXT_REFERENCE (the pipeline decides)
    ref: Any = reference if reference is not None else DEFAULT_REFERENCE
    with progress_bar("rank", enabled=not quiet) as progress:
        result = rank(
            target,
            specs,
            scores=names,
            params=params or None,
            reference=ref,
            on_missing_reference="raise" if reference is not None else "fallback",
            limit=limit,
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
        warn(result.warnings, to_stderr=True)
        print_json(result.to_dict())
        return
    console.print(ranking_table(result))
    warn(result.warnings + [n for n in result.notes() if n not in result.warnings])
    best = result.best()
    if len(best) == 1:
        console.print(f"best by {result.scores[0]}: [bold]{escape(best[0])}[/]", emoji=False)
    else:
        console.print(Text(f"tied for best by {result.scores[0]}: {', '.join(best)}"), emoji=False)
    for path, what in ((csv, "table"), (plot, "plot")):
        if path is not None:
            console.print(Text(f"{what} written to {path}"))


def _score_names(given: list[str] | None) -> list[str]:
    """``-s a -s b`` or ``-s a,b``: the score names, in order."""
    return [n.strip() for item in given or [] for n in item.split(",") if n.strip()]


def _rank_params(items: list[str], nsigma: float | None, names: list[str]) -> dict:
    """``{score: {parameter: value}}`` from ``-p SCORE.NAME=VALUE`` and ``--nsigma``."""
    from ._core_commands import _parse_params

    out: dict[str, dict[str, Any]] = {}
    if nsigma is not None:
        for n in names:
            if n.strip().lower().startswith("ped+"):
                out[n.strip().lower()] = {"nsigma": float(nsigma)}
    for key, value in _parse_params(items).items():
        score, dot, name = key.rpartition(".")
        if not dot or not score or not name:
            raise ValueError(
                f"Expected a score parameter as SCORE.NAME=VALUE (e.g. ped+logme.nsigma=0.6), "
                f"got {key!r}."
            )
        out.setdefault(score.strip().lower(), {})[name.strip()] = value
    return out
