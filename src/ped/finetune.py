"""Ground-truth fine-tuning: hyper-parameter sweeps that resume, are stored, and scale out.

Two protocols:

``"full"`` (default): the protocol behind the published accuracies of ssl-transfer and SFDA.
    The backbone (`Backbone.module`) plus ``nn.Linear(feature_dim, num_classes)``, every
    parameter trainable and batch-norm in train mode; SGD with momentum 0.9, Nesterov, and
    weight decay ``w / lr`` (0 when ``w = 0``); ``CosineAnnealingLR(T_max=steps)`` stepped
    every iteration; the loop cycles over the shuffled training set until ``steps`` batches
    have been seen. Training items go through `Backbone.train_transform` (RandomResizedCrop
    and horizontal flip for images), evaluation items through `Backbone.transform`. Every
    ``(lr, w)`` pair of the grid trains on ``train`` and is scored on ``val``; the best pair
    (strict ``>``, starting from 0; ties keep the earlier pair, and the grid runs lr
    descending then w ascending, as in ssl-transfer) is retrained from the pretrained weights
    on ``trainval`` and scored on ``test`` with the dataset's metric. Loss: cross-entropy, or
    BCE-with-logits on the multi-hot targets of a multi-label dataset (VOC2007).

``"linear"``: the cheaper ground truth of ssl-transfer's linear evaluation. Features of the
    frozen backbone (eval preprocessing, no augmentation) are standardised with the training
    mean and standard deviation, and an L2-regularised multinomial logistic regression
    (scikit-learn, L-BFGS) is fitted for each inverse regularisation strength ``C`` in `cs`
    (default ``logspace(-6, 5, 12)``), selected on ``val`` the same way, refitted on
    ``trainval`` and scored on ``test``. The grid value is reported in the ``c`` field of
    each point; ``lr``, ``w`` and ``wd`` are None there.

Validation split (reference-behaviour §4.1): a dataset with an official validation split uses
it (``trainval = train ∪ val``); otherwise ``floor(0.2 · N_train)`` training indices, the first
of a permutation drawn as ``np.random.seed(seed); np.random.shuffle(indices)``, are held out
as ``val`` and ``trainval`` is the whole training set (`ped.data.holdout_split`). Dataset
specs get their ``train``, ``val`` and ``test`` splits from `ped.data.load_dataset`, which
applies this rule. With ``limit=N`` each of train, val and test is cut to its first ``N``
items of `ped.data.balanced_order` and ``trainval`` is the union of the cut train and val
(for splits given without val, the hold-out is drawn from the cut training split).

Every finished grid point is stored in the results database (`ped.store.ResultsDB`) under
the hash of its whole configuration before the next one starts, so an interrupted sweep
rerun with the same arguments runs only what is missing, and a finished one runs nothing.

Scores are percentages (×100): accuracy, mean per-class accuracy or 11-point mAP.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "finetune",
    "SweepResult",
    "Splits",
    "resolve_splits",
    "compute_metric",
    "train_and_score",
    "linear_sweep",
    "DEFAULT_LRS",
    "DEFAULT_WS",
    "DEFAULT_CS",
    "METRICS",
    "PROTOCOLS",
]

#: Learning rates of the published grid, logspace(-4, -1, 4) in descending order.
DEFAULT_LRS: tuple[float, ...] = (0.1, 0.01, 0.001, 0.0001)
#: The grid's w values: {0} ∪ logspace(-6, -3, 4); the weight decay used is w / lr.
DEFAULT_WS: tuple[float, ...] = (0.0, 1e-6, 1e-5, 1e-4, 1e-3)
#: Inverse regularisation strengths C of the linear protocol: logspace(-6, 5, 12).
DEFAULT_CS: tuple[float, ...] = tuple(float(c) for c in np.logspace(-6, 5, 12))
#: Test metrics a dataset can declare.
METRICS = ("accuracy", "mean_per_class_accuracy", "map11")
#: Protocol names.
PROTOCOLS = ("full", "linear")

# Bump when a change of this module changes what a stored point means.
_PROTOCOL_VERSION = 1

Progress = Callable[..., None]


# --------------------------------------------------------------------------- data splits
class _View:
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

    def subset(self, positions: np.ndarray, name: str) -> _View:
        return _View(self.base, self.indices[np.asarray(positions, dtype=np.int64)], name=name)


def _concat(a: _View, b: _View, name: str) -> _View:
    if a.base is b.base:
        return _View(a.base, np.concatenate([a.indices, b.indices]), name=name)
    return _View(_Concat(a, b), name=name)


class _Concat:
    """Two views as one map-style dataset (train ∪ val of datasets with an official val)."""

    def __init__(self, a: _View, b: _View):
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
    train: _View
    val: _View
    trainval: _View
    test: _View
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


def _balanced_first(labels: np.ndarray, limit: int | None) -> np.ndarray | None:
    if limit is None or limit >= len(labels):
        return None
    from ped.data import balanced_order

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
    sources: dict[str, tuple[str, str]] = {}
    if isinstance(dataset, str):
        from ped.data import load_dataset

        spec = dataset
        # ped.data applies the validation rule itself (official val, else the seeded hold-out).
        parts = {k: load_dataset(spec, k, seed=seed) for k in ("train", "val", "test")}
        val_rule = "ped.data"
        sources = {k: (spec, k) for k in parts}
        name = name or getattr(parts["test"], "spec", spec) or spec
    elif isinstance(dataset, Mapping):
        missing = [k for k in ("train", "test") if k not in dataset]
        if missing:
            raise ValueError(
                f"Expected a mapping with 'train' and 'test' (and optionally 'val'), "
                f"got keys {sorted(dataset)}."
            )
        parts = {k: dataset[k] for k in ("train", "val", "test") if k in dataset}
        val_rule = "official" if "val" in parts else "holdout"
        name = name or "custom"
    else:
        raise TypeError(
            f"Expected a dataset spec, a mapping of splits or Splits, got {type(dataset).__name__}."
        )

    views: dict[str, _View] = {}
    for key, ds in parts.items():
        view = _View(ds, name=key)
        first = _balanced_first(view.labels, limit)
        views[key] = view if first is None else view.subset(first, key)
    if "val" in views:
        train, val = views["train"], views["val"]
        trainval = _concat(train, val, "trainval")
    else:
        from ped.data import holdout_split

        tr, va = holdout_split(len(views["train"]), seed)
        train = views["train"].subset(tr, "train")
        val = views["train"].subset(va, "val")
        trainval = views["train"]
        trainval = _View(trainval.base, trainval.indices, name="trainval")

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


# --------------------------------------------------------------------------- metrics
def compute_metric(
    metric: str,
    logits: np.ndarray,
    labels: np.ndarray,
    targets: np.ndarray | None = None,
) -> float:
    """A test metric of §4.1, in percent.

    Parameters
    ----------
    metric : {"accuracy", "mean_per_class_accuracy", "map11"}
        ``accuracy``: top-1. ``mean_per_class_accuracy``: the confusion matrix's diagonal
        over its row sums, averaged over the classes present in `labels`. ``map11``: per
        class, the 11-point interpolated average precision of the raw scores (for t in 0,
        0.1, ..., 1 the highest precision at recall >= t), averaged over classes.
    logits : ndarray of shape (n_samples, n_classes)
        Raw scores.
    labels : ndarray of shape (n_samples,)
        True class indices.
    targets : ndarray of shape (n_samples, n_classes), optional
        Multi-hot truth; needed for ``map11``.

    Returns
    -------
    float
        The metric times 100.

    Raises
    ------
    ValueError
        If the metric is unknown, or ``map11`` is asked without targets.
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if metric == "accuracy":
        return float(np.mean(np.argmax(logits, axis=1) == labels) * 100.0)
    if metric == "mean_per_class_accuracy":
        pred = np.argmax(logits, axis=1)
        per_class = [np.mean(pred[labels == c] == c) for c in np.unique(labels)]
        return float(np.mean(per_class) * 100.0)
    if metric == "map11":
        if targets is None:
            raise ValueError("Expected multi-hot targets for metric 'map11', got None.")
        from sklearn.metrics import precision_recall_curve

        targets = np.asarray(targets)
        aps = []
        for c in range(targets.shape[1]):
            precision, recall, _ = precision_recall_curve(targets[:, c], logits[:, c])
            points = []
            for t in np.arange(0.0, 1.1, 0.1):
                mask = recall >= t
                points.append(float(precision[mask].max()) if mask.any() else 0.0)
            aps.append(np.mean(points))
        return float(np.mean(aps) * 100.0)
    raise ValueError(f"Expected metric to be one of {list(METRICS)}, got {metric!r}.")


