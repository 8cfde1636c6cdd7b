"""Transferability scores, one module each, registered explicitly by name.

Every implementation takes validated inputs (see `ped.scoring.score` for the public entry
point) and returns a Python float, higher meaning better expected transfer.
"""

from __future__ import annotations

# Explicit imports: each module registers its scores when imported.
from . import etran as etran  # noqa: F401
from . import gbc as gbc  # noqa: F401
from . import hscore as hscore  # noqa: F401
from . import knn as knn  # noqa: F401
from . import leep as leep  # noqa: F401
from . import linear_cv as linear_cv  # noqa: F401
from . import logme as logme  # noqa: F401
from . import nce as nce  # noqa: F401
from . import ncti as ncti  # noqa: F401
from . import nleep as nleep  # noqa: F401
from . import pactran as pactran  # noqa: F401
from . import parc as parc  # noqa: F401
from . import reg_hscore as reg_hscore  # noqa: F401
from . import sfda as sfda  # noqa: F401
from . import transrate as transrate  # noqa: F401
from ._dense import dense_features
from ._linalg import blas_threads, sym_eigh
from ._registry import (
    RANK_DEFAULTS,
    SATURATION_TOL,
    ScoreInfo,
    get_score,
    rank_params,
    register,
    registered,
)

__all__ = [
    "ScoreInfo",
    "get_score",
    "register",
    "registered",
    "rank_params",
    "RANK_DEFAULTS",
    "SATURATION_TOL",
    "blas_threads",
    "dense_features",
    "sym_eigh",
]
