"""file: (TorchScript) and onnx: backbones, on tiny models built here."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from onnx_helper import tiny_onnx

from ped.errors import MissingWeightsError, UnknownModelError
from ped.models import load_backbone


class TinyNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 5, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x))  # a 4-D map: the backbone pools it


@pytest.fixture
def script_path(tmp_path):
    torch.manual_seed(0)
    net = TinyNet().eval()
    path = tmp_path / "tiny.pt"
    torch.jit.save(torch.jit.script(net), str(path))
    return path, net


def test_torchscript_backbone(script_path, small_images):
    path, net = script_path
    bb = load_backbone(f"file:{path}")
    assert bb.spec == f"file:{path}" and bb.feature_dim == 5 and bb.num_source_classes is None
    batch = bb.collate([bb.transform(im) for im in small_images])
    assert batch.shape == (3, 3, 224, 224)
    feats, probs = bb.forward(batch)
    assert probs is None and feats.shape == (3, 5) and feats.dtype == np.float32
    with torch.no_grad():
        np.testing.assert_allclose(feats, net(batch).mean(dim=(2, 3)).numpy(), rtol=1e-5)
    small = load_backbone(f"file:{path}?image_size=32")
    assert small.spec == f"file:{path}?image_size=32"
    assert small.transform(small_images[0]).shape == (3, 32, 32)
    assert isinstance(bb.module, torch.nn.Module)


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.pt"
    msg = (
        f"The model file {missing} of spec 'file:{missing}' does not exist; give a path to a file."
    )
    with pytest.raises(MissingWeightsError, match=f"^{re.escape(msg)}$"):
        load_backbone(f"file:{missing}")


def test_not_torchscript(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"not a model")
    with pytest.raises(UnknownModelError, match=rf"^Could not load {re.escape(str(path))} as "):
        load_backbone(f"file:{path}")


def _reference(x: np.ndarray, w: np.ndarray, *, relu: bool = True) -> np.ndarray:
    x = torch.as_tensor(np.asarray(x))
    conv = torch.nn.functional.conv2d(x, torch.from_numpy(w), padding=1)
    return (torch.relu(conv) if relu else conv).numpy()


def test_onnx_inner_tensor_is_pooled(tmp_path, small_images):
    path = tmp_path / "tiny.onnx"
    w = tiny_onnx(path)
    bb = load_backbone(f"onnx:{path}#feat")
    assert bb.spec == f"onnx:{path}#feat" and bb.feature_dim == 4 and bb.module is None
    batch = bb.collate([bb.transform(im) for im in small_images])
    assert batch.shape == (3, 3, 20, 20)  # the input size comes from the graph
    feats, probs = bb.forward(batch)
    assert probs is None and feats.dtype == np.float32 and feats.shape == (3, 4)
    np.testing.assert_allclose(feats, _reference(batch, w).mean(axis=(2, 3)), rtol=1e-4)
    # without a tensor name the first graph output is read
    first = load_backbone(f"onnx:{path}")
    assert first.spec == f"onnx:{path}#logits"
    np.testing.assert_allclose(first.forward(batch)[0], feats, rtol=1e-5)
    assert first.digest() != bb.digest()


def test_onnx_free_size_and_fixed_batch(tmp_path, small_images):
    path = tmp_path / "one.onnx"
    w = tiny_onnx(path, batch=1, hw=("H", "W"))
    bb = load_backbone(f"onnx:{path}#conv_out?image_size=24")
    assert bb.spec == f"onnx:{path}#conv_out?image_size=24" and bb.batch_one
    batch = bb.collate([bb.transform(im) for im in small_images])
    assert batch.shape == (3, 3, 24, 24)
    feats, _ = bb.forward(batch)
    ref = _reference(batch, w, relu=False).mean(axis=(2, 3))
    np.testing.assert_allclose(feats, ref, rtol=1e-4, atol=1e-5)


def test_onnx_unknown_tensor(tmp_path):
    path = tmp_path / "tiny.onnx"
    tiny_onnx(path)
    msg = (
        f"The ONNX model {path} of spec 'onnx:{path}#nope' has no tensor named 'nope'; its "
        "tensors include 'logits', 'conv_out', 'feat', 'gap', 'logits': name one of them "
        "after '#'."
    )
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone(f"onnx:{path}#nope")
