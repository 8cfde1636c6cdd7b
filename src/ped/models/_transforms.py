"""Image preprocessing written with PIL and numpy (torchvision is not a dependency).

Every function here reproduces the torchvision operation of the same name on PIL images
(``Resize`` of the shorter side, ``CenterCrop``, ``ToTensor``, ``Normalize``,
``RandomResizedCrop`` and ``RandomHorizontalFlip``), so preprocessing matches what the
pretrained weights were trained and evaluated with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImagePipeline",
    "center_crop",
    "pad_right",
    "random_crop_box",
    "random_resized_crop",
    "resize_shorter",
    "to_rgb",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_INTERPOLATION = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
}


def to_rgb(image: Image.Image) -> Image.Image:
    """Return ``image`` in RGB mode (grey or palette images are converted)."""
    if not isinstance(image, Image.Image):
        raise TypeError(f"Expected a PIL image, got {type(image).__name__} instead.")
    return image if image.mode == "RGB" else image.convert("RGB")


def resize_shorter(image: Image.Image, size: int, interpolation: str = "bicubic") -> Image.Image:
    """Resize so that the shorter side is ``size``, keeping the aspect ratio.

    Same arithmetic as ``torchvision.transforms.Resize(size)``: the longer side becomes
    ``int(size * long / short)``.
    """
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) == (w, h):
        return image
    return image.resize((new_w, new_h), _INTERPOLATION[interpolation])


def center_crop(image: Image.Image, size: int | tuple[int, int]) -> Image.Image:
    """Crop the centre ``size`` (int or (height, width)), as ``torchvision`` ``CenterCrop``."""
    th, tw = (size, size) if isinstance(size, int) else size
    w, h = image.size
    if tw > w or th > h:  # torchvision pads with zeros first; do the same
        canvas = Image.new(image.mode, (max(w, tw), max(h, th)))
        canvas.paste(image, ((max(w, tw) - w) // 2, (max(h, th) - h) // 2))
        image, (w, h) = canvas, canvas.size
    top = int(round((h - th) / 2.0))
    left = int(round((w - tw) / 2.0))
    return image.crop((left, top, left + tw, top + th))


def pad_right(array: np.ndarray, width: int, value: float = 0.0) -> np.ndarray:
    """Pad a ``(C, H, W)`` array on the right to ``width`` columns with ``value``."""
    c, h, w = array.shape
    if w >= width:
        return array[:, :, :width]
    out = np.full((c, h, width), value, dtype=array.dtype)
    out[:, :, :w] = array
    return out


def random_crop_box(
    width: int,
    height: int,
    *,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    generator: torch.Generator | None = None,
) -> tuple[int, int, int, int]:
    """Draw the ``(left, top, right, bottom)`` box of ``RandomResizedCrop``.

    Random numbers come from torch (``generator`` or the global torch generator), so data
    loader workers, which torch seeds one by one, draw different crops.
    """
    w, h = width, height
    area = w * h
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    box = None
    for _ in range(10):
        target_area = area * float(torch.empty(1).uniform_(*scale, generator=generator))
        aspect = math.exp(float(torch.empty(1).uniform_(*log_ratio, generator=generator)))
        cw = int(round(math.sqrt(target_area * aspect)))
        ch = int(round(math.sqrt(target_area / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            top = int(torch.randint(0, h - ch + 1, (1,), generator=generator))
            left = int(torch.randint(0, w - cw + 1, (1,), generator=generator))
            box = (left, top, left + cw, top + ch)
            break
    if box is None:  # fall back to a central crop, as torchvision does
        in_ratio = w / h
        if in_ratio < ratio[0]:
            cw, ch = w, int(round(w / ratio[0]))
        elif in_ratio > ratio[1]:
            ch, cw = h, int(round(h * ratio[1]))
        else:
            cw, ch = w, h
        top, left = (h - ch) // 2, (w - cw) // 2
        box = (left, top, left + cw, top + ch)
    return box


def random_resized_crop(
    image: Image.Image,
    size: int | tuple[int, int],
    *,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    interpolation: str = "bicubic",
    generator: torch.Generator | None = None,
) -> Image.Image:
    """Crop a random area and aspect ratio, then resize to ``size``, as ``RandomResizedCrop``."""
    th, tw = (size, size) if isinstance(size, int) else size
    box = random_crop_box(*image.size, scale=scale, ratio=ratio, generator=generator)
    return image.resize((tw, th), _INTERPOLATION[interpolation], box=box)


@dataclass(frozen=True)
class ImagePipeline:
    """Resize, crop and normalise a PIL image into a ``(3, H, W)`` float32 array.

    Parameters
    ----------
    size : int or tuple of int
        Output size (square side, or ``(height, width)``).
    mode : {"crop", "stretch", "pad"}
        ``"crop"``: resize the shorter side to ``resize`` and take the centre crop
        (torchvision's ``Resize`` + ``CenterCrop``). ``"stretch"``: resize straight to
        ``size``, ignoring the aspect ratio. ``"pad"``: resize to the output height keeping
        the aspect ratio (width capped at the output width), normalise, and pad the right
        with ``pad_value`` (PaddleOCR's text-line input).
    resize : int or None
        Shorter side before the centre crop in ``"crop"`` mode; None means the crop side.
    mean, std : tuple of float
        Per-channel normalisation applied after ``scale``.
    interpolation : str
        ``"bicubic"``, ``"bilinear"`` or ``"nearest"``.
    scale : float
        Factor applied to the 0-255 values before normalising (1/255 as ``ToTensor``).
    bgr : bool
        Reverse the channel order after normalising (models trained on OpenCV images).
    pad_value : float
        Value of the padding in ``"pad"`` mode (after normalisation).
    grey : bool
        Output one grey channel, ``(1, H, W)`` (normalised with the first mean and std).
    greyscale : bool
        Convert the image to grey and back to RGB before normalising: the same grey values
        in every channel (a colour network fed grey images).
    """

    size: int | tuple[int, int]
    mode: str = "crop"
    resize: int | None = None
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: str = "bicubic"
    scale: float = 1.0 / 255.0
    bgr: bool = False
    pad_value: float = 0.0
    grey: bool = False
    greyscale: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("crop", "stretch", "pad"):
            raise ValueError(f"Expected mode 'crop', 'stretch' or 'pad', got {self.mode!r}.")
        if self.interpolation not in _INTERPOLATION:
            raise ValueError(
                f"Expected interpolation in {sorted(_INTERPOLATION)}, got {self.interpolation!r}."
            )

    @property
    def hw(self) -> tuple[int, int]:
        """Output ``(height, width)``."""
        return (self.size, self.size) if isinstance(self.size, int) else tuple(self.size)

    def describe(self) -> str:
        """A short string that identifies this preprocessing (part of a cache key)."""
        h, w = self.hw
        if self.mode == "crop":
            geometry = f"resize{self.resize or min(h, w)}-crop{h}x{w}"
        else:
            geometry = f"{self.mode}{h}x{w}"
        return (
            f"{geometry};{self.interpolation};scale={self.scale:.6g};"
            f"mean={','.join(f'{m:.4g}' for m in self.mean)};"
            f"std={','.join(f'{s:.4g}' for s in self.std)}"
            + (";bgr" if self.bgr else "")
            + (";grey" if self.grey else "")
            + (";greyscale" if self.greyscale and not self.grey else "")
        )

    def geometry(self, image: Image.Image) -> Image.Image:
        """Resize (and crop) without normalising."""
        image = to_rgb(image)
        h, w = self.hw
        resample = _INTERPOLATION[self.interpolation]
        if self.mode == "crop":
            return center_crop(
                resize_shorter(image, self.resize or min(h, w), self.interpolation), self.hw
            )
        if self.mode == "stretch":
            return image if image.size == (w, h) else image.resize((w, h), resample)
        iw, ih = image.size
        new_w = min(w, max(1, int(math.ceil(h * iw / ih))))
        return image if image.size == (new_w, h) else image.resize((new_w, h), resample)

    def normalise(self, image: Image.Image) -> np.ndarray:
        """Scale, normalise and transpose a PIL image to ``(3, H, W)`` (or ``(1, H, W)``)."""
        if self.grey:
            x = np.asarray(to_rgb(image).convert("L"), dtype=np.float32)[:, :, None]
            x = (x * np.float32(self.scale) - np.float32(self.mean[0])) / np.float32(self.std[0])
        else:
            if self.greyscale:
                image = to_rgb(image).convert("L").convert("RGB")
            x = np.asarray(to_rgb(image), dtype=np.float32) * np.float32(self.scale)
            x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        if self.bgr and not self.grey:
            x = x[:, :, ::-1]
        x = np.ascontiguousarray(x.transpose(2, 0, 1))
        if self.mode == "pad":
            x = pad_right(x, self.hw[1], self.pad_value)
        return x

    def __call__(self, image: Image.Image) -> np.ndarray:
        return self.normalise(self.geometry(image))

    def train(self, image: Image.Image, *, generator: torch.Generator | None = None) -> np.ndarray:
        """Augmented preprocessing: ``RandomResizedCrop(0.08-1, 3/4-4/3)`` + horizontal flip.

        In ``"crop"`` and ``"stretch"`` mode the random box is resized to the output size,
        as torchvision does; in ``"pad"`` mode the box then goes through the padded resize.
        """
        image = to_rgb(image)
        if self.mode == "pad":
            box = random_crop_box(*image.size, generator=generator)
            image = self.geometry(image.crop(box))
        else:
            image = random_resized_crop(
                image, self.hw, interpolation=self.interpolation, generator=generator
            )
        if float(torch.rand(1, generator=generator)) < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return self.normalise(image)
