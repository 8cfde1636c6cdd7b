"""Data-free priors: parameters the features use, published ImageNet top-1."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ped.models.prior import count_parameters, model_prior


class _Cut(torch.nn.Module):
    """Two layers, of which the forward pass uses only the first (a network cut early)."""

    def __init__(self) -> None:
        super().__init__()
        self.first = torch.nn.Conv2d(3, 4, 3)  # 4*3*3*3 + 4 = 112 parameters
        self.unused = torch.nn.Linear(100, 100)

    def forward(self, x):
        return self.first(x).mean((2, 3))


class _Backbone:
    modality = "image"

    def __init__(self, module, spec="file:x.pt"):
        self.module, self.spec = module, spec

    def transform(self, image):
        return torch.from_numpy(np.asarray(image, dtype=np.float32).transpose(2, 0, 1).copy())

    def collate(self, items):
        return torch.stack(items)


def test_torch_counts_only_the_layers_that_run():
    assert count_parameters(_Backbone(_Cut())) == 112
    whole = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten())
    assert count_parameters(_Backbone(whole)) == 112


def test_onnx_counts_the_initializers_behind_the_output(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w1 = numpy_helper.from_array(np.ones((4, 3), np.float32), "w1")
    w2 = numpy_helper.from_array(np.ones((3, 7), np.float32), "w2")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w1"], ["h"]),
            helper.make_node("MatMul", ["h", "w2"], ["y"]),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 7])],
        [w1, w2],
    )
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(path))

    class B:
        modality, spec, weight_files = "image", "onnx:m.onnx#h", (path,)

    B.output_name = "h"
    assert count_parameters(B()) == 12
    B.output_name = "y"
    assert count_parameters(B()) == 12 + 21


def test_prior_knows_imagenet_top1_of_whole_zoo_classifiers_only():
    assert model_prior(_Backbone(_Cut(), "zoo:efficientnet-lite0")).imagenet_top1 == 75.1
    assert model_prior(_Backbone(_Cut(), "zoo:efficientnet-lite0@s8")).imagenet_top1 is None
    assert model_prior(_Backbone(_Cut(), "file:x.pt")).imagenet_top1 is None
