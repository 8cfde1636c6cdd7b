"""The plots of reports and of the zoo benchmark (matplotlib, Agg backend; PNG files).

`pyplot`, `label_points` and `short_name` are public helpers other plotting modules reuse.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..evaluation import HEADLINE, Evaluation, pair_names

__all__ = [
    "pyplot",
    "short_name",
    "label_points",
    "plot_score_vs_truth",
    "plot_dynamics",
    "plot_heatmap",
    "plot_ranking",
]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (files only, no window), imported when first
    needed so that importing ``ped`` stays fast."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def short_name(model: str) -> str:
    """A model's name for plots and tables: without the ``kind:`` prefix and ``?`` options."""
    name = model.split(":", 1)[1] if ":" in model else model
    return name.split("?", 1)[0]


_OFFSETS = ((4, 3, "left"), (4, -10, "left"), (-4, 3, "right"), (-4, -10, "right"))


def label_points(ax: Any, labels: Sequence[str], xs: Sequence[float], ys: Sequence[float]) -> None:
    """Label the dots of a scatter plot; a dot near an earlier one gets its label on another
    side, so that labels of close dots do not overlap.

    Parameters
    ----------
    ax : matplotlib Axes
    labels : sequence of str
    xs, ys : sequence of float
        The dots, in the order of `labels`.
    """
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    span_x = max(float(np.ptp(x)), 1e-12) if x.size else 1.0
    span_y = max(float(np.ptp(y)), 1e-12) if y.size else 1.0
    for i, text in enumerate(labels):
        near = int(
            np.sum((np.abs(x[:i] - x[i]) < 0.08 * span_x) & (np.abs(y[:i] - y[i]) < 0.05 * span_y))
        )
        dx, dy, ha = _OFFSETS[near % len(_OFFSETS)]
        ax.annotate(
            text, (x[i], y[i]), textcoords="offset points", xytext=(dx, dy), ha=ha, fontsize=7
        )


