"""How well scores predict fine-tuning: evaluation tables, plots and self-contained reports.

`evaluate` measures one dataset's scores against one ground truth (weighted Kendall's tau as
the headline, Kendall's tau, Pearson, rel@k, recall@k, bootstrap intervals) and pairs every
score with its PED version. `write_report` turns evaluations into an HTML page (plots inlined,
so the one file is the whole report) or a Markdown file beside its PNGs. Plots are drawn with
matplotlib's Agg backend; nothing here prints.
"""

from __future__ import annotations

import base64
import html
import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import evaluation as ev

__all__ = [
    "HEADLINE",
    "EVAL_METRICS",
    "ScoreEvaluation",
    "Evaluation",
    "evaluate",
    "load_scores",
    "pair_names",
    "plot_score_vs_truth",
    "plot_dynamics",
    "plot_heatmap",
    "plot_ranking",
    "write_report",
]

#: The metric reports lead with (the paper's).
HEADLINE = "weighted_tau"
#: Metrics of every evaluation row, in display order.
EVAL_METRICS: tuple[str, ...] = (
    "weighted_tau",
    "kendall_tau",
    "pearson",
    "rel@1",
    "rel@3",
    "recall@1",
    "recall@3",
)
#: Metrics that get a bootstrap interval.
CI_METRICS: tuple[str, ...] = ("weighted_tau", "kendall_tau", "pearson")


# ---------------------------------------------------------------------------- evaluation
@dataclass
class ScoreEvaluation:
    """One score measured against one ground truth.

    Attributes
    ----------
    score : str
        Score name (``"logme"``, ``"ped+logme"``).
    models : list of str
        Models present in both the scores and the ground truth.
    metrics : dict of str to float
        Every metric of `EVAL_METRICS` (NaN where undefined).
    intervals : dict of str to BootstrapCI
        Percentile bootstrap intervals over models for `CI_METRICS`.
    values : dict of str to float
        The score of each model.
    """

    score: str
    models: list[str]
    metrics: dict[str, float]
    intervals: dict[str, ev.BootstrapCI] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "n_models": len(self.models),
            "metrics": dict(self.metrics),
            "intervals": {k: v.as_dict() for k, v in self.intervals.items()},
            "values": dict(self.values),
        }


