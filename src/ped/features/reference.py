"""Reference-domain feature statistics for PED's rescaling: `reference_stats`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ped.dynamics import ReferenceStats
from ped.errors import StoreError

from .. import _files
from .extraction import ProgressFn, extract
from .store import FeatureStore

if TYPE_CHECKING:  # pragma: no cover
    from ped.data import Dataset
    from ped.models import Backbone

__all__ = ["reference_stats"]


def _mean_std(features: np.ndarray, block: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and population std in float64, a block of rows at a time."""
    n, d = features.shape
    total = np.zeros(d, dtype=np.float64)
    for s in range(0, n, block):
        total += np.asarray(features[s : s + block], dtype=np.float64).sum(axis=0)
    mean = total / n
    sq = np.zeros(d, dtype=np.float64)
    for s in range(0, n, block):
        z = np.asarray(features[s : s + block], dtype=np.float64) - mean
        sq += np.einsum("ij,ij->j", z, z)
    return mean, np.sqrt(sq / n)


def _read_stats(path: Path, dim: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The stored mean and std, when the file is a regular ``.npz`` of the right shape."""
    try:
        with _files.open_regular(path) as f, np.load(f, allow_pickle=False) as z:
            mean, std = np.asarray(z["mean"]), np.asarray(z["std"])
    except (OSError, ValueError, KeyError, EOFError):
        return None
    if mean.shape != (dim,) or std.shape != (dim,):
        return None
    return mean, std


def _write_stats(path: Path, mean: np.ndarray, std: np.ndarray) -> None:
    f, tmp = _files.create_tmp(path.parent, path.stem, suffix=".tmp.npz")
    try:
        with f:
            np.savez(f, mean=mean, std=std)
        os.replace(tmp, path)
    except BaseException:
        _files.unlink_if_regular(tmp)
        raise


def reference_stats(
    model: Backbone | str,
    dataset: Dataset | str = "imagenet-val",
    *,
    limit: int | None = None,
    store: FeatureStore | str | Path | None = None,
    progress: ProgressFn | None = None,
    batch_size: int = 64,
    device: str | None = None,
    num_workers: int = 0,
) -> ReferenceStats:
    """Per-dimension mean and population std of a model's features on the reference domain.

    PED rescales every model's target features with these statistics of the same model on
    ImageNet val (reference-behaviour.md section 0; the reference code cannot extract them,
    bug B9). The features are extracted into the store like any other (``split="all"``) and
    the statistics are kept beside them (``reference_stats.npz``), written under the key's
    lock when the store is writable.

    Parameters
    ----------
    model : Backbone or str
    dataset : Dataset or str, default "imagenet-val"
    limit : int, optional
        Use the first ``limit`` items of the balanced order (e.g. 10 000 of the 50 000).
    store, progress, batch_size, device, num_workers
        As for `ped.features.extract`.

    Returns
    -------
    ped.dynamics.ReferenceStats
        ``mean`` and ``std`` of shape (n_features,), float64; ``n_samples``; ``source`` is
        the dataset spec.
    """
    fs = extract(
        model,
        dataset,
        limit=limit,
        batch_size=batch_size,
        device=device,
        store=store,
        progress=progress,
        num_workers=num_workers,
    )
    path = fs.path / "reference_stats.npz"
    stats = _read_stats(path, fs.n_features)
    if stats is None:
        stats = _mean_std(fs.features)
        try:
            with FeatureStore(fs.path.parent).lock(fs.key):
                _write_stats(path, *stats)
        except (OSError, StoreError):
            pass  # a read-only store: the statistics are computed again next time
    mean, std = stats
    return ReferenceStats(mean=mean, std=std, n_samples=fs.n_samples, source=fs.dataset)
