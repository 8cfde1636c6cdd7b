"""The PED paper's table: weighted tau of each score on the self-supervised ResNet-50 zoo.

`reproduce` reads features in the official layout (``{model}_{dataset}_feature.npy``,
``{model}_{dataset}_label.npy`` and ``{model}_imagenet_feature.npy``, as the official
``forward_feature.py`` writes them) or from the feature store, computes NLEEP, PARC, LogME,
SFDA and GBC and their PED versions for every model and dataset present, measures each score
against the published fine-tuning accuracies (``published:self_supervised_resnet50``) with
weighted Kendall's tau, and sets the result beside the published weighted taus (shipped in
the package as ``_resources/published_weighted_tau.json``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ._facts import SSL_MODELS
from .dynamics import ReferenceStats
from .evaluation import weighted_tau
from .features import FeatureStore
from .scoring import list_scores, score_many
from .store import published_ground_truth

__all__ = [
    "OFFICIAL_MODELS",
    "OFFICIAL_DATASETS",
    "REPRODUCE_SCORES",
    "ReproduceResult",
    "published_weighted_tau",
    "find_official_features",
    "reproduce",
]

#: The 12 self-supervised ResNet-50s of the paper (ssl-transfer's names).
OFFICIAL_MODELS: tuple[str, ...] = SSL_MODELS
#: The 10 targets of the published table, in its column order.
OFFICIAL_DATASETS: tuple[str, ...] = (
    "aircraft",
    "caltech101",
    "cars",
    "cifar10",
    "cifar100",
    "flowers",
    "voc2007",
    "pets",
    "food",
    "dtd",
)
#: The scores of the table, each followed by its PED version.
REPRODUCE_SCORES: tuple[str, ...] = (
    "nleep",
    "ped+nleep",
    "parc",
    "ped+parc",
    "logme",
    "ped+logme",
    "sfda",
    "ped+sfda",
    "gbc",
    "ped+gbc",
)
#: Ground truth the published taus were computed against.
TRUTH_SOURCE = "published:self_supervised_resnet50"


@lru_cache(maxsize=1)
def _published_json() -> dict[str, Any]:
    text = resources.files("ped").joinpath("_resources/published_weighted_tau.json").read_text()
    return json.loads(text)


def published_weighted_tau(table: str = "ped_iccv2023") -> dict[str, dict[str, float]]:
    """The published weighted taus shipped with ped.

    Parameters
    ----------
    table : {"ped_iccv2023", "sfda_eccv2022"}, default "ped_iccv2023"
        The PED paper's (self-supervised zoo) or the SFDA paper's (supervised zoo).

    Returns
    -------
    dict
        ``{score: {dataset: weighted tau}}``.
    """
    data = _published_json()
    if table not in data:
        raise ValueError(f"Unknown published table {table!r}; choose among {', '.join(data)}.")
    return {s: dict(v) for s, v in data[table]["weighted_tau"].items()}


def _truth() -> dict[str, dict[str, float]]:
    return published_ground_truth()[TRUTH_SOURCE]


@dataclass
class _Found:
    features: dict[tuple[str, str], Any] = field(default_factory=dict)  # loader per pair
    labels: dict[tuple[str, str], Any] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)  # loader per model


def find_official_features(
    directory: str | Path,
    models: Sequence[str] = OFFICIAL_MODELS,
    datasets: Sequence[str] = OFFICIAL_DATASETS,
) -> dict[str, Any]:
    """Which official-layout feature files a folder holds.

    Parameters
    ----------
    directory : str or Path
        Folder with ``{model}_{dataset}_feature.npy`` files (the official ``results_f/``).
    models, datasets : sequence of str

    Returns
    -------
    dict
        ``{"pairs": [(model, dataset), ...] with features and labels, "imagenet": [model,
        ...] with ImageNet features}``.

    Raises
    ------
    FileNotFoundError
        If `directory` is not a folder.
    """
    d = Path(directory)
    if not d.is_dir():
        raise FileNotFoundError(
            f"Features folder not found: {d} (expected the official layout "
            "{model}_{dataset}_feature.npy, {model}_{dataset}_label.npy, "
            "{model}_imagenet_feature.npy)."
        )
    pairs = [
        (m, ds)
        for ds in datasets
        for m in models
        if (d / f"{m}_{ds}_feature.npy").is_file() and (d / f"{m}_{ds}_label.npy").is_file()
    ]
    imagenet = [m for m in models if (d / f"{m}_imagenet_feature.npy").is_file()]
    return {"pairs": pairs, "imagenet": imagenet}


def _from_directory(directory: Path, models: Sequence[str], datasets: Sequence[str]) -> _Found:
    found = find_official_features(directory, models, datasets)
    out = _Found()
    for m, ds in found["pairs"]:
        out.features[(m, ds)] = lambda m=m, ds=ds: np.load(
            directory / f"{m}_{ds}_feature.npy", mmap_mode="r"
        )
        out.labels[(m, ds)] = lambda m=m, ds=ds: np.load(directory / f"{m}_{ds}_label.npy")
    for m in found["imagenet"]:
        out.reference[m] = lambda m=m: np.load(
            directory / f"{m}_imagenet_feature.npy", mmap_mode="r"
        )
    return out


def _entry_field(entry: Mapping[str, Any], *names: str) -> str | None:
    for n in names:
        v = entry.get(n)
        if isinstance(v, str):
            return v
    return None


def _strip_model(spec: str) -> str:
    return spec.split(":", 1)[1] if ":" in spec else spec


def _from_store(store: Any, models: Sequence[str], datasets: Sequence[str]) -> _Found:
    if isinstance(store, (str, Path)):
        store = FeatureStore(store)
    out = _Found()
    for entry in store.entries():
        model = _entry_field(entry, "model")
        ds = _entry_field(entry, "dataset")
        key = _entry_field(entry, "key")
        split = _entry_field(entry, "split") or "all"
        if not (model and ds and key) or split != "all":
            continue
        if entry.get("limit") not in (None, 0):
            continue  # the table is computed on every item
        name = _strip_model(model)
        if name not in models:
            continue

        def features(key=key):
            return np.asarray(store.get(key).features)

        if ds in ("imagenet-val", "imagenet"):
            out.reference[name] = features
        elif ds in datasets:
            out.features[(name, ds)] = features
            out.labels[(name, ds)] = lambda key=key: np.asarray(store.get(key).labels)
    return out


@dataclass
class ReproduceResult:
    """Weighted taus of every score and dataset present, beside the published ones.

    Attributes
    ----------
    scores : list of str
        Scores computed (those of `REPRODUCE_SCORES` registered in this build).
    datasets : list of str
        Datasets with at least two models present, in the published column order.
    models : dict of str to list of str
        Models present per dataset.
    values : dict
        ``{dataset: {score: {model: value}}}``.
    taus : dict
        ``{score: {dataset: weighted tau}}``.
    published : dict
        ``{score: {dataset: weighted tau}}`` as published.
    missing : list of str
        Sentences on what was not there (datasets, models, ImageNet features, scores).
    seconds : dict of str to float
        Wall time per dataset.
    nsigma : float
        PED's radius multiplier used.
    """

    scores: list[str]
    datasets: list[str]
    models: dict[str, list[str]]
    values: dict[str, dict[str, dict[str, float]]]
    taus: dict[str, dict[str, float]]
    published: dict[str, dict[str, float]]
    missing: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    nsigma: float = 0.6

    def diff(self) -> dict[str, dict[str, float]]:
        """``{score: {dataset: ours - published}}`` where both exist."""
        out: dict[str, dict[str, float]] = {}
        for s, row in self.taus.items():
            for ds, v in row.items():
                p = self.published.get(s, {}).get(ds)
                if p is not None and math.isfinite(v):
                    out.setdefault(s, {})[ds] = v - p
        return out

    def mean_tau(self) -> dict[str, float]:
        """Mean weighted tau per score over the datasets present."""
        return {
            s: float(np.mean(list(row.values()))) if row else float("nan")
            for s, row in self.taus.items()
        }

    def to_frame(self):
        """Long table: one row per score and dataset (``ours``, ``published``, ``diff``)."""
        import pandas as pd

        diff = self.diff()
        rows = []
        for s in self.scores:
            for ds in self.datasets:
                rows.append(
                    {
                        "score": s,
                        "dataset": ds,
                        "ours": self.taus.get(s, {}).get(ds, float("nan")),
                        "published": self.published.get(s, {}).get(ds, float("nan")),
                        "diff": diff.get(s, {}).get(ds, float("nan")),
                        "n_models": len(self.models.get(ds, [])),
                    }
                )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of everything."""
        return {
            "truth_source": TRUTH_SOURCE,
            "nsigma": self.nsigma,
            "scores": self.scores,
            "datasets": self.datasets,
            "models": self.models,
            "weighted_tau": self.taus,
            "published": {s: self.published.get(s, {}) for s in self.scores},
            "diff": self.diff(),
            "mean_weighted_tau": self.mean_tau(),
            "missing": self.missing,
            "seconds": self.seconds,
            "values": self.values,
        }