@dataclass
class Evaluation:
    """Every score of one dataset measured against one ground truth.

    Attributes
    ----------
    dataset : str
    source : str
        The ground-truth source (``"linear"``, ``"published:self_supervised_resnet50"``, ...).
    truth : dict of str to float
        Ground truth of each model (fine-tuning accuracy, percent).
    rows : dict of str to ScoreEvaluation
        One per score, in the order given.
    missing : dict of str to list of str
        Per score, the scored models that have no ground truth (left out).
    level : float
        Coverage of the bootstrap intervals.
    """

    dataset: str
    source: str
    truth: dict[str, float]
    rows: dict[str, ScoreEvaluation]
    missing: dict[str, list[str]] = field(default_factory=dict)
    level: float = 0.95

    def pairs(self) -> list[tuple[str, ScoreEvaluation | None, ScoreEvaluation | None]]:
        """``(base, row without PED, row with PED)`` for every base score, in order."""
        return [(b, self.rows.get(p), self.rows.get(q)) for b, p, q in pair_names(self.rows)]

    def headline(self) -> dict[str, float]:
        """``{score: weighted tau}``."""
        return {s: r.metrics[HEADLINE] for s, r in self.rows.items()}

    def to_frame(self):
        """One row per base score: every metric without and with PED, side by side.

        Returns
        -------
        pandas.DataFrame
            Columns ``score``, ``n_models``, then per metric ``<metric>`` and
            ``<metric>[ped]``, and ``<metric>_low``/``_high`` (and ``[ped]``) for the
            bootstrap intervals.
        """
        import pandas as pd

        out = []
        for base, plain, ped in self.pairs():
            row: dict[str, Any] = {"score": base}
            n = max(len(r.models) for r in (plain, ped) if r is not None)
            row["n_models"] = n
            for m in EVAL_METRICS:
                for suffix, r in (("", plain), ("[ped]", ped)):
                    row[m + suffix] = r.metrics[m] if r is not None else float("nan")
            for m in CI_METRICS:
                for suffix, r in (("", plain), ("[ped]", ped)):
                    ci = r.intervals.get(m) if r is not None else None
                    row[f"{m}_low{suffix}"] = ci.low if ci else float("nan")
                    row[f"{m}_high{suffix}"] = ci.high if ci else float("nan")
            out.append(row)
        return pd.DataFrame(out)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the inputs, every row, and the pairs with their tau gains."""
        return {
            "dataset": self.dataset,
            "truth_source": self.source,
            "truth": dict(self.truth),
            "level": self.level,
            "scores": {s: r.as_dict() for s, r in self.rows.items()},
            "missing_truth": {k: v for k, v in self.missing.items() if v},
            "pairs": [
                {
                    "score": b,
                    "without_ped": p.metrics if p else None,
                    "with_ped": q.metrics if q else None,
                    "weighted_tau_gain": (
                        q.metrics[HEADLINE] - p.metrics[HEADLINE] if p and q else None
                    ),
                }
                for b, p, q in self.pairs()
            ],
        }


def pair_names(names: Iterable[str]) -> list[tuple[str, str | None, str | None]]:
    """Pair every score with its PED version: ``(base, base or None, "ped+base" or None)``.

    Parameters
    ----------
    names : iterable of str

    Returns
    -------
    list of tuple
        In order of first appearance of either member.
    """
    names = list(names)
    present = set(names)
    seen: dict[str, None] = {}
    for n in names:
        seen.setdefault(n[4:] if n.startswith("ped+") else n, None)
    return [
        (b, b if b in present else None, f"ped+{b}" if f"ped+{b}" in present else None)
        for b in seen
    ]


def _safe(fn: Any, x: np.ndarray, y: np.ndarray) -> float:
    try:
        with np.errstate(all="ignore"):
            v = float(fn(x, y))
    except ValueError:
        return float("nan")
    return v if math.isfinite(v) else float("nan")


def evaluate(
    scores: Mapping[str, Mapping[str, float]],
    truth: Mapping[str, float],
    *,
    dataset: str = "",
    source: str = "",
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int | None = 0,
) -> Evaluation:
    """Measure how well each score predicts the ground truth on one dataset.

    Parameters
    ----------
    scores : mapping of str to mapping of str to float
        ``{score name: {model: value}}``.
    truth : mapping of str to float
        ``{model: fine-tuning accuracy}``.
    dataset, source : str
        Names carried into the result (the dataset, the ground-truth source).
    n_boot : int, default 1000
        Bootstrap replicates of the intervals (0 skips them).
    level : float, default 0.95
        Coverage of the intervals.
    random_state : int or None, default 0
        Seed of the resampling.

    Returns
    -------
    Evaluation

    Raises
    ------
    ValueError
        If a score shares fewer than two models with the ground truth.
    """
    rows: dict[str, ScoreEvaluation] = {}
    missing: dict[str, list[str]] = {}
    truth = {str(k): float(v) for k, v in truth.items() if k != "duration"}
    for name, vals in scores.items():
        vals = {str(k): float(v) for k, v in vals.items() if k != "duration"}
        common = [m for m in vals if m in truth and math.isfinite(vals[m])]
        missing[name] = [m for m in vals if m not in truth]
        if len(common) < 2:
            have = ", ".join(sorted(truth)) or "none"
            raise ValueError(
                f"Score {name!r} on {dataset or 'this dataset'} shares {len(common)} model(s) "
                f"with the ground truth {source or ''} (which has: {have}); at least 2 are "
                "needed. Compute the ground truth (ped finetune) or choose another --truth."
            )
        x = np.array([vals[m] for m in common])
        y = np.array([truth[m] for m in common])
        metrics = {m: _safe(ev.METRICS[m], x, y) for m in EVAL_METRICS}
        intervals = {}
        if n_boot:
            for m in CI_METRICS:
                intervals[m] = ev.bootstrap_ci(
                    x, y, m, n_boot=n_boot, level=level, random_state=random_state
                )
        rows[name] = ScoreEvaluation(name, common, metrics, intervals, {m: vals[m] for m in common})
    return Evaluation(dataset, source, truth, rows, missing, level)


def load_scores(path: str | Path, dataset: str | None = None) -> tuple[str, dict[str, dict]]:
    """Read scores from a JSON file.

    Accepted layouts: the output of ``ped rank --json`` (``{"dataset", "ranking": [...]}``);
    ``{"dataset": ..., "scores": {score: {model: value}}}``; ``{score: {model: value}}``; and
    ``{dataset: {score: {model: value}}}`` (then `dataset` picks one).

    Parameters
    ----------
    path : str or Path
    dataset : str, optional
        Dataset to read from a file with several; also the name used when the file has none.

    Returns
    -------
    (dataset, scores)
        The dataset's name and ``{score: {model: value}}``.

    Raises
    ------
    FileNotFoundError, ValueError
        A missing file, or a layout not listed above.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Scores file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"Scores file {path} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise ValueError(f"Expected a JSON object in {path}, got {type(data).__name__}.")
    if "ranking" in data:
        out: dict[str, dict[str, float]] = {}
        for entry in data["ranking"]:
            for s, v in entry["values"].items():
                if v is not None:
                    out.setdefault(s, {})[entry["model"]] = float(v)
        return str(data.get("dataset") or dataset or path.stem), out
    if isinstance(data.get("scores"), dict):
        return str(data.get("dataset") or dataset or path.stem), _numeric_table(
            data["scores"], path
        )

    def depth(obj: Any) -> int:
        return 1 + depth(next(iter(obj.values()))) if isinstance(obj, dict) and obj else 0

    d = depth(data)
    if d == 2:
        return str(dataset or path.stem), _numeric_table(data, path)
    if d == 3:
        if dataset is None:
            if len(data) != 1:
                raise ValueError(
                    f"{path} holds scores of several datasets ({', '.join(data)}); name one."
                )
            dataset = next(iter(data))
        if dataset not in data:
            raise ValueError(f"{path} has no scores for {dataset!r}; it has {', '.join(data)}.")
        return dataset, _numeric_table(data[dataset], path)
    raise ValueError(
        f"Expected scores in {path} as {{score: {{model: value}}}} or the output of "
        "`ped rank --json`, got another layout."
    )


