"""Rich tables of the command line: a ranking, an evaluation."""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table
from rich.text import Text

from ._common import titled_table


def fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "–"
    v = float(v)
    if not math.isfinite(v):
        return "–"
    return f"{v:.{digits}g}"


def ranking_table(result: Any, *, title: str | None = None) -> Table:
    """A rich table of a RankingResult: best first, ``=`` marks ties, ``*`` saturation."""
    first = result.scores[0]
    sizes = {
        m.split("image_size=", 1)[1].split("&")[0] for m in result.models if "image_size=" in m
    }
    caption = "= tied with another model within rounding   * at the score's bound (saturated)"
    uniform = len(sizes) <= 1  # then the option is said once, in the caption
    if len(sizes) == 1:
        caption += f"\nimage models that take any input size ran at {next(iter(sizes))} px"
    table = titled_table(
        title or f"{result.dataset}: {len(result.models)} models ranked by {first}",
        caption=caption,
    )
    table.add_column("rank", justify="right")
    table.add_column("model", no_wrap=True)
    for s in result.scores:
        table.add_column(s, justify="right", no_wrap=True)
    priors = getattr(result, "priors", {}) or {}
    prior_cols = [
        (key, head)
        for key, head in (("params", "params"), ("imagenet_top1", "IN top-1"))
        if any((priors.get(m) or {}).get(key) is not None for m in result.models)
    ]
    for _, head in prior_cols:
        table.add_column(head, justify="right", no_wrap=True)
    table.add_column("seconds", justify="right")
    ranks = {s: result.ranks(s) for s in result.scores}
    tied = {s: {m for g in result.ties(s) for m in g} for s in result.scores}
    sat = {s: set(result.saturated(s)) for s in result.scores}
    for m in result.order():
        cells = []
        for s in result.scores:
            mark = ("=" if m in tied[s] else "") + ("*" if m in sat[s] else "")
            v = result.values[s].get(m)
            if v is None or v != v:  # a cell without a value: its reason is in the notes
                cells.append("n/a")
                continue
            cells.append(f"{fmt(v)} [dim]#{ranks[s][m]}{mark}[/]")
        for key, _ in prior_cols:
            cells.append(_prior_cell(key, (priors.get(m) or {}).get(key)))
        table.add_row(
            f"{ranks[first][m]}{'=' if m in tied[first] else ''}",
            Text(m.split("?", 1)[0] if uniform else m),
            *cells,
            f"{result.seconds.get(m, float('nan')):.1f}",
        )
    return table


def _prior_cell(key: str, value: Any) -> str:
    """A model's parameter count (as 5.3M) or ImageNet top-1 (as 75.1); – when unknown."""
    if value is None:
        return "–"
    if key == "params":
        v = float(value)
        return f"{v / 1e6:.1f}M" if v >= 1e5 else f"{v / 1e3:.1f}k" if v >= 1e3 else f"{v:.0f}"
    return f"{float(value):.1f}"


def evaluation_table(e: Any) -> Table:
    """Rich table of an Evaluation: one row per base score, without and with PED."""
    from rich import box

    def f(v: Any, digits: int = 2) -> str:
        return "–" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"

    def ci(row: Any) -> str:
        c = row.intervals.get("weighted_tau") if row is not None else None
        if c is None or not (math.isfinite(c.low) and math.isfinite(c.high)):
            return ""
        return f" [{c.low:.2f}, {c.high:.2f}]"

    table = titled_table(
        f"{e.dataset}: scores vs {e.source} ({len(e.truth)} models with ground truth)",
        caption=f"weighted τ with its {e.level:.0%} bootstrap interval over models; other "
        "cells: without/with PED; (n): models scored, when fewer; Pearson, recall@k: --json",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
    )
    for i, h in enumerate(["score", "weighted τ", "with PED", "Δ", "Kendall τ", "rel@1", "rel@3"]):
        table.add_column(h, justify="left" if i == 0 else "right", no_wrap=True)
    for base, plain, ped in e.pairs():

        def pair(metric: str, digits: int = 2, p: Any = plain, q: Any = ped) -> str:
            a = f(p.metrics[metric], digits) if p is not None else "–"
            return a if q is None else f"{a}/{f(q.metrics[metric], digits)}"

        wt_p = plain.metrics["weighted_tau"] if plain is not None else None
        wt_q = ped.metrics["weighted_tau"] if ped is not None else None
        delta = wt_q - wt_p if wt_p is not None and wt_q is not None else None
        n = max(len(r.models) for r in (plain, ped) if r is not None)
        table.add_row(
            Text(base if n == len(e.truth) else f"{base} ({n})"),
            Text(f(wt_p) + ci(plain)),
            Text(f(wt_q) + ci(ped)) if ped is not None else "",
            f"{delta:+.2f}" if delta is not None and math.isfinite(delta) else "",
            pair("kendall_tau"),
            pair("rel@1"),
            pair("rel@3"),
        )
    return table
