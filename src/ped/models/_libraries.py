"""Backbones from optional libraries, from their local caches only (no hub is reachable here).

* ``torchvision:<arch>``: torchvision's default ImageNet weights;
* ``timm:<name>``: timm's pretrained weights (a name, never a path);
* ``hf:<id or folder>[#<index>]``: a ``transformers`` model; ``#<index>`` picks a hidden state.

Every loader takes ``(name, *, image_size)``; ``ped.models.LOADERS`` maps each kind to one.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._paths import models_dir
from ..errors import MissingDependencyError, MissingWeightsError, UnknownModelError
from ._base import Backbone, TorchImageBackbone
from ._local import torch_load
from ._specs import check_name
from ._transforms import ImagePipeline

__all__ = ["load_torchvision", "load_timm", "load_hf"]

logger = logging.getLogger(__name__)


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
    model.load_state_dict(torch_load(path, spec), strict=True)
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
    check_name(name, spec, folder=str(models_dir() / "timm"))
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
    """Pooler output (or first token, or mean over space); with ``layer``, that hidden state's
    first token (3-D states) or spatial mean (4-D states)."""

    def __init__(self, model: nn.Module, layer: int | None = None) -> None:
        super().__init__()
        self.model = model
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.layer is not None:
            h = self.model(pixel_values=x, output_hidden_states=True).hidden_states[self.layer]
            return h[:, 0] if h.dim() == 3 else h.mean(dim=(2, 3))
        out = self.model(pixel_values=x)
        pooled = getattr(out, "pooler_output", None)
        if pooled is not None:
            return pooled.flatten(1)
        h = out.last_hidden_state
        return h[:, 0] if h.dim() == 3 else h.mean(dim=(2, 3))


class _HFText(nn.Module):
    """Mean of the last hidden state (or hidden state ``layer``) under the attention mask."""

    def __init__(self, model: nn.Module, layer: int | None = None) -> None:
        super().__init__()
        self.model = model
        self.layer = layer
        self._accepts = set(inspect.signature(model.forward).parameters)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        inputs = {k: v for k, v in batch.items() if k in self._accepts}
        if self.layer is None:
            h = self.model(**inputs).last_hidden_state
        else:
            h = self.model(**inputs, output_hidden_states=True).hidden_states[self.layer]
        m = batch["attention_mask"].to(h.dtype).unsqueeze(-1)
        return (h * m).sum(1) / m.sum(1).clamp_min(1e-9)


class _HFImageBackbone(TorchImageBackbone):
    def __init__(
        self,
        spec: str,
        net: nn.Module,
        processor: Any,
        dim: int,
        files: list[Path],
        digest_text: str | None = None,
    ) -> None:
        super().__init__(
            spec,
            net,
            ImagePipeline(224),
            feature_dim=dim,
            weight_files=files,
            digest_text=digest_text,
        )
        self.processor = processor

    def preprocess_id(self) -> str:
        return "hf-image-processor:" + repr(sorted(self.processor.to_dict().items()))

    def transform(self, item: Any) -> torch.Tensor:
        from ._transforms import to_rgb

        return self.processor(images=to_rgb(item), return_tensors="pt")["pixel_values"][0]


def _hidden_index(text: str, spec: str) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise UnknownModelError(
            f"Expected a hidden-state index after '#' in {spec!r} (e.g. #-2 for the one before "
            f"the last), got {text!r}."
        ) from None


def load_hf(raw: str, *, image_size: int | None = None) -> Backbone:
    """A Hugging Face ``transformers`` model from the local cache only (``local_files_only``).

    Vision models (those with an image processor) give the pooler output, or the first
    token's state; text models give the mean of the last hidden states under the mask.
    ``hf:<id>#<index>`` reads hidden state ``index`` instead (``output_hidden_states``; 0 is
    the embeddings, -1 the last layer, -2 the one before): its first token (vision
    transformers), spatial mean (convolutional networks) or masked mean (text).
    ``image_size`` is ignored: the model's own image processor sets the input.
    """
    from ._text import BertTextBackbone

    model_id, _, layer_text = raw.partition("#")
    spec = f"hf:{raw}"
    layer = _hidden_index(layer_text, spec)
    transformers = _require("transformers", spec, "transformers")
    try:
        model = transformers.AutoModel.from_pretrained(model_id, local_files_only=True)
    except OSError as exc:
        raise MissingWeightsError(
            f"{spec!r} is not in the local Hugging Face cache and cannot be downloaded here; "
            "copy the model folder there, or pass a local folder as hf:/path/to/model."
        ) from exc
    model.eval()
    n_states = int(getattr(model.config, "num_hidden_layers", 0) or 0) + 1
    if layer is not None and not -n_states <= layer < n_states:
        raise UnknownModelError(
            f"The model {spec!r} has {n_states} hidden states (0 to {n_states - 1}, or -1 to "
            f"-{n_states}); {layer} is out of range."
        )
    digest_text = None if layer is None else f"hidden_state={layer}"
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
        net = _HFVision(model, layer)
        backbone: Backbone = _HFImageBackbone(spec, net, processor, dim, files, digest_text)
    else:
        tokenizer = transformers.AutoTokenizer.from_pretrained(model_id, local_files_only=True)
        backbone = BertTextBackbone(
            spec,
            _HFText(model, layer),
            _HFTokenizerAdapter(tokenizer),
            feature_dim=dim,
            weight_files=files,
            max_length=int(min(getattr(tokenizer, "model_max_length", 512), 512)),
        )
    if not files:
        backbone._digest_text = f"{spec};{getattr(model.config, '_commit_hash', '')}"
        backbone.weight_files = ()
    elif digest_text is not None:
        backbone._digest_text = digest_text
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
