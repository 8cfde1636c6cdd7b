"""Resumable feature extraction into the store: `extract`.

Extraction writes rows into fixed-shape ``.npy`` files in ``.partial/<key>/`` and, after every
finished chunk (about 2048 items), replaces a progress file atomically; an extraction killed at
any moment (SIGKILL included: written pages belong to the page cache, not to the process)
resumes from its last finished chunk and ends bit-identical to a clean run (chunk boundaries
fall on batch boundaries and a resume keeps the original batch size). When every row is in,
labels, checksums and ``meta.json`` are added and the partial folder is renamed into place, so
the features are written once. Durability against power loss is not attempted (nothing is
fsynced). Two processes asking for the same key serialise on the key's lock: the second finds
the entry the first built.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ped.data import Dataset, balanced_order, load_dataset
from ped.errors import StoreError, UnknownDatasetError

from .. import _files
from .._files import kind
from .entry import FORMAT_VERSION, FeatureSet, checksum_record, feature_key
from .store import FeatureStore, as_store

if TYPE_CHECKING:  # pragma: no cover
    from ped.models import Backbone  # ped.models imports torch: loaded only when a spec is given

__all__ = ["extract", "DEFAULT_CHUNK_SIZE"]

logger = logging.getLogger(__name__)

#: Items per saved chunk of an extraction in progress (rounded to whole batches).
DEFAULT_CHUNK_SIZE = 2048

ProgressFn = Callable[..., None]


class _Items:
    """Map-style view over the items to extract, applying the backbone's eval transform."""

    def __init__(self, dataset: Dataset, transform: Callable[[Any], Any], start: int):
        self.dataset = dataset
        self.transform = transform
        self.start = start

    def __len__(self) -> int:
        return len(self.dataset) - self.start

    def __getitem__(self, i: int) -> Any:
        return self.transform(self.dataset[self.start + i][0])


@dataclass
class _Job:
    """One extraction: what runs, on which items, under which key."""

    backbone: Backbone
    dataset: Dataset
    view: Dataset
    limit: int | None
    key: str

    @property
    def n(self) -> int:
        return len(self.view)


# --------------------------------------------------------------------------------------------
# Step 1: arguments, model, dataset, key


def _check_arguments(batch_size: Any, chunk_size: Any, limit: Any) -> None:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Expected batch_size to be a positive integer, got {batch_size!r}.")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"Expected chunk_size to be a positive integer, got {chunk_size!r}.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | np.integer)
                              or limit < 1):  # fmt: skip
        raise ValueError(f"Expected limit to be a positive integer or None, got {limit!r}.")


def _resolve_backbone(model: Backbone | str, device: str | None) -> Backbone:
    if isinstance(model, str):
        from ped.models import load_backbone

        return load_backbone(model, device=device)
    if device is not None:
        model = model.to(device)
    return model


def _resolve_dataset(dataset: Dataset | str, split: str | None) -> Dataset:
    if isinstance(dataset, str):
        return load_dataset(dataset, split or "all")
    if split is not None and split != dataset.split:
        raise ValueError(
            f"Expected split={dataset.split!r} (the split of the Dataset passed) or None, "
            f"got split={split!r}."
        )
    return dataset


def _plan(model, dataset, split, limit, device) -> _Job:
    """Resolve the model and the dataset, cut the view to ``limit`` and compute the key."""
    ds = _resolve_dataset(dataset, split)
    backbone = _resolve_backbone(model, device)
    b_mod, d_mod = getattr(backbone, "modality", None), getattr(ds, "modality", None)
    if b_mod is not None and d_mod is not None and b_mod != d_mod:
        raise UnknownDatasetError(
            f"Dataset {ds.spec!r} holds {d_mod} items but model {backbone.spec!r} takes "
            f"{b_mod} items; choose a {b_mod} dataset or a {d_mod} model."
        )
    if len(ds) == 0:
        raise UnknownDatasetError(f"Dataset {ds.spec!r} split {ds.split!r} has no items.")
    if limit is not None and int(limit) >= len(ds):
        limit = None
    view = ds
    if limit is not None:
        limit = int(limit)
        view = ds.subset(balanced_order(ds.labels)[:limit], split=ds.split)
    key = feature_key(
        backbone.spec,
        backbone.digest(),
        backbone.preprocess_id(),
        ds.fingerprint(),
        ds.split,
        limit,
    )
    return _Job(backbone, ds, view, limit, key)


# --------------------------------------------------------------------------------------------
# Step 2: the cache


