"""`ped extract`, `ped reference`, `ped features list|remove|clean`: the feature store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from ._common import console, err_console, print_json, progress_bar

app = typer.Typer()
features = typer.Typer(help="The feature store (default $PED_HOME/features).")
app.add_typer(features, name="features")


def open_and_summarize(
    spec: str, split: str, limit: int | None, *, show: bool, loader: Any = None
) -> Any:
    """Load the target dataset (with `loader`, default `ped.data.load_dataset`) and, when
    `show`, print `ped.data.summarize` of the items that will be used (and its warnings) on
    stderr, before any extraction (issue 14 item 4)."""
    from ..data import load_dataset, summarize

    dataset = (loader or load_dataset)(spec, split)
    if show:
        for line in summarize(dataset, limit=limit).lines():
            if line.startswith("warning: "):
                line = f"[yellow]warning:[/] {escape(line[len('warning: ') :])}"
            else:
                line = escape(line)
            err_console.print(line, highlight=False, soft_wrap=True, emoji=False)
    return dataset


def check_specs(specs: list[str]) -> None:
    """Refuse a spec with no kind at all, or an unknown zoo name, without loading a model
    (other kinds are checked when the model loads)."""
    from ..models import parse_spec
    from ..models.zoo import zoo_model

    for spec in specs:
        if ":" not in spec:
            parse_spec(spec)  # raises the one-line error naming the kinds
        elif spec.split(":", 1)[0].strip().lower() == "zoo":
            zoo_model(parse_spec(spec)[1])


def with_image_size(spec: str, size: int | None) -> str:
    """A model spec with ``?image_size=`` (the same spec, hence the same stored features, as
    ``ped rank --image-size``); a spec that names its own size keeps it."""
    if size is None or not isinstance(spec, str) or "image_size=" in spec:
        return spec
    return f"{spec}{'&' if '?' in spec else '?'}image_size={int(size)}"


IMAGE_SIZE_HELP = "Input side for image models that take any size (128 is fast on CPUs)."


@app.command("extract")
def extract_cmd(
    model: str = typer.Argument(..., help="Model spec, e.g. zoo:efficientnet-lite0."),
    dataset: str = typer.Argument(..., help="Dataset spec, e.g. mnist5k, imagefolder:/path."),
    split: str = typer.Option("all", help="all, train, val, trainval or test."),
    limit: int | None = typer.Option(None, help="First N items of a class-balanced order."),
    batch_size: int = typer.Option(64, help="Items per forward pass."),
    device: str | None = typer.Option(None, help="cpu, cuda, cuda:1, ..."),
    store: Path | None = typer.Option(None, help="Feature store directory."),
    image_size: int | None = typer.Option(None, help=IMAGE_SIZE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary, no progress bar."),
) -> None:
    """Extract a model's features on a dataset (or open them from the store)."""
    from ..features import extract

    t0 = time.perf_counter()
    model = with_image_size(model, image_size)
    check_specs([model])  # a mistyped model is one error line, before the dataset summary
    target = open_and_summarize(dataset, split, limit, show=not (quiet or as_json))
    with progress_bar(f"{model} on {dataset}", enabled=not (as_json or quiet)) as cb:
        fs = extract(
            model,
            target,
            limit=limit,
            batch_size=batch_size,
            device=device,
            store=store,
            progress=cb,
        )
    out = {
        "model": fs.model,
        "dataset": fs.dataset,
        "split": fs.split,
        "key": fs.key,
        "path": str(fs.path),
        "n_samples": int(fs.features.shape[0]),
        "n_features": int(fs.features.shape[1]),
        "n_classes": int(len(set(fs.labels.tolist()))),
        "source_probs": None if fs.source_probs is None else int(fs.source_probs.shape[1]),
        "cached": bool(fs.cached),
        "seconds": time.perf_counter() - t0,
    }
    if as_json:
        print_json(out)
        return
    how = "read from the store" if fs.cached else "extracted"
    console.print(
        f"{out['n_samples']} x {out['n_features']} features, {out['n_classes']} classes, "
        f"{how} in {out['seconds']:.1f} s -> {out['path']}"
    )


