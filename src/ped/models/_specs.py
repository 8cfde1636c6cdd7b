"""Model specs: ``kind:name#layer?option=value`` strings split, checked and put back together.

Image specs take preprocessing options after ``?`` (joined with ``&``):

============  ==============================================================================
``size``      input side for networks that take any size (``image_size`` is the same option)
``mean``      per-channel mean, 1 or 3 comma-separated numbers on the [0, 1] pixel scale
``std``       per-channel standard deviation, 1 or 3 positive numbers on the same scale
``grey``      ``1`` (or ``true``/``yes``) feeds the grey image, replicated to every channel
============  ==============================================================================

Names that are looked up in a folder (``ssl:<name>``, ``timm:<name>``) are names, never paths:
:func:`check_name` refuses separators, ``..`` and absolute paths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import parse_qsl

from ..errors import UnknownModelError

__all__ = [
    "KINDS",
    "Preprocessing",
    "check_name",
    "parse_preprocessing",
    "parse_spec",
    "with_query",
]

#: Every model kind, in the order the help text lists them.
KINDS = ("zoo", "ssl", "file", "onnx", "torchvision", "timm", "hf")
_OPTIONS = ("image_size", "size", "mean", "std", "grey")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_spec(spec: str) -> tuple[str, str, dict[str, str]]:
    """Split a model spec into ``(kind, name, options)``.

    ``"zoo:efficientnet-lite0?image_size=128"`` gives
    ``("zoo", "efficientnet-lite0", {"image_size": "128"})``. The name keeps any ``#layer``.

    Raises
    ------
    UnknownModelError
        The spec has no known ``kind:`` prefix, or an unknown option.
    """
    if not isinstance(spec, str):
        raise TypeError(f"Expected a model spec string, got {type(spec).__name__}.")
    kind, sep, rest = spec.strip().partition(":")
    if not sep or kind not in KINDS or not rest:
        raise UnknownModelError(
            f"Unknown model spec {spec!r}; expected one of "
            f"{', '.join(k + ':...' for k in KINDS)} (e.g. zoo:efficientnet-lite0)."
        )
    options: dict[str, str] = {}
    name, qmark, query = rest.rpartition("?")
    if qmark and query and all("=" in part for part in query.split("&")):
        try:
            options = dict(parse_qsl(query, strict_parsing=True, keep_blank_values=True))
        except ValueError:
            raise UnknownModelError(
                f"Malformed options {query!r} in model spec {spec!r}."
            ) from None
        rest = name
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise UnknownModelError(
            f"Unknown option {unknown[0]!r} in model spec {spec!r}; the options are "
            "image_size (or size), mean, std and grey."
        )
    return kind, rest, options


@dataclass(frozen=True)
class Preprocessing:
    """Preprocessing asked for in a spec; None leaves the model's own choice.

    Attributes
    ----------
    size : int or None
        Input side.
    mean, std : tuple of float or None
        Per-channel normalisation on the [0, 1] pixel scale (1 or 3 values).
    grey : bool or None
        Feed the grey image (replicated to the network's channels).
    """

    size: int | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    grey: bool | None = None

    @property
    def changes_pipeline(self) -> bool:
        """Whether it asks for more than an input size."""
        return self.mean is not None or self.std is not None or self.grey is not None

    def query(self) -> str:
        """The ``mean``, ``std`` and ``grey`` options as a canonical query (no size)."""
        parts = []
        if self.mean is not None:
            parts.append("mean=" + ",".join(f"{v:.6g}" for v in self.mean))
        if self.std is not None:
            parts.append("std=" + ",".join(f"{v:.6g}" for v in self.std))
        if self.grey is not None:
            parts.append(f"grey={int(self.grey)}")
        return "&".join(parts)


def _size(value: str, option: str, spec: str) -> int:
    try:
        size = int(value)
    except ValueError:
        size = 0
    if size < 16:
        raise UnknownModelError(
            f"Expected ?{option}= to be a whole number of pixels, at least 16, in {spec!r}, "
            f"got {value!r}."
        )
    return size


def _numbers(value: str, option: str, spec: str, *, positive: bool) -> tuple[float, ...]:
    what = "positive numbers" if positive else "numbers"
    try:
        values = tuple(float(v) for v in value.split(","))
    except ValueError:
        values = ()
    ok = len(values) in (1, 3) and all(math.isfinite(v) and (v > 0 or not positive) for v in values)
    if not ok:
        raise UnknownModelError(
            f"Expected ?{option}= to be 1 or 3 comma-separated {what} on the [0, 1] pixel "
            f"scale (e.g. {option}=0.5 or {option}=0.485,0.456,0.406) in {spec!r}, "
            f"got {value!r}."
        )
    return values


def parse_preprocessing(spec: str, options: dict[str, str]) -> Preprocessing:
    """Check the preprocessing options of a spec (as :func:`parse_spec` returned them).

    Raises
    ------
    UnknownModelError
        A value is malformed, or ``size`` and ``image_size`` disagree (one sentence each).
    """
    sizes = {o: _size(options[o], o, spec) for o in ("image_size", "size") if o in options}
    if len(set(sizes.values())) > 1:
        raise UnknownModelError(
            f"The model spec {spec!r} gives two different sizes (image_size and size); "
            "give one of them."
        )
    grey = options.get("grey")
    if grey is not None and grey.lower() not in _TRUE + _FALSE:
        raise UnknownModelError(
            f"Expected ?grey= to be 1 or 0 (true/false, yes/no) in {spec!r}, got {grey!r}."
        )
    return Preprocessing(
        size=next(iter(sizes.values()), None),
        mean=_numbers(options["mean"], "mean", spec, positive=False) if "mean" in options else None,
        std=_numbers(options["std"], "std", spec, positive=True) if "std" in options else None,
        grey=None if grey is None else grey.lower() in _TRUE,
    )


def with_query(spec: str, query: str) -> str:
    """``spec`` with ``query`` (``a=1&b=2``) appended after ``?`` or ``&``."""
    if not query:
        return spec
    return f"{spec}{'&' if '?' in spec else '?'}{query}"


def check_name(name: str, spec: str, *, folder: str) -> str:
    """Refuse a model name that is a path: it must name a file inside ``folder``.

    Raises
    ------
    UnknownModelError
        ``name`` is empty, absolute, or holds ``/``, ``\\``, ``..`` or a NUL character.
    """
    bad = (
        not name
        or "/" in name
        or "\\" in name
        or "\0" in name
        or name.startswith("~")
        or ".." in name
        or (len(name) > 1 and name[1] == ":")
    )
    if bad:
        raise UnknownModelError(
            f"The model name {name!r} in {spec!r} must be a plain name, not a path (no '/', "
            f"'\\', '..' or drive): put the file in {folder} and give its name."
        )
    return name