def _open_cached(store: FeatureStore, key: str, *, report: bool = True) -> FeatureSet | None:
    """The complete entry of ``key`` when it passes its checks; a damaged one is reported."""
    if key not in store and kind(store.entry_path(key)) is None:
        return None
    try:
        return store.open(key)
    except StoreError as exc:
        if report:
            logger.warning("%s It is extracted again.", exc)
        return None


def _drop_leftover_partial(store: FeatureStore, key: str) -> None:
    """Best effort: remove an unfinished extraction of a key that is complete.

    Never waits and never fails, so that a read-only store still serves its entries.
    """
    if kind(store.partial_path(key)) != "dir":
        return
    try:
        with store.lock(key, blocking=False) as held:
            if held:
                store.discard(store.partial_path(key))
    except (OSError, StoreError):
        pass


# --------------------------------------------------------------------------------------------
# Step 3: the resumable loop


def _check_batch(feats: Any, probs: Any, n: int, state: dict[str, Any]):
    feats = np.asarray(feats, dtype=np.float32)
    if feats.ndim != 2 or feats.shape[0] != n:
        raise ValueError(
            f"Expected the backbone to return features of shape ({n}, n_features), "
            f"got shape {feats.shape}."
        )
    if state.setdefault("dim", feats.shape[1]) != feats.shape[1]:
        raise ValueError(
            f"Expected every batch to have {state['dim']} feature dimensions, got {feats.shape[1]}."
        )
    if probs is not None:
        probs = np.asarray(probs, dtype=np.float32)
        if probs.ndim != 2 or probs.shape[0] != n:
            raise ValueError(
                f"Expected source probabilities of shape ({n}, n_source_classes), "
                f"got shape {probs.shape}."
            )
    has = probs is not None
    if state.setdefault("has_probs", has) != has:
        raise ValueError("Expected source probabilities for every batch or for none.")
    return feats, probs


class _RowWriter:
    """Writes float32 rows into a ``.npy`` file of fixed shape, in place.

    The file (header and full size) is created under a tmp name first and renamed into place;
    a regular file that is already there with the right header is reused, so a resumed run
    keeps its rows. Anything else in its place (a link, a damaged file) is replaced, never
    written through.
    """

    def __init__(self, partial: Path, name: str, shape: tuple[int, int]):
        path = partial / name
        self.row_bytes = 4 * int(shape[1])
        offset = self._header_offset(path, shape)
        if offset is None:
            f, tmp = _files.create_tmp(partial, name)
            with f:
                header = {"descr": "<f4", "fortran_order": False, "shape": tuple(shape)}
                np.lib.format.write_array_header_1_0(f, header)
                f.truncate(f.tell() + self.row_bytes * int(shape[0]))
            os.replace(tmp, path)
            offset = self._header_offset(path, shape)
        if offset is None:
            raise StoreError(f"Feature store file {path} cannot be read back after writing it.")
        self.offset = offset
        self.file = _files.open_for_update(path)

    @staticmethod
    def _header_offset(path: Path, shape: tuple[int, int]) -> int | None:
        try:
            with _files.open_regular(path) as f:
                got, dtype, offset = _files.read_npy_header(f)
                size = os.fstat(f.fileno()).st_size
        except (OSError, ValueError):
            return None
        ok = got == tuple(shape) and dtype == np.dtype("<f4")
        return offset if ok and size == offset + 4 * shape[0] * shape[1] else None

    def write(self, row: int, block: np.ndarray) -> None:
        self.file.seek(self.offset + row * self.row_bytes)
        view = memoryview(np.ascontiguousarray(block, dtype="<f4").tobytes())
        while view:
            view = view[self.file.write(view) :]

    def close(self) -> None:
        self.file.close()


