"""Layer choice for the user's own models: file: (a submodule), onnx: (a tensor), hf: (a
hidden state), on tiny local models built here."""

from __future__ import annotations

import re

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from ped.errors import UnknownModelError
from ped.models import load_backbone


class Chain(nn.Module):
    """Submodules run in the listed order (with a flatten before the Linear), like a ResNet."""

    def __init__(self) -> None:
        super().__init__()
        self.layer1 = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.layer2 = nn.Sequential(nn.Conv2d(4, 6, 3, stride=2), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.layer2(self.layer1(x))), 1))


class Skip(nn.Module):
    """A forward that is not its submodules in order (a skip connection)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 3, 3, padding=1)
        self.b = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x)) + x


def _save(net: nn.Module, path) -> nn.Module:
    torch.manual_seed(0)
    net = net.eval()
    torch.jit.save(torch.jit.script(net), str(path))
    return net


@pytest.fixture
def chain(tmp_path):
    torch.manual_seed(0)
    net = Chain()
    path = tmp_path / "chain.pt"
    return path, _save(net, path)


def test_file_submodule_is_read(chain, small_images):
    path, net = chain
    whole = load_backbone(f"file:{path}?size=32")
    bb = load_backbone(f"file:{path}#layer1?size=32")
    assert bb.spec == f"file:{path}#layer1?image_size=32" and bb.feature_dim == 4
    assert whole.feature_dim == 2 and bb.digest() != whole.digest()
    batch = bb.collate([bb.transform(im) for im in small_images])
    with torch.no_grad():
        expected = net.layer1(batch).mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(bb.forward(batch)[0], expected, rtol=1e-5, atol=1e-6)
    deeper = load_backbone(f"file:{path}#layer2.0?size=32")  # a dotted name: inside layer2
    with torch.no_grad():
        expected = net.layer2[0](net.layer1(batch)).mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(deeper.forward(batch)[0], expected, rtol=1e-5, atol=1e-6)
    again = load_backbone(bb.spec)
    assert again.spec == bb.spec and again.digest() == bb.digest()


def test_file_layer_module_holds_only_the_layers_it_runs(chain):
    path, _ = chain
    bb = load_backbone(f"file:{path}#layer1?size=32")
    n_layer1 = sum(p.numel() for p in Chain().layer1.parameters())
    assert sum(p.numel() for p in bb.module.parameters()) == n_layer1
    bb.module.train()
    bb.module(torch.randn(2, 3, 32, 32)).sum().backward()
    assert all(p.grad is not None for p in bb.module.parameters())


def test_file_unknown_submodule(chain):
    path, _ = chain
    spec = f"file:{path}#layer9"
    msg = (
        f"The model {spec!r} has no submodule 'layer9'; its top level has layer1, layer2, pool, fc."
    )
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone(spec)
    spec = f"file:{path}#layer1.7"
    msg = f"The model {spec!r} has no submodule 'layer1.7'; layer1 has 0, 1."
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone(spec)


def test_file_layer_of_a_model_that_is_not_a_chain(tmp_path):
    path = tmp_path / "skip.pt"
    _save(Skip(), path)
    spec = f"file:{path}#a"
    msg = (
        f"The model {spec!r} cannot be read at 'a': its forward does not run its submodules in "
        "the listed order, so their outputs are not its layers; save the truncated network as "
        "TorchScript instead."
    )
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone(spec)


def test_onnx_tensor_with_preprocessing(tmp_path, small_images):
    w = np.random.default_rng(0).normal(size=(4, 3, 3, 3)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["conv"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["conv"], ["out"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 4, "H", "W"])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "tiny.onnx"
    onnx.save(model, str(path))
    bb = load_backbone(f"onnx:{path}#conv?size=24&mean=0.5&std=0.5&grey=1")
    assert bb.spec == f"onnx:{path}#conv?image_size=24&mean=0.5&std=0.5&grey=1"
    x = bb.transform(small_images[0])
    assert x.shape == (3, 24, 24) and np.array_equal(x[0], x[1])
    assert -1.0 <= x.min() and x.max() <= 1.0  # (v - 0.5) / 0.5 on the [0, 1] scale
    feats, _ = bb.forward(bb.collate([x]))
    conv = torch.nn.functional.conv2d(torch.from_numpy(x[None]), torch.from_numpy(w), padding=1)
    np.testing.assert_allclose(feats, conv.mean(dim=(2, 3)).numpy(), rtol=1e-4, atol=1e-5)


@pytest.fixture
def tiny_bert(tmp_path):
    transformers = pytest.importorskip("transformers")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "man", "plays", "guitar", "."]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = transformers.BertTokenizer(str(tmp_path / "vocab.txt"))
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=32,
    )
    torch.manual_seed(0)
    model = transformers.BertModel(config).eval()
    folder = tmp_path / "bert"
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder, model, tokenizer


def test_hf_hidden_state_is_read(tiny_bert):
    folder, model, tokenizer = tiny_bert
    last = load_backbone(f"hf:{folder}")
    bb = load_backbone(f"hf:{folder}#-2")
    assert bb.spec == f"hf:{folder}#-2" and bb.feature_dim == 8
    assert bb.digest() != last.digest()
    texts = ["a man plays guitar .", "a guitar ."]
    feats, _ = bb.forward(bb.collate(texts))
    enc = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        h = model(**enc, output_hidden_states=True).hidden_states[-2]
    m = enc["attention_mask"].unsqueeze(-1).float()
    np.testing.assert_allclose(feats, ((h * m).sum(1) / m.sum(1)).numpy(), rtol=1e-4, atol=1e-5)
    assert not np.allclose(feats, last.forward(last.collate(texts))[0])
    spec = f"hf:{folder}#5"
    msg = f"The model {spec!r} has 3 hidden states (0 to 2, or -1 to -3); 5 is out of range."
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone(spec)


def test_hf_index_must_be_an_integer(tmp_path):
    spec = f"hf:{tmp_path}#last"
    msg = (
        f"Expected a hidden-state index after '#' in {spec!r} (e.g. #-2 for the one before the "
        "last), got 'last'."
    )
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone(spec)
