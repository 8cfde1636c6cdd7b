"""Decoding one image file: 8-bit RGB out, high-depth images rescaled, unreadable files named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ped.errors import DataFileError

__all__ = ["UnreadableImageError", "read_image", "to_rgb"]


#: Modes of high-depth images (16-bit integer, 32-bit integer, 32-bit float).
_HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def to_rgb(im: Any) -> Any:
    """Convert a PIL image to 8-bit RGB, rescaling high-depth images instead of clipping.

    PIL's own ``convert("RGB")`` clips a 16-bit image at 255 (a 16-bit PNG becomes nearly
    all white). Here 16-bit modes (``I;16*``) map 0..65535 linearly onto 0..255
    (``round(v / 257)``); a 32-bit integer image (``I``) whose values lie in 0..65535 is
    treated as 16-bit; a float image (``F``) with values in [0, 1] is scaled by 255. Any
    other ``I`` or ``F`` image is stretched from its own minimum and maximum to 0..255
    (non-finite values read as the minimum). Other modes use ``convert("RGB")``.

    Parameters
    ----------
    im : PIL.Image.Image

    Returns
    -------
    PIL.Image.Image
        Mode ``"RGB"``.
    """
    from PIL import Image

    if im.mode not in _HIGH_DEPTH_MODES:
        return im.convert("RGB")
    a = np.asarray(im).astype(np.float64)
    finite = np.isfinite(a)
    lo = float(a[finite].min()) if finite.any() else 0.0
    hi = float(a[finite].max()) if finite.any() else 0.0
    a = np.where(finite, a, lo)
    if im.mode.startswith("I;16") or (im.mode == "I" and lo >= 0 and hi <= 65535):
        scaled = a / 257.0
    elif im.mode == "F" and lo >= 0 and hi <= 1:
        scaled = a * 255.0
    else:
        scaled = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
    grey = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(grey, mode="L").convert("RGB")


class UnreadableImageError(DataFileError):
    """An image file of a dataset that exists but cannot be decoded.

    ``reason`` is a few words: ``"truncated"``, ``"not an image in a format PIL reads"``...
    """

    def __init__(self, message: str, *, reason: str = ""):
        super().__init__(message)
        self.reason = reason


def read_image(path: Path, *, convert: bool = True) -> Any:
    """Decode one image file to 8-bit RGB (see `to_rgb`).

    Parameters
    ----------
    path : Path
    convert : bool, default True
        Return the RGB image; with False, only decode the file (a readability check) and
        return None.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    UnreadableImageError
        When it exists but is not a readable image (truncated, damaged, another format,
        too large); the message names the file and the reason, never its contents.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            if not convert:
                im.load()
                return None
            return to_rgb(im)
    except FileNotFoundError:
        raise
    except Image.UnidentifiedImageError:
        reason = "not an image in a format PIL reads"
    except Image.DecompressionBombError:
        reason = "too many pixels (PIL's decompression-bomb limit)"
    except OSError as exc:
        if type(exc) is not OSError:  # PermissionError, IsADirectoryError, ...
            reason = f"cannot be opened ({type(exc).__name__})"
        elif "truncat" in str(exc).lower():
            reason = "truncated"
        else:
            reason = "damaged (OSError)"
    except (SyntaxError, ValueError, EOFError, MemoryError) as exc:
        reason = f"damaged ({type(exc).__name__})"
    raise UnreadableImageError(f"Image file {path} cannot be read: {reason}", reason=reason)