def reproduce(
    directory: str | Path | None = None,
    *,
    store: Any = None,
    models: Sequence[str] = OFFICIAL_MODELS,
    datasets: Sequence[str] = OFFICIAL_DATASETS,
    scores: Iterable[str] | None = None,
    nsigma: float = 0.6,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Callable[..., None] | None = None,
) -> ReproduceResult:
    """Compute the paper's weighted-tau table on the features that are present.

    Parameters
    ----------
    directory : str or Path, optional
        Folder in the official layout. Exactly one of `directory` and `store` is needed.
    store : FeatureStore, str or Path, optional
        A feature store whose entries have models ``ssl:<name>`` (or ``<name>``) on the
        datasets, with ``split="all"`` and no limit, and on ``imagenet-val``.
    models, datasets : sequence of str
        Default: the paper's 12 models and 10 datasets.
    scores : iterable of str, optional
        Default `REPRODUCE_SCORES` (those registered in this build).
    nsigma : float, default 0.6
        PED's radius multiplier (the official command line's default; 0.3 is the other
        value the authors name).
    params : mapping, optional
        Extra per-score hyper-parameters, as in `ped.scoring.score_many`.
    progress : callable, optional
        ``progress(done, total, description=...)`` after each model and dataset.

    Returns
    -------
    ReproduceResult

    Raises
    ------
    FileNotFoundError
        If `directory` is not a folder.
    ValueError
        If neither or both of `directory` and `store` are given, or nothing usable is found.
    """
    if (directory is None) == (store is None):
        raise ValueError("Expected exactly one of a features folder or a feature store.")
    names, missing = _score_names(scores)
    found = (
        _from_directory(Path(directory), models, datasets)
        if directory is not None
        else _from_store(store, models, datasets)
    )
    if not found.features:
        where = directory if directory is not None else "the feature store"
        raise ValueError(
            f"No features of the paper's models and datasets in {where}: expected files such "
            f"as {models[0]}_{datasets[0]}_feature.npy and {models[0]}_{datasets[0]}_label.npy."
        )
    truth = _truth()
    present_ds = [ds for ds in datasets if any((m, ds) in found.features for m in models)]
    missing += _absent(found, models, datasets, present_ds, names)
    ped_params = {n: {"nsigma": float(nsigma)} for n in names if n.startswith("ped+")}
    for n, p in (params or {}).items():
        if n in names:
            ped_params[n] = {**ped_params.get(n, {}), **dict(p)}
    scorer = _Scorer(found, names, ped_params, progress, total=len(found.features))
    values: dict[str, dict[str, dict[str, float]]] = {}
    present_models: dict[str, list[str]] = {}
    seconds: dict[str, float] = {}
    taus: dict[str, dict[str, float]] = {n: {} for n in names}
    for ds in present_ds:
        t0 = time.perf_counter()
        here = [m for m in models if (m, ds) in found.features]
        lacking = [m for m in models if m not in here]
        if lacking:
            missing.append(f"{ds}: models missing: {', '.join(lacking)}.")
        values[ds] = scorer.dataset(ds, here)
        present_models[ds] = here
        gt = truth.get(ds, {})
        with_truth = [m for m in here if m in gt]
        if len(with_truth) < 2:
            missing.append(f"{ds}: fewer than 2 models with published ground truth; no tau.")
        else:
            for n in names:
                taus[n][ds] = weighted_tau(
                    [values[ds][n][m] for m in with_truth], [gt[m] for m in with_truth]
                )
        seconds[ds] = time.perf_counter() - t0
    return ReproduceResult(
        scores=names,
        datasets=[ds for ds in present_ds if ds in present_models],
        models=present_models,
        values=values,
        taus=taus,
        published=published_weighted_tau("ped_iccv2023"),
        missing=missing,
        seconds=seconds,
        nsigma=float(nsigma),
    )


