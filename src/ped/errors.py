"""Exceptions a user can cause outside the numeric core.

Every one of them is a `PedError`, so the command line can print it as one clear line instead
of a traceback. Each also derives from the built-in exception that fits it, so callers that
catch ``ValueError`` or ``FileNotFoundError`` keep working.
"""

from __future__ import annotations

__all__ = [
    "PedError",
    "UnknownModelError",
    "UnknownDatasetError",
    "MissingDependencyError",
    "MissingWeightsError",
    "MissingDatasetError",
    "DataFileError",
    "StoreError",
]


class PedError(Exception):
    """Base class of the errors a user can cause (bad spec, missing file, missing package)."""


class UnknownModelError(PedError, ValueError):
    """A model spec that names no known backbone."""


class UnknownDatasetError(PedError, ValueError):
    """A dataset spec that names no known dataset."""


class MissingDependencyError(PedError, ImportError):
    """An optional package (torchvision, timm, transformers, ray, a zoo package) is needed."""


class MissingWeightsError(PedError, FileNotFoundError):
    """Pretrained weights that are not on this machine and cannot be downloaded here."""


class MissingDatasetError(PedError, FileNotFoundError):
    """A dataset that is not where it was looked for."""


class DataFileError(PedError, ValueError):
    """A data file that exists but cannot be read as its format, or that ped refuses to read."""


class StoreError(PedError, RuntimeError):
    """The feature store or the results database is unusable (corrupt entry, bad path)."""
