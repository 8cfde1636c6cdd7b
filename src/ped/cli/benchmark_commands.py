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
        None,
        "--target",
        "-t",
        help="mnist5k, fashion-mnist, animal-mnist, rotten-tomatoes, presidential-debates (default all).",
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
    finetune: Path = typer.Option(
        Path("docs/benchmarks/finetune"),
        "--finetune",
        help="Folder of the fine-tuning ground truth's records.jsonl (`ped finetune-truth`); "
        "the scores are judged against it beside the linear probe (a missing folder: none).",
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
    come from the feature store; a stored record gets only the scores it lacks.
    `docs/benchmarks.md` is regenerated from the committed records with
    `ped benchmark --render-only --docs docs/benchmarks.md --out docs/benchmarks`.
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

        result = load_result(folder, targets, config, finetune=finetune)
    else:
        with progress_bar("benchmark", enabled=not (quiet or as_json), unit="models") as prog:
            result = run_benchmark(
                targets,
                models,
                config=config,
                out=folder,
                progress=prog,
                log=None if (quiet or as_json) else (lambda line: err_console.print(line)),
                finetune=finetune,
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


@app.command("finetune-truth")
def finetune_truth_cmd(
    target: list[str] = typer.Option(
        None, "--target", "-t", help="Targets (default fashion-mnist and animal-mnist)."
    ),
    model: list[str] = typer.Option(
        None,
        "--model",
        "-m",
        help="Model specs with a trainable torch module (default the "
        "protocol's candidates, cheapest first).",
    ),  # fmt: skip
    seeds: str = typer.Option("0,1", "--seeds", help="Ground-truth seeds, comma-separated."),
    out: Path | None = typer.Option(
        None, "--out", help="Folder of records.jsonl (default $PED_HOME/finetune-truth)."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    threads: int = typer.Option(1, "--threads", help="torch threads of each run (recorded)."),
    workers: int = typer.Option(1, "--workers", help="Processes, each on every n-th model."),
    epochs: int = typer.Option(10, "--epochs", help="Passes over the fitting items."),
    image_size: int = typer.Option(64, "--image-size", help="Input side in pixels."),
    lrs: str = typer.Option("0.03,0.01,0.003", "--lrs", help="Learning rates, comma-separated."),
    augment: str = typer.Option("none", "--augment", help="none, shift or imagenet."),
    head_norm: str = typer.Option(
        "batchnorm",
        "--head-norm",
        help="batchnorm (the head reads standardised features) or none (the earlier protocol).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Fine-tune every candidate (all layers, a learning-rate grid) on the benchmark's splits.

    The fine-tuned ground truth of `ped benchmark --finetune`: one record per (target, model,
    seed, learning rate) with its learning curve, appended to records.jsonl of --out at once,
    so an interrupted run resumes. The protocol is described in docs/benchmarks.md.
    """
    from .. import _paths
    from ..finetune.protocol import (
        CANDIDATES,
        FINETUNE_TARGETS,
        FinetuneConfig,
        run_finetune_truth,
        summarise,
    )

    config = FinetuneConfig(
        epochs=epochs, image_size=image_size, lrs=_floats(lrs, "--lrs"), augment=augment,
        threads=threads, device=device, head_norm=head_norm,
    )  # fmt: skip
    folder = out or (_paths.ped_home() / "finetune-truth")
    t0 = time.perf_counter()
    with progress_bar("fine-tuning", enabled=not quiet, unit="jobs") as prog:
        records = run_finetune_truth(
            list(target) if target else list(FINETUNE_TARGETS),
            list(model) if model else list(CANDIDATES),
            seeds=[int(v) for v in _floats(seeds, "--seeds")],
            config=config,
            out=folder,
            progress=prog,
            log=None if quiet else (lambda line: err_console.print(line)),
            workers=workers,
        )
    table = Table(title="fine-tuned test accuracy (chosen learning rate, recomputed BN)")
    for col in ("target", "model", "seed", "lr", "test acc", "levelled off"):
        table.add_column(col)
    for tgt, specs in summarise(records).items():
        for spec, per_seed in specs.items():
            for seed, s in per_seed.items():
                edge = {"max": " (grid max)", "min": " (grid min)"}.get(s.get("edge"), "")
                table.add_row(tgt, spec, str(seed), f"{s['lr']:g}{edge}", f"{s['test_acc']:.2f}",
                              "yes" if s["levelled"] else "no")  # fmt: skip
    console.print(table)
    console.print(f"{len(records)} runs in {time.perf_counter() - t0:.1f} s; records in {folder}")


def _floats(text: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(
            f"Expected comma-separated numbers for {option}, got {text!r}; e.g. 0.03,0.01."
        ) from None


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
