"""The `ped` command line. The only part of ped that prints or configures logging.

Every mistake a user can make ends in one line on stderr and exit status 2:

- a usage mistake (unknown option or command, missing argument, bad value):
  ``error: No such option: --limt (see 'ped rank --help')``;
- an error of ped a user can cause (a `ped.errors.PedError`, a ValueError or TypeError from
  input validation, a missing or unreadable user path): ``error: <message>``.

Ctrl-C ends a command with one line saying what was interrupted and exit status 130; the
commands that store their work as they go (extract, reference, rank, finetune, benchmark,
demo) resume when run again. Set ``PED_DEBUG=1`` to see the traceback instead of the line.

Start-up stays fast: the command modules import only typer and rich at module level, and
each command imports the library where it runs (see docs/architecture.md).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Sequence

import typer

from ..errors import PedError

app = typer.Typer(
    name="ped",
    help="Rank pretrained models for fine-tuning without fine-tuning them (PED, ICCV 2023).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Command modules whose Typer ``app`` is mounted on the top-level app, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "_core_commands",
    "features_commands",
    "zoo_commands",
    "finetune",
    "rank_commands",
    "evaluate_commands",
    "demo_commands",
    "benchmark_commands",
)

#: Commands that keep their finished work (feature store, results database, records) and so
#: resume when run again after an interruption.
RESUMABLE: frozenset[str] = frozenset(
    {"extract", "reference", "rank", "finetune", "finetune-truth", "benchmark", "demo"}
)

#: Errors of ped a user can cause: printed as one line, exit status 2.
USER_ERRORS: tuple[type[BaseException], ...] = (
    PedError,
    ValueError,
    TypeError,
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)


def _mount(module_name: str) -> None:
    """Add the commands of a sibling module's Typer ``app`` to the top-level app."""
    mod = importlib.import_module(f"{__name__}.{module_name}")
    app.registered_commands.extend(mod.app.registered_commands)
    app.registered_groups.extend(mod.app.registered_groups)


for _name in COMMAND_MODULES:
    _mount(_name)


def _cli_exceptions() -> dict[str, tuple[type[BaseException], ...]]:
    """The exception classes of the option parser: typer's own (typer >= 0.24 carries a
    copy of click in ``typer._click``) and click's (older typer releases use click itself).

    Imported only when an exception reaches `main`, so start-up does not pay for click;
    a module that is not installed is skipped.
    """
    names = {"usage": "UsageError", "click": "ClickException", "exit": "Exit", "abort": "Abort"}
    kinds: dict[str, list[type[BaseException]]] = {k: [] for k in names}
    for module in ("typer.exceptions", "typer._click.exceptions", "click.exceptions"):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        for kind, name in names.items():
            cls = getattr(mod, name, None)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                kinds[kind].append(cls)
    return {k: tuple(v) for k, v in kinds.items()}


def _command_name(args: Sequence[str]) -> str:
    """The command a user typed (``rank``, ``features list``), for the interruption line."""
    words = [a for a in args if not a.startswith("-")]
    if not words:
        return ""
    return " ".join(words[:2]) if words[0] in {"features", "zoo"} else words[0]


def _interrupted(args: Sequence[str]) -> int:
    name = _command_name(args)
    what = f"`ped {name}`" if name else "ped"
    if name.split(" ")[0] in RESUMABLE:
        tail = "finished work is kept: run the same command again to resume."
    else:
        tail = "nothing was saved."
    print(f"interrupted: {what} stopped by Ctrl-C; {tail}", file=sys.stderr)
    return 130


def _one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return " ".join(lines)


def _usage_line(exc: BaseException) -> str:
    ctx = getattr(exc, "ctx", None)
    message = _one_line(exc.format_message()).rstrip(".")  # type: ignore[attr-defined]
    path = ctx.command_path if ctx is not None else "ped"
    joint = " See" if message.endswith("?") else "; see"
    return f"error: {message}{joint} '{path} --help'."


def _run(args: list[str]) -> int:
    """Parse and run one command; parser exceptions and interruptions propagate."""
    command = typer.main.get_command(app)
    with command.make_context("ped", args) as ctx:
        command.invoke(ctx)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 2 user error, 130 Ctrl-C).

    Parameters
    ----------
    argv : list of str, optional
        Arguments after ``ped`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
    """
    debug = bool(os.environ.get("PED_DEBUG"))
    level = logging.DEBUG if debug else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(args)
    except BrokenPipeError:  # `ped ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (KeyboardInterrupt, EOFError):
        if debug:
            raise
        return _interrupted(args)
    except USER_ERRORS as exc:
        if debug:
            raise
        message = _one_line(str(exc)) or type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
    except typer.Exit as exc:  # --help, --version: typer's own exit, no click needed
        return int(getattr(exc, "exit_code", 0) or 0)
    except Exception as exc:
        kinds = _cli_exceptions()
        if isinstance(exc, kinds["exit"]):
            return int(getattr(exc, "exit_code", 0) or 0)
        if isinstance(exc, kinds["abort"]):
            return _interrupted(args)
        if not isinstance(exc, kinds["click"]) or debug:
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `ped` or group: the help
            print(exc.format_message(), file=sys.stderr)  # type: ignore[attr-defined]
            return 2
        if isinstance(exc, kinds["usage"]):
            print(_usage_line(exc), file=sys.stderr)
            return 2
        print(f"error: {_one_line(exc.format_message())}", file=sys.stderr)  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 1) or 1)


__all__ = ["app", "main", "COMMAND_MODULES", "RESUMABLE", "USER_ERRORS"]
