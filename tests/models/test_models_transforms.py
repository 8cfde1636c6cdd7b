"""The PIL/numpy preprocessing reproduces torchvision's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ped.models._transforms import (
    ImagePipeline,
    center_crop,
    random_crop_box,
    resize_shorter,
)


def test_resize_shorter_keeps_the_aspect_ratio():
    assert resize_shorter(Image.new("RGB", (300, 200)), 224).size == (336, 224)
    assert resize_shorter(Image.new("RGB", (201, 403)), 224).size == (224, 449)


def test_center_crop_offsets():
    img = Image.fromarray(np.arange(25, dtype=np.uint8).reshape(5, 5))
    out = np.asarray(center_crop(img, 3))
    np.testing.assert_array_equal(out, np.arange(25).reshape(5, 5)[1:4, 1:4])
    assert center_crop(Image.new("RGB", (2, 2)), 4).size == (4, 4)  # padded, as torchvision


def test_pipeline_normalises_and_orders_channels():
    img = Image.new("RGB", (10, 8), (10, 20, 30))
    x = ImagePipeline(4, mean=(0.0,) * 3, std=(1.0,) * 3, scale=1.0)(img)
    assert x.shape == (3, 4, 4) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, 0, 0], [10, 20, 30])
    bgr = ImagePipeline(4, mean=(0.0,) * 3, std=(1.0,) * 3, scale=1.0, bgr=True)(img)
    np.testing.assert_array_equal(bgr[:, 0, 0], [30, 20, 10])
    grey = ImagePipeline(4)(Image.new("L", (5, 5), 128))
    assert grey.shape == (3, 4, 4)


def test_pad_mode_keeps_aspect_and_pads_right():
    pipe = ImagePipeline((48, 192), mode="pad", mean=(0.5,) * 3, std=(0.5,) * 3)
    x = pipe(Image.new("RGB", (30, 30), (255, 255, 255)))
    assert x.shape == (3, 48, 192)
    np.testing.assert_allclose(x[:, :, :48], 1.0)
    np.testing.assert_array_equal(x[:, :, 48:], 0.0)
    wide = pipe(Image.new("RGB", (1000, 30), (255, 255, 255)))
    np.testing.assert_allclose(wide, 1.0)


def test_train_transform_is_random_but_reproducible():
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8))
    pipe = ImagePipeline(32)
    a = pipe.train(img, generator=torch.Generator().manual_seed(1))
    b = pipe.train(img, generator=torch.Generator().manual_seed(1))
    c = pipe.train(img, generator=torch.Generator().manual_seed(2))
    assert a.shape == (3, 32, 32)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_random_crop_box_respects_scale_and_ratio():
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        left, top, right, bottom = random_crop_box(100, 80, generator=g)
        w, h = right - left, bottom - top
        assert 0 <= left and 0 <= top and right <= 100 and bottom <= 80
        assert 0.08 * 8000 * 0.8 <= w * h <= 8000
        assert 3 / 4 * 0.8 <= w / h <= 4 / 3 * 1.25


def test_bad_mode():
    with pytest.raises(ValueError, match=r"^Expected mode 'crop', 'stretch' or 'pad', got 'x'\.$"):
        ImagePipeline(4, mode="x")