def _score_names(scores: Iterable[str] | None) -> tuple[list[str], list[str]]:
    """The scores to compute (registered ones), and a sentence on the defaults not built in."""
    available = set(list_scores())
    wanted = [s.strip().lower() for s in (scores if scores is not None else REPRODUCE_SCORES)]
    absent = [s for s in wanted if s not in available]
    if absent and scores is not None:
        raise ValueError(
            f"Unknown score {absent[0]!r}; choose among {', '.join(sorted(available))}."
        )
    missing = [f"Scores not available in this build: {', '.join(absent)}."] if absent else []
    return [s for s in wanted if s in available], missing


def _absent(
    found: _Found,
    models: Sequence[str],
    datasets: Sequence[str],
    present_ds: Sequence[str],
    names: Sequence[str],
) -> list[str]:
    """Sentences on the datasets without features and the models without ImageNet features."""
    missing = []
    absent_ds = [ds for ds in datasets if ds not in present_ds]
    if absent_ds:
        missing.append(f"Datasets missing (no features): {', '.join(absent_ds)}.")
    no_ref = [m for m in models if m not in found.reference]
    if any(n.startswith("ped+") for n in names) and no_ref:
        missing.append(
            f"ImageNet features missing for {', '.join(no_ref)}: PED rescaled those models "
            "with the target's own statistics instead."
        )
    return missing