# --------------------------------------------------------------------------- torch plumbing
@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed torch, numpy and random for the block, restoring their states afterwards."""
    import torch

    py_state, np_state = random.getstate(), np.random.get_state()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def _to_device(batch: Any, device: Any) -> Any:
    import torch

    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, np.ndarray):
        return torch.from_numpy(batch).to(device)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _resolve_device(device: str | None) -> str:
    if device is not None:
        return str(device)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class _Items:
    """A torch dataset of ``(transformed item, position)`` over a view."""

    def __init__(self, view: _View, transform: Callable[[Any], Any]):
        self.view = view
        self.transform = transform

    def __len__(self) -> int:
        return len(self.view)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        return self.transform(self.view.item(i)), i


def _loader(view: _View, backbone: Any, *, train: bool, batch_size: int, seed: int) -> Any:
    import torch
    from torch.utils.data import DataLoader

    transform = backbone.train_transform if train else backbone.transform

    def collate(pairs: list[tuple[Any, int]]) -> tuple[Any, np.ndarray]:
        items = [p[0] for p in pairs]
        return backbone.collate(items), np.asarray([p[1] for p in pairs], dtype=np.int64)

    generator = torch.Generator().manual_seed(seed) if train else None
    # A last batch of one item breaks batch-norm in train mode; drop it only then.
    drop_last = train and len(view) > batch_size and len(view) % batch_size == 1
    return DataLoader(
        _Items(view, transform),
        batch_size=batch_size,
        shuffle=train,
        generator=generator,
        collate_fn=collate,
        drop_last=drop_last,
        num_workers=0,
    )


class _Classifier:
    """Backbone module + linear head (built lazily so torch loads only when needed)."""

    @staticmethod
    def build(backbone: Any, num_classes: int) -> Any:
        import torch

        class Net(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.backbone = copy.deepcopy(backbone.module)
                self.head = torch.nn.Linear(int(backbone.feature_dim), int(num_classes))

            def forward(self, batch: Any) -> Any:
                features = self.backbone(batch)
                return self.head(features.flatten(1))

        return Net()


def _predict(net: Any, view: _View, backbone: Any, batch_size: int, device: str) -> np.ndarray:
    import torch

    net.eval()
    out = []
    with torch.no_grad():
        for batch, _ in _loader(view, backbone, train=False, batch_size=batch_size, seed=0):
            out.append(net(_to_device(batch, device)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def train_and_score(
    backbone: Any,
    train: _View,
    evaluate: _View,
    *,
    num_classes: int,
    metric: str,
    lr: float,
    w: float,
    steps: int,
    batch_size: int = 64,
    seed: int = 0,
    device: str | None = None,
) -> float:
    """Fine-tune backbone + linear head on `train` from the pretrained weights, score `evaluate`.

    Parameters
    ----------
    backbone : Backbone
        Needs ``module`` (a trainable torch module), ``feature_dim``, ``transform``,
        ``train_transform`` and ``collate``. Its own weights are not changed (a copy trains).
    train, evaluate : view
        Views from a `Splits`.
    num_classes : int
        Width of the head.
    metric : str
        Metric of `evaluate` (see `compute_metric`).
    lr, w : float
        Learning rate and the grid's w; the weight decay is ``w / lr`` (0 if ``w == 0``).
    steps : int
        Iterations (batches) of SGD; the loader cycles until then.
    batch_size : int, default 64
    seed : int, default 0
        Seeds head initialisation, shuffling and augmentation (global RNG states are restored).
    device : str, optional
        Default: ``"cuda"`` when available, else ``"cpu"``.

    Returns
    -------
    float
        The metric on `evaluate`, times 100.
    """
    import torch

    device = _resolve_device(device)
    multilabel = train.targets is not None
    with _seeded(seed):
        net = _Classifier.build(backbone, num_classes).to(device)
        weight_decay = w / lr if w else 0.0
        optimizer = torch.optim.SGD(
            net.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay
        )
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
        loss_fn = torch.nn.BCEWithLogitsLoss() if multilabel else torch.nn.CrossEntropyLoss()
        loader = _loader(train, backbone, train=True, batch_size=batch_size, seed=seed)
        net.train()
        step = 0
        while step < steps:
            for batch, positions in loader:
                if multilabel:
                    target = torch.as_tensor(train.targets[positions], dtype=torch.float32)
                else:
                    target = torch.as_tensor(train.labels[positions])
                logits = net(_to_device(batch, device))
                loss = loss_fn(logits, target.to(device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                step += 1
                if step >= steps:
                    break
        logits = _predict(net, evaluate, backbone, batch_size, device)
    return compute_metric(metric, logits, evaluate.labels, evaluate.targets)


# --------------------------------------------------------------------------- linear protocol
def _view_features(backbone: Any, view: _View, batch_size: int, device: str) -> np.ndarray:
    out = []
    for start in range(0, len(view), batch_size):
        items = [
            backbone.transform(view.item(i))
            for i in range(start, start + batch_size)
            if i < len(view)
        ]
        feats, _ = backbone.forward(backbone.collate(items))
        out.append(np.asarray(feats, dtype=np.float32))
    return np.concatenate(out) if out else np.zeros((0, int(backbone.feature_dim)), np.float32)


def _split_features(
    backbone: Any,
    splits: Splits,
    *,
    batch_size: int,
    device: str,
    limit: int | None,
    store: Any = None,
) -> dict[str, np.ndarray]:
    """Features of train, val, trainval and test (each item computed once)."""
    cache: dict[int, np.ndarray] = {}  # id(base dataset) -> features of the full base

    def of(view: _View) -> np.ndarray:
        base = view.base
        if isinstance(base, _Concat):
            return np.concatenate([of(base.parts[0]), of(base.parts[1])])[view.indices]
        key = id(base)
        if key not in cache:
            cache[key] = _base_features(backbone, base, splits, batch_size, device, limit, store)
        full = cache[key]
        return full[view.indices] if full.shape[0] == len(base) else full

    return {k: of(getattr(splits, k)) for k in ("train", "val", "trainval", "test")}


def _base_features(
    backbone: Any,
    base: Any,
    splits: Splits,
    batch_size: int,
    device: str,
    limit: int | None,
    store: Any,
) -> np.ndarray:
    # Loaded splits go through ped.features (its cache is shared with scoring); a cut split's
    # rows come back in balanced order, so they are scattered into the full-length array.
    source = next((s for k, s in splits.sources.items() if getattr(base, "split", None) == k), None)
    if source is not None:
        try:
            from ped.features import extract
        except ImportError:
            extract = None
        if extract is not None:
            fs = extract(
                backbone,
                source[0],
                split=source[1],
                limit=limit,
                batch_size=batch_size,
                device=device,
                store=store,
            )
            feats = np.asarray(fs.features, dtype=np.float32)
            labels = np.asarray(fs.labels)
            base_labels = np.asarray(base.labels)
            if feats.shape[0] == len(base) and np.array_equal(labels, base_labels):
                return feats
            first = _balanced_first(base_labels, limit)
            if first is not None and np.array_equal(labels, base_labels[first]):
                full = np.zeros((len(base), feats.shape[1]), np.float32)
                full[first] = feats
                return full
    return _view_features(backbone, _View(base), batch_size, device)


def _logreg(c: float, multilabel: bool, max_iter: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=max_iter)
    if multilabel:
        from sklearn.multiclass import OneVsRestClassifier

        return OneVsRestClassifier(model)
    return model


def _fit_score(
    c: float,
    x_fit: np.ndarray,
    fit_view: _View,
    x_eval: np.ndarray,
    eval_view: _View,
    metric: str,
    num_classes: int,
    max_iter: int,
) -> float:
    y = fit_view.targets if fit_view.targets is not None else fit_view.labels
    scores = probe_decisions(
        c, x_fit, y, x_eval, num_classes=num_classes, multilabel=fit_view.targets is not None,
        max_iter=max_iter,
    )  # fmt: skip
    return compute_metric(metric, scores, eval_view.labels, eval_view.targets)


def probe_decisions(
    c: float,
    x_fit: np.ndarray,
    y_fit: np.ndarray,
    x_eval: np.ndarray,
    *,
    num_classes: int,
    multilabel: bool = False,
    max_iter: int = 1000,
) -> np.ndarray:
    """One fit of the linear protocol: an L2 logistic regression on standardised features.

    Features are standardised with the fit set's mean and std (+1e-8), the classifier is
    scikit-learn's ``LogisticRegression(C=c, max_iter=max_iter)`` (one-vs-rest for
    multi-label targets), and its decision values on ``x_eval`` are returned with one column
    per class (``-inf`` for classes absent from the fit set).

    Returns
    -------
    ndarray of shape (n_eval, num_classes)
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    mean = x_fit.mean(axis=0)
    std = x_fit.std(axis=0) + 1e-8
    clf = _logreg(c, multilabel, max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit((x_fit - mean) / std, y_fit)
    scores = clf.decision_function((x_eval - mean) / std)
    if scores.ndim == 1:  # binary problem: one column of scores for class 1
        scores = np.stack([-scores, scores], axis=1)
    classes = getattr(clf, "classes_", np.arange(scores.shape[1]))
    if not multilabel and scores.shape[1] != num_classes:
        full = np.full((scores.shape[0], num_classes), -np.inf)
        full[:, np.asarray(classes, dtype=np.int64)] = scores
        scores = full
    return scores


def linear_sweep(
    backbone: Any,
    splits: Splits,
    *,
    cs: Sequence[float],
    known: Mapping[float, float] | None = None,
    need_test: bool = True,
    batch_size: int = 64,
    device: str | None = None,
    limit: int | None = None,
    max_iter: int = 1000,
    store: Any = None,
) -> dict[str, Any]:
    """The linear protocol's work: fit the missing C values, then refit the best on trainval.

    Parameters
    ----------
    backbone : Backbone
        Needs ``transform``, ``collate`` and ``forward`` (or is extracted by `ped.features`).
    splits : Splits
    cs : sequence of float
        The whole C grid, in order.
    known : mapping of float to float, optional
        Validation scores already stored; those C values are not fitted again.
    need_test : bool, default True
        Whether to refit on trainval and score test.
    batch_size, device, limit, store
        Feature extraction settings.
    max_iter : int, default 1000
        L-BFGS iterations of each fit.

    Returns
    -------
    dict
        ``{"val": [(c, score, seconds), ...] for the newly fitted C, "test": (c, score,
        seconds) or None, "extract_seconds": float}``.
    """
    device = _resolve_device(device)
    known = dict(known or {})
    start = time.perf_counter()
    feats = _split_features(
        backbone, splits, batch_size=batch_size, device=device, limit=limit, store=store
    )
    extract_seconds = time.perf_counter() - start
    new = []
    scores = dict(known)
    for c in cs:
        if c in known:
            continue
        t0 = time.perf_counter()
        s = _fit_score(
            c,
            feats["train"],
            splits.train,
            feats["val"],
            splits.val,
            splits.metric,
            splits.num_classes,
            max_iter,
        )
        new.append((float(c), s, time.perf_counter() - t0))
        scores[c] = s
    test = None
    if need_test:
        best_c, _ = _select([(c, scores[c]) for c in cs])
        t0 = time.perf_counter()
        s = _fit_score(
            best_c,
            feats["trainval"],
            splits.trainval,
            feats["test"],
            splits.test,
            splits.metric,
            splits.num_classes,
            max_iter,
        )
        test = (float(best_c), s, time.perf_counter() - t0)
    return {"val": new, "test": test, "extract_seconds": extract_seconds}


def _select(scored: Sequence[tuple[Any, float]]) -> tuple[Any, float]:
    """ssl-transfer's choice: strict ``>`` starting from 0, so ties keep the earlier point."""
    best, best_score = scored[0][0], 0.0
    for point, score in scored:
        if score > best_score:
            best, best_score = point, score
    return best, best_score


# --------------------------------------------------------------------------- results
@dataclass
class SweepResult:
    """What a sweep found.

    Attributes
    ----------
    model, dataset : str
        Canonical model spec and dataset name.
    protocol : str
        The protocol that ran (``"linear"`` when ``"full"`` was asked of a backbone without a
        trainable module; `requested_protocol` keeps what was asked, `notes` says why).
    metric : str
        The test metric.
    best : dict
        The chosen point: ``lr``, ``w``, ``wd`` (full protocol) or ``c`` (linear), and its
        validation ``score``.
    val_scores : list of dict
        One per grid point, in grid order: ``lr``, ``w``, ``wd``, ``c``, ``score``,
        ``seconds`` and ``cached`` (True when read from the database instead of run).
    test_score : float
        Test metric (×100) after retraining the best point on trainval.
    seconds : float
        Wall time of this call.
    compute_seconds : float
        Sum of the stored seconds of every point of the sweep (the cost of the ground truth,
        whether this call or an earlier one paid it).
    n_computed : int
        Points (validation and test) this call actually ran.
    """

    model: str
    dataset: str
    protocol: str
    requested_protocol: str
    metric: str
    best: dict[str, Any]
    val_scores: list[dict[str, Any]]
    test_score: float
    seconds: float
    compute_seconds: float
    n_computed: int
    steps: int | None
    batch_size: int
    seed: int
    limit: int | None
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)


