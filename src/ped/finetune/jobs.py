"""What a grid point's job runs, in this process or in a Ray worker.

Module-level functions so that Ray can pickle them. The model and the dataset are either the
resolved objects (local runs) or their specs; a worker resolves a spec once per process and
keeps it in a cache, so its later jobs reuse the loaded backbone and splits.
"""

from __future__ import annotations

import time
from typing import Any

from .probe import linear_sweep
from .splits import Splits, resolve_splits
from .training import train_and_score

__all__ = ["resolve_model", "resolve_data", "full_point_job", "linear_job"]

_WORKER_CACHE: dict[Any, Any] = {}


def resolve_model(model: Any, device: str | None, image_size: int | None = None) -> Any:
    """A backbone: `model` itself (resized to `image_size` if given), or its spec loaded once.

    Parameters
    ----------
    model : str or Backbone
    device : str, optional
    image_size : int, optional
        Input side of image networks that take any size.

    Returns
    -------
    Backbone

    Raises
    ------
    ValueError
        If `image_size` is asked of a loaded backbone that cannot change its input size.
    """
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
        from ..models import load_backbone  # imports torch: only when a spec is loaded

        _WORKER_CACHE[key] = load_backbone(model, device=device, image_size=image_size)
    return _WORKER_CACHE[key]


def resolve_data(dataset: Any, seed: int, limit: int | None) -> Splits:
    """`resolve_splits` of `dataset`; a spec's splits are built once per process."""
    if not isinstance(dataset, str):
        return resolve_splits(dataset, seed=seed, limit=limit)
    key = ("data", dataset, seed, limit)
    if key not in _WORKER_CACHE:
        _WORKER_CACHE[key] = resolve_splits(dataset, seed=seed, limit=limit)
    return _WORKER_CACHE[key]


def full_point_job(
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
    """One point of the full protocol: ``(score, seconds)``; phase ``"val"`` trains on train
    and scores val, ``"test"`` trains on trainval and scores test."""
    start = time.perf_counter()
    backbone = resolve_model(model, device)
    splits = resolve_data(dataset, seed, limit)
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


def linear_job(
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
    """The linear protocol's missing C values (and test point) of one model: `linear_sweep`."""
    backbone = resolve_model(model, device)
    splits = resolve_data(dataset, seed, limit)
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
