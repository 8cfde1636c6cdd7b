"""Data-free priors of a model: its size and, where known, its ImageNet accuracy (issue 12).

Ranking candidates by size alone is a strong baseline for transferability metrics (Singh, Hess
and Vanschoren, "How NOT to benchmark your SITE metric", ICLR 2026 blog track: tau 0.91 against
LogME's 0.57 on the standard supervised zoo). `ped rank` shows these numbers beside the scores,
and the zoo benchmark ranks models by them as a predictor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["IMAGENET_TOP1", "ModelPrior", "count_parameters", "model_prior"]

#: Published ImageNet-1k top-1 accuracy (%) of the zoo's whole classifiers, by zoo name:
#: EfficientNet-Lite from the TensorFlow TPU repository's EfficientNet-Lite table, MobileNetV2
#: from torchvision's ``MobileNet_V2_Weights.IMAGENET1K_V1`` (the zoo's weights). Depth variants
#: (``@s8`` ...) are not classifiers and have none.
IMAGENET_TOP1: dict[str, float] = {
    "efficientnet-lite0": 75.1,
    "efficientnet-lite1": 76.7,
    "efficientnet-lite2": 77.6,
    "mobilenetv2": 71.878,
}


@dataclass(frozen=True)
class ModelPrior:
    """What is known of a model without looking at the target data.

    Attributes
    ----------
    params : int or None
        Parameters that the feature computation uses (a network cut at an inner layer counts
        only the layers up to the cut; a word-vector model counts its table).
    imagenet_top1 : float or None
        Published ImageNet-1k top-1 accuracy in percent, where the zoo knows it.
    """

    params: int | None
    imagenet_top1: float | None


def _torch_used_parameters(module: Any, batch: Any) -> int:
    """Parameters of the submodules that run when ``module`` maps ``batch``."""
    import torch

    seen: set[int] = set()
    total = 0

    def hook(mod: Any, _inputs: Any, _output: Any) -> None:
        nonlocal total
        for p in mod.parameters(recurse=False):
            if id(p) not in seen:
                seen.add(id(p))
                total += p.numel()

    handles = [m.register_forward_hook(hook) for m in module.modules()]
    try:
        with torch.no_grad():
            module(batch)
    finally:
        for h in handles:
            h.remove()
    return total


def _onnx_used_parameters(path: Any, output: str) -> int | None:
    """Elements of the initializers that ``output`` depends on in the ONNX graph at ``path``."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    graph = model.graph
    sizes = {t.name: int(np.prod(t.dims)) for t in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    if output not in producer:
        return None
    stack, visited, total = [output], set(), 0
    while stack:
        name = stack.pop()
        if name in visited:
            continue
        visited.add(name)
        if name in sizes:
            total += sizes[name]
        node = producer.get(name)
        if node is not None:
            stack.extend(node.input)
            for attr in node.attribute:  # Constant nodes and subgraphs carry values too
                if attr.t is not None and attr.t.dims:
                    total += int(np.prod(attr.t.dims))
    return total


def count_parameters(backbone: Any) -> int | None:
    """Parameters a backbone's features depend on, or None where they cannot be counted.

    Torch image networks run once on a blank image of their input size with hooks on every
    submodule, so a network cut at an inner layer counts only the layers before the cut; other
    torch networks count every parameter; ONNX graphs count the initializers (and constants)
    that the feature tensor depends on; word-vector and static-embedding models count their
    table.
    """
    from PIL import Image

    module = getattr(backbone, "module", None)
    if module is not None:
        if getattr(backbone, "modality", None) == "image":
            size = getattr(getattr(backbone, "pipeline", None), "size", None) or 64
            side = size if isinstance(size, int) else max(size)
            item = backbone.transform(Image.new("RGB", (side, side)))
            return _torch_used_parameters(module, backbone.collate([item]))
        return int(sum(p.numel() for p in module.parameters()))
    for attr in ("vectors", "embeddings"):
        table = getattr(backbone, attr, None)
        if isinstance(table, np.ndarray):
            return int(table.size)
    output = getattr(backbone, "output_name", None) or getattr(backbone, "hidden_name", None)
    files = getattr(backbone, "weight_files", ())
    onnx_files = [f for f in files if str(f).endswith(".onnx")]
    if output and onnx_files:
        return _onnx_used_parameters(onnx_files[0], output)
    return None


def model_prior(backbone: Any) -> ModelPrior:
    """The data-free prior of a loaded backbone (see `ModelPrior`)."""
    spec = str(getattr(backbone, "spec", ""))
    name = spec[len("zoo:") :].split("?")[0] if spec.startswith("zoo:") else None
    return ModelPrior(
        params=count_parameters(backbone),
        imagenet_top1=IMAGENET_TOP1.get(name) if name else None,
    )
