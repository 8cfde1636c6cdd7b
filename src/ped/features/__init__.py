"""Feature extraction and the feature store.

`extract` runs a backbone over a dataset split once and keeps the result in a content-keyed
store on disk (default ``$PED_HOME/features``); asking again memory-maps the stored arrays and
runs no model. `reference_stats` does the same for the reference domain (ImageNet val) and
returns the per-dimension mean and population std that PED rescales with.

Modules, one job each: `ped.features.store` (layout, keys, entries, checksums, locks, listing,
removal, cleaning), `ped.features.extraction` (the resumable extraction loop and `extract`),
`ped.features.reference` (reference statistics).
"""

from __future__ import annotations

from .extraction import DEFAULT_CHUNK_SIZE, extract  # noqa: F401  (public constant)
from .reference import reference_stats
from .store import FORMAT_VERSION, FeatureSet, FeatureStore, feature_key  # noqa: F401

__all__ = ["FeatureSet", "FeatureStore", "extract", "feature_key", "reference_stats"]
