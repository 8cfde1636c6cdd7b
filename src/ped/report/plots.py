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
    "save_figure",
    "short_name",
    "label_points",
    "tail_name",
    "panel_axes",
    "plot_score_bars",
    "plot_agreement",
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


def save_figure(fig: Any, path: str | Path, *, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path`` (the format from its suffix), close it, return the path."""
    path = Path(path)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path


def short_name(model: str) -> str:
    """A model's name for plots and tables: without the ``kind:`` prefix and ``?`` options."""
    name = model.split(":", 1)[1] if ":" in model else model
    return name.split("?", 1)[0]


_OFFSETS = (
    (5, 4, "left", "bottom"),
    (5, -4, "left", "top"),
    (-5, 4, "right", "bottom"),
    (-5, -4, "right", "top"),
    (0, 8, "center", "bottom"),
    (0, -8, "center", "top"),
    (10, 12, "left", "bottom"),
    (-10, -12, "right", "top"),
)


def label_points(ax: Any, labels: Sequence[str], xs: Sequence[float], ys: Sequence[float]) -> None:
    """Label the dots of a scatter plot without letting two labels overprint.

    Each label tries eight places around its dot (right, left, above, below, then further
    out) and takes the first whose drawn box overlaps no earlier label and no other dot;
    when every place collides it takes the one with the least overlap.

    Parameters
    ----------
    ax : matplotlib Axes
    labels : sequence of str
    xs, ys : sequence of float
        The dots, in the order of `labels`.
    """
    fig = ax.figure
    fig.canvas.draw()  # settle the layout, so that text boxes are measured where they end up
    renderer = fig.canvas.get_renderer()
    dots = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else np.empty((0, 2))
    placed: list[Any] = []
    for i, text in enumerate(labels):
        best, best_cost = None, math.inf
        for dx, dy, ha, va in _OFFSETS:
            ann = ax.annotate(
                text,
                (xs[i], ys[i]),
                textcoords="offset points",
                xytext=(dx, dy),
                ha=ha,
                va=va,
                fontsize=7,
            )
            box = ann.get_window_extent(renderer).expanded(1.05, 1.1)
            cost = sum(_overlap(box, other) for other in placed)
            cost += sum(1.0 for j, (px, py) in enumerate(dots) if j != i and box.contains(px, py))
            if cost < best_cost:
                if best is not None:
                    best[0].remove()
                best, best_cost = (ann, box), cost
            else:
                ann.remove()
            if cost == 0:
                break
        placed.append(best[1])


def _overlap(a: Any, b: Any) -> float:
    """Area shared by two display boxes."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0.0) * max(h, 0.0)


def tail_name(model: str, width: int = 28) -> str:
    """A model's name shortened to its last `width` characters (``…`` marks the cut), so
    that a long ``file:`` path keeps its file name."""
    name = short_name(model)
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def panel_axes(fig: Any, n: int, ncols: int) -> list[Any]:
    """`n` axes in rows of `ncols`, the last row centred, so that no grid cell is empty.

    Parameters
    ----------
    fig : matplotlib Figure
    n, ncols : int

    Returns
    -------
    list of Axes
    """
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    grid = fig.add_gridspec(nrows, 2 * ncols)
    axes = []
    for k in range(n):
        row, col = divmod(k, ncols)
        in_row = ncols if row < nrows - 1 else n - row * ncols
        shift = ncols - in_row  # half-cells that centre a short last row
        axes.append(fig.add_subplot(grid[row, shift + 2 * col : shift + 2 * col + 2]))
    return axes


def plot_score_vs_truth(evaluation: Evaluation, path: str | Path) -> Path:
    """Scatter of each score against the ground truth, one labelled dot per model.

    One panel per score, a PED version right after its base score; rows of two panels, the
    last one centred.

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
    names = [n for _, plain, ped in pair_names(evaluation.rows) for n in (plain, ped) if n]
    ncols = min(2, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig = plt.figure(figsize=(5.4 * ncols, 3.8 * nrows), constrained_layout=True)
    axes = panel_axes(fig, len(names), ncols)
    for ax, name in zip(axes, names):
        row = evaluation.rows[name]
        xs = [row.values[m] for m in row.models]
        ys = [evaluation.truth[m] for m in row.models]
        ax.scatter(xs, ys, color="tab:orange" if name.startswith("ped+") else "tab:blue")
        wt = row.metrics[HEADLINE]
        ax.set_title(f"{name}   weighted τ = {wt:.3f}", fontsize=10)
        ax.set_xlabel(f"{name} score")
        ax.set_ylabel(f"fine-tuning ({evaluation.source})")
        ax.grid(alpha=0.3)
        ax.margins(x=0.25, y=0.15)
    fig.suptitle(f"{evaluation.dataset}: score vs fine-tuning accuracy", fontsize=11)
    for ax, name in zip(axes, names):
        row = evaluation.rows[name]
        xs = [row.values[m] for m in row.models]
        ys = [evaluation.truth[m] for m in row.models]
        label_points(ax, [tail_name(m, 22) for m in row.models], xs, ys)
    return save_figure(fig, path)


def plot_dynamics(simulations: Mapping[str, Any], path: str | Path, *, title: str = "") -> Path:
    """PED's potential energy and displacement per step, one line per model.

    A model whose classes do not overlap has no energy (E₀ = 0) and takes no step; it is
    named under the plot instead of drawn at E / E₀ = 0.

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
    still: list[str] = []
    for model, sim in simulations.items():
        energy = np.asarray(sim.energy, dtype=float)
        disp = np.asarray(sim.displacement, dtype=float)
        if sim.n_steps == 0 or not energy.size or not energy[0] > 0:
            still.append(tail_name(model, 22))
            continue
        steps = np.arange(1, energy.shape[0] + 1)
        final = sim.params.get("final_energy") if hasattr(sim, "params") else None
        e_line = np.r_[energy, final] if final is not None and np.isfinite(final) else energy
        (line,) = ax_e.plot(
            np.arange(1, e_line.shape[0] + 1),
            e_line / e_line[0],
            marker="o",
            label=f"{tail_name(model, 22)} ({sim.n_steps} steps)",
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
    drawn = [sim for m, sim in simulations.items() if tail_name(m, 22) not in still]
    positive = [np.asarray(sim.displacement, dtype=float) for sim in drawn]
    if positive and all(d.size and (d > 0).all() for d in positive):
        ax_p.set_yscale("log")
    for ax in (ax_e, ax_p):
        ax.grid(alpha=0.3)
    if drawn:
        ax_e.legend(fontsize=7, loc="best")
    if still:
        fig.supxlabel(
            "no step, not drawn (classes do not overlap, E₀ = 0): " + ", ".join(still),
            fontsize=8,
            x=0.01,
            ha="left",
        )
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, path)


def plot_heatmap(
    table: Mapping[str, Mapping[str, float]],
    path: str | Path,
    *,
    title: str = "",
    label: str = "weighted τ",
) -> Path:
    """Heat map of a table of correlations in [-1, 1], rows x columns, values written in.

    Parameters
    ----------
    table : mapping of str to mapping of str to float
        ``{row: {column: value}}``, by default ``{dataset: {score: weighted tau}}``.
    path : str or Path
    title : str, optional
    label : str, default "weighted τ"
        The colour bar's label.

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
        figsize=(1.6 + 1.05 * len(scores), 1.4 + 0.55 * len(datasets)), constrained_layout=True
    )
    im = ax.imshow(np.ma.masked_invalid(M), cmap="RdYlGn", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(scores)), scores, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(datasets)), datasets, fontsize=8)
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            txt = "–" if not np.isfinite(M[i, j]) else f"{M[i, j]:.2f}"
            ax.text(j, i, txt, ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, label=label, shrink=0.9)
    ax.set_title(title or "weighted Kendall's τ per dataset and score", fontsize=10)
    return save_figure(fig, path)


