"""Tiny stand-ins for `ped.models.Backbone` and `ped.data.Dataset` used by the finetune tests.

The dataset is a few dozen 8x8 RGB images whose class sets the dominant colour channel; the
backbone is a two-layer conv net with batch-norm. Both follow the interfaces of
docs/agents/contracts.md, so `ped.finetune` cannot tell them from the real ones.
"""

from __future__ import annotations

import hashlib
import os
import time

import numpy as np
import torch
from PIL import Image

# Forward passes of every TinyNet in this process (deep copies share it).
CALLS = {"forward": 0}


class FakeImages:
    """``n`` 8x8 RGB images, ``num_classes`` classes, label = i % num_classes."""

    modality = "image"

    def __init__(
        self,
        n: int,
        *,
        num_classes: int = 3,
        split: str = "train",
        offset: int = 0,
        metric: str = "accuracy",
        multilabel: bool = False,
    ):
        self.n = n
        self.num_classes = num_classes
        self.split = split
        self.offset = offset
        self.metric = metric
        self.spec = "fake-images"
        self.classes = [f"c{k}" for k in range(num_classes)]
        self.labels = np.arange(offset, offset + n, dtype=np.int64) % num_classes
        self.targets = None
        if multilabel:
            t = np.zeros((n, num_classes), dtype=np.int64)
            t[np.arange(n), self.labels] = 1
            t[np.arange(n), (self.labels + 1) % num_classes] = np.arange(n) % 2
            self.targets = t

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[Image.Image, int]:
        rng = np.random.RandomState(self.offset + i)
        label = int(self.labels[i])
        x = rng.randint(0, 90, size=(8, 8, 3))
        x[:, :, label % 3] += 150
        return Image.fromarray(x.astype(np.uint8), "RGB"), label

    def fingerprint(self) -> str:
        return f"fake-images:{self.split}:{self.n}:{self.offset}:{self.num_classes}"


class FakeTexts:
    """Short strings whose words give away the label (two classes)."""

    modality = "text"
    metric = "accuracy"

    def __init__(self, n: int, *, split: str = "train", offset: int = 0):
        self.n = n
        self.split = split
        self.offset = offset
        self.num_classes = 2
        self.labels = np.arange(offset, offset + n, dtype=np.int64) % 2
        self.targets = None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[str, int]:
        label = int(self.labels[i])
        return ("good fine great" if label else "bad awful poor") + f" {i}", label

    def fingerprint(self) -> str:
        return f"fake-texts:{self.split}:{self.n}:{self.offset}"


class TinyNet(torch.nn.Module):
    def __init__(self, feature_dim: int = 8, sleep: float = 0.0, kill_marker: str | None = None):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(6)
        self.fc = torch.nn.Linear(6, feature_dim)
        self.sleep = sleep
        self.kill_marker = kill_marker

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        CALLS["forward"] += 1
        if self.kill_marker and not os.path.exists(self.kill_marker):
            # First attempt anywhere: leave a mark and die like a killed worker.
            with open(self.kill_marker, "w") as fh:
                fh.write(str(os.getpid()))
            os._exit(1)
        if self.sleep:
            time.sleep(self.sleep)
        h = torch.relu(self.bn(self.conv(x)))
        return self.fc(h.mean(dim=(2, 3)))


class FakeBackbone:
    """A backbone after the contract: transform, train_transform, collate, forward, module."""

    modality = "image"
    num_source_classes = None

    def __init__(
        self,
        *,
        seed: int = 0,
        feature_dim: int = 8,
        sleep: float = 0.0,
        kill_marker: str | None = None,
        trainable: bool = True,
    ):
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            net = TinyNet(feature_dim, sleep, kill_marker)
        self.module = net if trainable else None
        self._net = net
        self.feature_dim = feature_dim
        self.spec = f"fake:tiny-{seed}"

    def digest(self) -> str:
        h = hashlib.sha256()
        for v in self._net.state_dict().values():
            h.update(v.numpy().tobytes())
        return h.hexdigest()[:16]

    def preprocess_id(self) -> str:
        return "8px/255"

    def transform(self, item: Image.Image) -> np.ndarray:
        return np.asarray(item, dtype=np.float32).transpose(2, 0, 1) / 255.0

    def train_transform(self, item: Image.Image) -> np.ndarray:
        x = self.transform(item)
        if float(torch.rand(1)) < 0.5:
            x = x[:, :, ::-1].copy()
        return x

    def collate(self, items: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(items))

    def forward(self, batch: torch.Tensor) -> tuple[np.ndarray, None]:
        self._net.eval()
        with torch.no_grad():
            return self._net(batch).numpy().astype(np.float32), None

    def to(self, device: str) -> FakeBackbone:
        self._net.to(device)
        return self


class FakeTextBackbone:
    """A static text encoder (hashed bag of words), no trainable module."""

    modality = "text"
    num_source_classes = None
    module = None
    feature_dim = 16
    spec = "fake:text"

    def digest(self) -> str:
        return "static"

    def preprocess_id(self) -> str:
        return "words"

    def transform(self, item: str) -> str:
        return item

    train_transform = transform

    def collate(self, items: list[str]) -> list[str]:
        return list(items)

    def forward(self, batch: list[str]) -> tuple[np.ndarray, None]:
        out = np.zeros((len(batch), self.feature_dim), np.float32)
        for r, text in enumerate(batch):
            for word in text.split():
                out[r, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.feature_dim] += 1
        return out, None


def image_splits(n_train: int = 48, n_test: int = 24, *, official_val: bool = False, **kw) -> dict:
    parts = {
        "train": FakeImages(n_train, split="train", **kw),
        "test": FakeImages(n_test, split="test", offset=10_000, **kw),
    }
    if official_val:
        parts["val"] = FakeImages(n_test, split="val", offset=20_000, **kw)
    return parts


def text_splits(n_train: int = 60, n_test: int = 30) -> dict:
    return {"train": FakeTexts(n_train), "test": FakeTexts(n_test, split="test", offset=500)}
