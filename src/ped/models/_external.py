"""Backbones from the user's own files and from optional libraries.

* ``ssl:<name>``: an ssl-transfer ResNet-50 checkpoint in ``$PED_MODELS/<name>.pth``.
* ``file:<path>``: a TorchScript module.
* ``onnx:<path>#<tensor>``: any tensor of an ONNX graph.
* ``torchvision:<arch>``, ``timm:<name>``, ``hf:<id>``: pretrained models of those libraries,
  from their local caches only (no hub is reachable here).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._paths import models_dir
from ..errors import MissingDependencyError, MissingWeightsError, UnknownModelError
from ._base import Backbone, OnnxImageBackbone, TorchImageBackbone, pool_tensor
from ._transforms import ImagePipeline

__all__ = [
    "SSL_MODELS",
    "load_ssl",
    "load_torchscript",
    "load_onnx",
    "load_torchvision",
    "load_timm",
    "load_hf",
]

logger = logging.getLogger(__name__)

from .._facts import SSL_MODELS  # noqa: E402  (re-exported)


def _torch_load(path: Path, spec: str) -> Any:
    try:
        # weights_only=True: tensors and plain containers only, never arbitrary pickled code.
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # an unpickling refusal, a truncated file, not a checkpoint
        raise MissingWeightsError(
            f"Could not read {path} as a weights-only torch checkpoint for {spec!r} ({exc}); "
            "re-save it as a plain state dict with torch.save(model.state_dict(), path)."
        ) from exc


def load_ssl(name: str, *, image_size: int | None = None) -> TorchImageBackbone:
    """An ssl-transfer ResNet-50 from ``$PED_MODELS/<name>.pth``.

    Parameters
    ----------
    name : str
        One of :data:`SSL_MODELS` (or any other ``<name>.pth`` present in the folder).
    image_size : int or None
        Crop side (224 when None): Resize(side, bicubic) -> CenterCrop(side) -> ToTensor ->
        Normalize(ImageNet mean/std), as in the ssl-transfer evaluation.

    Raises
    ------
    UnknownModelError
        ``name`` is neither a known model nor a file in the folder.
    MissingWeightsError
        The checkpoint is missing, unreadable, or lacks ResNet-50 weights.
    """
    from ._resnet import ResNet50, clean_state_dict

    spec = f"ssl:{name}"
    folder = models_dir()
    path = folder / f"{name}.pth"
    if not path.is_file():
        if name not in SSL_MODELS:
            raise UnknownModelError(
                f"Unknown ssl model {name!r} (and no {path}); known: {', '.join(SSL_MODELS)}."
            )
        raise MissingWeightsError(
            f"The checkpoint for {spec!r} is not at {path}: download {name}.pth from the "
            "ssl-transfer release into that folder, or set PED_MODELS to the folder that "
            "holds it."
        )
    state = clean_state_dict(_torch_load(path, spec))
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    net = ResNet50()
    result = net.load_state_dict(state, strict=False)
    if result.missing_keys:
        shown = ", ".join(result.missing_keys[:5])
        raise MissingWeightsError(
            f"The checkpoint {path} lacks {len(result.missing_keys)} of the ResNet-50 "
            f"weights {spec!r} needs (e.g. {shown}); it holds keys such as "
            f"{', '.join(list(state)[:3]) or 'none'}."
        )
    if result.unexpected_keys:
        logger.warning(
            "%s: ignored %d keys that are not part of a ResNet-50 (e.g. %s)",
            path,
            len(result.unexpected_keys),
            ", ".join(result.unexpected_keys[:5]),
        )
    size = image_size or 224
    return TorchImageBackbone(
        spec if image_size in (None, 224) else f"{spec}?image_size={size}",
        net.eval(),
        ImagePipeline(size, resize=size, interpolation="bicubic"),
        feature_dim=2048,
        weight_files=[path],
    )


class _PooledScript(nn.Module):
    """Wrap a TorchScript module so that 4-D outputs are average-pooled."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.inner(x)
        if isinstance(y, (tuple, list)):
            y = y[0]
        if y.dim() == 4:
            return y.mean(dim=(2, 3))
        if y.dim() == 3:
            return y.mean(dim=1)
        return y.flatten(1)


