"""The fine-tuned ground truth on the benchmark's page: tables judged twice and curve plots."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..evaluation import swap_resolution
from ..report import label_points, pyplot, save_figure, short_name
from .config import DEFAULT_PED, ped_name
from .judged import BASELINES, TRUTHS

__all__ = ["both_truths_table", "both_truths_lines", "finetune_lines", "plot_both_truths",
           "plot_curves", "plot_finetuned_vs_probe"]  # fmt: skip


def _f(v: Any, digits: int = 3) -> str:
    return "–" if v is None or not math.isfinite(float(v)) else f"{float(v):.{digits}f}"


def _cell(row: Mapping[str, Any] | None) -> str:
    """``tau [lo, hi]`` and, for a PED or SA variant, its paired difference from the base."""
    if row is None:
        return "–"
    lo, hi = row["ci"]
    text = f"{_f(row['weighted_tau'])} [{_f(lo, 2)}, {_f(hi, 2)}]"
    if "delta" in row:
        dlo, dhi = row["delta_ci"]
        text += f" (Δ {row['delta']:+.3f} [{_f(dlo, 2)}, {_f(dhi, 2)}])"
    return text


def finetune_lines(
    summary: Mapping[str, Any], target: str, plots: Mapping[str, str] | None = None
) -> list[str]:
    """The fine-tuning part of one target's section (empty without fine-tuning records)."""
    ft = summary["targets"][target].get("finetune")
    if not ft:
        return []
    plots = dict(plots or {})
    lines = [f"#### {target}: fine-tuned against linear-probe ground truth", ""]
    lines += _candidate_lines(ft)
    bn = ft["batch_norm"]
    lines += [
        f"Batch-norm statistics: over {bn['runs']} runs (every learning rate), recomputing "
        f"them on the fitting items changed the test accuracy of {bn['changed']} runs, by "
        f"{_f(bn['min_diff'], 2)} to {_f(bn['max_diff'], 2)} points (mean "
        f"{_f(bn['mean_diff'], 2)}); the fine-tuned truth uses the recomputed statistics.",
        "",
    ]
    if ft.get("other_config"):
        lines += [f"{ft['other_config']} runs of another fine-tuning configuration (an earlier "
                  "protocol, or another pool or test size) are kept in the records and left "
                  "out here.", ""]  # fmt: skip
    lines += _compared_lines(ft.get("compared") or [])
    if ft["incomplete"]:
        lines += ["Learning-rate grid still running (left out): "
                  + ", ".join(short_name(s) for s in ft["incomplete"]) + ".", ""]  # fmt: skip
    if f"ft-vs-probe:{target}" in plots:
        lines += [f"![fine-tuned against linear-probe accuracy on {target}]"
                  f"({plots[f'ft-vs-probe:{target}']})", ""]  # fmt: skip
    if f"curves:{target}" in plots:
        lines += [f"![learning curves on {target}]({plots[f'curves:{target}']})", ""]
    lines += _judged_lines(ft, summary["targets"][target]["scores"])
    return lines