def plot_agreement(
    agreement: Mapping[str, Mapping[str, float]], path: str | Path, *, title: str = ""
) -> Path:
    """Heat map of Kendall's τ between the rankings of every pair of scores.

    Parameters
    ----------
    agreement : mapping of str to mapping of str to float
        ``{score: {score: tau}}`` (`ped.report.ranking.agreement`).
    path : str or Path
    title : str, optional

    Returns
    -------
    Path
    """
    return plot_heatmap(
        agreement,
        path,
        title=title or "agreement between scores: Kendall's τ of their rankings",
        label="Kendall's τ (1: same order, -1: reversed)",
    )


def plot_score_bars(
    values: Mapping[str, Mapping[str, float]],
    path: str | Path,
    *,
    title: str = "",
    unsure: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """One bar chart per score, best model on top, and the best bar the longest.

    Bars start a little below the worst value (at 0 when every value is positive), so that a
    score whose values are negative (GBC: higher, nearer 0, is better) still draws its best
    model with the longest bar; the value is written at each bar's end.

    Parameters
    ----------
    values : mapping of str to mapping of str to float
        ``{score: {model: value}}``; higher is better for every score.
    path : str or Path
        PNG file to write.
    title : str, optional
    unsure : mapping of str to sequence of str, optional
        ``{score: models}`` drawn hatched (tied or saturated: the score does not order them).

    Returns
    -------
    Path
    """
    plt = pyplot()
    scores = [s for s in values if values[s]]
    n_models = max((len(values[s]) for s in scores), default=1)
    ncols = min(3, len(scores)) or 1
    nrows = math.ceil(max(len(scores), 1) / ncols)
    fig = plt.figure(
        figsize=(4.6 * ncols, (1.0 + 0.3 * n_models) * nrows + 0.4), constrained_layout=True
    )
    for ax, score in zip(panel_axes(fig, len(scores), ncols), scores):
        _score_panel(ax, score, values[score], set((unsure or {}).get(score, ())))
    fig.suptitle(title or "scores per model (best on top, higher is better)", fontsize=11)
    return save_figure(fig, path)


def _score_panel(ax: Any, score: str, vals: Mapping[str, float], unsure: set[str]) -> None:
    order = sorted(vals, key=lambda m: vals[m])  # barh draws bottom-up: best last, on top
    v = np.array([vals[m] for m in order], dtype=float)
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    base = 0.0 if lo >= 0 else lo - 0.15 * span
    colour = "tab:orange" if score.startswith("ped+") else "tab:blue"
    bars = ax.barh([tail_name(m, 22) for m in order], v - base, left=base, color=colour)
    for bar, m, x in zip(bars, order, v):
        if m in unsure:
            bar.set_hatch("//")
            bar.set_alpha(0.6)
        ax.text(x, bar.get_y() + bar.get_height() / 2, f" {x:.4g}", va="center", fontsize=7)
    ax.set_xlim(base, hi + 0.3 * span)
    note = "  (hatched: tied or saturated)" if unsure & set(order) else ""
    ax.set_title(score + note, fontsize=9)
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="x", alpha=0.3)


def plot_ranking(ranking: Any, path: str | Path) -> Path:
    """Bar charts of a `ped.pipeline.RankingResult`: one panel per score, best model on top
    (see `plot_score_bars`); tied and saturated models are hatched.

    Parameters
    ----------
    ranking : RankingResult
    path : str or Path
        PNG file to write.

    Returns
    -------
    Path
    """
    values = {
        s: {m: v for m, v in ranking.values[s].items() if v is not None and math.isfinite(v)}
        for s in ranking.scores
    }
    unsure = {
        s: [m for g in ranking.ties(s) for m in g] + list(ranking.saturated(s))
        for s in ranking.scores
    }
    title = f"{ranking.dataset}: scores per model (best on top, higher is better)"
    return plot_score_bars(values, path, title=title, unsure=unsure)
