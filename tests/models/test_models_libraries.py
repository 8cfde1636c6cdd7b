"""The torchvision / timm / transformers loaders, against small stand-in libraries.

The real libraries are not installed here (torchvision would replace this torch build), so
these tests put minimal modules with the same entry points into ``sys.modules`` and check
the glue: local-only weight lookup, pre-logit features, source probabilities, errors.
"""

from __future__ import annotations

import importlib.machinery
import re
import sys
import types
from enum import Enum

import numpy as np
import pytest
import torch

from ped.errors import MissingWeightsError
from ped.models import load_backbone


class TinyClassifier(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=4)
        self.fc = torch.nn.Linear(8, 10)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x))

    def pre_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pre_logits(x))


def _module(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
    mod.__dict__.update(attrs)
    return mod


class _Interp(Enum):
    BILINEAR = "bilinear"


@pytest.fixture
def fake_torchvision(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("PED_MODELS", str(tmp_path / "models"))
    transforms = types.SimpleNamespace(
        crop_size=[224],
        resize_size=[256],
        mean=[0.5, 0.5, 0.5],
        std=[0.25, 0.25, 0.25],
        interpolation=_Interp.BILINEAR,
    )
    weights = types.SimpleNamespace(
        url="https://example.invalid/models/tiny-0123abcd.pth", transforms=lambda: transforms
    )
    models = _module(
        "torchvision.models",
        get_model_weights=lambda arch: types.SimpleNamespace(DEFAULT=weights),
        get_model=lambda arch, weights=None: TinyClassifier(),
    )
    monkeypatch.setitem(sys.modules, "torchvision", _module("torchvision", models=models))
    monkeypatch.setitem(sys.modules, "torchvision.models", models)
    return tmp_path / "torch" / "hub" / "checkpoints" / "tiny-0123abcd.pth"


def test_torchvision_weights_must_be_local(fake_torchvision, tmp_path):
    msg = (
        f"The weights of 'torchvision:tiny' (tiny-0123abcd.pth) are neither in "
        f"{fake_torchvision.parent} nor in {tmp_path / 'models' / 'torchvision'}, and cannot "
        "be downloaded here: copy the file into one of them."
    )
    with pytest.raises(MissingWeightsError, match=f"^{re.escape(msg)}$"):
        load_backbone("torchvision:tiny")


def test_torchvision_prelogit_features(fake_torchvision, small_images):
    torch.manual_seed(0)
    net = TinyClassifier().eval()
    fake_torchvision.parent.mkdir(parents=True)
    torch.save(net.state_dict(), fake_torchvision)
    bb = load_backbone("torchvision:tiny")
    assert bb.feature_dim == 8 and bb.num_source_classes == 10
    assert bb.preprocess_id().startswith("resize256-crop224x224;bilinear")
    batch = bb.collate([bb.transform(im) for im in small_images])
    feats, probs = bb.forward(batch)
    with torch.no_grad():
        np.testing.assert_allclose(feats, net.pre_logits(batch).numpy(), rtol=1e-5, atol=1e-6)
        ref = torch.softmax(net(batch), dim=1).numpy()
    np.testing.assert_allclose(probs, ref, rtol=1e-5, atol=1e-6)
    small = load_backbone("torchvision:tiny?image_size=112")
    assert small.preprocess_id().startswith("resize128-crop112x112")


class TimmTiny(TinyClassifier):
    num_features = 8
    num_classes = 10

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = x.mean(dim=(2, 3))
        return x if pre_logits else self.fc(x)

    def get_classifier(self) -> torch.nn.Module:
        return self.fc


@pytest.fixture
def fake_timm(monkeypatch, tmp_path):
    monkeypatch.setenv("PED_MODELS", str(tmp_path))

    def create_model(name, pretrained, pretrained_cfg_overlay):
        net = TimmTiny()
        net.load_state_dict(torch.load(pretrained_cfg_overlay["file"], weights_only=True))
        return net

    cfg = types.SimpleNamespace(hf_hub_id=None)
    data_cfg = {
        "input_size": (3, 64, 64),
        "interpolation": "bicubic",
        "crop_pct": 0.875,
        "mean": (0.5, 0.5, 0.5),
        "std": (0.5, 0.5, 0.5),
    }
    timm = _module(
        "timm",
        create_model=create_model,
        models=types.SimpleNamespace(get_pretrained_cfg=lambda name: cfg),
        data=types.SimpleNamespace(resolve_data_config=lambda args, model: data_cfg),
    )
    monkeypatch.setitem(sys.modules, "timm", timm)
    return tmp_path / "timm" / "tiny.pth"


def test_timm_weights_must_be_local(fake_timm):
    msg = (
        f"The weights of 'timm:tiny' are neither in the Hugging Face cache nor at "
        f"{fake_timm.with_suffix('.safetensors')} (.safetensors, .pth or .bin), and cannot be "
        "downloaded here."
    )
    with pytest.raises(MissingWeightsError, match=f"^{re.escape(msg)}$"):
        load_backbone("timm:tiny")


def test_timm_features_and_probs(fake_timm, small_images):
    torch.manual_seed(1)
    net = TimmTiny().eval()
    fake_timm.parent.mkdir(parents=True)
    torch.save(net.state_dict(), fake_timm)
    bb = load_backbone("timm:tiny")
    assert bb.feature_dim == 8 and bb.num_source_classes == 10
    assert bb.preprocess_id().startswith("resize73-crop64x64;bicubic")
    batch = bb.collate([bb.transform(im) for im in small_images])
    feats, probs = bb.forward(batch)
    with torch.no_grad():
        np.testing.assert_allclose(feats, net.pre_logits(batch).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert bb.digest() == load_backbone("timm:tiny").digest()


def test_hf_model_must_be_in_the_local_cache(monkeypatch):
    calls = []

    def from_pretrained(model_id, local_files_only):
        calls.append(local_files_only)
        raise OSError("not cached")

    transformers = _module(
        "transformers", AutoModel=types.SimpleNamespace(from_pretrained=from_pretrained)
    )
    monkeypatch.setitem(sys.modules, "transformers", transformers)
    msg = (
        "'hf:org/model' is not in the local Hugging Face cache and cannot be downloaded here; "
        "copy the model folder there, or pass a local folder as hf:/path/to/model."
    )
    with pytest.raises(MissingWeightsError, match=f"^{re.escape(msg)}$"):
        load_backbone("hf:org/model")
    assert calls == [True]
