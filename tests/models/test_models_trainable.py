"""Every zoo image network that can be fine-tuned has a trainable module that gives the same
features as extraction; the ONNX networks through onnx2torch match onnxruntime."""

from __future__ import annotations

import importlib.util
import sys
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from ped.models import list_zoo, load_backbone
from ped.models.zoo import zoo_model

IMAGE = [e for e in list_zoo() if e.modality == "image"]
TORCH = [e for e in IMAGE if zoo_model(e.name).finetune == "torch"]
CONVERTED = [e for e in IMAGE if zoo_model(e.name).finetune == "onnx2torch"]
NOT_TRAINABLE = [e for e in IMAGE if zoo_model(e.name).finetune.startswith("not trainable")]


def _load(entry, **kw):
    if not entry.installed:
        pytest.skip(f"zoo packages of {entry.name} not installed: {entry.packages}")
    return load_backbone(entry.spec, **kw)


def _real_images(small_images) -> list[Image.Image]:
    try:
        from skimage import data
    except ImportError:
        return small_images
    return [Image.fromarray(data.astronaut()), Image.fromarray(data.coffee()), small_images[1]]


def test_every_image_network_is_classified():
    assert {e.name for e in TORCH + CONVERTED + NOT_TRAINABLE} == {e.name for e in IMAGE}
    assert len(TORCH) == 24 and len(CONVERTED) == 10


def _check_trainable(bb, batch, feats, *, rtol=1e-4, atol=1e-5):
    """The module in eval mode gives the extracted features; in train mode every parameter
    gets a gradient (truncated networks: no parameter is left out of the forward pass)."""
    module = bb.module
    assert module is not None
    module.eval()
    with torch.no_grad():
        np.testing.assert_allclose(module(batch).float().numpy(), feats, rtol=rtol, atol=atol)
    params = list(module.parameters())
    assert params and all(p.requires_grad for p in params)
    module.train()  # batch-norm statistics move from here on
    out = module(batch)
    assert out.shape == (len(batch), bb.feature_dim)
    out.float().square().mean().backward()
    unused = [n for n, p in module.named_parameters() if p.grad is None]
    assert not unused, f"parameters without a gradient: {unused[:5]}"


@pytest.mark.parametrize("entry", TORCH, ids=lambda e: e.name)
def test_torch_zoo_networks_are_trainable(entry, small_images):
    fixed = zoo_model(entry.name).default_size is None
    bb = _load(entry, image_size=None if fixed else 32)
    batch = bb.collate([bb.transform(im) for im in small_images])
    feats, _ = bb.forward(batch)
    _check_trainable(bb, batch, feats)


def test_depth_variants_are_truncated():
    sizes = {}
    for e in TORCH:
        if e.installed and zoo_model(e.name).builder in ("effnet", "mobilenet", "craft", "hed"):
            bb = load_backbone(e.spec, image_size=32)
            sizes[e.name] = sum(p.numel() for p in bb.module.parameters())
    if "efficientnet-lite0" not in sizes:
        pytest.skip("EfficientNet-Lite0 is not installed")
    for family in ("efficientnet-lite0", "mobilenetv2", "craft-vgg16bn", "hed-vgg16@s32"):
        base = family.split("@")[0]
        variants = [sizes[n] for n in sizes if n.startswith(base + "@") and n != family]
        assert variants and max(variants) < sizes[family]
    # the ImageNet classifier is the source head, not part of the trained module
    bb = load_backbone("zoo:efficientnet-lite0", image_size=32)
    assert bb.head is not None and not any(
        p is q for p in bb.module.parameters() for q in bb.head.parameters()
    )


def test_random_control_is_the_documented_initialisation():
    bb = load_backbone("zoo:random-mobilenetv2", image_size=32)
    net = bb.module.net
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(float(m.running_mean.abs().max()) == 0.0 for m in bns)  # no data seen
    assert all(torch.equal(m.running_var, torch.ones_like(m.running_var)) for m in bns)
    conv = net.features[1].conv[1]  # a 1x1 projection: Kaiming normal, fan out
    fan_out = conv.weight.shape[0]
    assert float(conv.weight.detach().std()) == pytest.approx((2 / fan_out) ** 0.5, rel=0.15)
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    feats = bb.module(x).detach()
    assert 0.1 < float(feats.pow(2).mean().sqrt()) < 10  # unit scale, not 1e-9
    state = bb.module.state_dict()
    again = load_backbone("zoo:random-mobilenetv2", image_size=32).module.state_dict()
    assert state.keys() == again.keys() and all(torch.equal(state[k], again[k]) for k in state)


def test_random_control_fine_tunes_without_its_eval_factor():
    """The eval-mode factor (about 1e9) must not reach training, where batch-norm normalises."""
    from ped.finetune.protocol import FinetuneConfig, train_point
    from ped.finetune.training import starting_module

    bb = load_backbone("zoo:random-mobilenetv2", image_size=32)
    assert starting_module(bb.module) is bb.module.net
    assert float(bb.module.factor) > 1e6  # why it matters: eval-mode activations near 1e-9
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(48, 3, 32, 32, generator=gen), np.arange(48) % 3
    splits = (np.arange(0, 24), np.arange(24, 36), np.arange(36, 48))
    cfg = FinetuneConfig(pool=48, n_test=12, n_val=12, epochs=2, batch_size=8, lrs=(0.01,),
                         image_size=32, threads=1)  # fmt: skip
    rec = train_point(bb, x, y, splits, lr=0.01, seed=0, config=cfg)
    assert all(c["train_loss"] < 10 for c in rec["curve"])  # about log(3), not 1e20


@pytest.mark.parametrize("entry", NOT_TRAINABLE, ids=lambda e: e.name)
def test_networks_that_cannot_be_trained_say_why(entry):
    bb = _load(entry)
    note = zoo_model(entry.name).finetune
    if bb.module is None:
        assert bb.module_note == note
    else:  # raw pixels: a parameter-free flatten
        assert not list(bb.module.parameters())


@pytest.mark.slow
@pytest.mark.parametrize("entry", CONVERTED, ids=lambda e: e.name)
def test_converted_onnx_networks_match_onnxruntime(entry, small_images):
    if importlib.util.find_spec("onnx2torch") is None:  # importing it needs the guard
        pytest.skip("onnx2torch is not installed")
    bb = _load(entry, image_size=None if zoo_model(entry.name).default_size is None else 64)
    batch = bb.collate([bb.transform(im) for im in _real_images(small_images)])
    feats, _ = bb.forward(batch)
    with torch.no_grad(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        converted = bb.module.eval()(batch).numpy()
    assert not [w for w in caught if "non-tuple sequence" in str(w.message)]  # not shown
    # within 1e-5 of the features' scale
    assert np.abs(converted - feats).max() <= 1e-5 * np.abs(feats).max()
    _check_trainable(bb, batch, feats, rtol=0, atol=1e-5 * np.abs(feats).max())
    assert "torchvision" not in sys.modules or hasattr(sys.modules["torchvision"], "__file__")
