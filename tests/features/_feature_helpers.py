"""Fake backbones for the feature-store tests (importable by subprocesses too).

`PixelBackbone` implements the `ped.models.Backbone` interface with a fixed random linear
map of the pixels, so its features are a deterministic function of the image. It counts its
forward calls, can sleep per batch (to be killed part-way), and can append the number of
items of every batch to a file (to count work across processes).

Run as a script to extract in a child process::

    python _feature_helpers.py STORE N_LIMIT CHUNK BATCH SLEEP COUNT_FILE
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np


class PixelBackbone:
    spec = "fake:pixels"
    modality = "image"
    module = None

    def __init__(
        self,
        feature_dim: int = 16,
        *,
        source_classes: int | None = 5,
        sleep: float = 0.0,
        count_file: str | None = None,
        size: int = 8,
    ):
        self.feature_dim = feature_dim
        self.num_source_classes = source_classes
        self.sleep = sleep
        self.count_file = count_file
        self.size = size
        rng = np.random.default_rng(1234)
        self.W = rng.normal(size=(size * size * 3, feature_dim)).astype(np.float32)
        self.V = rng.normal(size=(feature_dim, source_classes or 1)).astype(np.float32)
        self.calls = 0
        self.items = 0
        self.device = "cpu"

    def digest(self) -> str:
        return f"pixels-v1-{self.feature_dim}"

    def preprocess_id(self) -> str:
        return f"resize{self.size}/255"

    def transform(self, item):
        im = item.convert("RGB").resize((self.size, self.size))
        return np.asarray(im, dtype=np.float32).reshape(-1) / 255.0

    def train_transform(self, item):
        return self.transform(item)

    def collate(self, items):
        return np.stack(items)

    def forward(self, batch):
        self.calls += 1
        self.items += batch.shape[0]
        if self.count_file:
            with open(self.count_file, "a") as f:
                f.write(f"{os.getpid()} {batch.shape[0]}\n")
        if self.sleep:
            time.sleep(self.sleep)
        # Row by row, so that a row's features do not depend on the batch it came in with
        # (a matrix product's blocking, hence its rounding, depends on the number of rows).
        feats = np.maximum(np.stack([row @ self.W for row in batch]), 0).astype(np.float32)
        if self.num_source_classes is None:
            return feats, None
        logits = np.stack([row @ self.V for row in feats])
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return feats, (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    def to(self, device):
        self.device = device
        return self


class LengthTextBackbone:
    """A text 'model': features are character statistics of the string."""

    spec = "fake:text"
    modality = "text"
    feature_dim = 3
    num_source_classes = None
    module = None
    device = "cpu"

    def __init__(self):
        self.calls = 0

    def digest(self):
        return "text-v1"

    def preprocess_id(self):
        return "raw"

    def transform(self, item):
        return item

    def collate(self, items):
        return list(items)

    def forward(self, batch):
        self.calls += 1
        out = [[len(s), s.count(" "), sum(map(ord, s)) % 97] for s in batch]
        return np.asarray(out, dtype=np.float32), None

    def to(self, device):
        return self


def run_child(argv: list[str]) -> None:
    from ped.features import extract

    store, limit, chunk, batch, sleep, count_file = argv
    backbone = PixelBackbone(sleep=float(sleep), count_file=count_file or None)
    extract(
        backbone, "digits", limit=int(limit), store=store, chunk_size=int(chunk),
        batch_size=int(batch),
    )  # fmt: skip


if __name__ == "__main__":
    run_child(sys.argv[1:])
