"""The published fine-tuning accuracies shipped with ``ped``, served as ground-truth sources."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["PUBLISHED_SOURCES", "published_ground_truth", "published_metric"]


#: Names of the packaged ground-truth sources, mapped to their key in the JSON file.
PUBLISHED_SOURCES: dict[str, str] = {
    "published:self_supervised_resnet50": "self_supervised_resnet50",
    "published:supervised_imagenet": "supervised_imagenet",
}

# Metric of each downstream dataset of the published tables (reference-behaviour §4.1).
_PUBLISHED_METRICS: dict[str, str] = {
    "aircraft": "mean_per_class_accuracy",
    "caltech101": "mean_per_class_accuracy",
    "flowers": "mean_per_class_accuracy",
    "pets": "mean_per_class_accuracy",
    "voc2007": "map11",
}


@lru_cache(maxsize=1)
def _published_json() -> dict[str, Any]:
    text = resources.files("ped").joinpath("_resources/finetune_accuracy.json").read_text()
    return json.loads(text)


def published_ground_truth() -> dict[str, dict[str, dict[str, float]]]:
    """The packaged published fine-tuning accuracies.

    Returns
    -------
    dict
        ``{source: {dataset: {model: accuracy}}}`` for the sources in `PUBLISHED_SOURCES`,
        values in percent as published.
    """
    raw = _published_json()
    out: dict[str, dict[str, dict[str, float]]] = {}
    for source, key in PUBLISHED_SOURCES.items():
        table = raw[key]["accuracy"]
        out[source] = {
            ds: {model: float(v) for model, v in models.items()} for ds, models in table.items()
        }
    return out


def published_metric(dataset: str) -> str:
    return _PUBLISHED_METRICS.get(dataset, "accuracy")
