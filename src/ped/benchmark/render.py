"""The benchmark's outputs: Markdown tables, PNG plots, ``results.json`` and the docs block."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..report import label_points, plot_heatmap, pyplot, save_figure, short_name
from ..scoring import list_scores
from .config import DEFAULT_PED, PAPER_BASES, PRIORS, TARGETS, ped_name
from .render_finetune import (
    both_truths_lines,
    both_truths_table,
    finetune_lines,
    plot_both_truths,
    plot_curves,
    plot_finetuned_vs_probe,
)
from .results import BenchmarkResult

__all__ = ["ped_summary", "render_markdown", "plot_truth", "plot_scatter", "write_outputs"]


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
    lines = _settings_lines(summary["config"])
    if "heatmap" in plots:
        lines += [f"![weighted tau per target and score]({plots['heatmap']})", ""]
    lines += _ped_lines(summary)
    lines += _mean_lines(summary)
    lines += both_truths_lines(summary, plots)
    for target in summary["targets"]:
        lines += _target_lines(summary, target, plots)
    return "\n".join(lines)


def _settings_lines(cfg: Mapping[str, Any]) -> list[str]:
    return [
        f"Settings: pool {cfg['pool']} items per target and model, {cfg['seeds']} ground-truth "
        f"seeds, each a stratified split into {cfg['pool'] - cfg['n_test']} training and "
        f"{cfg['n_test']} test items (a target with fewer items than the pool keeps the same "
        f"test share of what it has); linear probe C grid {list(cfg['cs'])} chosen on a 20% "
        f"hold-out of the training part; scores on the training part; images at "
        f"{cfg['image_size']} px. Intervals: 95% percentile bootstrap over models and, per "
        "model, a ground-truth seed (1000 replicates).",
        "",
    ]


def _ped_lines(summary: Mapping[str, Any]) -> list[str]:
    """Per paper base, a table of its PED variants' tau and their paired difference."""
    cfg = summary["config"]
    targets = [t for t in summary["targets"] if summary["targets"][t]["scores"]]
    lines = [
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
    return lines


def _mean_lines(summary: Mapping[str, Any]) -> list[str]:
    """Every score's tau per target and its means, best mean over the image targets first."""
    targets = [t for t in summary["targets"] if summary["targets"][t]["scores"]]
    image_targets = [t for t in targets if TARGETS.get(t, {}).get("modality") == "image"]
    lines = [
        "### Every score, mean over the targets",
        "",
        "Sorted by the mean over the image targets (each target's section gives its number of "
        "models). `–`: not defined there (crop statistics exist for images only; LEEP and NCE "
        "need a source classifier, and are taken over the models that have one), or not yet "
        "computed on every model of that target (its section lists them): a tau over another "
        "set of models is not comparable.",
        "",
        "| score | " + " | ".join(targets) + " | mean, images | mean, all |",
        "|---" * (len(targets) + 3) + "|",
    ]
    names = list(dict.fromkeys(n for t in targets for n in summary["targets"][t]["scores"]))
    partial = {t: set(summary["targets"][t].get("missing_scores") or ()) for t in targets}

    def tau(name: str, t: str) -> float | None:
        if name in partial[t]:
            return None
        return summary["targets"][t]["scores"].get(name, {}).get("weighted_tau")

    def mean_of(name: str, ts: Sequence[str]) -> float:
        vals = [tau(name, t) for t in ts]
        ok = [v for v in vals if v is not None and math.isfinite(v)]
        return float(np.mean(ok)) if ts and len(ok) == len(ts) else float("nan")

    rows = [(n, mean_of(n, image_targets), mean_of(n, targets)) for n in names]
    rows.sort(key=lambda r: -r[1] if math.isfinite(r[1]) else math.inf)
    for name, m_img, m_all in rows:
        vals = [tau(name, t) for t in targets]
        lines.append(
            f"| {name} | " + " | ".join(_f(v) for v in vals) + f" | {_f(m_img)} | {_f(m_all)} |"
        )
    lines.append("")
    return lines


def _target_lines(summary: Mapping[str, Any], target: str, plots: Mapping[str, str]) -> list[str]:
    """One target's section: timings, every score's row, the ground truth, the plots."""
    t = summary["targets"][target]
    truth = t["truth"]
    sec = t["seconds"]
    lines = [
        f"### {target}: {len(t['models'])} models",
        "",
        f"Time: extraction {sec['extract']:.0f} s (0 when read from the store), linear "
        f"probes {sec['probe']:.0f} s, scores {sec['scores']:.0f} s.",
        "",
    ]
    if not t["models"]:
        return lines[:2] + [
            f"No linear-probe records on {target} yet (`ped benchmark -t {target}`); only the "
            "fine-tuned ground truth is shown.",
            "",
        ] + finetune_lines(summary, target, plots)  # fmt: skip
    if t.get("missing_scores"):
        lines += [
            "Not computed on every stored record (written before these scores were added; "
            "`ped benchmark` without `--render-only` computes only them, from the feature "
            "store): " + ", ".join(f"`{n}`" for n in t["missing_scores"]) + ".",
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
    return lines + finetune_lines(summary, target, plots)


def plot_truth(summary: Mapping[str, Any], target: str, path: str | Path) -> Path:
    """Ground truth per model with its standard error over seeds, best on top."""
    plt = pyplot()
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
    return save_figure(fig, path, dpi=100)


def plot_scatter(summary: Mapping[str, Any], target: str, base: str, path: str | Path) -> Path:
    """A base score and its default PED variant against the ground truth, one dot per model."""
    plt = pyplot()
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
        label_points(ax, [short_name(m) for m in models], xs, ys)
        ax.set_title(f"{name}: weighted τ = {t['scores'][name]['weighted_tau']:.3f}", fontsize=9)
        ax.set_xlabel("score (mean over seeds)")
        ax.set_ylabel("linear-probe accuracy (%)")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{target}", fontsize=10)
    return save_figure(fig, path, dpi=100)


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
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    summary = result.to_dict(n_boot=n_boot)
    files: dict[str, str] = {}
    if plots and summary["targets"]:
        main = [s for b in PAPER_BASES for s in (b, ped_name(b, *DEFAULT_PED), f"sa+{b}")]
        others = [b for b in list_scores(include_ped=False) if b not in PAPER_BASES]
        others += list(PRIORS)
        table = {  # a score not yet computed on every model of a target is left blank
            t: {
                s: v["scores"][s]["weighted_tau"]
                for s in main + others
                if s in v["scores"] and s not in (v.get("missing_scores") or ())
            }
            for t, v in summary["targets"].items()
            if v["scores"]
        }
        files["heatmap"] = plot_heatmap(
            table, folder / "heatmap.png", title="weighted τ against the linear-probe truth"
        ).name
        for t in summary["targets"]:
            if summary["targets"][t]["truth"]:
                files[f"truth:{t}"] = plot_truth(summary, t, folder / f"truth-{t}.png").name
            if summary["targets"][t].get("finetune"):
                files[f"curves:{t}"] = plot_curves(summary, t, folder / f"curves-{t}.png").name
                files[f"ft-vs-probe:{t}"] = plot_finetuned_vs_probe(
                    summary, t, folder / f"ft-vs-probe-{t}.png"
                ).name
            for b in PAPER_BASES:
                if b in summary["targets"][t]["scores"] and summary["targets"][t]["truth"]:
                    files[f"scatter:{t}:{b}"] = plot_scatter(
                        summary, t, b, folder / f"scatter-{t}-{b}.png"
                    ).name
        if both_truths_table(summary)["targets"]:
            files["both-truths"] = plot_both_truths(
                summary, folder / "both-truths.png", names=set(main + others)
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
