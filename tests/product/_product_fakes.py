"""Stand-ins for `ped.features` and datasets used by the product tests.

`FakeData` generates, for each fake model, class clusters whose separation the test chooses;
`install` replaces the seams of `ped.pipeline.steps` (`_load_dataset`, `_extract`,
`_reference_stats`) so that `ped.pipeline.rank` and `ped rank` run without any backbone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ped.dynamics import ReferenceStats
from ped.errors import MissingDatasetError, UnknownDatasetError, UnknownModelError


@dataclass
class FakeFeatureSet:
    features: np.ndarray
    labels: np.ndarray
    model: str
    dataset: str
    split: str = "all"
    key: str = "fake"
    path: Path | None = None
    cached: bool = False
    source_probs: np.ndarray | None = None
    targets: np.ndarray | None = None


@dataclass
class FakeDataset:
    spec: str
    split: str = "all"
    modality: str = "image"


def blobs(sep: float, *, n_per_class: int = 30, n_classes: int = 4, dim: int = 10, seed: int = 0):
    """Gaussian classes whose means are ``sep`` apart on average (higher = easier)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, (n_classes, dim))
    centers *= sep / np.mean(
        np.linalg.norm(centers[:, None] - centers[None], axis=-1)[np.triu_indices(n_classes, 1)]
    )
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = centers[y] + rng.normal(0, 1, (y.size, dim))
    return X.astype(np.float32), y.astype(np.int64)


class FakeData:
    """Features per (model, dataset) from a separation table ``{model: sep}``."""

    def __init__(self, seps: dict[str, float], *, datasets=("fake-target",), reference=None):
        self.seps = dict(seps)
        self.datasets = set(datasets)
        self.reference = reference  # None: the reference dataset is missing
        self.calls: list[tuple[str, str]] = []
        self.ref_calls: list[str] = []
        self.prior_calls: list[str] = []

    def load_dataset(self, spec: str, split: str = "all"):
        if spec == "imagenet-val" or spec == self.reference_name:
            if self.reference is None:
                raise MissingDatasetError(
                    f"Dataset {spec!r} was not found in /nowhere/{spec}: expected images."
                )
            return FakeDataset(spec, split)
        if spec not in self.datasets:
            raise UnknownDatasetError(f"Unknown dataset {spec!r}; choose one of fake-target.")
        return FakeDataset(spec, split)

    reference_name = "imagenet-val"

    def extract(self, model, dataset, **kwargs):
        name = model if isinstance(model, str) else model.spec
        if name not in self.seps:
            raise UnknownModelError(f"Unknown model spec {name!r}; expected one of fake:*.")
        self.calls.append((name, dataset.spec))
        seed = sorted(self.seps).index(name)
        X, y = blobs(self.seps[name], seed=seed)
        limit = kwargs.get("limit")
        if limit is not None:
            X, y = X[:limit], y[:limit]
        key = f"fake-{name}-{dataset.spec}-{self.seps[name]}-{limit}"
        return FakeFeatureSet(X, y, model=name, dataset=dataset.spec, split=dataset.split, key=key)

    def reference_stats(self, model, dataset, **kwargs):
        name = model if isinstance(model, str) else model.spec
        self.ref_calls.append(name)
        X, _ = blobs(self.seps[name], seed=99)
        return ReferenceStats.from_features(X * 2.0 + 1.0, source=str(dataset))

    def model_prior(self, model):
        name = model if isinstance(model, str) else model.spec
        self.prior_calls.append(name)
        sep = self.seps.get(name)
        return {"params": None if sep is None else int(1000 * sep), "imagenet_top1": None}

    def data_path(self):
        """These stand-ins as the `ped.pipeline.DataPath` that `rank(data_path=...)` takes."""
        from ped.pipeline import DataPath

        return DataPath(
            load_dataset=self.load_dataset,
            extract=self.extract,
            reference_stats=self.reference_stats,
            model_prior=self.model_prior,
        )

    def install(self, monkeypatch):
        """Make these stand-ins the default data path (for code that calls `rank` without
        a ``data_path``, such as the command line run in-process)."""
        import ped.pipeline.datapath as datapath

        monkeypatch.setattr(datapath, "DATA_PATH", self.data_path())
        return self


#: Four fake models, easiest target first.
SEPS = {"fake:a": 8.0, "fake:b": 4.0, "fake:c": 2.0, "fake:d": 0.5}
