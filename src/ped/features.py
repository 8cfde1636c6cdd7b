"""Feature extraction and the feature store.

`extract` runs a backbone over a dataset split once and keeps the result in a content-keyed
store on disk (default ``$PED_HOME/features``); asking again memory-maps the stored arrays and
runs no model. `reference_stats` does the same for the reference domain (ImageNet val) and
returns the per-dimension mean and population std that PED rescales with.

Store layout (one directory per key)::

    <root>/<key>/features.npy        (N, D) float32
                 labels.npy          (N,) int64
                 source_probs.npy    (N, Cs) float32, when the model has a source classifier
                 targets.npy         (N, C) float32, for multi-label datasets (VOC2007)
                 meta.json           model, dataset, split, N, D, timings, created, ...
                 reference_stats.npz written by `reference_stats`
    <root>/.partial/<key>/           an unfinished extraction: the same arrays, filled row by
                                     row, and progress.json
    <root>/.locks/<key>.lock         fcntl lock taken while an entry is being built
    <root>/.tmp/                     entries being removed

The key is a content hash of (model spec, weights digest, preprocess id, dataset fingerprint,
split, limit, store format version). An entry directory appears only by ``os.rename`` of a
complete directory, so a reader never sees a half-written entry. Extraction writes rows into
memory-mapped arrays in ``.partial/<key>/`` and, after every finished chunk (about 2048
items), replaces a progress file atomically; an extraction killed at any moment (SIGKILL
included: written pages belong to the page cache, not to the process) resumes from its last
finished chunk and ends bit-identical to a clean run (chunk boundaries fall on batch
boundaries and a resume keeps the original batch size). When every row is in, labels and
``meta.json`` are added and the partial directory is renamed into place, so the features are
written once. Durability against power loss is not attempted (nothing is fsynced). Two processes asking for the same key serialise on the
lock file: the second finds the entry the first built.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ped import _paths
from ped.errors import StoreError, UnknownDatasetError

if TYPE_CHECKING:  # pragma: no cover
    from ped.data import Dataset
    from ped.dynamics import ReferenceStats
    from ped.models import Backbone

__all__ = ["FeatureSet", "FeatureStore", "extract", "feature_key", "reference_stats"]

#: Version of the on-disk layout and of the key recipe; bump it to invalidate every entry.
FORMAT_VERSION = 1
#: Items per saved chunk of an extraction in progress (rounded to whole batches).
DEFAULT_CHUNK_SIZE = 2048

ProgressFn = Callable[..., None]


# --------------------------------------------------------------------------------------------
# FeatureSet


@dataclass
class FeatureSet:
    """Features of one model on one dataset split, as stored.

    Attributes
    ----------
    features : ndarray of shape (n_samples, n_features), float32
        A read-only ``np.memmap`` of the stored file.
    labels : ndarray of shape (n_samples,), int64
    source_probs : ndarray of shape (n_samples, n_source_classes), float32, or None
        Softmax over the model's source classes (for LEEP / NCE), when it has a classifier.
    targets : ndarray of shape (n_samples, n_classes), float32, or None
        Multi-hot targets of multi-label datasets (VOC2007).
    key : str
        The store key.
    model : str
        Canonical model spec.
    dataset : str
        Dataset spec.
    split : str
    path : pathlib.Path
        The entry's directory.
    cached : bool
        True when the entry existed before this call (no model was run).
    meta : dict
        The entry's ``meta.json``.
    """

    features: np.ndarray
    labels: np.ndarray
    source_probs: np.ndarray | None
    targets: np.ndarray | None
    key: str
    model: str
    dataset: str
    split: str
    path: Path
    cached: bool
    meta: dict[str, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return int(self.features.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.features.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.features.shape[1])

    @property
    def classes(self) -> list[str]:
        return list(self.meta.get("classes", []))

    @property
    def num_classes(self) -> int:
        return int(self.meta.get("num_classes", len(self.classes)))

    @property
    def metric(self) -> str | None:
        return self.meta.get("metric")


# --------------------------------------------------------------------------------------------
# Atomic file helpers


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# FeatureStore


class FeatureStore:
    """A directory of feature entries, one per content key.

    Parameters
    ----------
    root : str or Path, optional
        Default ``$PED_HOME/features`` (`ped._paths.feature_store_dir`).

    Examples
    --------
    >>> import tempfile
    >>> store = FeatureStore(tempfile.mkdtemp())
    >>> store.entries()
    []
    """

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser() if root is not None else _paths.feature_store_dir()

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.root)!r})"

    # -- paths ---------------------------------------------------------------------------

    def _ensure(self) -> None:
        try:
            for sub in ("", ".partial", ".locks", ".tmp"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(
                f"Feature store {self.root} cannot be created ({e.strerror}); set PED_HOME to "
                "a writable folder or pass store=."
            ) from None

    def entry_path(self, key: str) -> Path:
        return self.root / key

    def partial_path(self, key: str) -> Path:
        return self.root / ".partial" / key

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (self.root / key / "meta.json").is_file()

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold the exclusive lock of ``key`` (``fcntl.flock``; released if the process dies)."""
        self._ensure()
        fd = os.open(self.root / ".locks" / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    # -- reading ---------------------------------------------------------------------------

    def entries(self) -> list[dict[str, Any]]:
        """Return the ``meta.json`` of every complete entry, oldest first.

        Each dict also has ``key``, ``path`` and ``size_bytes``.

        Returns
        -------
        list of dict
        """
        out = []
        if not self.root.is_dir():
            return out
        for d in self.root.iterdir():
            if d.name.startswith(".") or not d.is_dir():
                continue
            meta = _read_json(d / "meta.json")
            if meta is None:
                continue
            meta = dict(meta)
            meta["key"] = d.name
            meta["path"] = str(d)
            meta["size_bytes"] = sum(f.stat().st_size for f in d.iterdir() if f.is_file())
            out.append(meta)
        out.sort(key=lambda m: (str(m.get("created", "")), m["key"]))
        return out

    def _resolve(self, key: str) -> Path:
        if not isinstance(key, str) or not key or "/" in key or key.startswith("."):
            raise StoreError(f"Feature store key {key!r} is not a valid key.")
        exact = self.root / key
        if (exact / "meta.json").is_file():
            return exact
        matches = []
        if self.root.is_dir() and len(key) >= 4:
            matches = [
                d
                for d in self.root.iterdir()
                if d.name.startswith(key) and not d.name.startswith(".")
                and (d / "meta.json").is_file()
            ]  # fmt: skip
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise StoreError(
                f"Feature store key prefix {key!r} matches {len(matches)} entries in "
                f"{self.root}; give more characters."
            )
        raise StoreError(
            f"Feature store {self.root} has no entry {key!r}; `ped features list` shows them."
        )

    def get(self, key: str) -> FeatureSet:
        """Open an entry (arrays memory-mapped read-only).

        Parameters
        ----------
        key : str
            A full key or a unique prefix of at least 4 characters.

        Returns
        -------
        FeatureSet
            With ``cached=True``.

        Raises
        ------
        ped.errors.StoreError
            When there is no such entry or it is damaged.
        """
        return self._open(self._resolve(key), cached=True)

    def _open(self, path: Path, *, cached: bool) -> FeatureSet:
        meta = _read_json(path / "meta.json")
        if meta is None:
            raise StoreError(f"Feature store entry {path} has no readable meta.json.")
        try:
            features = np.load(path / "features.npy", mmap_mode="r")
            labels = np.asarray(np.load(path / "labels.npy"), dtype=np.int64)
            probs = (
                np.load(path / "source_probs.npy", mmap_mode="r")
                if meta.get("has_source_probs")
                else None
            )
            targets = np.load(path / "targets.npy") if meta.get("has_targets") else None
        except (OSError, ValueError) as e:
            raise StoreError(
                f"Feature store entry {path} is damaged ({e}); remove it with "
                f"`ped features remove {path.name}` and extract again."
            ) from None
        n = int(meta.get("n_samples", -1))
        if features.ndim != 2 or features.shape[0] != n or labels.shape != (n,):
            raise StoreError(
                f"Feature store entry {path} is damaged (arrays do not match meta.json); "
                f"remove it with `ped features remove {path.name}` and extract again."
            )
        return FeatureSet(
            features=features,
            labels=labels,
            source_probs=probs,
            targets=targets,
            key=path.name,
            model=str(meta.get("model")),
            dataset=str(meta.get("dataset")),
            split=str(meta.get("split")),
            path=path,
            cached=cached,
            meta=meta,
        )

    # -- writing ---------------------------------------------------------------------------

    def remove(self, key: str) -> bool:
        """Delete an entry (and any unfinished extraction of it).

        Parameters
        ----------
        key : str
            A full key or a unique prefix.

        Returns
        -------
        bool
            True when something was removed.
        """
        try:
            path = self._resolve(key)
        except StoreError:
            path = None
        full = path.name if path is not None else key
        removed = False
        with self.lock(full):
            removed = self._discard(self.root / full) or removed
            if self.partial_path(full).exists():
                shutil.rmtree(self.partial_path(full), ignore_errors=True)
                removed = True
        return removed

    def _discard(self, path: Path) -> bool:
        """Move a directory out of the way atomically, then delete it."""
        if not path.exists():
            return False
        self._ensure()
        trash = self.root / ".tmp" / f"trash-{path.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.rename(path, trash)
        shutil.rmtree(trash, ignore_errors=True)
        return True


def _as_store(store: FeatureStore | str | Path | None) -> FeatureStore:
    return store if isinstance(store, FeatureStore) else FeatureStore(store)


# --------------------------------------------------------------------------------------------
# Keys


def feature_key(
    model: str,
    weights_digest: str,
    preprocess_id: str,
    dataset_fingerprint: str,
    split: str,
    limit: int | None,
) -> str:
    """Return the store key of one extraction.

    Parameters
    ----------
    model : str
        Canonical model spec.
    weights_digest : str
        ``Backbone.digest()``.
    preprocess_id : str
        ``Backbone.preprocess_id()``.
    dataset_fingerprint : str
        ``Dataset.fingerprint()``.
    split : str
    limit : int or None
        None when every item of the split is used.

    Returns
    -------
    str
        32 hex characters of a sha256 over these fields and the store format version.
    """
    payload = json.dumps(
        {
            "format": FORMAT_VERSION,
            "model": model,
            "weights": weights_digest,
            "preprocess": preprocess_id,
            "data": dataset_fingerprint,
            "split": split,
            "limit": limit,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


# --------------------------------------------------------------------------------------------
# Extraction


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


def _resolve_backbone(model: Backbone | str, device: str | None) -> Backbone:
    if isinstance(model, str):
        from ped.models import load_backbone

        return load_backbone(model, device=device)
    if device is not None:
        model = model.to(device)
    return model


def _resolve_dataset(dataset: Dataset | str, split: str | None) -> Dataset:
    if isinstance(dataset, str):
        from ped.data import load_dataset

        return load_dataset(dataset, split or "all")
    if split is not None and split != dataset.split:
        raise ValueError(
            f"Expected split={dataset.split!r} (the split of the Dataset passed) or None, "
            f"got split={split!r}."
        )
    return dataset


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
    """Writes float32 rows into a ``.npy`` file of fixed shape with ``os.pwrite``.

    The file (header and full size) is created atomically under a tmp name first; a file
    that is already there with the right header is reused, so a resumed run keeps its rows.
    """

    def __init__(self, partial: Path, name: str, shape: tuple[int, int]):
        path = partial / name
        self.row_bytes = 4 * int(shape[1])
        offset = self._header_offset(path, shape) if path.is_file() else None
        if offset is None:
            tmp = partial / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
            arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
            del arr
            os.replace(tmp, path)
            offset = self._header_offset(path, shape)
        if offset is None:
            raise StoreError(f"Feature store file {path} cannot be read back after writing it.")
        self.offset = offset
        self.fd = os.open(path, os.O_WRONLY)

    @staticmethod
    def _header_offset(path: Path, shape: tuple[int, int]) -> int | None:
        try:
            arr = np.load(path, mmap_mode="r")
        except (OSError, ValueError):
            return None
        ok = arr.shape == shape and arr.dtype == np.float32 and not arr.dtype.hasobject
        offset = int(arr.offset) if ok else None
        del arr
        return offset

    def write(self, row: int, block: np.ndarray) -> None:
        data = np.ascontiguousarray(block, dtype="<f4").tobytes()
        pos = self.offset + row * self.row_bytes
        view = memoryview(data)
        while view:
            written = os.pwrite(self.fd, view, pos)
            view, pos = view[written:], pos + written

    def close(self) -> None:
        os.close(self.fd)


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
    directory (``os.pwrite``); after every finished chunk the progress file is replaced
    atomically, so rows ``[0, n_done)`` are final even if the process dies the next instant
    (written data belong to the page cache, not to the process).
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
    feats_out: _RowWriter | None = None
    probs_out: _RowWriter | None = None
    done = start
    t_run = time.perf_counter()
    t_wait = time.perf_counter()
    try:
        with torch.no_grad():
            for batch in loader:
                t0 = time.perf_counter()
                state["data_s"] += t0 - t_wait
                b = min(batch_size, n - done)
                feats, probs = backbone.forward(batch)
                feats, probs = _check_batch(feats, probs, b, state)
                t1 = time.perf_counter()
                state["forward_s"] += t1 - t0
                if feats_out is None:
                    feats_out = _RowWriter(partial, "features.npy", (n, feats.shape[1]))
                feats_out.write(done, feats)
                if probs is not None:
                    if probs_out is None:
                        probs_out = _RowWriter(partial, "source_probs.npy", (n, probs.shape[1]))
                    probs_out.write(done, probs)
                done += b
                if done % chunk_items == 0 or done >= n:
                    state["chunks_done"] = -(-done // chunk_items)
                    state["n_done"] = done
                    _write_json_atomic(partial / "progress.json", state)
                if progress is not None:
                    elapsed = time.perf_counter() - t_run
                    rate = (done - start) / elapsed if elapsed > 0 else 0.0
                    progress(done, n, items_per_s=rate)
                t_wait = time.perf_counter()
    finally:
        for out in (feats_out, probs_out):
            if out is not None:
                out.close()


def _assemble(store: FeatureStore, key: str, view: Dataset, state: dict[str, Any], meta: dict):
    """Complete the partial directory (labels, meta) and rename it into place."""
    partial = store.partial_path(key)
    n = len(view)
    dim = int(state["dim"])
    try:
        feats = np.load(partial / "features.npy", mmap_mode="r")
        shape_ok = feats.shape == (n, dim)
        del feats
        if state.get("has_probs"):
            probs = np.load(partial / "source_probs.npy", mmap_mode="r")
            shape_ok = shape_ok and probs.shape[0] == n
            meta["n_source_classes"] = int(probs.shape[1])
            del probs
    except (OSError, ValueError):
        shape_ok = False
    if not shape_ok or int(state.get("n_done", 0)) != n:
        shutil.rmtree(partial, ignore_errors=True)
        raise StoreError(
            f"Unfinished extraction {partial} was inconsistent and has been removed; "
            "run the extraction again."
        )
    with open(partial / "labels.npy", "wb") as f:
        np.save(f, view.labels.astype(np.int64))
    if view.targets is not None:
        with open(partial / "targets.npy", "wb") as f:
            np.save(f, np.asarray(view.targets, dtype=np.float32))
    meta["n_features"] = dim
    meta["has_source_probs"] = bool(state.get("has_probs"))
    meta["has_targets"] = view.targets is not None
    with open(partial / "meta.json", "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    for f in partial.iterdir():  # progress file and tmp files of killed runs
        if f.name == "progress.json" or f.name.startswith("."):
            f.unlink()
    final = store.entry_path(key)
    if final.exists():  # a damaged leftover: replace it
        store._discard(final)
    os.rename(partial, final)


def _clean_stale_tmp(store: FeatureStore, key: str) -> None:
    tmp_root = store.root / ".tmp"
    if tmp_root.is_dir():
        for d in tmp_root.iterdir():
            if d.name.startswith(f"{key}-"):
                shutil.rmtree(d, ignore_errors=True)


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
        ``cached`` tells whether the entry already existed (then no model ran).

    Raises
    ------
    ped.errors.UnknownDatasetError
        When the model's modality (image or text) is not the dataset's, or the split is
        empty.
    ped.errors.StoreError
        When the store cannot be written.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Expected batch_size to be a positive integer, got {batch_size!r}.")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"Expected chunk_size to be a positive integer, got {chunk_size!r}.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | np.integer)
                              or limit < 1):  # fmt: skip
        raise ValueError(f"Expected limit to be a positive integer or None, got {limit!r}.")
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
    if limit is not None:
        from ped.data import balanced_order

        view = ds.subset(balanced_order(ds.labels)[: int(limit)], split=ds.split)
    else:
        view = ds
    st = _as_store(store)
    key = feature_key(
        backbone.spec,
        backbone.digest(),
        backbone.preprocess_id(),
        ds.fingerprint(),
        ds.split,
        None if limit is None else int(limit),
    )
    n = len(view)
    # Fast path: a complete entry appears only by rename, so it can be read without the lock.
    if key in st:
        try:
            fs = st._open(st.entry_path(key), cached=True)
        except StoreError:
            fs = None
        if fs is not None:
            if st.partial_path(key).exists():  # left by a process killed after its rename
                with st.lock(key):
                    shutil.rmtree(st.partial_path(key), ignore_errors=True)
            if progress is not None:
                progress(n, n, items_per_s=0.0, cached=True)
            return fs
    with st.lock(key):
        if key in st:  # built by another process while we waited for the lock
            try:
                fs = st._open(st.entry_path(key), cached=True)
                if progress is not None:
                    progress(n, n, items_per_s=0.0, cached=True)
                return fs
            except StoreError:
                st._discard(st.entry_path(key))  # damaged: build it again
        _clean_stale_tmp(st, key)
        partial = st.partial_path(key)
        partial.mkdir(parents=True, exist_ok=True)
        state = _read_json(partial / "progress.json")
        if not state or state.get("key") != key or state.get("n_total") != n:
            chunk_items = max(batch_size, -(-chunk_size // batch_size) * batch_size)
            state = {
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
        else:
            state["resumed_at"] = [*state.get("resumed_at", []), int(state["n_done"])]
        t0 = time.perf_counter()
        _run_chunks(backbone, view, partial, state, num_workers=num_workers, progress=progress)
        t_extract = time.perf_counter() - t0
        meta = {
            "format": FORMAT_VERSION,
            "key": key,
            "model": backbone.spec,
            "weights_digest": backbone.digest(),
            "preprocess_id": backbone.preprocess_id(),
            "modality": ds.modality,
            "dataset": ds.spec,
            "dataset_fingerprint": ds.fingerprint(),
            "split": ds.split,
            "limit": None if limit is None else int(limit),
            "n_samples": n,
            "classes": list(ds.classes),
            "num_classes": int(ds.num_classes),
            "metric": ds.metric,
            "batch_size": int(state["batch_size"]),
            "device": str(getattr(backbone, "device", device) or "cpu"),
            "timings": {
                "forward_s": round(float(state["forward_s"]), 6),
                "data_s": round(float(state["data_s"]), 6),
                "last_run_s": round(t_extract, 6),
                "items_per_s": round(n / max(state["forward_s"] + state["data_s"], 1e-9), 3),
                "resumed_at": state.get("resumed_at", []),
            },
            "started": state.get("started"),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        t1 = time.perf_counter()
        _assemble(st, key, view, state, meta)
        meta["timings"]["assemble_s"] = round(time.perf_counter() - t1, 6)
        _write_json_atomic(st.entry_path(key) / "meta.json", meta)
        return st._open(st.entry_path(key), cached=False)


# --------------------------------------------------------------------------------------------
# Reference statistics


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
    the statistics are kept beside them (``reference_stats.npz``).

    Parameters
    ----------
    model : Backbone or str
    dataset : Dataset or str, default "imagenet-val"
    limit : int, optional
        Use the first ``limit`` items of the balanced order (e.g. 10 000 of the 50 000).
    store, progress, batch_size, device, num_workers
        As for `extract`.

    Returns
    -------
    ped.dynamics.ReferenceStats
        ``mean`` and ``std`` of shape (n_features,), float64; ``n_samples``; ``source`` is
        the dataset spec.
    """
    from ped.dynamics import ReferenceStats

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
    mean = std = None
    if path.is_file():
        try:
            with np.load(path) as z:
                mean, std = z["mean"], z["std"]
        except (OSError, ValueError, KeyError):
            mean = std = None
    if mean is None or std is None or mean.shape != (fs.n_features,):
        mean, std = _mean_std(fs.features)
        tmp = path.with_name(f".reference_stats.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp.npz")
        np.savez(tmp, mean=mean, std=std)
        os.replace(tmp, path)
    return ReferenceStats(mean=mean, std=std, n_samples=fs.n_samples, source=fs.dataset)