def _user_path(raw: str, spec: str) -> Path:
    path = Path(raw).expanduser()
    if not path.is_file():
        raise MissingWeightsError(
            f"The model file {path} of spec {spec!r} does not exist; give a path to a file."
        )
    return path


def load_torchscript(raw_path: str, *, image_size: int | None = None) -> TorchImageBackbone:
    """A TorchScript image model (``torch.jit.save`` output) as a backbone.

    The module takes ImageNet-normalised ``(B, 3, S, S)`` images (S = ``image_size``,
    224 by default; Resize + CenterCrop, bicubic) and returns features; a 4-D output is
    average-pooled. The feature size is found by one forward pass on zeros.
    """
    spec = f"file:{raw_path}"
    path = _user_path(raw_path, spec)
    try:
        inner = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        raise UnknownModelError(
            f"Could not load {path} as TorchScript ({exc}); save the model with "
            "torch.jit.save(torch.jit.script(model), path)."
        ) from exc
    net = _PooledScript(inner).eval()
    size = image_size or 224
    with torch.inference_mode():
        dim = int(net(torch.zeros(1, 3, size, size)).shape[1])
    return TorchImageBackbone(
        spec if image_size in (None, 224) else f"{spec}?image_size={size}",
        net,
        ImagePipeline(size),
        feature_dim=dim,
        weight_files=[path],
    )


def load_onnx(raw: str, *, image_size: int | None = None) -> OnnxImageBackbone:
    """Any tensor of an ONNX image model: ``onnx:<path>#<tensor>`` (first output if no tensor).

    The input height and width come from the graph when they are fixed, else
    ``image_size`` (224 by default); images are ImageNet-normalised RGB. A 4-D tensor is
    average-pooled over its spatial axes, a 3-D one over its middle axis.
    """
    from ._onnx import open_graph

    path_part, _, tensor = raw.partition("#")
    spec = f"onnx:{raw}"
    path = _user_path(path_part, spec)
    try:
        graph = open_graph(path, tensor or None, spec=spec)
    except UnknownModelError:
        raise
    except Exception as exc:
        raise UnknownModelError(f"Could not read {path} as an ONNX model ({exc}).") from exc
    fh, fw = graph.fixed_hw()
    side = image_size or 224
    hw = (fh or side, fw or side)
    session = graph.session()
    batch_one = graph.batch_one()
    probe = np.zeros((1, 3) + hw, dtype=np.float32)
    (out,) = session.run([graph.tensor], {graph.input_name: probe})
    dim = int(pool_tensor(out).shape[1])
    canonical = f"onnx:{path_part}#{graph.tensor}"
    if image_size not in (None, 224) and not (fh and fw):
        canonical += f"?image_size={image_size}"
    return OnnxImageBackbone(
        canonical,
        session,
        input_name=graph.input_name,
        output_name=graph.tensor,
        pipeline=ImagePipeline(hw, mode="crop" if hw[0] == hw[1] else "stretch"),
        feature_dim=dim,
        batch_one=batch_one,
        weight_files=[path],
        digest_text=f"tensor={graph.tensor}",
        session_factory=graph.session,
    )


# --------------------------------------------------------------------------- optional libraries
def _require(module: str, spec: str, pip_name: str) -> Any:
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(
            f"The model {spec!r} needs {module}, which is not installed: run "
            f"`pip install {pip_name}` (or use a zoo: model, which runs without it)."
        )
    return importlib.import_module(module)


