"""ONNX graphs converted to trainable torch modules with ``onnx2torch``.

Fine-tuning needs a torch module; the zoo's PaddleOCR and ddddocr detector networks ship as
ONNX graphs only. :func:`convert_graph` cuts the graph at the tensor the zoo reads, makes it
convertible, converts it with ``onnx2torch`` (PyPI, Apache-2.0) and adds the zoo's pooling,
so the module maps a ``(B, C, H, W)`` batch to the same ``(B, feature_dim)`` features as
onnxruntime (checked by the tests). Two rewrites make the graphs convertible:

* ``Constant`` nodes become initializers (onnx2torch keeps Paddle's shape constants then);
* the input's free dimensions are fixed to the zoo's input size and shapes are inferred,
  so that the cut graph carries static shapes (PP-OCRv4's recogniser needs it).

``onnx2torch`` imports torchvision at import time for its NMS and RoIAlign converters, which
no zoo graph uses. Where torchvision is missing (or fails to import beside this torch), a
stand-in module lets the import go through and raises if those two converters are ever run.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import MissingDependencyError, UnknownModelError

__all__ = ["PooledGraph", "convert_graph"]


def _torchvision_missing(*args: Any, **kwargs: Any) -> Any:
    raise MissingDependencyError(
        "This ONNX graph uses NMS or RoIAlign, which onnx2torch converts with torchvision: "
        "run `pip install torchvision`."
    )


def _import_onnx2torch() -> Any:
    try:
        import torchvision  # noqa: F401
    except Exception:  # not installed, or built for another torch
        stand_in = types.ModuleType("torchvision")
        stand_in.ops = types.ModuleType("torchvision.ops")  # type: ignore[attr-defined]
        for name in ("nms", "roi_align", "box_convert"):
            setattr(stand_in.ops, name, _torchvision_missing)  # type: ignore[attr-defined]
        saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k.startswith("torchvision")}
        sys.modules["torchvision"], sys.modules["torchvision.ops"] = stand_in, stand_in.ops
        try:
            return _import_quietly()
        finally:
            for k in ("torchvision", "torchvision.ops"):
                sys.modules.pop(k, None)
            sys.modules.update(saved)
    return _import_quietly()


def _import_quietly() -> Any:
    try:
        return importlib.import_module("onnx2torch")
    except ImportError as exc:
        raise MissingDependencyError(
            "Fine-tuning an ONNX network of the zoo needs onnx2torch, which is not installed: "
            "run `pip install onnx2torch==1.5.15` (or `pip install ped[finetune]`)."
        ) from exc


def _constants_to_initializers(model: Any) -> None:
    from onnx import numpy_helper

    kept = []
    for node in model.graph.node:
        if node.op_type == "Constant" and [a.name for a in node.attribute] == ["value"]:
            array = numpy_helper.to_array(node.attribute[0].t)
            model.graph.initializer.append(numpy_helper.from_array(array, node.output[0]))
        else:
            kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)


def _fix_input_shape(model: Any, shape: Sequence[int]) -> None:
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, value in zip(dims, shape):
        if not dim.HasField("dim_value") or dim.dim_value <= 0:
            dim.Clear()
            dim.dim_value = int(value)


def _pool(y: torch.Tensor) -> torch.Tensor:
    """The zoo's pooling (``pool_tensor``) in torch: 4-D over H and W, 3-D over the middle."""
    if y.dim() == 4:
        return y.mean(dim=(2, 3))
    if y.dim() == 3:
        return y.mean(dim=1)
    return y.flatten(1)


class PooledGraph(nn.Module):
    """A converted graph followed by the zoo's pooling.

    Its ``forward`` takes the backbone's ``collate()`` output (a float tensor or array of
    shape ``(B, C, H, W)``) and returns ``(B, feature_dim)`` features.
    """

    def __init__(self, graph: nn.Module) -> None:
        super().__init__()
        self.graph = graph

    def forward(self, x: Any) -> torch.Tensor:
        ref = next(self.graph.parameters(), None)
        device = ref.device if ref is not None else None
        with warnings.catch_warnings():
            # onnx2torch's Slice indexes with a list: torch's deprecation notice says nothing
            # a user can act on (the result is the same), so it is not shown.
            warnings.filterwarnings(
                "ignore", message="Using a non-tuple sequence", category=UserWarning
            )
            y = self.graph(torch.as_tensor(x, dtype=torch.float32, device=device))
        if isinstance(y, (tuple, list)):
            y = y[0]
        return _pool(y)


def convert_graph(
    path: str | Path, tensor: str, *, input_shape: Sequence[int], spec: str
) -> PooledGraph:
    """Convert the part of an ONNX graph that computes ``tensor`` to a torch module.

    Parameters
    ----------
    path : str or Path
        The ``.onnx`` file.
    tensor : str
        The tensor to compute (any node output).
    input_shape : sequence of int
        ``(C, H, W)`` of one input item: the graph's free dimensions are fixed to it (batch 1)
        for shape inference; the module still takes any batch size.
    spec : str
        The spec being loaded (for error messages).

    Returns
    -------
    PooledGraph
        In eval mode, every parameter trainable.

    Raises
    ------
    MissingDependencyError
        onnx2torch is not installed.
    UnknownModelError
        onnx2torch cannot convert the graph (the message names the failure).
    """
    import onnx
    from onnx import shape_inference

    onnx2torch = _import_onnx2torch()
    model = onnx.load(str(path))
    _constants_to_initializers(model)
    _fix_input_shape(model, (1, *input_shape))
    model = shape_inference.infer_shapes(model, data_prop=True)
    if tensor not in {o.name for o in model.graph.output}:
        model.graph.output.append(onnx.ValueInfoProto(name=tensor))
    inputs = [model.graph.input[0].name]
    try:
        cut = onnx.utils.Extractor(model).extract_model(inputs, [tensor])
        graph = onnx2torch.convert(cut)
    except Exception as exc:  # onnx2torch raises NotImplementedError, KeyError, ...
        raise UnknownModelError(
            f"onnx2torch cannot convert the graph of {spec!r} up to tensor {tensor!r} "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    return PooledGraph(graph).eval()
