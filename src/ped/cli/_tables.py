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


#: Columns of the ranking table leave in this order when the terminal is too narrow: the
#: seconds and the prior facts, then the scores from the last to the second. Rank, model and
#: the first score always stay. A model spec is shortened to its tail, to no fewer than
#: `MODEL_SOFT` characters while seconds or prior facts are still shown, and to no fewer than
#: `MODEL_MIN` before a score goes; a number is never cut.
MODEL_MIN = 16
MODEL_SOFT = 24
MODEL_MAX = 40


def _table_width(widths: list[int]) -> int:
    """Width of a rich table with box borders and one space of padding each side."""
    return sum(widths) + 3 * len(widths) + 1


def tail(text: str, width: int) -> str:
    """`text` cut to its last `width` characters, ``…`` marking the cut."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _fit(
    fixed: list[int], model: int, optional: list[tuple[str, int]], width: int, cheap: int = 0
) -> tuple[int, list[str]]:
    """The model column's width and the optional columns dropped to fit `width`.

    Parameters
    ----------
    fixed : list of int
        Widths of the columns that always stay, the model's excepted.
    model : int
        The model column's natural width.
    optional : list of (str, int)
        Columns that may leave, in the order they leave.
    width : int
    cheap : int, default 0
        How many of the first `optional` columns leave before the model column is cut below
        `MODEL_SOFT` characters (the seconds and prior facts: a model's name matters more).

    Returns
    -------
    model_width : int
    dropped : list of str
    """
    keep = list(optional)
    dropped: list[str] = []
    natural = min(model, MODEL_MAX)
    while True:
        rest = _table_width([*fixed, 0, *(w for _, w in keep)])
        if rest + natural <= width:
            return natural, dropped
        floor = min(natural, MODEL_SOFT if len(dropped) < cheap else MODEL_MIN)
        if rest + floor <= width:
            return width - rest, dropped
        if not keep:
            return min(natural, MODEL_MIN), dropped
        dropped.append(keep.pop(0)[0])


def ranking_table(result: Any, *, title: str | None = None, width: int | None = None) -> Table:
    """A rich table of a RankingResult: best first, ``=`` marks ties, ``*`` saturation.

    At `width` columns (default: the console's), long model specs keep their tail and the
    columns leave in a fixed order (seconds, ImageNet top-1, parameters, then the scores
    from the last; a name is cut below `MODEL_SOFT` characters only once the seconds and
    prior columns have left); the caption names what left. A score a model has no value for reads
    ``n/a``. Prior facts (``result.priors``: parameters, ImageNet top-1) get a column each
    when some model has them.
    """
    from ._common import console

    width = width or console.width
    first = result.scores[0]
    sizes = {
        m.split("image_size=", 1)[1].split("&")[0] for m in result.models if "image_size=" in m
    }
    caption = "= tied with another model within rounding   * at the score's bound (saturated)"
    uniform = len(sizes) <= 1  # then the option is said once, in the caption
    if len(sizes) == 1:
        caption += f"\nimage models that take any input size ran at {next(iter(sizes))} px"
    ranks = {s: result.ranks(s) for s in result.scores}
    tied = {s: {m for g in result.ties(s) for m in g} for s in result.scores}
    sat = {s: set(result.saturated(s)) for s in result.scores}
    order = result.order()
    cells: dict[str, list[str]] = {}
    for s in result.scores:
        column = []
        for m in order:
            v = result.values[s].get(m)
            if v is None or v != v or m not in ranks[s]:  # no value: the notes say why
                column.append("n/a")
                continue
            mark = ("=" if m in tied[s] else "") + ("*" if m in sat[s] else "")
            column.append(f"{fmt(v)} [dim]#{ranks[s][m]}{mark}[/]")
        cells[s] = column
    priors = getattr(result, "priors", {}) or {}
    extra = [  # (header, key): prior facts of the models, shown when some model has one
        (head, key)
        for key, head in (("params", "params"), ("imagenet_top1", "IN top-1"))
        if any((priors.get(m) or {}).get(key) is not None for m in result.models)
    ]
    for head, key in extra:
        cells[head] = [_prior_cell(key, (priors.get(m) or {}).get(key)) for m in order]
    cells["seconds"] = [f"{result.seconds.get(m, float('nan')):.1f}" for m in order]
    trailing = [head for head, _ in extra] + ["seconds"]
    names = [m.split("?", 1)[0] if uniform else m for m in order]
    rank_cells = [f"{ranks[first].get(m, '–')}{'=' if m in tied[first] else ''}" for m in order]

    def natural(key: str) -> int:
        return max([len(key)] + [len(Text.from_markup(c).plain) for c in cells[key]])

    optional = [(c, natural(c)) for c in reversed(trailing)]
    optional += [(s, natural(s)) for s in reversed(result.scores[1:])]
    model_w, dropped = _fit(
        [max(4, max(map(len, rank_cells), default=1)), natural(first)],
        max([5] + [len(n) for n in names]),
        optional,
        width,
        cheap=len(trailing),
    )
    if dropped:
        caption += f"\nnot shown at {width} columns: {', '.join(dropped)} (--json or --csv has all)"
    table = titled_table(
        title or f"{result.dataset}: {len(result.models)} models ranked by {first}",
        caption=caption,
    )
    shown = [c for c in [*result.scores, *trailing] if c not in dropped]
    table.add_column("rank", justify="right", no_wrap=True)
    table.add_column("model", no_wrap=True, max_width=model_w)
    for c in shown:
        table.add_column(c, justify="right", no_wrap=True)
    for k in range(len(order)):
        table.add_row(rank_cells[k], Text(tail(names[k], model_w)), *(cells[c][k] for c in shown))
    return table


def _prior_cell(key: str, value: Any) -> str:
    """A model's parameter count (as 5.3M) or ImageNet top-1 (as 75.1); – when unknown."""
    if value is None:
        return "–"
    if key == "params":
        v = float(value)
        return f"{v / 1e6:.1f}M" if v >= 1e5 else f"{v / 1e3:.1f}k" if v >= 1e3 else f"{v:.0f}"
    return f"{float(value):.1f}"


#: Columns of the evaluation table that leave, in this order, when the terminal is narrow.
EVALUATION_DROP_ORDER = ("rel@3", "rel@1", "Kendall τ", "Δ")


def evaluation_table(e: Any, *, width: int | None = None) -> Table:
    """Rich table of an Evaluation: one row per base score, without and with PED.

    At `width` columns (default: the console's) the columns of `EVALUATION_DROP_ORDER` leave
    in that order until the table fits; the caption names what left.
    """
    from rich import box
    from rich.measure import Measurement

    from ._common import console

    width = width or console.width

    def f(v: Any, digits: int = 2) -> str:
        return "–" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"

    def ci(row: Any) -> str:
        c = row.intervals.get("weighted_tau") if row is not None else None
        if c is None or not (math.isfinite(c.low) and math.isfinite(c.high)):
            return ""
        return f" [{c.low:.2f}, {c.high:.2f}]"

    headers = ["score", "weighted τ", "with PED", "Δ", "Kendall τ", "rel@1", "rel@3"]
    rows = []
    for base, plain, ped in e.pairs():

        def pair(metric: str, digits: int = 2, p: Any = plain, q: Any = ped) -> str:
            a = f(p.metrics[metric], digits) if p is not None else "–"
            return a if q is None else f"{a}/{f(q.metrics[metric], digits)}"

        wt_p = plain.metrics["weighted_tau"] if plain is not None else None
        wt_q = ped.metrics["weighted_tau"] if ped is not None else None
        delta = wt_q - wt_p if wt_p is not None and wt_q is not None else None
        n = max(len(r.models) for r in (plain, ped) if r is not None)
        rows.append(
            [
                base if n == len(e.truth) else f"{base} ({n})",
                f(wt_p) + ci(plain),
                f(wt_q) + ci(ped) if ped is not None else "",
                f"{delta:+.2f}" if delta is not None and math.isfinite(delta) else "",
                pair("kendall_tau"),
                pair("rel@1"),
                pair("rel@3"),
            ]
        )
    dropped: list[str] = []
    while True:
        keep = [k for k, h in enumerate(headers) if h not in dropped]
        caption = (
            f"weighted τ with its {e.level:.0%} bootstrap interval over models; other "
            "cells: without/with PED; (n): models scored, when fewer; Pearson, recall@k: --json"
        )
        if dropped:
            caption += f"; not shown at {width} columns: {', '.join(dropped)}"
        table = titled_table(
            f"{e.dataset}: scores vs {e.source} ({len(e.truth)} models with ground truth)",
            caption=caption,
            box=box.SIMPLE_HEAD,
            padding=(0, 1),
        )
        table.min_width = min(table.min_width or 0, width)
        for k in keep:
            table.add_column(headers[k], justify="left" if k == 0 else "right", no_wrap=True)
        for r in rows:
            table.add_row(*(Text(r[k]) for k in keep))
        need = Measurement.get(console, console.options.update(width=10_000), table).maximum
        if need <= width or len(dropped) == len(EVALUATION_DROP_ORDER):
            return table
        dropped.append(EVALUATION_DROP_ORDER[len(dropped)])
