"""`ped finetune` and `ped truths`: ground truth by fine-tuning sweeps, and what is known."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import console, print_json, progress_bar, titled_table
from .features_commands import IMAGE_SIZE_HELP, with_image_size

app = typer.Typer()


def _floats(text: str | None, what: str) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise ValueError(
            f"Expected {what} as comma-separated numbers such as 0.1,0.01, got {text!r}."
        ) from exc
    if not values:
        raise ValueError(f"Expected at least one value in {what}, got {text!r}.")
    return values


@app.command("finetune")
def finetune_cmd(
    model: str = typer.Argument(..., help="Model spec, e.g. zoo:efficientnet-lite0."),
    dataset: str = typer.Argument(..., help="Dataset spec, e.g. mnist5k or cifar10."),
    protocol: str = typer.Option(
        "full", "--protocol", help="full (published fine-tuning) or linear (logistic probe)."
    ),
    lrs: str | None = typer.Option(
        None, "--lrs", help="Learning rates, comma-separated (default 0.1,0.01,0.001,0.0001)."
    ),
    wds: str | None = typer.Option(
        None,
        "--wds",
        help="The grid's w values, comma-separated; weight decay used = w / lr "
        "(default 0,1e-6,1e-5,1e-4,1e-3).",
    ),
    cs: str | None = typer.Option(
        None, "--cs", help="Linear protocol: C values, comma-separated (default logspace(-6,5,12))."
    ),
    steps: int = typer.Option(5000, "--steps", help="SGD steps per grid point (full protocol)."),
    limit: int | None = typer.Option(
        None, "--limit", help="Use the first N items (class-balanced) of each split."
    ),
    batch_size: int = typer.Option(64, "--batch-size", help="Batch size."),
    seed: int = typer.Option(0, "--seed", help="Seed of the val hold-out, init and shuffling."),
    device: str | None = typer.Option(None, "--device", help="Torch device (default: auto)."),
    executor: str = typer.Option("local", "--executor", help="local or ray."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address."),
    db: Path | None = typer.Option(
        None, "--db", help="Results database (default $PED_HOME/results.sqlite)."
    ),
    image_size: int | None = typer.Option(None, "--image-size", help=IMAGE_SIZE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Fine-tune MODEL on DATASET with a hyper-parameter sweep; resumes a stopped sweep."""
    # imported here: ped.finetune loads numpy, which `ped --help` must not
    from ..finetune import DEFAULT_CS, DEFAULT_LRS, DEFAULT_WS, finetune

    # the spec with ?image_size=, so the ground truth is stored under the name `ped rank
    # --image-size` gives the same model
    model = with_image_size(model, image_size)
    kwargs = {
        "lrs": _floats(lrs, "--lrs") or list(DEFAULT_LRS),
        "ws": _floats(wds, "--wds") or list(DEFAULT_WS),
        "cs": _floats(cs, "--cs") or list(DEFAULT_CS),
    }
    with progress_bar(f"{model} on {dataset}", enabled=not as_json, unit="points") as bar:
        res = finetune(
            model,
            dataset,
            protocol=protocol,
            steps=steps,
            limit=limit,
            batch_size=batch_size,
            seed=seed,
            device=device,
            executor=executor,
            address=address,
            db=db,
            progress=bar,
            **kwargs,
        )
    if as_json:
        print_json(res.to_dict())
        return
    for note in res.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    linear = res.protocol == "linear"
    table = titled_table(f"{res.model} on {res.dataset}: {res.protocol} protocol, val {res.metric}")
    for col in ("C",) if linear else ("lr", "w", "weight decay"):
        table.add_column(col, justify="right")
    table.add_column("val", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("")
    for v in res.val_scores:
        chosen = (
            (v["c"] == res.best["c"])
            if linear
            else (v["lr"] == res.best["lr"] and v["w"] == res.best["w"])
        )
        hp = [f"{v['c']:.3g}"] if linear else [f"{v['lr']:g}", f"{v['w']:g}", f"{v['wd']:.3g}"]
        table.add_row(
            *hp,
            f"{v['score']:.2f}" if v["score"] == v["score"] else "n/a (diverged)",
            f"{v['seconds']:.1f}",
            ("best " if chosen else "") + ("(stored)" if v["cached"] else ""),
        )
    console.print(table)
    budget = "" if linear else f", {res.steps} steps"
    console.print(
        f"test {res.metric} after retraining on trainval: [bold]{res.test_score:.2f}[/bold]"
        f" ({res.n_computed} points run now, {res.compute_seconds:.1f} s of compute in all"
        f"{budget}, {res.seconds:.1f} s wall)"
    )


@app.command("truths")
def truths_cmd(
    dataset: str | None = typer.Option(None, "--dataset", help="Only this dataset."),
    db: Path | None = typer.Option(
        None, "--db", help="Results database (default $PED_HOME/results.sqlite)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the known ground truths: published tables and sweeps in the results database."""
    from ..store import ResultsDB

    store = ResultsDB(db)
    rows = store.truth_sources(dataset)
    if as_json:
        print_json(
            [
                {
                    "source": s,
                    "dataset": d,
                    "n_models": n,
                    "metric": m,
                    "values": store.ground_truth(s, d),
                }
                for s, d, n, m in rows
            ]
        )
        return
    table = titled_table(f"Ground truth known ({store.path})")
    for col in ("source", "dataset", "models", "metric", "best model"):
        table.add_column(col, justify="right" if col == "models" else "left")
    for s, d, n, m in rows:
        values = store.ground_truth(s, d)
        top = max(values, key=values.get) if values else "-"
        table.add_row(s, d, str(n), m, f"{top} ({values[top]:.2f})" if values else "-")
    console.print(table)
