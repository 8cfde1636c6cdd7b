"""`ped benchmark`: the offline zoo benchmark (ground truth over seeds, every score, PED grid)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.table import Table

from ._common import console, err_console, print_json, progress_bar

app = typer.Typer()

#: Models of `ped benchmark --quick`: small pool, two seeds, a handful of models.
QUICK_IMAGE = (
    "zoo:efficientnet-lite0@s8",
    "zoo:mobilenetv2@s16",
    "zoo:ppocr-cls",
    "zoo:random-mobilenetv2",
)
QUICK_TEXT = ("zoo:glove-50d", "zoo:static-64", "zoo:minilm-l3")


@app.command("benchmark")
def benchmark_cmd(
    target: list[str] = typer.Option(
        None, "--target", "-t", help="mnist5k, fashion-mnist, rotten-tomatoes (default all)."
    ),
    model: list[str] = typer.Option(
        None, "--model", "-m", help="Model specs (default every installed zoo candidate)."
    ),
    pool: int | None = typer.Option(None, help="Items per target and model (default 3000)."),
    n_test: int | None = typer.Option(
        None, "--test", help="Test items per ground-truth seed (default 2000)."
    ),
    seeds: int | None = typer.Option(None, help="Ground-truth seeds (default 3)."),
    quick: bool = typer.Option(
        False,
        "--quick",
        help="A small slice: 4 image and 3 text models, pool 400, 200 test items, 2 seeds.",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Folder of records.jsonl, results.json, tables.md and plots "
        "(default $PED_HOME/benchmark, or $PED_HOME/benchmark-quick with --quick).",
    ),  # fmt: skip
    docs: Path | None = typer.Option(
        None, "--docs", help="Also write the tables into this Markdown file between markers."
    ),
    n_boot: int = typer.Option(1000, help="Bootstrap replicates of the intervals."),
    render_only: bool = typer.Option(
        False, "--render-only", help="Compute nothing: tabulate the records already in --out."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Rank the zoo on each target against a linear probe over several seeds; PED's grid.

    Resumable: each finished (target, model) is kept in records.jsonl of --out, and features
    come from the feature store. `docs/benchmarks.md` is regenerated with
    `ped benchmark --docs docs/benchmarks.md --out docs/benchmarks`.
    """
    from .. import _paths
    from ..benchmark import TARGETS, BenchmarkConfig, run_benchmark, write_outputs

    targets = list(target) if target else list(TARGETS)
    defaults = BenchmarkConfig()
    kw = {
        "pool": pool or (400 if quick else defaults.pool),
        "n_test": n_test or (200 if quick else defaults.n_test),
        "seeds": seeds or (2 if quick else defaults.seeds),
    }
    if quick:
        kw["reference_limit"] = 200
    config = BenchmarkConfig(**kw)
    models = _models(model, quick)
    folder = out or (_paths.ped_home() / ("benchmark-quick" if quick else "benchmark"))
    t0 = time.perf_counter()
    if render_only:
        from ..benchmark import load_result

        result = load_result(folder, targets, config)
    else:
        with progress_bar("benchmark", enabled=not (quiet or as_json), unit="models") as prog:
            result = run_benchmark(
                targets,
                models,
                config=config,
                out=folder,
                progress=prog,
                log=None if (quiet or as_json) else (lambda line: err_console.print(line)),
            )
    if not result.records:
        raise ValueError(
            "No model of the benchmark's modalities is installed for these targets; "
            "run `ped zoo install` or pass --model."
        )
    summary = write_outputs(result, folder, n_boot=n_boot, docs=docs)
    if as_json:
        summary.pop("records", None)
        print_json(summary)
        return
    _print_summary(summary)
    console.print(
        f"{len(result.records)} (target, model) pairs in {time.perf_counter() - t0:.1f} s; "
        f"tables, plots and results.json in {folder}"
    )


def _models(model: list[str] | None, quick: bool) -> dict[str, list[str]] | None:
    """The models by modality: those given, the quick slice (installed), or None for all."""
    from ..models import list_zoo, load_backbone

    if model:
        zoo_modality = {e.spec: e.modality for e in list_zoo()}
        models: dict[str, list[str]] = {"image": [], "text": []}
        for spec in model:
            modality = zoo_modality.get(spec) or load_backbone(spec).modality
            models[modality].append(spec)
        return models
    if quick:
        installed = {e.spec for e in list_zoo() if e.installed}
        return {
            "image": [m for m in QUICK_IMAGE if m in installed],
            "text": [m for m in QUICK_TEXT if m in installed],
        }
    return None


def _print_summary(summary: dict) -> None:
    from ..benchmark import ped_summary

    table = Table(title="weighted τ (95% CI over models and seeds): without PED / with PED")
    for col in ("target", "score", "without PED", "PED 0.6, target", "best PED variant"):
        table.add_column(col)
    for r in ped_summary(summary):

        def fmt(v, ci):
            return f"{v:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]" if v is not None else "–"

        table.add_row(
            r["target"],
            r["base"],
            fmt(r["plain"], r["plain_ci"]),
            fmt(r["default"], r["default_ci"] or [float("nan")] * 2),
            f"{r['best']:.3f} {r['best_variant']}" if r["best"] is not None else "–",
        )
    console.print(table)