def _numeric_table(obj: Mapping[str, Any], path: Path) -> dict[str, dict[str, float]]:
    out = {}
    for s, vals in obj.items():
        if not isinstance(vals, dict):
            raise ValueError(f"Expected {{model: value}} for score {s!r} in {path}.")
        out[str(s)] = {str(m): float(v) for m, v in vals.items() if v is not None}
    return out


# ---------------------------------------------------------------------------- plots
def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def short_name(model: str) -> str:
    """A model's name for plots and tables: without the ``kind:`` prefix and ``?`` options."""
    name = model.split(":", 1)[1] if ":" in model else model
    return name.split("?", 1)[0]


_OFFSETS = ((4, 3, "left"), (4, -10, "left"), (-4, 3, "right"), (-4, -10, "right"))


def _label_points(ax: Any, labels: Sequence[str], xs: Sequence[float], ys: Sequence[float]):
    """Label dots; a dot near an earlier one gets its label on another side."""
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
    plt = _pyplot()
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
            _label_points(ax, [short_name(m) for m in row.models], xs, ys)
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
    plt = _pyplot()
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
    plt = _pyplot()
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
    plt = _pyplot()
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


# ---------------------------------------------------------------------------- reports
def _fmt(v: float | None, digits: int = 3) -> str:
    if v is None or not math.isfinite(v):
        return "–"
    return f"{v:.{digits}f}"


def _ci(ci: ev.BootstrapCI | None) -> str:
    if ci is None or not (math.isfinite(ci.low) and math.isfinite(ci.high)):
        return "–"
    return f"[{ci.low:.2f}, {ci.high:.2f}]"


def evaluation_rows(evaluation: Evaluation) -> tuple[list[str], list[list[str]]]:
    """Header and text rows of the side-by-side table (``plain / PED`` in each cell)."""
    header = ["score", "models", "weighted τ", f"{evaluation.level:.0%} CI", "Kendall τ"]
    header += ["Pearson", "rel@1", "rel@3", "recall@1", "recall@3"]
    rows = []
    for base, plain, ped in evaluation.pairs():

        def cell(metric: str, digits: int = 3, p=plain, q=ped) -> str:
            a = _fmt(p.metrics[metric], digits) if p else "–"
            if q is None:
                return a
            return f"{a} / {_fmt(q.metrics[metric], digits)}"

        ci = _ci(plain.intervals.get(HEADLINE) if plain else None)
        if ped is not None:
            ci += " / " + _ci(ped.intervals.get(HEADLINE))
        n = max(len(r.models) for r in (plain, ped) if r is not None)
        rows.append(
            [
                base + (" / +PED" if ped is not None else ""),
                str(n),
                cell("weighted_tau"),
                ci,
                cell("kendall_tau"),
                cell("pearson"),
                cell("rel@1"),
                cell("rel@3"),
                cell("recall@1", 0),
                cell("recall@3", 0),
            ]
        )
    return header, rows


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:1em 0;font-size:14px}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
    "img{max-width:100%;border:1px solid #eee;margin:0.5em 0}.note{color:#555}"
)


