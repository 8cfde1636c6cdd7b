"""`ped score`, `ped scores`, `ped simulate`: the numeric core on feature files."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ._common import console, print_json, titled_table

app = typer.Typer()


def _load_array(path: Path, what: str) -> Any:
    import numpy as np

    if not path.exists():
        raise FileNotFoundError(f"{what} file not found: {path}")
    if path.suffix == ".npz":
        with np.load(path) as z:
            keys = list(z.keys())
            if len(keys) != 1:
                raise ValueError(
                    f"Expected one array in {path}, found {len(keys)} ({', '.join(keys)}); "
                    "save one array per file (.npy)."
                )
            return z[keys[0]]
    if path.suffix in {".csv", ".txt"}:
        return np.loadtxt(path, delimiter="," if path.suffix == ".csv" else None)
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _parse_params(items: list[str]) -> dict:
    params = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"Expected a parameter as key=value, got {item!r}.")
        k, v = item.split("=", 1)
        try:
            params[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            params[k.strip()] = v
    return params


@app.command("scores")
def scores_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List every transferability score with its parameters and paper."""
    from .. import scoring

    rows = [scoring.describe_score(n) for n in scoring.list_scores(include_ped=False)]
    if as_json:
        print_json(rows)
        return
    table = Table(
        title="Transferability scores (ped+<name> or sa+<name> for any score that reads features)"
    )
    table.add_column("name")
    table.add_column("input")
    table.add_column("parameters (defaults)")
    table.add_column("summary")
    for r in rows:
        inp = "source probs" if not r["needs_features"] else "features"
        params = ", ".join(f"{k}={v}" for k, v in r["params"].items()) or "-"
        table.add_row(r["name"], inp, params, r["summary"])
    console.print(table)
    from ..hub import HUB_NOTE, HUB_SCORES

    console.print(
        f"Set-level scores of `ped rank -s`: {', '.join(HUB_SCORES)}, computed over the "
        f"candidate models (ped.hub_scores). {HUB_NOTE}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        "Data-free priors, which read no target data (ped.models.prior.model_prior): params (the "
        "parameters the features use) and IN top-1 (published ImageNet top-1, where the zoo "
        "knows it). `ped rank` shows them as columns; `ped benchmark` judges them as the "
        "predictors prior:params and prior:imagenet_top1.",  # PRIORS, without loading scipy
        highlight=False,
        soft_wrap=True,
    )


@app.command("score")
def score_cmd(
    features: Path = typer.Argument(..., help="Features, (N, D) .npy (official layout)."),
    labels: Path = typer.Argument(..., help="Labels, (N,) .npy."),
    score: list[str] = typer.Option(
        ["logme", "ped+logme"], "--score", "-s", help="Score name; repeat for several."
    ),
    reference: Path | None = typer.Option(
        None, "--reference", "-r", help="Reference-domain features (.npy) for ped+<score>."
    ),
    source_probs: Path | None = typer.Option(
        None, "--source-probs", help="Source-classifier softmax outputs (.npy) for leep/nce."
    ),
    param: list[str] = typer.Option(
        [], "--param", "-p", help="Hyper-parameter key=value, applied to every score."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Score one model's features (the numeric core on .npy files)."""
    from .. import scoring

    X = _load_array(features, "features")
    y = _load_array(labels, "labels")
    ref = _load_array(reference, "reference") if reference is not None else None
    sp = _load_array(source_probs, "source probs") if source_probs is not None else None
    if ref is None and any(s.lower().startswith("ped+") for s in score):
        raise ValueError(
            "ped+<score> needs --reference (reference-domain features of the same model, "
            "such as its ImageNet-val features); pass the target features again to rescale "
            "with the target's own statistics."
        )
    params = _parse_params(param)
    valid = {k for name in score for k in scoring.describe_score(name)["params"]}
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ValueError(
            f"Unknown parameter(s) {', '.join(map(repr, unknown))} for score(s) "
            f"{', '.join(score)}. Valid parameters: {', '.join(sorted(valid)) or 'none'}."
        )
    out = []
    for name in score:
        t0 = time.perf_counter()
        info = scoring.describe_score(name)
        own = {k: v for k, v in params.items() if k in info["params"]}
        value = scoring.score(name, X, y, source_probs=sp, reference=ref, **own)
        out.append({"score": name, "value": value, "seconds": time.perf_counter() - t0})
    if as_json:
        print_json({"features": str(features), "n_samples": int(X.shape[0]), "scores": out})
        return
    table = titled_table(f"{features.name}: {X.shape[0]} samples x {X.shape[1]} features")
    table.add_column("score")
    table.add_column("value", justify="right")
    table.add_column("seconds", justify="right")
    for r in out:
        table.add_row(r["score"], f"{r['value']:.6g}", f"{r['seconds']:.2f}")
    console.print(table)


@app.command("simulate")
def simulate_cmd(
    features: Path = typer.Argument(..., help="Features, (N, D) .npy."),
    labels: Path = typer.Argument(..., help="Labels, (N,) .npy."),
    reference: Path = typer.Option(..., "--reference", "-r", help="Reference features .npy."),
    # None: the library's default (ped.dynamics), shown as in the paper; a test checks that
    # each shown value is the library's.
    nsigma: float | None = typer.Option(
        None, help="Radius multiplier n_sigma.", show_default="0.6"
    ),
    time_step: float | None = typer.Option(None, help="Time step tau.", show_default="0.1"),
    exit_ratio: float | None = typer.Option(
        None, help="Stop when P / P0 falls to this.", show_default="0.5"
    ),
    max_steps: int | None = typer.Option(None, help="At most this many steps.", show_default="6"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Save moved features."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Run PED's potential-energy dynamics and show energy and displacement per step."""
    import numpy as np

    from ..dynamics import simulate

    X = _load_array(features, "features")
    y = _load_array(labels, "labels")
    ref = _load_array(reference, "reference")
    sim = simulate(
        X,
        y,
        reference=ref,
        # Only what the user set: the defaults are the library's (one place, ped.dynamics).
        **{
            k: v
            for k, v in {
                "nsigma": nsigma,
                "time_step": time_step,
                "exit_ratio": exit_ratio,
                "max_steps": max_steps,
            }.items()
            if v is not None
        },
    )
    if output is not None:
        np.save(output, sim.features)
    res = {
        "n_steps": sim.n_steps,
        "energy": sim.energy,
        "displacement": sim.displacement,
        "ratio": sim.ratio,
        "final_energy": sim.final_energy,
        "output": str(output) if output else None,
    }
    if as_json:
        print_json(res)
        return
    table = Table(title=f"PED dynamics: {sim.n_steps} step(s) accepted")
    for col in ("step", "energy before", "displacement P", "P / P0", "accepted"):
        table.add_column(col, justify="right")
    for i, (e, p, r) in enumerate(zip(sim.energy, sim.displacement, sim.ratio)):
        table.add_row(
            str(i + 1), f"{e:.6g}", f"{p:.6g}", f"{r:.4f}", "yes" if i < sim.n_steps else "no"
        )
    console.print(table)
    console.print(f"energy after the last accepted step: {sim.final_energy:.6g}")
