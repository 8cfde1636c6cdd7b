"""The `Dataset` object, its item sources, the canonical splits and `balanced_order`.

Every dataset is built the same way: a *source* holds every item of the dataset once (all of
its official splits, concatenated in a fixed order), and a `Dataset` is a view of that source
through an index array. The splits are index arrays, so building ``train`` or ``val`` never
decodes an image, and ``labels`` is known for every item up front.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ped.data._images import UnreadableImageError, read_image
from ped.errors import MissingDatasetError, UnknownDatasetError

__all__ = [
    "Dataset",
    "SPLITS",
    "METRICS",
    "balanced_order",
    "holdout_split",
    "stratified_split",
    "make_splits",
]

SPLITS = ("all", "train", "val", "trainval", "test")
METRICS = ("accuracy", "mean_per_class_accuracy", "map11")

#: Bumped whenever the meaning of a fingerprint changes (it is part of every cache key).
FINGERPRINT_VERSION = 1

#: Fraction of the training split held out as validation where a dataset has no official val.
VAL_FRACTION = 0.2
#: Fraction of a dataset kept as test where the dataset ships no split at all.
TEST_FRACTION = 0.2
#: Seed of the derived test split (fixed: the test set must not move with the val seed).
TEST_SEED = 0


# --------------------------------------------------------------------------------------------
# Item sources


class _Source:
    """Every item of one dataset, addressed by position; decodes one item on demand."""

    modality = "image"

    def __len__(self) -> int:
        raise NotImplementedError

    def get(self, j: int) -> Any:
        raise NotImplementedError

    def digest(self, index: np.ndarray) -> bytes:
        """Bytes that identify the items at ``index`` (file names and sizes, or content)."""
        raise NotImplementedError


class FileSource(_Source):
    """Images stored one per file: relative paths below a base folder.

    ``hint`` ends the message of an unreadable file (what the user can do about it).
    """

    def __init__(self, base: str | Path, relpaths: Sequence[str], *, hint: str = ""):
        self.base = Path(base)
        self.relpaths = list(relpaths)
        self.hint = hint or "replace the file, or download the dataset again"

    def __len__(self) -> int:
        return len(self.relpaths)

    def path(self, j: int) -> Path:
        return self.base / self.relpaths[j]

    def get(self, j: int) -> Any:
        path = self.path(j)
        try:
            return read_image(path)
        except FileNotFoundError:
            raise MissingDatasetError(
                f"Image file {path} is listed by the dataset's split files but does not exist; "
                "the dataset folder is incomplete, so download or extract it again."
            ) from None
        except UnreadableImageError as exc:
            raise UnreadableImageError(f"{exc}; {self.hint}.", reason=exc.reason) from None

    def digest(self, index: np.ndarray) -> bytes:
        h = hashlib.sha256()
        for j in index:
            rel = self.relpaths[int(j)]
            try:
                size = os.stat(self.base / rel).st_size
            except OSError:
                size = -1
            h.update(f"{rel}\0{size}\n".encode())
        return h.digest()


class ArraySource(_Source):
    """Images held in one uint8 array of shape (N, H, W) (grey) or (N, H, W, 3) (RGB)."""

    def __init__(self, images: np.ndarray, *, content_id: str | None = None):
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise ValueError(
                f"Expected a uint8 array of shape (N, H, W) or (N, H, W, 3), "
                f"got dtype {images.dtype} and shape {images.shape}."
            )
        self.images = images
        self._content_id = content_id
        self._row_hashes: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def get(self, j: int) -> Any:
        from PIL import Image

        a = self.images[j]
        if a.ndim == 2:
            return Image.fromarray(a, mode="L").convert("RGB")
        return Image.fromarray(a, mode="RGB")

    def digest(self, index: np.ndarray) -> bytes:
        h = hashlib.sha256()
        if self._content_id is not None:
            # The arrays come from named files whose identity (name and size) is known.
            h.update(self._content_id.encode())
            h.update(np.ascontiguousarray(index, dtype=np.int64).tobytes())
        else:
            h.update(np.ascontiguousarray(self.images[index]).tobytes())
        return h.digest()


class TextSource(_Source):
    """Text items (one string each)."""

    modality = "text"

    def __init__(self, texts: Sequence[str]):
        self.texts = [str(t) for t in texts]

    def __len__(self) -> int:
        return len(self.texts)

    def get(self, j: int) -> Any:
        return self.texts[j]

    def digest(self, index: np.ndarray) -> bytes:
        h = hashlib.sha256()
        for j in index:
            t = self.texts[int(j)].encode("utf-8", "surrogatepass")
            h.update(len(t).to_bytes(8, "little"))
            h.update(t)
        return h.digest()


# --------------------------------------------------------------------------------------------
# The dataset


class Dataset:
    """A labelled dataset split: a map-style sequence of ``(item, label)`` pairs.

    Build one with `ped.data.load_dataset`; the constructor is internal.

    Attributes
    ----------
    spec : str
        The dataset spec it was loaded from, e.g. ``"cifar10"`` or ``"imagefolder:/data/x"``.
    split : str
        One of ``"all"``, ``"train"``, ``"val"``, ``"trainval"``, ``"test"``.
    modality : {"image", "text"}
        Items are RGB ``PIL.Image.Image`` objects or ``str``.
    classes : list of str
        Class names; label ``k`` is ``classes[k]``.
    num_classes : int
        ``len(classes)``.
    metric : {"accuracy", "mean_per_class_accuracy", "map11"}
        The dataset's fine-tuning test metric (reference-behaviour.md section 4.1).
    labels : ndarray of shape (n_samples,), dtype int64
        The label of every item, known without decoding any image. For VOC2007 it is the
        first positive class in the fixed class order (class 0 when an image has none).
    targets : ndarray of shape (n_samples, n_classes) or None
        Multi-hot float32 targets for multi-label datasets (VOC2007), else None.
    root : pathlib.Path or None
        The folder or file the data was read from (None for packaged data).
    """

    def __init__(
        self,
        *,
        spec: str,
        split: str,
        source: _Source,
        index: np.ndarray,
        labels: np.ndarray,
        classes: Sequence[str],
        metric: str,
        targets: np.ndarray | None = None,
        root: Path | None = None,
        info: dict[str, Any] | None = None,
    ):
        index = np.asarray(index, dtype=np.int64)
        labels = np.asarray(labels, dtype=np.int64)
        if labels.shape != index.shape:
            raise ValueError(f"Expected {index.shape[0]} labels, got {labels.shape[0]}.")
        if targets is not None and targets.shape[0] != index.shape[0]:
            raise ValueError(f"Expected {index.shape[0]} target rows, got {targets.shape[0]}.")
        if metric not in METRICS:
            raise ValueError(f"Expected a metric in {METRICS}, got {metric!r}.")
        self.spec = spec
        self.split = split
        self.modality = source.modality
        self.classes = [str(c) for c in classes]
        self.num_classes = len(self.classes)
        self.metric = metric
        self.labels = labels
        self.targets = targets
        self.root = root
        self.info = dict(info or {})
        self._source = source
        self._index = index
        self._fingerprint: str | None = None

    def __len__(self) -> int:
        return int(self._index.shape[0])

    def __getitem__(self, i: int) -> tuple[Any, int]:
        n = len(self)
        i = int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"index {i} is out of range for a dataset of {n} items")
        return self._source.get(int(self._index[i])), int(self.labels[i])

    def __repr__(self) -> str:
        return (
            f"Dataset({self.spec!r}, split={self.split!r}, n={len(self)}, "
            f"classes={self.num_classes}, modality={self.modality!r})"
        )

    @property
    def source_index(self) -> np.ndarray:
        """Positions of this split's items in the dataset's full item list (``split="all"``)."""
        return self._index.copy()

    def item(self, i: int) -> Any:
        """Return item ``i`` alone (the decoded image or the text), without its label."""
        return self[i][0]

    def subset(self, indices: Sequence[int] | np.ndarray, *, split: str | None = None) -> Dataset:
        """Return the items at ``indices`` (in that order) as a new `Dataset`.

        Parameters
        ----------
        indices : array-like of int
            Positions in this dataset.
        split : str, optional
            Name of the result's split; defaults to ``"<split>[subset]"``.

        Returns
        -------
        Dataset
            A view sharing this dataset's source; nothing is decoded.
        """
        idx = np.asarray(indices, dtype=np.int64)
        if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= len(self))):
            raise IndexError(f"subset indices must lie in 0..{len(self) - 1}")
        return Dataset(
            spec=self.spec,
            split=split if split is not None else f"{self.split}[subset]",
            source=self._source,
            index=self._index[idx],
            labels=self.labels[idx],
            classes=self.classes,
            metric=self.metric,
            targets=None if self.targets is None else self.targets[idx],
            root=self.root,
            info=self.info,
        )

    def fingerprint(self) -> str:
        """Return a digest that identifies the data of this split.

        It covers the spec, the split, the class names, every label (and target), and the
        items themselves: file names and sizes for file-based datasets, the content or the
        source files' names and sizes for array and text datasets. Part of the feature-cache
        key: any change to the data on disk that these capture gives a new key.

        Returns
        -------
        str
            A sha256 hex digest.
        """
        if self._fingerprint is None:
            h = hashlib.sha256()
            h.update(f"ped.data fingerprint v{FINGERPRINT_VERSION}\n".encode())
            h.update(f"{self.spec}\n{self.split}\n{self.modality}\n{len(self)}\n".encode())
            h.update("\x1f".join(self.classes).encode())
            h.update(self.labels.astype("<i8").tobytes())
            if self.targets is not None:
                h.update(np.ascontiguousarray(self.targets, dtype="<f4").tobytes())
            h.update(self._source.digest(self._index))
            self._fingerprint = h.hexdigest()
        return self._fingerprint


# --------------------------------------------------------------------------------------------
# Splits


def balanced_order(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Return a fixed class-balanced order of the items.

    The items of each class are shuffled (seeded), the classes are put in a seeded random
    order, and the result takes one item from each class in turn (round-robin); a class that
    runs out is skipped. Any prefix of the order is therefore as balanced as the class sizes
    allow: the first ``N`` items hold ``N // C`` or ``N // C + 1`` items of each class while
    every class still has items. ``limit=N`` everywhere in ``ped`` means the first ``N`` items
    of this order.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Class labels (any hashable values that numpy can sort).
    seed : int, default 0
        Seed of the shuffles (``numpy.random.RandomState``, stable across numpy versions).

    Returns
    -------
    ndarray of shape (n_samples,), dtype int64
        A permutation of ``0 .. n_samples - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> order = balanced_order(np.array([0, 0, 0, 1, 1, 2]))
    >>> sorted(np.array([0, 0, 0, 1, 1, 2])[order[:3]].tolist())
    [0, 1, 2]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"Expected labels of shape (n_samples,), got shape {labels.shape}.")
    n = labels.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.RandomState(seed)
    classes, codes = np.unique(labels, return_inverse=True)
    codes = codes.reshape(-1)
    class_pos = rng.permutation(classes.shape[0])  # position of each class in a round
    rank = np.empty(n, dtype=np.int64)  # rank of each item inside its (shuffled) class
    for c in range(classes.shape[0]):
        members = np.flatnonzero(codes == c)
        rng.shuffle(members)
        rank[members] = np.arange(members.shape[0])
    return np.lexsort((class_pos[codes], rank)).astype(np.int64)


def holdout_split(n: int, seed: int = 0, fraction: float = VAL_FRACTION):
    """Split ``range(n)`` into (train, val) positions the way ssl-transfer does.

    The indices ``0 .. n-1`` are shuffled with ``np.random.seed(seed)`` semantics (a private
    ``RandomState(seed)``, so the global random state is untouched) and the first
    ``floor(fraction * n)`` become validation. Both parts are returned sorted, so a split
    keeps the dataset's fixed order.

    Parameters
    ----------
    n : int
        Size of the official training split.
    seed : int, default 0
        The ssl-transfer seed (0; SFDA used 10 and PED 5).
    fraction : float, default 0.2

    Returns
    -------
    (ndarray, ndarray)
        Sorted int64 positions of the training part and of the validation part.
    """
    indices = np.arange(n, dtype=np.int64)
    np.random.RandomState(seed).shuffle(indices)
    k = int(np.floor(fraction * n))
    return np.sort(indices[k:]), np.sort(indices[:k])


def stratified_split(labels: np.ndarray, fraction: float = TEST_FRACTION, seed: int = TEST_SEED):
    """Split positions into (rest, held-out) with ``round(fraction * n_c)`` held out per class.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
    fraction : float, default 0.2
    seed : int, default 0

    Returns
    -------
    (ndarray, ndarray)
        Sorted int64 positions of the remaining part and of the held-out part.
    """
    labels = np.asarray(labels)
    rng = np.random.RandomState(seed)
    held = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        rng.shuffle(members)
        held.append(members[: int(round(fraction * members.shape[0]))])
    out = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.int64)
    mask = np.ones(labels.shape[0], dtype=bool)
    mask[out] = False
    return np.flatnonzero(mask).astype(np.int64), out.astype(np.int64)


def make_splits(
    parts: dict[str, np.ndarray], *, n_total: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """Build the five canonical splits from a dataset's official parts.

    Parameters
    ----------
    parts : dict
        ``"train"`` and ``"test"`` (and ``"val"`` where the dataset has an official one):
        positions in the source. The source is expected to hold train, test, val in that
        order, so ``"all"`` is the whole source in its fixed order.
    n_total : int
        Number of items in the source.
    seed : int, default 0
        Seed of the validation hold-out for datasets without an official val split.

    Returns
    -------
    dict
        ``all``: every item exactly once (train + test (+ val)); ``train``, ``val``,
        ``test``; ``trainval``: train + val with an official val split, else the full
        official train split (val is then a seeded 20% hold-out of it and train the rest).
    """
    train, test = np.asarray(parts["train"]), np.asarray(parts["test"])
    if "val" in parts:
        val = np.asarray(parts["val"])
        trainval = np.concatenate([train, val])
    else:
        keep, hold = holdout_split(train.shape[0], seed)
        trainval = train
        train, val = trainval[keep], trainval[hold]
    return {
        "all": np.arange(n_total, dtype=np.int64),
        "train": train.astype(np.int64),
        "val": val.astype(np.int64),
        "trainval": trainval.astype(np.int64),
        "test": test.astype(np.int64),
    }


def check_split(split: str, spec: str) -> str:
    if split not in SPLITS:
        raise UnknownDatasetError(
            f"Unknown split {split!r} for dataset {spec!r}; choose one of {', '.join(SPLITS)}."
        )
    return split


def build(
    *,
    spec: str,
    split: str,
    source: _Source,
    labels: np.ndarray,
    parts: dict[str, np.ndarray],
    classes: Sequence[str],
    metric: str,
    seed: int = 0,
    targets: np.ndarray | None = None,
    root: Path | None = None,
    info: dict[str, Any] | None = None,
) -> Dataset:
    """Make the `Dataset` of one split from a whole-dataset source and its official parts."""
    check_split(split, spec)
    labels = np.asarray(labels, dtype=np.int64)
    splits = make_splits(parts, n_total=len(source), seed=seed)
    index = splits[split]
    info = dict(info or {})
    info.setdefault("official_val", "val" in parts)
    info["seed"] = seed
    info["split_sizes"] = {k: int(v.shape[0]) for k, v in splits.items()}
    return Dataset(
        spec=spec,
        split=split,
        source=source,
        index=index,
        labels=labels[index],
        classes=classes,
        metric=metric,
        targets=None if targets is None else targets[index],
        root=root,
        info=info,
    )


def derived_parts(labels: np.ndarray) -> dict[str, np.ndarray]:
    """Official-looking parts for a dataset that ships no split: a fixed stratified 80/20."""
    rest, test = stratified_split(labels)
    return {"train": rest, "test": test}
