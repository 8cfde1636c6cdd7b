"""A tiny ONNX graph for the tests of `onnx:` models: Conv (3 -> 4 channels) -> ReLU ->
global average pool -> flatten; tensors ``conv_out``, ``feat``, ``gap`` and ``logits``."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def tiny_onnx(path: str | Path, *, batch: int | str = "N", hw: tuple = (20, 20)) -> np.ndarray:
    """Write the graph to `path` (input ``x`` of shape ``(batch, 3, *hw)``; a string is a free
    dimension) and return its convolution weights ``(4, 3, 3, 3)``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).normal(size=(4, 3, 3, 3)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["conv_out"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv_out"], ["feat"]),
        helper.make_node("GlobalAveragePool", ["feat"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, *hw])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 4])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return w