def _hash(config: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


# --------------------------------------------------------------------------- job bodies
# Module-level functions so that Ray can pickle them; model and dataset are either the
# resolved objects (local runs) or their specs (Ray workers resolve them once per process).
_WORKER_CACHE: dict[Any, Any] = {}


def _resolve_model(model: Any, device: str | None, image_size: int | None = None) -> Any:
    if not isinstance(model, str):
        if image_size is None:
            return model
        resize = getattr(model, "with_image_size", None)
        if resize is None:
            raise ValueError(
                f"Expected a model spec or a backbone that can change its input size for "
                f"image_size={image_size}, got {getattr(model, 'spec', model)!r}; pass the spec "
                "instead (load_backbone applies image_size)."
            )
        return resize(int(image_size))
    key = ("model", model, device, image_size)
    if key not in _WORKER_CACHE:
        from ped.models import load_backbone

        _WORKER_CACHE[key] = load_backbone(model, device=device, image_size=image_size)
    return _WORKER_CACHE[key]


def _resolve_data(dataset: Any, seed: int, limit: int | None) -> Splits:
    if not isinstance(dataset, str):
        return resolve_splits(dataset, seed=seed, limit=limit)
    key = ("data", dataset, seed, limit)
    if key not in _WORKER_CACHE:
        _WORKER_CACHE[key] = resolve_splits(dataset, seed=seed, limit=limit)
    return _WORKER_CACHE[key]


def _full_point_job(
    model: Any,
    dataset: Any,
    phase: str,
    lr: float,
    w: float,
    steps: int,
    batch_size: int,
    seed: int,
    limit: int | None,
    device: str | None,
) -> tuple[float, float]:
    start = time.perf_counter()
    backbone = _resolve_model(model, device)
    splits = _resolve_data(dataset, seed, limit)
    fit, evaluate = (splits.train, splits.val) if phase == "val" else (splits.trainval, splits.test)
    score = train_and_score(
        backbone,
        fit,
        evaluate,
        num_classes=splits.num_classes,
        metric=splits.metric,
        lr=lr,
        w=w,
        steps=steps,
        batch_size=batch_size,
        seed=seed,
        device=device,
    )
    return score, time.perf_counter() - start


def _linear_job(
    model: Any,
    dataset: Any,
    cs: list[float],
    known: dict[float, float],
    need_test: bool,
    batch_size: int,
    seed: int,
    limit: int | None,
    device: str | None,
    max_iter: int,
) -> dict[str, Any]:
    backbone = _resolve_model(model, device)
    splits = _resolve_data(dataset, seed, limit)
    return linear_sweep(
        backbone,
        splits,
        cs=cs,
        known=known,
        need_test=need_test,
        batch_size=batch_size,
        device=device,
        limit=limit,
        max_iter=max_iter,
    )


# --------------------------------------------------------------------------- the sweep
def finetune(
    model: Any,
    dataset: str | Mapping[str, Any] | Splits,
    *,
    protocol: str = "full",
    lrs: Sequence[float] = DEFAULT_LRS,
    ws: Sequence[float] = DEFAULT_WS,
    cs: Sequence[float] = DEFAULT_CS,
    steps: int = 5000,
    batch_size: int = 64,
    image_size: int | None = None,
    seed: int = 0,
    limit: int | None = None,
    device: str | None = None,
    db: Any = None,
    executor: str | None = None,
    address: str | None = None,
    num_cpus: float = 1,
    num_gpus: float | None = None,
    max_iter: int = 1000,
    progress: Progress | None = None,
) -> SweepResult:
    """Run (or resume) a fine-tuning sweep and report the test score of the best point.

    Parameters
    ----------
    model : str or Backbone
        A model spec for `ped.models.load_backbone` (``"zoo:efficientnet-lite0"``) or a
        loaded backbone.
    dataset : str, mapping or Splits
        A dataset spec, or splits as described in `resolve_splits`.
    protocol : {"full", "linear"}, default "full"
        See the module docstring. ``"full"`` falls back to ``"linear"`` (and says so in
        ``notes``) for a backbone whose ``module`` is None.
    lrs : sequence of float, default (0.1, 0.01, 0.001, 0.0001)
        Learning rates (full protocol), in the order they are tried.
    ws : sequence of float, default (0, 1e-6, 1e-5, 1e-4, 1e-3)
        The grid's w; weight decay used = w / lr.
    cs : sequence of float, default logspace(-6, 5, 12)
        Inverse regularisation strengths (linear protocol).
    steps : int, default 5000
        SGD iterations per grid point and for the final retraining (full protocol).
    batch_size : int, default 64
    image_size : int, optional
        Input side of image networks that take any size (passed to
        `ped.models.load_backbone`; the spec's ``?image_size=N`` does the same); default:
        the backbone's native size.
    seed : int, default 0
        Seeds the hold-out split, head initialisation, shuffling and augmentation.
    limit : int, optional
        Use the first `limit` items (class-balanced order) of each split.
    device : str, optional
        Torch device; default ``"cuda"`` when available, else ``"cpu"``.
    db : ResultsDB, str or Path, optional
        Results database (default ``$PED_HOME/results.sqlite``).
    executor : {"local", "ray"}, optional
        Where the grid points run (default in this process); see `ped.runner.run_jobs`.
    address : str, optional
        Ray cluster address; None starts or joins a local Ray.
    num_cpus, num_gpus : float
        Resources of each job on Ray; `num_gpus` defaults to 1 when `device` is a CUDA
        device or CUDA is visible here, else 0.
    max_iter : int, default 1000
        L-BFGS iterations of the linear protocol.
    progress : callable, optional
        ``progress(done, total, **info)`` after each grid point.

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        For an unknown protocol or metric, an empty grid, or non-positive steps or sizes.
    UnknownModelError, UnknownDatasetError, MissingDatasetError, MissingDependencyError
        From loading the model, the dataset or Ray.

    Examples
    --------
    >>> res = finetune("zoo:efficientnet-lite0", "mnist5k", lrs=[0.01], ws=[0],
    ...                steps=200, limit=1000)  # doctest: +SKIP
    >>> res.best, res.test_score  # doctest: +SKIP
    """
    from ped.runner import Job, run_jobs
    from ped.store import ResultsDB, library_versions

    started = time.perf_counter()
    if protocol not in PROTOCOLS:
        raise ValueError(f"Expected protocol to be one of {list(PROTOCOLS)}, got {protocol!r}.")
    for label, value in (("steps", steps), ("batch_size", batch_size)):
        if int(value) < 1:
            raise ValueError(f"Expected {label} >= 1, got {value}.")
    if limit is not None and int(limit) < 2:
        raise ValueError(f"Expected limit >= 2 or None, got {limit}.")
    lrs = [float(x) for x in lrs]
    ws = [float(x) for x in ws]
    cs = [float(x) for x in cs]
    if any(lr <= 0 for lr in lrs) or any(w < 0 for w in ws) or any(c <= 0 for c in cs):
        raise ValueError(
            f"Expected positive learning rates and C values and non-negative w, got "
            f"lrs={lrs}, ws={ws}, cs={cs}."
        )

    database = db if isinstance(db, ResultsDB) else ResultsDB(db)
    backbone = _resolve_model(model, device, image_size)
    splits = _resolve_data(dataset, seed, limit)
    model_name = str(getattr(backbone, "spec", model if isinstance(model, str) else "model"))
    notes: list[str] = []
    ran = protocol
    if protocol == "full" and getattr(backbone, "module", None) is None:
        ran = "linear"
        notes.append(
            f"{model_name} has no trainable torch module, so the linear protocol ran instead "
            "of full fine-tuning."
        )
    grid_lr_w = [(lr, w) for lr in lrs for w in ws]
    if (ran == "full" and not grid_lr_w) or (ran == "linear" and not cs):
        raise ValueError("Expected a non-empty hyper-parameter grid, got an empty one.")

    digest = getattr(backbone, "digest", None)
    base = {
        "v": _PROTOCOL_VERSION,
        "model": model_name,
        "model_digest": digest() if callable(digest) else None,
        "preprocess": _preprocess_id(backbone),
        "dataset": splits.name,
        "dataset_fingerprint": splits.fingerprint,
        "protocol": ran,
        "image_size": image_size,
        "seed": int(seed),
        "limit": limit,
    }
    if ran == "full":
        base["steps"] = int(steps)
        base["batch_size"] = int(batch_size)
    else:  # frozen eval-mode features do not depend on the batch size
        base["max_iter"] = int(max_iter)
    versions = library_versions()
    device_name = _resolve_device(device)
    if num_gpus is None:
        num_gpus = 1.0 if device_name.startswith("cuda") else 0.0

    # Remote workers get the specs (and load them once per process); local jobs get objects.
    remote = (executor or "local") != "local"
    model_arg = backbone.spec if (remote and isinstance(model, str)) else backbone
    data_arg = dataset if (remote and isinstance(dataset, str)) else splits
    job_device = device if remote else device_name

    n_computed = 0
    grid_points: list[dict[str, Any]] = []

    def point_config(phase: str, **hp: float) -> dict[str, Any]:
        return {**base, "phase": phase, **hp}

    def store(
        phase: str, cfg: dict[str, Any], score: float, seconds: float, **hp: float | None
    ) -> dict[str, Any]:
        database.record_point(
            _hash(cfg),
            model=model_name,
            dataset=splits.name,
            protocol=ran,
            phase=phase,
            score=score,
            metric=splits.metric,
            seconds=seconds,
            steps=base.get("steps"),
            batch_size=batch_size,
            seed=seed,
            limit=limit,
            config=cfg,
            versions=versions,
            **hp,
        )
        return database.point(_hash(cfg))

    if ran == "full":
        for lr, w in grid_lr_w:
            cfg = point_config("val", lr=lr, w=w)
            grid_points.append(
                {
                    "lr": lr,
                    "w": w,
                    "wd": (w / lr if w else 0.0),
                    "c": None,
                    "cfg": cfg,
                    "row": database.point(_hash(cfg)),
                }
            )
        todo = [p for p in grid_points if p["row"] is None]
        total = len(todo) + 1
        done = 0

        def on_val(i: int, job: Job, result: tuple[float, float]) -> None:
            nonlocal done, n_computed
            p = todo[i]
            p["row"] = store(
                "val", p["cfg"], result[0], result[1], lr=p["lr"], w=p["w"], wd=p["wd"]
            )
            p["computed"] = True
            done += 1
            n_computed += 1
            if progress is not None:
                progress(done, total, phase="val", lr=p["lr"], w=p["w"], score=result[0])

        jobs = [
            Job(
                _full_point_job,
                (
                    model_arg,
                    data_arg,
                    "val",
                    p["lr"],
                    p["w"],
                    int(steps),
                    int(batch_size),
                    int(seed),
                    limit,
                    job_device,
                ),
                key=f"{model_name}|{splits.name}|lr={p['lr']:g}|w={p['w']:g}",
                num_cpus=num_cpus,
                num_gpus=num_gpus,
            )
            for p in todo
        ]
        run_jobs(jobs, executor=executor, address=address, on_result=on_val)
        best_point, best_score = _select([(p, p["row"]["score"]) for p in grid_points])
        test_cfg = point_config("test", lr=best_point["lr"], w=best_point["w"])
        test_row = database.point(_hash(test_cfg))
        if test_row is None:
            job = Job(
                _full_point_job,
                (
                    model_arg,
                    data_arg,
                    "test",
                    best_point["lr"],
                    best_point["w"],
                    int(steps),
                    int(batch_size),
                    int(seed),
                    limit,
                    job_device,
                ),
                key=f"{model_name}|{splits.name}|test",
                num_cpus=num_cpus,
                num_gpus=num_gpus,
            )
            ((score, seconds),) = run_jobs([job], executor=executor, address=address)
            test_row = store(
                "test",
                test_cfg,
                score,
                seconds,
                lr=best_point["lr"],
                w=best_point["w"],
                wd=best_point["wd"],
            )
            n_computed += 1
            if progress is not None:
                progress(total, total, phase="test", score=score)
        best = {
            "lr": best_point["lr"],
            "w": best_point["w"],
            "wd": best_point["wd"],
            "c": None,
            "score": best_score,
        }
    else:
        for c in cs:
            cfg = point_config("val", c=c)
            grid_points.append(
                {
                    "lr": None,
                    "w": None,
                    "wd": None,
                    "c": c,
                    "cfg": cfg,
                    "row": database.point(_hash(cfg)),
                }
            )
        known = {p["c"]: p["row"]["score"] for p in grid_points if p["row"] is not None}
        # The test point depends on the best C, known only once every C is scored.
        test_row = None
        if len(known) == len(cs):
            best_c, _ = _select([(c, known[c]) for c in cs])
            test_row = database.point(_hash(point_config("test", c=best_c)))
        if len(known) < len(cs) or test_row is None:
            job = Job(
                _linear_job,
                (
                    model_arg,
                    data_arg,
                    cs,
                    known,
                    True,
                    int(batch_size),
                    int(seed),
                    limit,
                    job_device,
                    int(max_iter),
                ),
                key=f"{model_name}|{splits.name}|linear",
                num_cpus=num_cpus,
                num_gpus=num_gpus,
            )
            (out,) = run_jobs([job], executor=executor, address=address)
            share = out["extract_seconds"] / max(1, len(out["val"]) + 1)
            by_c = {p["c"]: p for p in grid_points}
            for i, (c, score, seconds) in enumerate(out["val"]):
                p = by_c[c]
                p["row"] = store("val", p["cfg"], score, seconds + share, c=c)
                p["computed"] = True
                n_computed += 1
                if progress is not None:
                    progress(i + 1, len(out["val"]) + 1, phase="val", c=c, score=score)
            c, score, seconds = out["test"]
            test_row = store("test", point_config("test", c=c), score, seconds + share, c=c)
            n_computed += 1
            if progress is not None:
                progress(len(out["val"]) + 1, len(out["val"]) + 1, phase="test", score=score)
        best_point, best_score = _select([(p, p["row"]["score"]) for p in grid_points])
        best = {"lr": None, "w": None, "wd": None, "c": best_point["c"], "score": best_score}

    val_scores = [
        {
            "lr": p["lr"],
            "w": p["w"],
            "wd": p["wd"],
            "c": p["c"],
            "score": p["row"]["score"],
            "seconds": p["row"]["seconds"],
            "cached": not p.get("computed", False),
        }
        for p in grid_points
    ]
    compute_seconds = sum(v["seconds"] for v in val_scores) + float(test_row["seconds"])
    sweep_cfg = {**base, "lrs": lrs, "ws": ws} if ran == "full" else {**base, "cs": cs}
    database.record_sweep(
        _hash(sweep_cfg),
        model=model_name,
        dataset=splits.name,
        protocol=ran,
        best=best,
        val_score=best_score,
        test_score=float(test_row["score"]),
        metric=splits.metric,
        seconds=compute_seconds,
        config=sweep_cfg,
        versions=versions,
        source=protocol,
    )
    seconds = time.perf_counter() - started
    if n_computed:
        database.record_run(
            "sweep",
            _hash(sweep_cfg),
            started=time.time() - seconds,
            seconds=seconds,
            info={"n_computed": n_computed, "executor": executor or "local"},
        )
    return SweepResult(
        model=model_name,
        dataset=splits.name,
        protocol=ran,
        requested_protocol=protocol,
        metric=splits.metric,
        best=best,
        val_scores=val_scores,
        test_score=float(test_row["score"]),
        seconds=seconds,
        compute_seconds=compute_seconds,
        n_computed=n_computed,
        steps=int(steps) if ran == "full" else None,
        batch_size=int(batch_size),
        seed=int(seed),
        limit=limit,
        notes=notes,
        config=sweep_cfg,
    )


def _preprocess_id(backbone: Any) -> str | None:
    fn = getattr(backbone, "preprocess_id", None)
    return str(fn()) if callable(fn) else None
