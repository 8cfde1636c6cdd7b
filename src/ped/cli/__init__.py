"""The `ped` command line. The only part of ped that prints or configures logging.

Every error a user can cause (a `ped.errors.PedError`, or a ValueError/TypeError from input
validation) is printed as one line, ``error: <message>``, with exit status 2. Set
``PED_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import logging
import os
import sys

import click
import typer

from ..errors import PedError

app = typer.Typer(
    name="ped",
    help="Rank pretrained models for fine-tuning without fine-tuning them (PED, ICCV 2023).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _mount(module_name: str) -> None:
    """Add the commands of a sibling module's Typer ``app`` to the top-level app."""
    import importlib

    try:
        mod = importlib.import_module(f"{__name__}.{module_name}")
    except ModuleNotFoundError as exc:  # a part not installed in this build
        if exc.name and exc.name.startswith(__name__):
            return
        raise
    sub = mod.app
    app.registered_commands.extend(sub.registered_commands)
    app.registered_groups.extend(sub.registered_groups)


_mount("_core_commands")
for _name in (
    "features_commands",
    "zoo_commands",
    "finetune",
    "product_commands",
    "benchmark_commands",
):
    _mount(_name)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    level = logging.DEBUG if os.environ.get("PED_DEBUG") else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    debug = bool(os.environ.get("PED_DEBUG"))
    try:
        app(args=argv, prog_name="ped", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except click.exceptions.Abort:
        print("error: aborted", file=sys.stderr)
        return 130
    except (PedError, ValueError, TypeError, FileNotFoundError) as exc:
        if debug:
            raise
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: {msg}", file=sys.stderr)
        return 2
    return 0


__all__ = ["app", "main"]