def write_report(
    evaluations: Sequence[Evaluation],
    out_dir: str | Path,
    *,
    fmt: str = "html",
    dynamics: Mapping[str, Mapping[str, Any]] | None = None,
    rankings: Mapping[str, Any] | None = None,
    title: str = "ped report",
    notes: Sequence[str] = (),
    sections: Sequence[tuple[str, str]] = (),
) -> Path:
    """Write a report: tables, score-vs-truth plots, PED dynamics and a weighted-tau heat map.

    Parameters
    ----------
    evaluations : sequence of Evaluation
        One per dataset (and ground truth).
    out_dir : str or Path
        Folder to write into (created): ``report.html`` or ``report.md`` plus the PNGs.
    fmt : {"html", "md"}, default "html"
        HTML inlines the PNGs (one self-contained file); Markdown links the PNG files.
    dynamics : mapping, optional
        ``{dataset: {model: Simulation}}`` for the energy and displacement plots.
    rankings : mapping, optional
        ``{dataset: RankingResult}``, shown as ranked tables.
    title : str, default "ped report"
    notes : sequence of str
        Sentences shown under the title (warnings, timings).
    sections : sequence of (heading, markdown-free text)
        Extra text sections appended at the end.

    Returns
    -------
    Path
        The report file.
    """
    if fmt not in ("html", "md"):
        raise ValueError(f"Expected fmt 'html' or 'md', got {fmt!r}.")
    if not evaluations and not rankings:
        raise ValueError("Expected at least one evaluation or ranking to report, got none.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    blocks: list[tuple[str, Any]] = []  # ("h2"|"h3"|"p"|"table"|"img", payload)

    def slug(text: str) -> str:
        return "".join(c if c.isalnum() else "-" for c in text).strip("-").lower() or "x"

    heat = {
        f"{e.dataset} ({e.source})" if len({x.source for x in evaluations}) > 1 else e.dataset: (
            e.headline()
        )
        for e in evaluations
    }
    if heat:
        blocks.append(("h2", "Weighted Kendall's τ, every dataset and score"))
        blocks.append(("img", plot_heatmap(heat, out / "heatmap_weighted_tau.png")))
    for e in evaluations:
        blocks.append(("h2", f"{e.dataset}: scores against {e.source}"))
        n = len(e.truth)
        blocks.append(
            (
                "p",
                f"{n} models with ground truth. Each cell reads without PED / with PED; "
                f"intervals are {e.level:.0%} percentile bootstraps over models.",
            )
        )
        blocks.append(("table", evaluation_rows(e)))
        left = sorted({m for v in e.missing.values() for m in v})
        if left:
            blocks.append(("p", f"Left out (no ground truth): {', '.join(left)}."))
        blocks.append(
            ("img", plot_score_vs_truth(e, out / f"scores_vs_truth_{slug(e.dataset)}.png"))
        )
    for ds, ranking in (rankings or {}).items():
        frame = ranking.to_frame()
        header = ["rank", "model"] + list(ranking.scores) + ["seconds", "flags"]
        rows = []
        for _, r in frame.iterrows():
            rows.append(
                [str(r[f"rank[{ranking.scores[0]}]"]), str(r["model"])]
                + [f"{r[s]:.4g}" for s in ranking.scores]
                + [f"{r['seconds']:.1f}", str(r["flags"]) or ""]
            )
        blocks.append(("h2", f"{ds}: ranking by {ranking.scores[0]}"))
        blocks.append(("table", (header, rows)))
        for line in list(ranking.warnings) + [
            x for x in ranking.notes() if x not in ranking.warnings
        ]:
            blocks.append(("p", line))
    for ds, sims in (dynamics or {}).items():
        if sims:
            blocks.append(("h2", f"{ds}: PED dynamics"))
            blocks.append(
                (
                    "img",
                    plot_dynamics(
                        sims, out / f"ped_dynamics_{slug(ds)}.png", title=f"{ds}: PED per step"
                    ),
                )
            )
    for heading, text in sections:
        blocks.append(("h2", heading))
        for para in text.split("\n\n"):
            blocks.append(("p", para))

    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    if fmt == "md":
        parts = [f"# {title}", f"_Generated {stamp} by ped._"]
        parts += list(notes)
        for kind, payload in blocks:
            if kind == "h2":
                parts.append(f"## {payload}")
            elif kind == "p":
                parts.append(str(payload))
            elif kind == "table":
                parts.append(_md_table(*payload))
            elif kind == "img":
                parts.append(f"![{payload.stem}]({payload.name})")
        path = out / "report.md"
        path.write_text("\n\n".join(parts) + "\n")
        return path
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class='note'>Generated {stamp} by ped.</p>",
    ]
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in notes]
    for kind, payload in blocks:
        if kind == "h2":
            parts.append(f"<h2>{html.escape(payload)}</h2>")
        elif kind == "p":
            parts.append(f"<p>{html.escape(str(payload))}</p>")
        elif kind == "table":
            parts.append(_html_table(*payload))
        elif kind == "img":
            data = base64.b64encode(payload.read_bytes()).decode("ascii")
            parts.append(
                f"<img alt='{html.escape(payload.stem)}' src='data:image/png;base64,{data}'>"
            )
    parts.append("</body></html>")
    path = out / "report.html"
    path.write_text("\n".join(parts))
    return path