def _initial_state(key: str, n: int, batch_size: int, chunk_size: int) -> dict[str, Any]:
    chunk_items = max(batch_size, -(-chunk_size // batch_size) * batch_size)
    return {
        "key": key,
        "n_total": n,
        "batch_size": batch_size,
        "chunk_items": chunk_items,
        "chunks_done": 0,
        "n_done": 0,
        "forward_s": 0.0,
        "data_s": 0.0,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "resumed_at": [],
    }


def _load_state(partial: Path, key: str, n: int, batch_size: int, chunk_size: int) -> dict:
    """The progress of an interrupted extraction of this key, or a fresh start."""
    state = _files.read_json(partial / "progress.json")
    if not state or state.get("key") != key or state.get("n_total") != n:
        return _initial_state(key, n, batch_size, chunk_size)
    state["resumed_at"] = [*state.get("resumed_at", []), int(state["n_done"])]
    return state


def _run_chunks(
    backbone: Backbone,
    view: Dataset,
    partial: Path,
    state: dict[str, Any],
    *,
    num_workers: int,
    progress: ProgressFn | None,
) -> None:
    """Extract from the first unfinished chunk to the end.

    Rows go straight into ``features.npy`` (and ``source_probs.npy``) in the partial
    directory; after every finished chunk the progress file is replaced atomically, so rows
    ``[0, n_done)`` are final even if the process dies the next instant.
    """
    import torch
    from torch.utils.data import DataLoader

    n = len(view)
    batch_size = int(state["batch_size"])
    chunk_items = int(state["chunk_items"])
    start = int(state["chunks_done"]) * chunk_items
    if start >= n:
        return
    loader = DataLoader(
        _Items(view, backbone.transform, start),
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=backbone.collate,
        drop_last=False,
    )
    writers: dict[str, _RowWriter] = {}
    done = start
    t_run = t_wait = time.perf_counter()
    try:
        with torch.no_grad():
            for batch in loader:
                t0 = time.perf_counter()
                state["data_s"] += t0 - t_wait
                b = min(batch_size, n - done)
                feats, probs = _check_batch(*backbone.forward(batch), b, state)
                state["forward_s"] += time.perf_counter() - t0
                for name, rows in (("features.npy", feats), ("source_probs.npy", probs)):
                    if rows is None:
                        continue
                    if name not in writers:
                        writers[name] = _RowWriter(partial, name, (n, rows.shape[1]))
                    writers[name].write(done, rows)
                done += b
                if done % chunk_items == 0 or done >= n:
                    state["chunks_done"] = -(-done // chunk_items)
                    state["n_done"] = done
                    _files.write_json_atomic(partial / "progress.json", state)
                if progress is not None:
                    elapsed = time.perf_counter() - t_run
                    rate = (done - start) / elapsed if elapsed > 0 else 0.0
                    progress(done, n, items_per_s=rate)
                t_wait = time.perf_counter()
    finally:
        for w in writers.values():
            w.close()


# --------------------------------------------------------------------------------------------
# Step 4: meta, checksums, publication


def _meta(job: _Job, state: dict[str, Any], device: str | None, seconds: float) -> dict:
    n, bb, ds = job.n, job.backbone, job.dataset
    return {
        "format": FORMAT_VERSION,
        "key": job.key,
        "model": bb.spec,
        "weights_digest": bb.digest(),
        "preprocess_id": bb.preprocess_id(),
        "modality": ds.modality,
        "dataset": ds.spec,
        "dataset_fingerprint": ds.fingerprint(),
        "split": ds.split,
        "limit": job.limit,
        "n_samples": n,
        "classes": list(ds.classes),
        "num_classes": int(ds.num_classes),
        "metric": ds.metric,
        "batch_size": int(state["batch_size"]),
        "device": str(getattr(bb, "device", device) or "cpu"),
        "timings": {
            "forward_s": round(float(state["forward_s"]), 6),
            "data_s": round(float(state["data_s"]), 6),
            "last_run_s": round(seconds, 6),
            "items_per_s": round(n / max(state["forward_s"] + state["data_s"], 1e-9), 3),
            "resumed_at": state.get("resumed_at", []),
        },
        "started": state.get("started"),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _assemble(store: FeatureStore, job: _Job, state: dict[str, Any], meta: dict) -> None:
    """Complete the partial folder (labels, checksums, meta) and rename it into place."""
    partial = store.partial_path(job.key)
    n, dim = job.n, int(state["dim"])
    try:
        shape_ok = _RowWriter._header_offset(partial / "features.npy", (n, dim)) is not None
        if state.get("has_probs"):
            with _files.open_regular(partial / "source_probs.npy") as f:
                shape, _, _ = _files.read_npy_header(f)
            shape_ok = shape_ok and len(shape) == 2 and shape[0] == n
            meta["n_source_classes"] = int(shape[1])
    except (OSError, ValueError):
        shape_ok = False
    if not shape_ok or int(state.get("n_done", 0)) != n:
        store.discard(partial)
        raise StoreError(
            f"Unfinished extraction {partial} was inconsistent and has been removed; "
            "run the extraction again."
        )
    _files.save_npy_atomic(partial / "labels.npy", job.view.labels.astype(np.int64))
    if job.view.targets is not None:
        targets = np.asarray(job.view.targets, dtype=np.float32)
        _files.save_npy_atomic(partial / "targets.npy", targets)
    meta["n_features"] = dim
    meta["has_source_probs"] = bool(state.get("has_probs"))
    meta["has_targets"] = job.view.targets is not None
    for f in list(partial.iterdir()):  # progress file and tmp files of killed runs
        if f.name == "progress.json" or _files.TMP_NAME.match(f.name):
            _files.unlink_if_regular(f)
    meta["checksum"] = checksum_record(partial, meta)
    _files.write_json_atomic(partial / "meta.json", meta)
    final = store.entry_path(job.key)
    if kind(final) == "dir":  # a damaged leftover: replace it
        store.discard(final)
    os.rename(partial, final)


def _build(store, job, *, batch_size, chunk_size, device, num_workers, progress) -> FeatureSet:
    """Extract ``job`` into the store (resuming its partial folder), with the lock held."""
    final = store.entry_path(job.key)
    if kind(final) not in (None, "dir"):
        raise StoreError(
            f"Feature store path {final} is not a plain folder (a link or a file); the store "
            "never follows links, remove it and run again."
        )
    store.clean_key(job.key)
    partial = store.partial_folder(job.key)
    state = _load_state(partial, job.key, job.n, batch_size, chunk_size)
    t0 = time.perf_counter()
    _run_chunks(job.backbone, job.view, partial, state, num_workers=num_workers, progress=progress)
    meta = _meta(job, state, device, time.perf_counter() - t0)
    _assemble(store, job, state, meta)
    return store.open(job.key, cached=False)


def extract(
    model: Backbone | str,
    dataset: Dataset | str,
    *,
    split: str | None = None,
    limit: int | None = None,
    batch_size: int = 64,
    device: str | None = None,
    store: FeatureStore | str | Path | None = None,
    progress: ProgressFn | None = None,
    num_workers: int = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> FeatureSet:
    """Extract a model's features on a dataset split, or open them from the store.

    Parameters
    ----------
    model : Backbone or str
        A backbone, or a model spec for `ped.models.load_backbone`.
    dataset : Dataset or str
        A dataset, or a dataset spec for `ped.data.load_dataset`.
    split : str, optional
        Split to load a spec with (default ``"all"``). With a `Dataset` object, its own
        split is used and ``split`` must be None or equal to it.
    limit : int, optional
        Use only the first ``limit`` items of the split's `ped.data.balanced_order`
        (in that order). A limit at or above the split's size means every item, in the
        dataset's order.
    batch_size : int, default 64
        Items per forward pass. A resumed extraction keeps the batch size it started with.
    device : str, optional
        Device to run the model on (``"cpu"``, ``"cuda"``); default the backbone's.
    store : FeatureStore, str or Path, optional
        Default ``$PED_HOME/features``.
    progress : callable, optional
        Called as ``progress(done, total, items_per_s=...)`` after every batch.
    num_workers : int, default 0
        DataLoader worker processes for decoding and preprocessing; items keep the
        dataset's fixed order whatever the number.
    chunk_size : int, default 2048
        Items per saved chunk (rounded up to whole batches): an interrupted extraction
        resumes from its last finished chunk.

    Returns
    -------
    FeatureSet
        ``cached`` tells whether the entry already existed (then no model ran). A stored
        entry that fails its checks (checksums, shapes, regular files) is logged as a
        warning and extracted again.

    Raises
    ------
    ped.errors.UnknownDatasetError
        When the model's modality (image or text) is not the dataset's, or the split is
        empty.
    ped.errors.StoreError
        When the store cannot be written.
    """
    _check_arguments(batch_size, chunk_size, limit)
    job = _plan(model, dataset, split, limit, device)
    st = as_store(store)
    # Fast path: a complete entry appears only by rename, so it can be read without the lock.
    fs = _open_cached(st, job.key)
    if fs is None:
        reported = kind(st.entry_path(job.key)) is not None
        with st.lock(job.key):
            # built by another process while we waited?
            fs = _open_cached(st, job.key, report=not reported)
            if fs is None:
                st.discard(st.entry_path(job.key))  # damaged (or absent): build it again
                return _build(
                    st, job, batch_size=batch_size, chunk_size=chunk_size, device=device,
                    num_workers=num_workers, progress=progress,
                )  # fmt: skip
    _drop_leftover_partial(st, job.key)
    if progress is not None:
        progress(job.n, job.n, items_per_s=0.0, cached=True)
    return fs
