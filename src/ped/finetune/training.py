"""The full fine-tuning protocol's training loop: backbone + linear head, SGD, cosine schedule.

The protocol behind the published accuracies of ssl-transfer and SFDA. The backbone
(`Backbone.module`) plus ``nn.Linear(feature_dim, num_classes)``, every parameter trainable and
batch-norm in train mode; SGD with momentum 0.9, Nesterov, and weight decay ``w / lr`` (0 when
``w = 0``); ``CosineAnnealingLR(T_max=steps)`` stepped every iteration; the loop cycles over
the shuffled training set until ``steps`` batches have been seen. Training items go through
`Backbone.train_transform` (RandomResizedCrop and horizontal flip for images), evaluation items
through `Backbone.transform`. Loss: cross-entropy, or BCE-with-logits on the multi-hot targets
of a multi-label dataset (VOC2007). torch is imported only when a network trains.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from .metrics import compute_metric
from .splits import View

__all__ = [
    "DEFAULT_LRS",
    "DEFAULT_WS",
    "resolve_device",
    "starting_module",
    "train_and_score",
]

#: Learning rates of the published grid, logspace(-4, -1, 4) in descending order.
DEFAULT_LRS: tuple[float, ...] = (0.1, 0.01, 0.001, 0.0001)
#: The grid's w values: {0} ∪ logspace(-6, -3, 4); the weight decay used is w / lr.
DEFAULT_WS: tuple[float, ...] = (0.0, 1e-6, 1e-5, 1e-4, 1e-3)


def starting_module(module: Any) -> Any:
    """The module that fine-tuning copies and trains, given a backbone's ``module``.

    A module that rescales its frozen, eval-mode output for feature extraction (the random
    MobileNetV2's `ScaledOutput`) says what to train instead through ``for_finetuning()``;
    every other module is trained as it is.
    """
    start = getattr(module, "for_finetuning", None)
    return start() if callable(start) else module


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


def resolve_device(device: str | None) -> str:
    """`device`, or ``"cuda"`` when available, else ``"cpu"``."""
    if device is not None:
        return str(device)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class _Items:
    """A torch dataset of ``(transformed item, position)`` over a view."""

    def __init__(self, view: View, transform: Callable[[Any], Any]):
        self.view = view
        self.transform = transform

    def __len__(self) -> int:
        return len(self.view)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        return self.transform(self.view.item(i)), i


def _loader(view: View, backbone: Any, *, train: bool, batch_size: int, seed: int) -> Any:
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
                self.backbone = copy.deepcopy(starting_module(backbone.module))
                self.head = torch.nn.Linear(int(backbone.feature_dim), int(num_classes))

            def forward(self, batch: Any) -> Any:
                features = self.backbone(batch)
                return self.head(features.flatten(1))

        return Net()


def _predict(net: Any, view: View, backbone: Any, batch_size: int, device: str) -> np.ndarray:
    import torch

    net.eval()
    out = []
    with torch.no_grad():
        for batch, _ in _loader(view, backbone, train=False, batch_size=batch_size, seed=0):
            out.append(net(_to_device(batch, device)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def train_and_score(
    backbone: Any,
    train: View,
    evaluate: View,
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

    device = resolve_device(device)
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