class _PreLogits(nn.Module):
    """Run a classifier and return the input of its last ``nn.Linear`` (pre-logit features).

    The logits of the same pass are kept in :attr:`last_logits` for the source probabilities.
    """

    def __init__(self, model: nn.Module, classifier: nn.Linear) -> None:
        super().__init__()
        self.model = model
        self.classifier = classifier
        self._captured: torch.Tensor | None = None
        self.last_logits: torch.Tensor | None = None
        classifier.register_forward_pre_hook(self._capture)

    def _capture(self, module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        self._captured = args[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.last_logits = self.model(x)
        feats = self._captured
        self._captured = None
        return feats.flatten(1)


class _LastLogitsHead(nn.Module):
    """Source-class head of a :class:`_PreLogits` module: returns the logits it just made."""

    def __init__(self, owner: _PreLogits) -> None:
        super().__init__()
        self._owner = [owner]  # a list, so the owner is not registered twice as a submodule

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self._owner[0].last_logits


def _last_linear(model: nn.Module) -> nn.Linear:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise UnknownModelError("The model has no nn.Linear classifier to take features before.")
    return linears[-1]


def load_torchvision(arch: str, *, image_size: int | None = None) -> TorchImageBackbone:
    """A torchvision classifier with its default ImageNet weights, from the local torch hub
    cache only (``$TORCH_HOME/hub/checkpoints``); features are the classifier's input."""
    spec = f"torchvision:{arch}"
    tv = _require("torchvision", spec, "torchvision")
    models = tv.models
    try:
        weights = models.get_model_weights(arch).DEFAULT
    except (ValueError, KeyError) as exc:
        raise UnknownModelError(
            f"torchvision has no model {arch!r}; see torchvision.models.list_models()."
        ) from exc
    filename = Path(weights.url).name
    ckpt = Path(torch.hub.get_dir()) / "checkpoints" / filename
    local = models_dir() / "torchvision" / filename
    path = ckpt if ckpt.is_file() else local if local.is_file() else None
    if path is None:
        raise MissingWeightsError(
            f"The weights of {spec!r} ({filename}) are neither in {ckpt.parent} nor in "
            f"{local.parent}, and cannot be downloaded here: copy the file into one of them."
        )
    model = models.get_model(arch, weights=None)
    model.load_state_dict(_torch_load(path, spec), strict=True)
    model.eval()
    tf = weights.transforms()
    crop = image_size or int(tf.crop_size[0])
    resize = int(round(int(tf.resize_size[0]) * crop / int(tf.crop_size[0])))
    interp = str(getattr(tf.interpolation, "value", tf.interpolation)).lower()
    pipe = ImagePipeline(
        crop,
        resize=resize,
        mean=tuple(tf.mean),
        std=tuple(tf.std),
        interpolation=interp if interp in ("bilinear", "bicubic", "nearest") else "bilinear",
    )
    classifier = _last_linear(model)
    net = _PreLogits(model, classifier)
    return TorchImageBackbone(
        spec if image_size is None else f"{spec}?image_size={crop}",
        net,
        pipe,
        feature_dim=classifier.in_features,
        head=_LastLogitsHead(net),
        num_source_classes=classifier.out_features,
        weight_files=[path],
    )


class _TimmFeatures(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_head(self.model.forward_features(x), pre_logits=True)


class _TimmHead(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self._model = [model]

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self._model[0].get_classifier()(feats)


def load_timm(name: str, *, image_size: int | None = None) -> TorchImageBackbone:
    """A timm model with pretrained weights from a local file only: the Hugging Face cache
    (looked up offline) or ``$PED_MODELS/timm/<name>.{safetensors,pth,bin}``."""
    spec = f"timm:{name}"
    timm = _require("timm", spec, "timm")
    try:
        cfg = timm.models.get_pretrained_cfg(name)
    except Exception:  # timm raises RuntimeError for unknown names
        cfg = None
    if cfg is None:
        raise UnknownModelError(f"timm has no pretrained model {name!r}; see timm.list_models().")
    candidates = [
        models_dir() / "timm" / f"{name}{ext}" for ext in (".safetensors", ".pth", ".bin")
    ]
    path = next((p for p in candidates if p.is_file()), None)
    hub_id = getattr(cfg, "hf_hub_id", None)
    if path is None and hub_id and importlib.util.find_spec("huggingface_hub") is not None:
        from huggingface_hub import try_to_load_from_cache

        for filename in ("model.safetensors", "pytorch_model.bin"):
            hit = try_to_load_from_cache(hub_id, filename)
            if isinstance(hit, str):
                path = Path(hit)
                break
    if path is None:
        cache = f"the Hugging Face cache ({hub_id})" if hub_id else "the Hugging Face cache"
        raise MissingWeightsError(
            f"The weights of {spec!r} are neither in {cache} nor at {candidates[0]} "
            "(.safetensors, .pth or .bin), and cannot be downloaded here."
        )
    model = timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": str(path)})
    model.eval()
    data_cfg = timm.data.resolve_data_config({}, model=model)
    crop = image_size or int(data_cfg["input_size"][-1])
    resize = math.floor(crop / float(data_cfg.get("crop_pct", 1.0) or 1.0))  # as timm
    interp = data_cfg.get("interpolation", "bicubic")
    pipe = ImagePipeline(
        crop,
        resize=resize,
        mean=tuple(data_cfg["mean"]),
        std=tuple(data_cfg["std"]),
        interpolation=interp if interp in ("bilinear", "bicubic", "nearest") else "bicubic",
    )
    n_cls = int(getattr(model, "num_classes", 0) or 0)
    return TorchImageBackbone(
        spec if image_size is None else f"{spec}?image_size={crop}",
        _TimmFeatures(model),
        pipe,
        feature_dim=int(model.num_features),
        head=_TimmHead(model) if n_cls else None,
        num_source_classes=n_cls or None,
        weight_files=[path],
    )


class _HFVision(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(pixel_values=x)
        pooled = getattr(out, "pooler_output", None)
        if pooled is not None:
            return pooled.flatten(1)
        h = out.last_hidden_state
        return h[:, 0] if h.dim() == 3 else h.mean(dim=(2, 3))


class _HFText(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self._accepts = set(inspect.signature(model.forward).parameters)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        out = self.model(**{k: v for k, v in batch.items() if k in self._accepts})
        m = batch["attention_mask"].to(out.last_hidden_state.dtype).unsqueeze(-1)
        return (out.last_hidden_state * m).sum(1) / m.sum(1).clamp_min(1e-9)


class _HFImageBackbone(TorchImageBackbone):
    def __init__(self, spec: str, net: nn.Module, processor: Any, dim: int, files: list[Path]):
        super().__init__(spec, net, ImagePipeline(224), feature_dim=dim, weight_files=files)
        self.processor = processor

    def preprocess_id(self) -> str:
        return "hf-image-processor:" + repr(sorted(self.processor.to_dict().items()))

    def transform(self, item: Any) -> torch.Tensor:
        from ._transforms import to_rgb

        return self.processor(images=to_rgb(item), return_tensors="pt")["pixel_values"][0]


def load_hf(model_id: str) -> Backbone:
    """A Hugging Face ``transformers`` model from the local cache only (``local_files_only``).

    Vision models (those with an image processor) give the pooler output, or the first
    token's state; text models give the mean of the last hidden states under the mask.
    """
    from ._text import BertTextBackbone

    spec = f"hf:{model_id}"
    transformers = _require("transformers", spec, "transformers")
    try:
        model = transformers.AutoModel.from_pretrained(model_id, local_files_only=True)
    except OSError as exc:
        raise MissingWeightsError(
            f"{spec!r} is not in the local Hugging Face cache and cannot be downloaded here; "
            "copy the model folder there, or pass a local folder as hf:/path/to/model."
        ) from exc
    model.eval()
    files = sorted(
        p
        for p in Path(getattr(model, "name_or_path", "") or ".").glob("*")
        if p.suffix in (".safetensors", ".bin")
    )
    try:
        processor = transformers.AutoImageProcessor.from_pretrained(model_id, local_files_only=True)
    except (OSError, ValueError, KeyError):
        processor = None
    dim = int(getattr(model.config, "hidden_size", 0) or 0)
    if processor is not None:
        net = _HFVision(model)
        backbone: Backbone = _HFImageBackbone(spec, net, processor, dim, files)
    else:
        tokenizer = transformers.AutoTokenizer.from_pretrained(model_id, local_files_only=True)
        backbone = BertTextBackbone(
            spec,
            _HFText(model),
            _HFTokenizerAdapter(tokenizer),
            feature_dim=dim,
            weight_files=files,
            max_length=int(min(getattr(tokenizer, "model_max_length", 512), 512)),
        )
    if not files:
        backbone._digest_text = f"{spec};{getattr(model.config, '_commit_hash', '')}"
        backbone.weight_files = ()
    return backbone


class _HFTokenizerAdapter:
    """Give a ``transformers`` tokenizer the ``encode_batch`` interface of ``tokenizers``."""

    class _Enc:
        def __init__(self, ids: list[int], mask: list[int], types: list[int]) -> None:
            self.ids, self.attention_mask, self.type_ids = ids, mask, types

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def encode_batch(self, texts: list[str]) -> list[_HFTokenizerAdapter._Enc]:
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=512)
        types = enc.get("token_type_ids") or [[0] * len(i) for i in enc["input_ids"]]
        return [
            self._Enc(i, m, t) for i, m, t in zip(enc["input_ids"], enc["attention_mask"], types)
        ]
