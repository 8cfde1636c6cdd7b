"""Spec options (size, mean, std, grey), the kind table, and names that must not be paths."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

import ped.models as models
from ped.errors import UnknownModelError
from ped.models import load_backbone, parse_spec
from ped.models._specs import KINDS, parse_preprocessing


def test_every_kind_has_a_loader():
    assert tuple(models.LOADERS) == KINDS
    assert all(callable(f) for f in models.LOADERS.values())


def test_a_kind_is_loaded_through_the_table(monkeypatch):
    seen = []

    def fake(name, *, image_size):
        seen.append((name, image_size))
        return load_backbone("zoo:raw-pixels")

    monkeypatch.setitem(models.LOADERS, "timm", fake)
    bb = load_backbone("timm:anything?size=64")
    assert seen == [("anything", 64)] and bb.spec == "zoo:raw-pixels"


def test_preprocessing_values_are_parsed():
    pre = parse_preprocessing(
        "s", {"size": "96", "mean": "0.5", "std": "0.2,0.3,0.4", "grey": "Yes"}
    )
    assert (pre.size, pre.mean, pre.std, pre.grey) == (96, (0.5,), (0.2, 0.3, 0.4), True)
    assert pre.query() == "mean=0.5&std=0.2,0.3,0.4&grey=1"
    assert parse_preprocessing("s", {"grey": "0"}).grey is False
    assert parse_preprocessing("s", {"image_size": "64", "size": "64"}).size == 64


@pytest.mark.parametrize(
    "query, message",
    [
        (
            "size=12",
            "Expected ?size= to be a whole number of pixels, at least 16, in {s}, got '12'.",
        ),
        ("size=", "Expected ?size= to be a whole number of pixels, at least 16, in {s}, got ''."),
        (
            "size=64&image_size=96",
            "The model spec {s} gives two different sizes (image_size and size); give one of them.",
        ),
        (
            "mean=a,b,c",
            "Expected ?mean= to be 1 or 3 comma-separated numbers on the [0, 1] pixel "
            "scale (e.g. mean=0.5 or mean=0.485,0.456,0.406) in {s}, got 'a,b,c'.",
        ),
        (
            "mean=0.1,0.2",
            "Expected ?mean= to be 1 or 3 comma-separated numbers on the [0, 1] "
            "pixel scale (e.g. mean=0.5 or mean=0.485,0.456,0.406) in {s}, got '0.1,0.2'.",
        ),
        (
            "std=0.5,0,0.5",
            "Expected ?std= to be 1 or 3 comma-separated positive numbers on the "
            "[0, 1] pixel scale (e.g. std=0.5 or std=0.485,0.456,0.406) in {s}, got '0.5,0,0.5'.",
        ),
        (
            "std=nan",
            "Expected ?std= to be 1 or 3 comma-separated positive numbers on the [0, 1] "
            "pixel scale (e.g. std=0.5 or std=0.485,0.456,0.406) in {s}, got 'nan'.",
        ),
        ("grey=maybe", "Expected ?grey= to be 1 or 0 (true/false, yes/no) in {s}, got 'maybe'."),
    ],
)
def test_bad_option_values_are_one_sentence(query, message):
    spec = f"zoo:mobilenetv2?{query}"
    with pytest.raises(UnknownModelError, match=f"^{re.escape(message.format(s=repr(spec)))}$"):
        load_backbone(spec)


def test_mean_std_grey_change_the_pipeline():
    base = load_backbone("zoo:raw-pixels")
    bb = load_backbone("zoo:raw-pixels?mean=0.5&std=0.25&grey=1")
    assert bb.spec == "zoo:raw-pixels?mean=0.5&std=0.25&grey=1"
    assert bb.preprocess_id() != base.preprocess_id() and bb.digest() == base.digest()
    x = bb.transform(Image.new("RGB", (5, 3), (200, 50, 10))).numpy()
    grey = round(0.299 * 200 + 0.587 * 50 + 0.114 * 10)  # ITU-R 601-2 luma, as PIL's "L"
    np.testing.assert_allclose(x, (grey / 255 - 0.5) / 0.25, atol=1e-5)
    np.testing.assert_array_equal(x[0], x[2])  # one grey value per pixel
    again = load_backbone(bb.spec)  # the canonical spec round-trips
    assert again.spec == bb.spec and again.preprocess_id() == bb.preprocess_id()


def test_mean_is_on_the_pixel_scale_whatever_the_network_scale():
    # EfficientNet works on 0-255 values: (x - 127) / 128; mean=0.5 means 127.5 there.
    bb = load_backbone("zoo:efficientnet-lite0@s8?size=32&mean=0.5&std=0.5")
    assert bb.pipeline.mean == pytest.approx((127.5,) * 3)
    assert bb.pipeline.std == pytest.approx((127.5,) * 3)
    assert bb.spec == "zoo:efficientnet-lite0@s8?image_size=32&mean=0.5&std=0.5"
    assert bb.with_image_size(48).spec == "zoo:efficientnet-lite0@s8?image_size=48&mean=0.5&std=0.5"


def test_options_a_model_cannot_take():
    msg = (
        "The model 'zoo:glove-50d?mean=0.5' does not take the options mean, std or grey (text "
        "models, and Hugging Face models that bring their own image processor)."
    )
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone("zoo:glove-50d?mean=0.5")


def test_one_channel_networks_take_one_number():
    pytest.importorskip("onnxruntime")
    try:
        load_backbone("zoo:ddddocr-ocr@s8")
    except Exception as exc:  # the package is not installed
        pytest.skip(str(exc))
    msg = "The model 'zoo:ddddocr-ocr@s8?mean=0.1,0.2,0.3' takes one grey channel: give ?mean= one number."
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone("zoo:ddddocr-ocr@s8?mean=0.1,0.2,0.3")
    msg = "The model 'zoo:ddddocr-ocr@s8?grey=0' takes one grey channel and cannot be fed colour: drop grey=0."
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone("zoo:ddddocr-ocr@s8?grey=0")
    bb = load_backbone("zoo:ddddocr-ocr@s8?mean=0.5&std=0.5")
    assert bb.pipeline.mean == (0.5,) * 3 and bb.transform(Image.new("RGB", (8, 8))).shape == (
        1,
        64,
        64,
    )


@pytest.mark.parametrize(
    "name",
    ["../x", "..", "a/b", "/etc/passwd", "a\\b", "C:evil", "~root", "x..y", "bad\0name"],
)
@pytest.mark.parametrize("kind", ["ssl", "timm"])
def test_names_are_not_paths(kind, name, tmp_path, monkeypatch):
    monkeypatch.setenv("PED_MODELS", str(tmp_path / "models"))
    (tmp_path / "x.pth").write_bytes(b"not read")  # what ../x would reach
    spec = f"{kind}:{name}"
    folder = tmp_path / "models" / ("timm" if kind == "timm" else "")
    msg = (
        f"The model name {name!r} in {spec!r} must be a plain name, not a path (no '/', '\\', "
        f"'..' or drive): put the file in {str(folder).rstrip('/')} and give its name."
    )
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone(spec)


def test_parse_spec_keeps_the_layer():
    assert parse_spec("file:net.pt#layer3?size=96") == ("file", "net.pt#layer3", {"size": "96"})
    assert parse_spec("hf:./folder#-2") == ("hf", "./folder#-2", {})