class _Scorer:
    """Scores every model of a dataset, with each model's ImageNet statistics computed once."""

    def __init__(
        self,
        found: _Found,
        names: list[str],
        params: Mapping[str, Mapping[str, Any]],
        progress: Callable[..., None] | None,
        total: int,
    ):
        self.found, self.names, self.params = found, names, dict(params)
        self.needs_ref = any(n.startswith("ped+") for n in names)
        self.refs: dict[str, ReferenceStats] = {}
        self.progress, self.total, self.done = progress, total, 0

    def reference(self, model: str, X: np.ndarray) -> ReferenceStats | None:
        """ImageNet statistics of `model`, else those of the target's own features `X`."""
        if not self.needs_ref:
            return None
        if model not in self.found.reference:
            return ReferenceStats.from_features(X, source="target")
        if model not in self.refs:
            features = self.found.reference[model]()
            self.refs[model] = ReferenceStats.from_features(features, source="imagenet")
        return self.refs[model]

    def dataset(self, ds: str, models: Sequence[str]) -> dict[str, dict[str, float]]:
        """``{score: {model: value}}`` on one dataset."""
        values: dict[str, dict[str, float]] = {n: {} for n in self.names}
        for m in models:
            X = np.asarray(self.found.features[(m, ds)]())
            y = np.asarray(self.found.labels[(m, ds)]()).reshape(-1)
            ref = self.reference(m, X)
            out = score_many(self.names, X, y, reference=ref, params=self.params or None)
            for n, v in out.items():
                values[n][m] = float(v)
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, self.total, description=f"{ds}: {m}")
        return values