@app.command("reference")
def reference_cmd(
    model: str = typer.Argument(..., help="Model spec."),
    dataset: str = typer.Option("imagenet-val", help="Reference dataset spec."),
    limit: int | None = typer.Option(None, help="First N items of a class-balanced order."),
    batch_size: int = typer.Option(64, help="Items per forward pass."),
    device: str | None = typer.Option(None, help="cpu, cuda, ..."),
    store: Path | None = typer.Option(None, help="Feature store directory."),
    image_size: int | None = typer.Option(None, help=IMAGE_SIZE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Compute and store a model's reference-domain feature statistics (for PED)."""
    from ..features import reference_stats

    model = with_image_size(model, image_size)
    t0 = time.perf_counter()
    with progress_bar(f"{model} on {dataset}", enabled=not as_json) as cb:
        ref = reference_stats(
            model,
            dataset,
            limit=limit,
            store=store,
            progress=cb,
            batch_size=batch_size,
            device=device,
        )
    out = {
        "model": model,
        "dataset": ref.source,
        "n_samples": ref.n_samples,
        "n_features": ref.n_features,
        "mean_of_means": float(ref.mean.mean()),
        "mean_of_stds": float(ref.std.mean()),
        "seconds": time.perf_counter() - t0,
    }
    if as_json:
        print_json(out)
        return
    console.print(
        f"reference statistics of {model} on {ref.source}: {ref.n_samples} samples, "
        f"{ref.n_features} dims, mean std {out['mean_of_stds']:.4g} "
        f"({out['seconds']:.1f} s)"
    )


@features.command("list")
def list_cmd(
    store: Path | None = typer.Option(None, help="Feature store directory."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the stored feature sets (and unfinished or stale items, when there are any)."""
    from ..features.store import as_store

    fs = as_store(store)
    rows = fs.entries()
    extra = fs.leftovers()
    if as_json:
        print_json(rows + extra if extra else rows)
        return
    table = Table(title=f"Feature store {fs.root}: {len(rows)} entries")
    for col in ("key", "model", "dataset", "split", "N", "D", "MB", "created"):
        table.add_column(col)
    for m in rows:
        table.add_row(
            m["key"][:12],
            str(m.get("model", "")),
            str(m.get("dataset", "")),
            str(m.get("split", "")),
            str(m.get("n_samples", m.get("N", ""))),
            str(m.get("n_features", m.get("D", ""))),
            f"{m['size_bytes'] / 2**20:.1f}",
            str(m.get("created", ""))[:19],
        )
    console.print(table)
    if extra:
        more = Table(title=f"{len(extra)} unfinished or stale items (`ped features clean`)")
        for col in ("status", "key", "MB", "path"):
            more.add_column(col)
        for m in extra:
            more.add_row(
                m["status"], (m["key"] or "")[:12], f"{m['size_bytes'] / 2**20:.1f}", m["path"]
            )
        console.print(more)


@features.command("remove")
def remove_cmd(
    key: str = typer.Argument(..., help="Entry key (a unique prefix is enough)."),
    store: Path | None = typer.Option(None, help="Feature store directory."),
) -> None:
    """Remove one stored feature set (a key that `ped features list` shows)."""
    from ..features.store import as_store

    for path in as_store(store).remove(key):
        console.print(f"removed {path}")


@features.command("clean")
def clean_cmd(
    store: Path | None = typer.Option(None, help="Feature store directory."),
) -> None:
    """Remove interrupted extractions, cut-short removals and temporary files of killed runs."""
    from ..features.store import as_store

    removed = as_store(store).clean()
    for path in removed:
        console.print(f"removed {path}")
    if not removed:
        console.print("nothing to clean")
