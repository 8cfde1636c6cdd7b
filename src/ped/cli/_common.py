"""Shared helpers of the command line: output, errors, progress bars."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape


def _width(stream: Any) -> int | None:
    """Rich's width, but 120 columns rather than 80 when writing to a file or a pipe."""
    import os

    if os.environ.get("COLUMNS") or (hasattr(stream, "isatty") and stream.isatty()):
        return None
    return 120


console = Console(width=_width(sys.stdout))
err_console = Console(stderr=True, width=_width(sys.stderr))


def titled_table(title: str, **kwargs: Any) -> Any:
    """A rich Table at least as wide as its title (so a narrow table keeps it on one line)."""
    from rich.table import Table

    kwargs.setdefault("min_width", min(len(title) + 2, 120))
    return Table(title=title, **kwargs)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if type(obj).__module__ == "numpy":  # arrays and scalars, without importing numpy here
        obj = obj.tolist() if hasattr(obj, "tolist") else obj
        if isinstance(obj, (list, dict)):
            return _jsonable(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "as_dict"):
        return _jsonable(obj.as_dict())
    return obj


def print_json(obj: Any) -> None:
    """Write ``obj`` as JSON on stdout (NaN and infinity become null)."""
    sys.stdout.write(json.dumps(_jsonable(obj), indent=2) + "\n")
    sys.stdout.flush()


#: Widths the progress bar's columns take: count (``12,345/12,345``), rate
#: (``1,234.5 items/s``), elapsed and remaining time (``0:01:23``), one space between columns.
_COUNT, _RATE, _TIME = 13, 17, 7


def _label(text: str, width: int) -> str:
    """The stage's name cut to `width` characters: its head, where the stage is named."""
    return text if len(text) <= width else text[: width - 1] + "…"


def progress_columns(width: int) -> tuple[list[Any], int]:
    """The columns of a progress bar that fits `width` terminal columns, and the width left
    for the stage's name.

    The stage's name, the count, the rate and the remaining time always show; below 100
    columns the elapsed time leaves, and the bar itself shrinks to 10 characters before the
    name is cut.

    Returns
    -------
    columns : list of rich progress columns
    label_width : int
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    elapsed = width >= 100
    fixed = _COUNT + _RATE + _TIME * (2 if elapsed else 1) + (5 if elapsed else 4)
    label_width = max(12, min(40, width - fixed - 1 - 10))
    bar_width = max(10, min(40, width - fixed - 1 - label_width))
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=bar_width),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
    ]
    if elapsed:
        columns.append(TimeElapsedColumn())
    columns.append(TimeRemainingColumn())
    return columns, label_width


@contextmanager
def progress_bar(description: str, *, enabled: bool = True, unit: str = "items") -> Iterator:
    """A rich progress bar with a rate column; yields a ``progress(done, total, **info)``
    callback for library functions. The bar appears with the first report, so a command that
    fails before any work prints only its error."""
    if not enabled:
        yield None
        return
    from rich.progress import Progress

    columns, label_width = progress_columns(err_console.width)
    state: dict[str, Any] = {}
    start = time.perf_counter()

    def callback(done: int, total: int | None = None, **info: Any) -> None:
        if "bar" not in state:
            bar = Progress(*columns, console=err_console, transient=False)
            bar.start()
            state["bar"] = bar
            state["task"] = bar.add_task(_label(description, label_width), total=None, rate="")
        elapsed = max(time.perf_counter() - start, 1e-9)
        rate = info.get("items_per_s")
        if rate is None and done:
            rate = done / elapsed
        desc = info.get("description")
        state["bar"].update(
            state["task"],
            completed=done,
            total=total,
            rate=f"{rate:,.1f} {unit}/s" if rate else "",
            **({"description": _label(desc, label_width)} if desc else {}),
        )

    try:
        yield callback
    finally:
        if "bar" in state:
            state["bar"].stop()


@contextmanager
def staged_progress(*, enabled: bool = True) -> Iterator:
    """Progress bars for a workflow of several stages: yields one callback that opens a new
    bar (named by the report's ``stage`` and counting its ``unit``) whenever the stage
    changes, as `ped demo` shows one bar per target and step. ``callback.close()`` ends the
    current bar, so that a table can be printed between stages."""
    if not enabled:
        yield None
        return
    state: dict[str, Any] = {}

    def close() -> None:
        if "cm" in state:
            state.pop("cm").__exit__(None, None, None)
            state.pop("stage", None)

    def callback(done: int, total: int | None = None, **info: Any) -> None:
        stage = info.pop("stage", "")
        unit = info.pop("unit", "items")
        if state.get("stage") != stage:
            close()
            state["cm"] = progress_bar(stage, unit=unit)
            state["bar"] = state["cm"].__enter__()
            state["stage"] = stage
        state["bar"](done, total, **info)

    callback.close = close  # type: ignore[attr-defined]
    try:
        yield callback
    finally:
        close()


def warn(lines: list[str], *, to_stderr: bool = False) -> None:
    """Print each line as a yellow ``note:``, on stdout or stderr."""
    target = err_console if to_stderr else console
    for line in lines:
        target.print(
            f"[yellow]note:[/] {escape(line)}", highlight=False, soft_wrap=True, emoji=False
        )
