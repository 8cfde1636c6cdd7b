"""The report page: evaluation tables, plots, rankings and PED dynamics, in HTML or Markdown.

HTML inlines the PNGs (the one file is the whole report); Markdown links the PNG files beside
it. Nothing here prints.
"""

from __future__ import annotations

import base64
import html
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..evaluation import HEADLINE, BootstrapCI, Evaluation
from .plots import plot_agreement, plot_dynamics, plot_heatmap, plot_score_bars, plot_score_vs_truth
from .ranking import agreement, ranking_rows, unsure_models

__all__ = ["evaluation_rows", "write_report"]


def _fmt(v: float | None, digits: int = 3) -> str:
    if v is None or not math.isfinite(v):
        return "–"
    return f"{v:.{digits}f}"


def _ci(ci: BootstrapCI | None) -> str:
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
    scores: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
    title: str = "ped report",
    notes: Sequence[str] = (),
    sections: Sequence[tuple[str, str]] = (),
) -> Path:
    """Write a report: the ranking by every score, how far the scores agree, and, where a
    ground truth is known, how well each predicts it, with PED's dynamics.

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
    scores : mapping, optional
        ``{dataset: {score: {model: value}}}``: per dataset the ranking table, one bar chart
        per score (best model on top) and the agreement between scores (Kendall's τ of every
        pair, as a heat map and a table). No ground truth is needed.
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
    if not evaluations and not rankings and not scores:
        raise ValueError("Expected at least one evaluation or ranking to report, got none.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    blocks = _score_blocks(scores or {}, out)
    blocks += _evaluation_blocks(evaluations, out)
    blocks += _ranking_blocks(rankings or {})
    blocks += _dynamics_blocks(dynamics or {}, out)
    for heading, text in sections:
        blocks.append(("h2", heading))
        for para in text.split("\n\n"):
            blocks.append(("p", para))
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    if fmt == "md":
        path = out / "report.md"
        path.write_text(_markdown_page(blocks, title, notes, stamp))
    else:
        path = out / "report.html"
        path.write_text(_html_page(blocks, title, notes, stamp))
    return path


#: A report is a list of blocks: ("h2", heading), ("p", text), ("table", (header, rows)) or
#: ("img", path of a PNG).
Block = tuple[str, Any]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text).strip("-").lower() or "x"


def _evaluation_blocks(evaluations: Sequence[Evaluation], out: Path) -> list[Block]:
    """The weighted-tau heat map, then per evaluation its table and score-vs-truth plots."""
    blocks: list[Block] = []
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
            ("img", plot_score_vs_truth(e, out / f"scores_vs_truth_{_slug(e.dataset)}.png"))
        )
    return blocks


def _score_blocks(
    scores: Mapping[str, Mapping[str, Mapping[str, float]]], out: Path
) -> list[Block]:
    """Per dataset: the ranking table, the bar charts and the agreement between scores."""
    blocks: list[Block] = []
    for ds, values in scores.items():
        values = {s: v for s, v in values.items() if v}
        if not values:
            continue
        first = next(iter(values))
        blocks.append(("h2", f"{ds}: ranking by {first}"))
        blocks.append(
            (
                "p",
                "Each cell reads value #rank (higher is better for every score); n/a: the "
                "score has no value for that model.",
            )
        )
        blocks.append(("table", ranking_rows(values)))
        path = out / f"scores_{_slug(ds)}.png"
        title = f"{ds}: scores per model (best on top, higher is better)"
        blocks.append(
            ("img", plot_score_bars(values, path, title=title, unsure=unsure_models(values)))
        )
        if len(values) > 1:
            agree = agreement(values)
            blocks.append(("h2", f"{ds}: do the scores agree?"))
            blocks.append(
                (
                    "p",
                    "Kendall's τ between the rankings of two scores over the models both "
                    "scored: 1 is the same order, -1 the reverse, – fewer than 3 models or a "
                    "score that does not vary.",
                )
            )
            header = ["score", *agree]
            rows = [[a] + [_fmt(agree[a][b], 2) for b in agree] for a in agree]
            blocks.append(("table", (header, rows)))
            blocks.append(
                (
                    "img",
                    plot_agreement(
                        agree,
                        out / f"agreement_{_slug(ds)}.png",
                        title=f"{ds}: Kendall's τ between the scores' rankings",
                    ),
                )
            )
    return blocks


def _ranking_blocks(rankings: Mapping[str, Any]) -> list[Block]:
    """Per dataset, the ranked table of a `RankingResult` and its warnings and notes."""
    blocks: list[Block] = []
    for ds, ranking in rankings.items():
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
    return blocks


def _dynamics_blocks(dynamics: Mapping[str, Mapping[str, Any]], out: Path) -> list[Block]:
    """Per dataset with simulations, the plot of PED's energy and displacement per step."""
    blocks: list[Block] = []
    for ds, sims in dynamics.items():
        if sims:
            blocks.append(("h2", f"{ds}: PED dynamics"))
            path = out / f"ped_dynamics_{_slug(ds)}.png"
            blocks.append(("img", plot_dynamics(sims, path, title=f"{ds}: PED per step")))
    return blocks


def _markdown_page(blocks: Sequence[Block], title: str, notes: Sequence[str], stamp: str) -> str:
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
    return "\n\n".join(parts) + "\n"


def _html_page(blocks: Sequence[Block], title: str, notes: Sequence[str], stamp: str) -> str:
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
    return "\n".join(parts)
