"""Default locations, each overridable by an environment variable.

* ``PED_HOME``: the feature store (``$PED_HOME/features``) and the results database
  (``$PED_HOME/results.sqlite``); default ``~/.cache/ped``.
* ``PED_DATA``: dataset roots; default ``$PED_HOME/data``.
* ``PED_MODELS``: local checkpoints (the ssl-transfer ResNet-50s); default ``$PED_HOME/models``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ped_home", "data_dir", "models_dir", "feature_store_dir", "results_db_path"]


def ped_home() -> Path:
    return Path(os.environ.get("PED_HOME") or Path.home() / ".cache" / "ped").expanduser()


def data_dir() -> Path:
    return Path(os.environ.get("PED_DATA") or ped_home() / "data").expanduser()


def models_dir() -> Path:
    return Path(os.environ.get("PED_MODELS") or ped_home() / "models").expanduser()


def feature_store_dir() -> Path:
    return ped_home() / "features"


def results_db_path() -> Path:
    return ped_home() / "results.sqlite"
