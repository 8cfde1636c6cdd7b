"""The data path of `ped.pipeline.rank`: the four functions through which it reaches datasets,
features, reference statistics and model priors, bundled so that a caller can pass others."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..data import load_dataset
from ..dynamics import ReferenceStats
from ..features import extract, reference_stats

__all__ = ["DataPath", "DATA_PATH"]


def _extract(model: Any, dataset: Any, **kwargs: Any) -> Any:
    return extract(model, dataset, **kwargs)


def _reference_stats(model: Any, dataset: Any, **kwargs: Any) -> ReferenceStats:
    return reference_stats(model, dataset, **kwargs)


def _load_dataset(spec: str, split: str = "all") -> Any:
    return load_dataset(spec, split)


def _model_prior(model: Any) -> dict[str, Any]:
    """The data-free prior of a model (`ped.models.prior.model_prior`); loads the model."""
    from ..models import load_backbone
    from ..models.prior import model_prior

    backbone = load_backbone(model) if isinstance(model, str) else model
    prior = model_prior(backbone)
    return {"params": prior.params, "imagenet_top1": prior.imagenet_top1}


@dataclass(frozen=True)
class DataPath:
    """Where `rank` gets its data: the functions it calls to open a dataset, extract features,
    compute PED's reference statistics and read a model's prior.

    Pass another one to `rank` (``data_path=``) to rank from another source, or stand-ins in
    tests; each field takes the arguments of the library function it replaces.

    Attributes
    ----------
    load_dataset : callable
        ``(spec, split="all") -> Dataset``, as `ped.data.load_dataset`.
    extract : callable
        ``(model, dataset, **options) -> FeatureSet``, as `ped.features.extract`.
    reference_stats : callable
        ``(model, dataset, **options) -> ReferenceStats``, as `ped.features.reference_stats`.
    model_prior : callable
        ``(model) -> {"params": ..., "imagenet_top1": ...}``, as `ped.models.prior.model_prior`.
    """

    load_dataset: Callable[..., Any] = _load_dataset
    extract: Callable[..., Any] = _extract
    reference_stats: Callable[..., Any] = _reference_stats
    model_prior: Callable[..., Any] = _model_prior


#: The data path `rank` uses when it is given none: the library's own.
DATA_PATH = DataPath()
