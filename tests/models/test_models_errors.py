"""Spec errors, and the optional libraries that are not installed here."""

from __future__ import annotations

import importlib.util
import re

import pytest

from ped.errors import MissingDependencyError, PedError, UnknownModelError
from ped.models import load_backbone, parse_spec


def _absent(module: str) -> bool:
    return importlib.util.find_spec(module) is None


@pytest.mark.parametrize(
    "spec, module",
    [
        ("torchvision:resnet50", "torchvision"),
        ("timm:resnet50.a1_in1k", "timm"),
        ("hf:facebook/dinov2-small", "transformers"),
    ],
)
def test_missing_optional_library(spec, module):
    if not _absent(module):
        pytest.skip(f"{module} is installed here")
    msg = (
        f"The model {spec!r} needs {module}, which is not installed: run "
        f"`pip install {module}` (or use a zoo: model, which runs without it)."
    )
    with pytest.raises(MissingDependencyError, match=f"^{re.escape(msg)}$") as info:
        load_backbone(spec)
    assert isinstance(info.value, PedError) and isinstance(info.value, ImportError)


@pytest.mark.parametrize("spec", ["resnet50", "foo:bar", "zoo:", ""])
def test_unknown_spec_kind(spec):
    msg = (
        f"Unknown model spec {spec!r}; expected one of zoo:..., ssl:..., file:..., onnx:..., "
        "torchvision:..., timm:..., hf:... (e.g. zoo:efficientnet-lite0)."
    )
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone(spec)


def test_spec_options():
    assert parse_spec("zoo:efficientnet-lite0?image_size=128") == (
        "zoo",
        "efficientnet-lite0",
        {"image_size": "128"},
    )
    assert parse_spec("onnx:/m/a.onnx#x:0") == ("onnx", "/m/a.onnx#x:0", {})
    msg = (
        "Unknown option 'colour' in model spec 'zoo:raw-pixels?colour=3'; the options are "
        "image_size (or size), mean, std and grey."
    )
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone("zoo:raw-pixels?colour=3")
    msg = (
        "Expected ?image_size= to be a whole number of pixels, at least 16, in "
        "'zoo:raw-pixels?image_size=big', got 'big'."
    )
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone("zoo:raw-pixels?image_size=big")
    with pytest.raises(UnknownModelError, match=r"^Expected image_size of at least 16, got 8\.$"):
        load_backbone("zoo:raw-pixels", image_size=8)


def test_text_models_take_no_image_size():
    msg = "The text model 'zoo:glove-50d' takes no image_size; drop the option."
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone("zoo:glove-50d?image_size=64")


def test_non_string_spec():
    with pytest.raises(TypeError, match=r"^Expected a model spec string, got int\.$"):
        load_backbone(3)
