"""Backbones from the user's own files.

* ``ssl:<name>``: an ssl-transfer ResNet-50 checkpoint in ``$PED_MODELS/<name>.pth`` (a name,
  never a path).
* ``file:<path>[#<submodule>]``: a TorchScript module, or its output at a submodule.
* ``onnx:<path>#<tensor>``: any tensor of an ONNX graph.

Every loader takes ``(name, *, image_size)``; ``ped.models.LOADERS`` maps each kind to one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._facts import SSL_MODELS
from .._paths import models_dir
from ..errors import MissingWeightsError, UnknownModelError
from ._base import OnnxImageBackbone, TorchImageBackbone, pool_tensor
from ._specs import check_name
from ._transforms import ImagePipeline

__all__ = ["SSL_MODELS", "load_ssl", "load_torchscript", "load_onnx", "torch_load"]

logger = logging.getLogger(__name__)


def torch_load(path: Path, spec: str) -> Any:
    """A weights-only torch checkpoint; MissingWeightsError when it cannot be read so."""
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
        One of :data:`SSL_MODELS` (or any other ``<name>.pth`` present in the folder): a name,
        never a path.
    image_size : int or None
        Crop side (224 when None): Resize(side, bicubic) -> CenterCrop(side) -> ToTensor ->
        Normalize(ImageNet mean/std), as in the ssl-transfer evaluation.

    Raises
    ------
    UnknownModelError
        ``name`` is a path, or neither a known model nor a file in the folder.
    MissingWeightsError
        The checkpoint is missing, unreadable, or lacks ResNet-50 weights.
    """
    from ._resnet import ResNet50, clean_state_dict

    spec = f"ssl:{name}"
    folder = models_dir()
    check_name(name, spec, folder=str(folder))
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
    state = clean_state_dict(torch_load(path, spec))
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


class _Chain(nn.Module):
    """Run modules one after the other, flattening before a ``Linear`` (as ``torch.flatten``
    does between the pooling and the classifier of torchvision's networks)."""

    def __init__(self, stages: list[nn.Module]) -> None:
        super().__init__()
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = _step(stage, x)
        return x


def _step(stage: nn.Module, x: torch.Tensor) -> torch.Tensor:
    kind = getattr(stage, "original_name", type(stage).__name__)
    if kind == "Linear" and x.dim() > 2:
        x = x.flatten(1)
    y = stage(x)
    return y[0] if isinstance(y, (tuple, list)) else y


def _prefix(
    module: nn.Module,
    path: list[str],
    x: torch.Tensor,
    *,
    spec: str,
    layer: str,
    parent: str = "",
) -> list[nn.Module]:
    """The modules to run, in order, to get the output of submodule ``path`` of ``module``.

    A submodule's output is reached by running the listed submodules in order, which is only
    right for a module whose ``forward`` does exactly that (``nn.Sequential``, torchvision's
    ResNets and VGGs): this is checked on ``x`` against ``module(x)`` at every level.
    """
    children = list(module.named_children())
    names = [n for n, _ in children]
    if path[0] not in names:
        raise UnknownModelError(
            f"The model {spec!r} has no submodule {layer!r}; "
            f"{parent or 'its top level'} has {', '.join(names) or 'none'}."
        )
    with torch.inference_mode():
        chained = x
        for _, child in children:
            chained = _step(child, chained)
        direct = _step(module, x)
    same = chained.shape == direct.shape and torch.allclose(chained, direct, rtol=1e-4, atol=1e-5)
    if not same:
        raise UnknownModelError(
            f"The model {spec!r} cannot be read at {layer!r}: its forward does not run its "
            "submodules in the listed order, so their outputs are not its layers; save the "
            "truncated network as TorchScript instead."
        )
    stages: list[nn.Module] = []
    for name, child in children:
        if name == path[0]:
            if len(path) > 1:
                inner = f"{parent}.{name}" if parent else name
                return stages + _prefix(child, path[1:], x, spec=spec, layer=layer, parent=inner)
            return stages + [child]
        stages.append(child)
        with torch.inference_mode():
            x = _step(child, x)
    raise AssertionError("unreachable")  # path[0] is in names


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


def load_torchscript(raw: str, *, image_size: int | None = None) -> TorchImageBackbone:
    """A TorchScript image model (``torch.jit.save`` output) as a backbone.

    The module takes ImageNet-normalised ``(B, 3, S, S)`` images (S = ``image_size``,
    224 by default; Resize + CenterCrop, bicubic) and returns features; a 4-D output is
    average-pooled. The feature size is found by one forward pass on zeros.

    ``file:<path>#<submodule>`` (a dotted name such as ``layer3`` or ``layer3.1``) reads that
    submodule's output instead; the module then holds only the layers up to it. TorchScript
    modules take no forward hooks, so the layer is reached by running the listed submodules
    in order, which is checked against the model's own forward first (true of
    ``nn.Sequential`` and torchvision's ResNets and VGGs); a model where it does not hold is a
    one-sentence error.
    """
    path_part, _, layer = raw.partition("#")
    spec = f"file:{raw}"
    path = _user_path(path_part, spec)
    try:
        inner = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        raise UnknownModelError(
            f"Could not load {path} as TorchScript ({exc}); save the model with "
            "torch.jit.save(torch.jit.script(model), path)."
        ) from exc
    inner.eval()
    size = image_size or 224
    if layer:
        probe = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))
        stages = _prefix(inner, layer.split("."), probe, spec=spec, layer=layer)
        inner = _Chain(stages)
    net = _PooledScript(inner).eval()
    with torch.inference_mode():
        dim = int(net(torch.zeros(1, 3, size, size)).shape[1])
    return TorchImageBackbone(
        spec if image_size in (None, 224) else f"{spec}?image_size={size}",
        net,
        ImagePipeline(size),
        feature_dim=dim,
        weight_files=[path],
        digest_text=f"layer={layer}" if layer else None,
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