def _candidate_lines(ft: Mapping[str, Any]) -> list[str]:
    lines = [
        "| model | fine-tuned (recomputed BN) | fine-tuned (running BN) | linear probe | "
        "fine-tuned − probe | lr | levelled off | training accuracy | seeds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    marks = {"max": " ↑", "min": " ↓", None: ""}
    flagged = 0
    for r in ft["candidates"]:
        gap = None if r["probe"] is None else r["finetuned"] - r["probe"]
        edges = r.get("lr_edge") or [None] * len(r["lr"])
        flagged += any(e is not None for e in edges)
        lrs = ", ".join(f"{lr:g}{marks[e]}" for lr, e in zip(r["lr"], edges))
        lines.append(
            f"| {short_name(r['model'])} | {r['finetuned']:.2f} | {_f(r['finetuned_running'], 2)} "
            f"| {_f(r['probe'], 2)} | {'–' if gap is None else f'{gap:+.2f}'} | "
            f"{lrs} | {'yes' if r['levelled'] else 'no'} | {_f(r.get('train_acc'), 1)} | "
            f"{', '.join(str(s) for s in r['seeds'])} |"
        )
    lines.append("")
    if flagged:
        lines += [
            f"↑ / ↓: the chosen learning rate is the grid's largest / smallest ({flagged} of "
            f"{len(ft['candidates'])} models): a rate beyond the grid might fine-tune them "
            "further.",
            "",
        ]
    return lines


def _judged_lines(ft: Mapping[str, Any], probe_rows: Mapping[str, Any]) -> list[str]:
    judged = ft["judged"]
    n = len(judged["models"])
    if n < 3:
        res = swap_resolution(16)
        return [
            f"**Too few models for a verdict:** {n} model(s) have both ground truths on a "
            "shared seed; a weighted τ needs at least 3 and a verdict many more: with the 16 "
            f"candidates the plan asks for, one swap of two neighbours still moves Kendall's τ "
            f"by {res['kendall']:.3f} and the weighted τ by {res['weighted_bottom']:.3f} to "
            f"{res['weighted_top']:.3f}.",
            "",
        ]
    res = ft["resolution"]
    lines = [
        f"Judged on the {n} models that have both truths, seeds "
        f"{', '.join(str(s) for s in ft['seeds'])}. Resolution: with {n} models one swap of two "
        f"neighbours moves Kendall's τ by {res['kendall']:.3f} and the weighted τ by "
        f"{res['weighted_top']:.3f} (the two best) to {res['weighted_bottom']:.3f} (the two "
        "worst); a difference smaller than that is one pair of models.",
        "",
    ]
    if ft.get("fewer_seeds"):
        lines += [
            "Left out of the judgement for lacking those seeds (shown in the table above): "
            + ", ".join(f"`{s}`" for s in ft["fewer_seeds"]) + ".",
            "",
        ]  # fmt: skip
    for b in judged["between"]:
        lines += [
            f"The two ground truths against each other: weighted τ {_f(b['weighted_tau'])} "
            f"[{_f(b['ci'][0], 2)}, {_f(b['ci'][1], 2)}], Kendall τ {_f(b['kendall_tau'])} "
            "(PED can only matter where they disagree).",
            "",
        ]
    lines += [
        "| score | " + " | ".join(f"τ vs {t} [95% CI] (Δ vs base)" for t in TRUTHS)
        + " | " + " | ".join(f"rel@1 / rel@3 vs {t}" for t in TRUTHS) + " |",
        "|---|---|---|---|---|",
    ]  # fmt: skip
    names = list(dict.fromkeys([*probe_rows, *(k for t in TRUTHS for k in judged["truths"][t])]))
    for name in names:
        rows = [judged["truths"][t].get(name) for t in TRUTHS]
        rel = [f"{_f(r['rel@1'], 2)} / {_f(r['rel@3'], 2)}" if r else "–" for r in rows]
        lines.append(f"| {name} | " + " | ".join(_cell(r) for r in rows) + " | "
                     + " | ".join(rel) + " |")  # fmt: skip
    return lines + [""]


def plot_curves(summary: Mapping[str, Any], target: str, path: str | Path) -> Path:
    """Training loss per epoch (left) and validation accuracy (right) of every run."""
    plt = pyplot()
    curves = summary["targets"][target]["finetune"]["curves"]
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    cmap = plt.get_cmap("tab10" if len(curves) <= 10 else "tab20")
    lrs = sorted({run["lr"] for runs in curves.values() for run in runs}, reverse=True)
    dashes = ["-", "--", ":", "-."]
    for i, (spec, runs) in enumerate(sorted(curves.items())):
        for run in runs:
            epochs = range(1, len(run["train_loss"]) + 1)
            label = f"{short_name(spec)} lr {run['lr']:g} s{run['seed']}"
            style = {"color": cmap(i % cmap.N), "alpha": 0.85, "linewidth": 1.2,
                     "linestyle": dashes[lrs.index(run["lr"]) % len(dashes)]}  # fmt: skip
            ax_l.plot(epochs, run["train_loss"], label=label, **style)
            ax_a.plot(epochs, run["val_acc"], **style)
    ax_l.set_yscale("log")
    ax_l.set_xlabel("epoch")
    ax_l.set_ylabel("training loss (mean over the epoch)")
    ax_a.set_xlabel("epoch")
    ax_a.set_ylabel("validation accuracy (%)")
    for ax in (ax_l, ax_a):
        ax.grid(alpha=0.3)
    ax_l.legend(fontsize=6, ncol=2)
    fig.suptitle(f"{target}: fine-tuning curves (every model, learning rate and seed)", fontsize=10)
    return save_figure(fig, path, dpi=100)


def both_truths_table(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Every score judged against both truths on every target with a fine-tuning verdict.

    A target counts when its fine-tuning section judged at least 3 models. Per score: its
    weighted tau against each truth on each such target (on that target's models with both
    truths) and the mean over the targets, and its mean rel@1 against each truth; a score
    missing on a target has no mean. Sorted by the mean against the fine-tuned truth, best
    first.

    Returns
    -------
    dict
        ``targets`` (name to number of models) and ``rows`` (``{"score", "tau": {truth:
        {target: value}}, "mean": {truth: value}, "rel1": {truth: value}, "versus": {truth:
        {target: {baseline: {"delta", "delta_ci"}}}}}``; ``versus``: the paired difference
        from each baseline of `ped.benchmark.judged.BASELINES`).
    """
    targets = {
        t: len(v["finetune"]["judged"]["models"])
        for t, v in summary["targets"].items()
        if v.get("finetune") and len(v["finetune"]["judged"]["models"]) >= 3
    }
    names = list(dict.fromkeys(
        n for t in targets for n in summary["targets"][t]["finetune"]["judged"]["truths"][TRUTHS[0]]
    ))  # fmt: skip

    def cell(name: str, truth: str, t: str, key: str) -> float:
        row = summary["targets"][t]["finetune"]["judged"]["truths"][truth].get(name)
        v = None if row is None else row.get(key)
        return float("nan") if v is None else float(v)

    def mean(vals: list[float]) -> float:
        return float(np.mean(vals)) if vals and all(math.isfinite(v) for v in vals) else math.nan

    judged = {t: summary["targets"][t]["finetune"]["judged"]["truths"] for t in targets}
    rows = []
    for name in names:
        tau = {tr: {t: cell(name, tr, t, "weighted_tau") for t in targets} for tr in TRUTHS}
        rows.append({
            "score": name,
            "tau": tau,
            "mean": {tr: mean(list(tau[tr].values())) for tr in TRUTHS},
            "rel1": {tr: mean([cell(name, tr, t, "rel@1") for t in targets]) for tr in TRUTHS},
            "versus": {tr: {t: dict((judged[t][tr].get(name) or {}).get("versus") or {})
                            for t in targets} for tr in TRUTHS},
        })  # fmt: skip
    key = lambda r: -r["mean"][TRUTHS[0]] if math.isfinite(r["mean"][TRUTHS[0]]) else math.inf  # noqa: E731
    rows.sort(key=key)
    return {"targets": targets, "rows": rows}


def both_truths_lines(
    summary: Mapping[str, Any], plots: Mapping[str, str] | None = None
) -> list[str]:
    """The section judging every score against both truths over the fine-tuning targets."""
    table = both_truths_table(summary)
    targets = table["targets"]
    if not targets:
        return []
    plots = dict(plots or {})
    lines = [
        "### Every score against both truths, over the fine-tuning targets",
        "",
        "Weighted τ against the fine-tuned and against the linear-probe truth on the models that "
        "have both ("
        + ", ".join(f"{t}: {n} models" for t, n in targets.items())
        + "), the mean over those targets, and the mean rel@1. Sorted by the mean against "
        "fine-tuning. Intervals and paired differences are in each target's section.",
        "",
    ]
    if "both-truths" in plots:
        lines += [f"![every score against both truths]({plots['both-truths']})", ""]
    head = [f"{t} ({tr})" for tr in TRUTHS for t in targets]
    lines += [
        "| score | " + " | ".join(head) + " | " + " | ".join(f"mean vs {tr}" for tr in TRUTHS)
        + " | " + " | ".join(f"rel@1 vs {tr}" for tr in TRUTHS) + " |",
        "|---" * (len(head) + 2 * len(TRUTHS) + 1) + "|",
    ]  # fmt: skip
    for r in table["rows"]:
        cells = [_f(r["tau"][tr][t]) for tr in TRUTHS for t in targets]
        cells += [_f(r["mean"][tr]) for tr in TRUTHS] + [_f(r["rel1"][tr], 2) for tr in TRUTHS]
        lines.append(f"| {r['score']} | " + " | ".join(cells) + " |")
    return lines + [""] + _versus_lines(table)


def _versus_lines(table: Mapping[str, Any]) -> list[str]:
    """Each score's paired difference from the baselines against the fine-tuned truth."""
    targets = list(table["targets"])
    default_ped = ped_name("", *DEFAULT_PED)[len("ped+") :]  # "[0.6,target]"
    shown = [
        r for r in table["rows"]
        if r["score"] not in BASELINES and ("[" not in r["score"] or r["score"].endswith(default_ped))
    ]  # fmt: skip
    truth = TRUTHS[0]
    if not any(r["versus"][truth][t] for r in shown for t in targets):
        return []
    above = sorted({
        f"{r['score']} (over {b} on {t})"
        for r in shown for t in targets for b, v in r["versus"][truth][t].items()
        if v["delta_ci"][0] > 0
    })  # fmt: skip
    lines = [
        f"Paired differences from the baselines ({', '.join(BASELINES)}) against the "
        "fine-tuned truth: each score's weighted τ minus the baseline's, with a 95% interval "
        "from the same resamples of models and seeds. PED variants at the default "
        f"(nsigma {DEFAULT_PED[0]}, {DEFAULT_PED[1]} statistics) only. "
        + (
            "An interval above 0 (the score beats the baseline): " + "; ".join(above) + "."
            if above
            else "No interval lies above 0: no score beats a baseline on these models."
        ),
        "",
        "| score | " + " | ".join(f"Δ vs {b}, {t}" for t in targets for b in BASELINES) + " |",
        "|---" * (len(targets) * len(BASELINES) + 1) + "|",
    ]
    for r in shown:
        cells = []
        for t in targets:
            for b in BASELINES:
                v = r["versus"][truth][t].get(b)
                cells.append("–" if v is None else (
                    f"{v['delta']:+.3f} [{_f(v['delta_ci'][0], 2)}, {_f(v['delta_ci'][1], 2)}]"))  # fmt: skip
        lines.append(f"| {r['score']} | " + " | ".join(cells) + " |")
    return lines + [""]


def plot_both_truths(summary: Mapping[str, Any], path: str | Path, *, names: Any = None) -> Path:
    """Each score's mean weighted tau against the linear probe (x) and against fine-tuning (y).

    ``names`` restricts the dots (default: every score with both means); a dot below the
    diagonal predicts the probe better than fine-tuning.
    """
    plt = pyplot()
    rows = [r for r in both_truths_table(summary)["rows"]
            if all(math.isfinite(r["mean"][t]) for t in TRUTHS)
            and (names is None or r["score"] in names)]  # fmt: skip
    xs = [r["mean"][TRUTHS[1]] for r in rows]
    ys = [r["mean"][TRUTHS[0]] for r in rows]
    fig, ax = plt.subplots(figsize=(7.5, 6.5), constrained_layout=True)
    ax.plot([-1, 1], [-1, 1], color="0.7", linewidth=1, zorder=0)
    ax.axhline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.axvline(0, color="0.85", linewidth=0.8, zorder=0)
    kinds = {"ped+": "tab:orange", "sa+": "tab:green", "prior:": "tab:purple"}
    colors = [next((c for k, c in kinds.items() if r["score"].startswith(k)), "tab:blue")
              for r in rows]  # fmt: skip
    ax.scatter(xs, ys, c=colors, s=22, zorder=2)
    kinds_shown = {"score": "tab:blue", "PED+score": "tab:orange", "SA+score": "tab:green",
                   "data-free prior": "tab:purple"}  # fmt: skip
    for label, color in kinds_shown.items():
        ax.scatter([], [], c=color, s=22, label=label)
    ax.legend(loc="lower right", fontsize=8)
    label_points(ax, [r["score"] for r in rows], xs, ys)
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("mean weighted τ against the linear-probe truth")
    ax.set_ylabel("mean weighted τ against the fine-tuned truth")
    ax.grid(alpha=0.3)
    targets = both_truths_table(summary)["targets"]
    ax.set_title("every score against both truths ("
                 + ", ".join(f"{t}: {n}" for t, n in targets.items()) + " models)", fontsize=10)  # fmt: skip
    return save_figure(fig, path, dpi=100)


def plot_finetuned_vs_probe(summary: Mapping[str, Any], target: str, path: str | Path) -> Path:
    """Each candidate's fine-tuned (y) against its linear-probe accuracy (x), with the diagonal.

    A dot above the diagonal gained from fine-tuning; the two rankings agree where the dots
    rise together.
    """
    plt = pyplot()
    rows = [r for r in summary["targets"][target]["finetune"]["candidates"]
            if r["probe"] is not None]  # fmt: skip
    xs = [r["probe"] for r in rows]
    ys = [r["finetuned"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 6), constrained_layout=True)
    if rows:
        lo = min(xs + ys) - 2
        hi = max(xs + ys) + 2
        ax.plot([lo, hi], [lo, hi], color="0.7", linewidth=1, zorder=0)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
    ax.scatter(xs, ys, s=22, zorder=2)
    label_points(ax, [short_name(r["model"]) for r in rows], xs, ys)
    ax.set_xlabel("linear-probe test accuracy (%)")
    ax.set_ylabel("fine-tuned test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.set_title(f"{target}: fine-tuned against linear probe ({len(rows)} models)", fontsize=10)
    return save_figure(fig, path, dpi=100)


def _compared_lines(compared: Any) -> list[str]:
    """Per other configuration of the records: what differs, and both accuracies per model."""
    lines: list[str] = []
    for c in compared:
        if not c["rows"]:
            continue
        what = "; ".join(f"{k} {a!r} there, {b!r} here" for k, (a, b) in c["differs"].items())
        what = what or "the same settings under another key"
        lines += [
            f"The same models under the other configuration in the records ({what}; "
            f"{c['runs']} runs):",
            "",
            "| model | seed | here | there | here − there | lr here / there |",
            "|---|---|---|---|---|---|",
        ]
        for r in c["rows"]:
            lines.append(
                f"| {short_name(r['spec'])} | {r['seed']} | {r['this']:.2f} | {r['other']:.2f} | "
                f"{r['this'] - r['other']:+.2f} | {r['this_lr']:g} / {r['other_lr']:g} |"
            )
        lines.append("")
    return lines