def plot_score_vs_truth(evaluation: Evaluation, path: str | Path) -> Path:
    """Scatter of each score against the ground truth, one labelled dot per model.

    One panel per score; PED versions sit beside their base score.

    Parameters
    ----------
    evaluation : Evaluation
    path : str or Path
        PNG file to write.

    Returns
    -------
    Path
    """
    plt = pyplot()
    pairs = pair_names(evaluation.rows)
    ncols = 2 if any(q for _, _, q in pairs) else 1
    nrows = len(pairs)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(5.2 * ncols, 3.6 * nrows), squeeze=False, constrained_layout=True
    )
    for i, (_, plain, ped) in enumerate(pairs):
        for j, name in enumerate((plain, ped)[:ncols]):
            ax = axes[i][j]
            if name is None:
                ax.axis("off")
                continue
            row = evaluation.rows[name]
            xs = [row.values[m] for m in row.models]
            ys = [evaluation.truth[m] for m in row.models]
            ax.scatter(xs, ys, color="tab:orange" if name.startswith("ped+") else "tab:blue")
            label_points(ax, [short_name(m) for m in row.models], xs, ys)
            wt = row.metrics[HEADLINE]
            ax.set_title(f"{name}   weighted τ = {wt:.3f}", fontsize=10)
            ax.set_xlabel(f"{name} score")
            ax.set_ylabel(f"fine-tuning ({evaluation.source})")
            ax.grid(alpha=0.3)
            ax.margins(x=0.18, y=0.12)
    fig.suptitle(f"{evaluation.dataset}: score vs fine-tuning accuracy", fontsize=11)
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_dynamics(simulations: Mapping[str, Any], path: str | Path, *, title: str = "") -> Path:
    """PED's potential energy and displacement per step, one line per model.

    Parameters
    ----------
    simulations : mapping of str to Simulation
        ``{model: ped.simulate(...)}``.
    path : str or Path
        PNG file to write.
    title : str, optional

    Returns
    -------
    Path
    """
    plt = pyplot()
    fig, (ax_e, ax_p) = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    for model, sim in simulations.items():
        energy = np.asarray(sim.energy, dtype=float)
        disp = np.asarray(sim.displacement, dtype=float)
        steps = np.arange(1, energy.shape[0] + 1)
        final = sim.params.get("final_energy") if hasattr(sim, "params") else None
        e_line = np.r_[energy, final] if final is not None else energy
        (line,) = ax_e.plot(
            np.arange(1, e_line.shape[0] + 1),
            e_line / max(e_line[0], 1e-300),
            marker="o",
            label=f"{short_name(model)} ({sim.n_steps} steps)",
        )
        ax_p.plot(steps, disp, marker="o", color=line.get_color())
        if sim.n_steps < disp.shape[0]:  # the rejected step
            ax_p.plot(steps[-1], disp[-1], marker="x", color="black", markersize=8)
    ax_e.set_title("potential energy E / E₀ (last point: after the last step)", fontsize=10)
    ax_e.set_xlabel("step")
    ax_e.set_ylabel("E / E₀")
    ax_p.set_title("displacement P per step (× = rejected, dynamics stop)", fontsize=10)
    ax_p.set_xlabel("step")
    ax_p.set_ylabel("P = Σ‖Δ‖₁ (rescaled space)")
    positive = [np.asarray(sim.displacement, dtype=float) for sim in simulations.values()]
    if positive and all(d.size and (d > 0).all() for d in positive):
        ax_p.set_yscale("log")
    for ax in (ax_e, ax_p):
        ax.grid(alpha=0.3)
    ax_e.legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title, fontsize=11)
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_heatmap(
    table: Mapping[str, Mapping[str, float]], path: str | Path, *, title: str = ""
) -> Path:
    """Heat map of weighted tau, datasets (rows) x scores (columns), values written in.

    Parameters
    ----------
    table : mapping of str to mapping of str to float
        ``{dataset: {score: weighted tau}}``.
    path : str or Path
    title : str, optional

    Returns
    -------
    Path
    """
    plt = pyplot()
    datasets = list(table)
    scores: list[str] = []
    for row in table.values():
        for s in row:
            if s not in scores:
                scores.append(s)
    M = np.array([[table[d].get(s, np.nan) for s in scores] for d in datasets], dtype=float)
    fig, ax = plt.subplots(
        figsize=(1.2 + 1.05 * len(scores), 1.4 + 0.55 * len(datasets)), constrained_layout=True
    )
    im = ax.imshow(np.ma.masked_invalid(M), cmap="RdYlGn", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(scores)), scores, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(datasets)), datasets, fontsize=8)
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            txt = "–" if not np.isfinite(M[i, j]) else f"{M[i, j]:.2f}"
            ax.text(j, i, txt, ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, label="weighted τ", shrink=0.9)
    ax.set_title(title or "weighted Kendall's τ per dataset and score", fontsize=10)
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_ranking(ranking: Any, path: str | Path) -> Path:
    """Bar charts of a `ped.pipeline.RankingResult`: one panel per score, best model on top.

    Tied and saturated models are hatched, since the score does not order them.

    Parameters
    ----------
    ranking : RankingResult
    path : str or Path
        PNG file to write.

    Returns
    -------
    Path
    """
    plt = pyplot()
    n = len(ranking.scores)
    ncols = min(n, 2)
    nrows = math.ceil(n / ncols)
    height = 0.9 + 0.32 * len(ranking.models)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(5.6 * ncols, height * nrows),
        squeeze=False,
        constrained_layout=True,
    )
    for k, score in enumerate(ranking.scores):
        ax = axes[k // ncols][k % ncols]
        order = ranking.order(score)[::-1]
        vals = [ranking.values[score][m] for m in order]
        unsure = {m for g in ranking.ties(score) for m in g} | set(ranking.saturated(score))
        colours = ["tab:orange" if score.startswith("ped+") else "tab:blue" for _ in order]
        bars = ax.barh([short_name(m) for m in order], vals, color=colours)
        for bar, m in zip(bars, order):
            if m in unsure:
                bar.set_hatch("//")
                bar.set_alpha(0.6)
        ax.set_title(score + ("  (hatched: tied or saturated)" if unsure else ""), fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    fig.suptitle(f"{ranking.dataset}: scores per model (higher is better)", fontsize=11)
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
