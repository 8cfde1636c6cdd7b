"""Fixtures for the backbone tests: a few small real-looking images and texts."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def small_images() -> list[Image.Image]:
    """Three small images of different sizes and modes (converted to RGB by the backbones)."""
    rng = np.random.default_rng(0)
    a = Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8))
    yy, xx = np.mgrid[0:33, 0:33]
    b = Image.fromarray(((xx * 7 + yy * 3) % 256).astype(np.uint8))  # grey, square
    c = Image.fromarray(rng.integers(0, 256, (64, 30, 3), dtype=np.uint8))  # portrait
    return [a, b, c]


@pytest.fixture(scope="session")
def texts() -> list[str]:
    return ["A man is playing a guitar.", "Terrible acting, boring plot!", ""]
