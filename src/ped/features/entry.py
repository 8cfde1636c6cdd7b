"""One stored entry: `FeatureSet`, the entry's checksums, and loading an entry folder.

`load_entry` checks an entry on every open (regular files, ``.npy`` headers and sizes, shapes
against ``meta.json``, the digest of ``meta.json``) and verifies the sha256 of its arrays the
first time a process opens it, and again whenever a file's size, inode or modification time
changes: the cost of a full read is paid once per process, not on every cache hit.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import _files
from .._files import kind

__all__ = ["FeatureSet", "DamagedEntry", "checksum_record", "feature_key", "load_entry"]

#: Version of the on-disk layout and of the key recipe; bump it to invalidate every entry.
FORMAT_VERSION = 1
#: The arrays covered by an entry's checksum.
ARRAY_FILES = ("features.npy", "labels.npy", "source_probs.npy", "targets.npy")

# Files whose checksum this process knows: (device, inode, size, mtime) -> digest. Keyed by
# inode, so that a partial folder renamed into place keeps what its writer computed.
_VERIFIED: dict[tuple[int, int, int, int], str] = {}
_VERIFIED_GUARD = threading.Lock()


class DamagedEntry(Exception):
    """An entry failed a check; the argument says which, in words (never file contents)."""


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


def _meta_key(meta: dict[str, Any]) -> str | None:
    """The key that an entry's own ``meta.json`` fields hash to (None when fields are missing)."""
    try:
        return feature_key(
            meta["model"],
            meta["weights_digest"],
            meta["preprocess_id"],
            meta["dataset_fingerprint"],
            meta["split"],
            meta["limit"],
        )
    except (KeyError, TypeError):
        return None


def checksum_record(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """The ``checksum`` field of an entry folder: digests of its arrays and of ``meta``."""
    files = {n: _files.file_digest(path / n) for n in ARRAY_FILES if kind(path / n) == "file"}
    for name, digest in files.items():
        _remember_digest(path / name, digest)
    body = {k: v for k, v in meta.items() if k != "checksum"}
    return {
        "algorithm": _files.CHECKSUM_ALGORITHM,
        "files": files,
        "meta": _files.json_digest(body),
    }


def _verified_digest(path: Path) -> str:
    """A file's digest, computed once per process while the file stays unchanged."""
    st = os.lstat(path)
    memo = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    with _VERIFIED_GUARD:
        known = _VERIFIED.get(memo)
    if known is None:
        known = _files.file_digest(path)
        with _VERIFIED_GUARD:
            _VERIFIED[memo] = known
    return known


def load_entry(path: Path, *, cached: bool) -> tuple[FeatureSet, bool]:
    """Open and check the entry folder ``path`` (arrays memory-mapped read-only).

    Returns
    -------
    FeatureSet
    bool
        True when the entry had no checksum (written before they existed) and passed the
        checks it could: its key is the hash of its ``meta.json`` fields. Its new checksum is
        in ``meta["checksum"]``, for the caller to write when the store is writable.

    Raises
    ------
    DamagedEntry
        With the failed check in words.
    """
    if kind(path) != "dir":
        raise DamagedEntry("not a plain folder")
    meta = _files.read_json(path / "meta.json")
    if meta is None:
        raise DamagedEntry("meta.json is missing, unreadable or not a JSON object")
    try:
        features = _files.load_npy(path / "features.npy", np.float32, 2, mmap=True)
        labels = _files.load_npy(path / "labels.npy", np.int64, 1, mmap=False)
        probs = targets = None
        if meta.get("has_source_probs"):
            probs = _files.load_npy(path / "source_probs.npy", np.float32, 2, mmap=True)
        if meta.get("has_targets"):
            targets = _files.load_npy(path / "targets.npy", np.float32, 2, mmap=False)
    except (OSError, ValueError) as exc:
        raise DamagedEntry(f"an array file is missing or unreadable: {exc}") from None
    n = meta.get("n_samples")
    if (
        meta.get("key", path.name) != path.name
        or features.shape[0] != n
        or labels.shape != (n,)
        or features.shape[1] != meta.get("n_features", features.shape[1])
    ):
        raise DamagedEntry("the arrays do not match meta.json")
    adopted = _check_sums(path, meta)
    fs = FeatureSet(
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
    return fs, adopted


def _check_sums(path: Path, meta: dict[str, Any]) -> bool:
    record = meta.get("checksum")
    if record is None:  # written before checksums existed: adopt it once
        _adopt(path, meta)
        return True
    if not isinstance(record, dict) or record.get("algorithm") != _files.CHECKSUM_ALGORITHM:
        raise DamagedEntry("meta.json has no valid checksum")
    files = record.get("files")
    if not isinstance(files, dict) or "features.npy" not in files:
        raise DamagedEntry("meta.json has no valid checksum")
    body = {k: v for k, v in meta.items() if k != "checksum"}
    if record.get("meta") != _files.json_digest(body):
        raise DamagedEntry("meta.json does not match its checksum")
    for name, digest in files.items():
        if name not in ARRAY_FILES or _verified_digest(path / name) != digest:
            raise DamagedEntry(f"{name} does not match its checksum")
    return False


def _adopt(path: Path, meta: dict[str, Any]) -> None:
    """Check an entry written without a checksum, and compute one when it passes.

    Its key must be the hash of its own ``meta.json`` fields.
    """
    if _meta_key(meta) != path.name:
        raise DamagedEntry("meta.json does not describe this key")
    meta["checksum"] = checksum_record(path, meta)


def _remember_digest(path: Path, digest: str) -> None:
    st = os.lstat(path)
    with _VERIFIED_GUARD:
        _VERIFIED[(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)] = digest
