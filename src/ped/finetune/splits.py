"""The data splits of the fine-tuning protocol: train, val, trainval and test views.

Validation split (reference-behaviour §4.1): a dataset with an official validation split uses
it (``trainval = train ∪ val``); otherwise ``floor(0.2 · N_train)`` training indices, the first
of a permutation drawn as ``np.random.seed(seed); np.random.shuffle(indices)``, are held out
as ``val`` and ``trainval`` is the whole training set (`ped.data.holdout_split`). Dataset
specs get their ``train``, ``val`` and ``test`` splits from `ped.data.load_dataset`, which
applies this rule. With ``limit=N`` each of train, val and test is cut to its first ``N``
items of `ped.data.balanced_order` and ``trainval`` is the union of the cut train and val
(for splits given without val, the hold-out is drawn from the cut training split).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data import balanced_order, holdout_split, load_dataset
from .metrics import METRICS

__all__ = ["View", "Splits", "resolve_splits", "seed_split", "pool_test_size"]


class View:
    """Items ``indices`` of a map-style dataset, with their labels (and multi-hot targets)."""

    def __init__(self, base: Any, indices: np.ndarray | None = None, *, name: str = ""):
        self.base = base
        n = len(base)
        self.indices = np.arange(n) if indices is None else np.asarray(indices, dtype=np.int64)
        labels = getattr(base, "labels", None)
        if labels is None:
            labels = np.asarray([int(base[int(i)][1]) for i in range(n)], dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)[self.indices]
        targets = getattr(base, "targets", None)
        self.targets = None if targets is None else np.asarray(targets)[self.indices]
        self.name = name

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def item(self, i: int) -> Any:
        return self.base[int(self.indices[i])][0]

    def subset(self, positions: np.ndarray, name: str) -> View:
        return View(self.base, self.indices[np.asarray(positions, dtype=np.int64)], name=name)


def concat_views(a: View, b: View, name: str) -> View:
    """``a`` followed by ``b`` as one view (one base when they share it)."""
    if a.base is b.base:
        return View(a.base, np.concatenate([a.indices, b.indices]), name=name)
    return View(Concat(a, b), name=name)


class Concat:
    """Two views as one map-style dataset (train ∪ val of datasets with an official val)."""

    def __init__(self, a: View, b: View):
        self.parts = (a, b)
        self.labels = np.concatenate([a.labels, b.labels])
        self.targets = (
            None if a.targets is None or b.targets is None else np.vstack([a.targets, b.targets])
        )

    def __len__(self) -> int:
        return len(self.parts[0]) + len(self.parts[1])

    def __getitem__(self, i: int) -> tuple[Any, int]:
        a, b = self.parts
        if i < len(a):
            return a.item(i), int(a.labels[i])
        return b.item(i - len(a)), int(b.labels[i - len(a)])


@dataclass
class Splits:
    """The four splits of the fine-tuning protocol, plus what the test metric is.

    Build it with `resolve_splits`; finetune accepts it wherever a dataset spec goes, which is
    how tests and users pass datasets that `ped.data` does not know.

    Attributes
    ----------
    name : str
        Dataset name stored with the results.
    train, val, trainval, test : view
        Views of map-style datasets: ``len(view)``, ``view.item(i)``, ``view.labels``,
        ``view.targets`` (multi-hot or None).
    num_classes : int
    metric : {"accuracy", "mean_per_class_accuracy", "map11"}
    fingerprint : str
        Identifies the data (part of every grid point's hash).
    val_rule : {"ped.data", "official", "holdout"}
        Where ``val`` came from: `ped.data`'s split (which applies the rule itself), the
        given official validation split, or the seeded 20 % hold-out of ``train``.
    modality : str
        ``"image"`` or ``"text"``.
    """

    name: str
    train: View
    val: View
    trainval: View
    test: View
    num_classes: int
    metric: str
    fingerprint: str
    val_rule: str
    modality: str = "image"
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def multilabel(self) -> bool:
        """Whether the labels are multi-hot targets (VOC2007)."""
        return self.test.targets is not None


def balanced_first(labels: np.ndarray, limit: int | None) -> np.ndarray | None:
    """Positions of the first `limit` items of the class-balanced order (None: keep all)."""
    if limit is None or limit >= len(labels):
        return None
    return np.asarray(balanced_order(np.asarray(labels), seed=0), dtype=np.int64)[:limit]


def _fingerprint(ds: Any) -> str:
    fp = getattr(ds, "fingerprint", None)
    if callable(fp):
        return str(fp())
    return f"{type(ds).__name__}:{len(ds)}"


def resolve_splits(
    dataset: str | Mapping[str, Any] | Splits,
    *,
    seed: int = 0,
    limit: int | None = None,
    name: str | None = None,
    metric: str | None = None,
) -> Splits:
    """Build the train / val / trainval / test views of the protocol.

    Parameters
    ----------
    dataset : str, mapping or Splits
        A `ped.data` dataset spec (its ``"train"``, ``"val"`` and ``"test"`` splits are
        loaded; when it has no ``"val"`` split the seeded hold-out is used), or a mapping with
        ``"train"`` and ``"test"`` and optionally ``"val"`` (an official validation split) of
        map-style datasets (``len``, ``[i] -> (item, label)``, and preferably ``labels``,
        ``num_classes``, ``metric``, ``targets``, ``modality``, ``fingerprint()``). A `Splits`
        is returned unchanged.
    seed : int, default 0
        Seed of the 20 % hold-out.
    limit : int, optional
        Cut each loaded split to its first `limit` items of the class-balanced order.
    name : str, optional
        Dataset name for a mapping (default ``"custom"``).
    metric : str, optional
        Override the test metric (default: the test split's ``metric``, else accuracy).

    Returns
    -------
    Splits

    Raises
    ------
    UnknownDatasetError, MissingDatasetError
        From `ped.data.load_dataset` for a spec it cannot load.
    ValueError
        If a mapping lacks ``"train"`` or ``"test"``, or the metric is unknown.
    """
    if isinstance(dataset, Splits):
        return dataset
    parts, val_rule, sources, name = _load_parts(dataset, seed, name)
    views = _cut_views(parts, limit)
    train, val, trainval = _train_val(views, seed)
    test_ds = parts["test"]
    num_classes = getattr(test_ds, "num_classes", None)
    if num_classes is None:
        num_classes = int(max(views["train"].labels.max(), views["test"].labels.max())) + 1
    metric = metric or getattr(test_ds, "metric", None) or "accuracy"
    if metric not in METRICS:
        raise ValueError(f"Expected metric to be one of {list(METRICS)}, got {metric!r}.")
    fingerprint = hashlib.sha256(
        json.dumps({k: _fingerprint(v) for k, v in sorted(parts.items())}).encode()
    ).hexdigest()[:16]
    return Splits(
        name=str(name),
        train=train,
        val=val,
        trainval=trainval,
        test=views["test"],
        num_classes=int(num_classes),
        metric=metric,
        fingerprint=fingerprint,
        val_rule=val_rule,
        modality=getattr(test_ds, "modality", "image"),
        sources=sources,
    )


def _load_parts(
    dataset: str | Mapping[str, Any], seed: int, name: str | None
) -> tuple[dict[str, Any], str, dict[str, tuple[str, str]], str]:
    """The split datasets of a spec or mapping, the validation rule, their sources, a name."""
    if isinstance(dataset, str):
        spec = dataset
        # ped.data applies the validation rule itself (official val, else the seeded hold-out).
        parts = {k: load_dataset(spec, k, seed=seed) for k in ("train", "val", "test")}
        sources = {k: (spec, k) for k in parts}
        return parts, "ped.data", sources, name or getattr(parts["test"], "spec", spec) or spec
    if isinstance(dataset, Mapping):
        missing = [k for k in ("train", "test") if k not in dataset]
        if missing:
            raise ValueError(
                f"Expected a mapping with 'train' and 'test' (and optionally 'val'), "
                f"got keys {sorted(dataset)}."
            )
        parts = {k: dataset[k] for k in ("train", "val", "test") if k in dataset}
        return parts, ("official" if "val" in parts else "holdout"), {}, name or "custom"
    raise TypeError(
        f"Expected a dataset spec, a mapping of splits or Splits, got {type(dataset).__name__}."
    )


def _cut_views(parts: Mapping[str, Any], limit: int | None) -> dict[str, View]:
    """A view of each part, cut to its first `limit` items of the class-balanced order."""
    views: dict[str, View] = {}
    for key, ds in parts.items():
        view = View(ds, name=key)
        first = balanced_first(view.labels, limit)
        views[key] = view if first is None else view.subset(first, key)
    return views


def _train_val(views: Mapping[str, View], seed: int) -> tuple[View, View, View]:
    """``(train, val, trainval)``: the official val, else the seeded hold-out of train."""
    if "val" in views:
        train, val = views["train"], views["val"]
        return train, val, concat_views(train, val, "trainval")
    whole = views["train"]
    tr, va = holdout_split(len(whole), seed)
    trainval = View(whole.base, whole.indices, name="trainval")
    return whole.subset(tr, "train"), whole.subset(va, "val"), trainval


def pool_test_size(n_items: int, pool: int, n_test: int) -> int:
    """Test items of one seed's split of a pool that holds ``n_items`` items.

    ``n_test`` when the target fills the pool; a target smaller than the pool (the 1,122
    statements of presidential-debates against a pool of 3,000) keeps the pool's test share,
    ``round(n_items * n_test / pool)``, leaving at least 20 training items; 2 test items
    come first below 22 items. (`seed_split` keeps one item of each class for training, so
    a tiny target gets fewer test items than asked.)
    """
    if n_items >= pool:
        return int(n_test)
    share = int(round(n_items * n_test / pool))
    return max(2, min(share, n_items - 20))


def seed_split(labels: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of ``range(len(labels))`` into (train, test) with ``n_test`` test items.

    Each class contributes ``round(n_test * n_c / n)`` test items (adjusted so they sum to
    ``n_test``), drawn with ``numpy.random.default_rng(seed)``.
    """
    labels = np.asarray(labels)
    n = labels.shape[0]
    classes, counts = np.unique(labels, return_counts=True)
    want = np.floor(n_test * counts / n).astype(int)
    order = np.argsort(-(n_test * counts / n - want), kind="stable")
    want[order[: n_test - want.sum()]] += 1
    rng = np.random.default_rng(seed)
    test = []
    for c, k in zip(classes, want):
        idx = np.flatnonzero(labels == c)
        test.append(rng.choice(idx, size=min(k, idx.size - 1), replace=False))
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(n), test)
    return train, test
