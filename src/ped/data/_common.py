"""Helpers shared by the dataset readers: locating roots, wording errors, reading lists."""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ped import _paths
from ped.errors import DataFileError, MissingDatasetError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")


def candidate_roots(name: str, root: str | Path | None, aliases: Iterable[str] = ()) -> list[Path]:
    """Folders that may hold dataset ``name``: ``root/name`` then ``root`` (or ``$PED_DATA``)."""
    names = [name, *aliases]
    if root is not None:
        base = Path(root).expanduser()
        return [*(base / n for n in names), base]
    base = _paths.data_dir()
    return [base / n for n in names]


def locate(
    name: str,
    root: str | Path | None,
    layout: str,
    finder: Callable[[Path], Path | None],
    aliases: Iterable[str] = (),
) -> Path:
    """Return the first candidate folder where ``finder`` recognises the layout, or raise.

    ``finder(folder)`` returns the folder the reader should use (possibly a subfolder, such
    as ``cifar-10-batches-py``) or None when the layout is not there.
    """
    tried = candidate_roots(name, root, aliases)
    for folder in tried:
        if folder.is_dir():
            found = finder(folder)
            if found is not None:
                return found
    raise missing(name, tried, layout, env_hint=root is None)


def missing(name: str, tried: list[Path], layout: str, *, env_hint: bool = True) -> Exception:
    where = " or ".join(str(p) for p in tried)
    hint = (
        f"; set PED_DATA to the folder that holds {name}/ (or pass root=) if it lives elsewhere"
        if env_hint
        else ""
    )
    return MissingDatasetError(
        f"Dataset {name!r} was not found in {where}: expected {layout}{hint}."
    )


def first_existing(*paths: Path) -> Path | None:
    for p in paths:
        if p.exists():
            return p
    return None


def read_lines(path: Path) -> list[str]:
    """Non-empty, stripped lines of a text file (comment lines starting with '#' dropped).

    A file that is not UTF-8 text raises `ped.errors.DataFileError` naming the file only.
    """
    try:
        with open(path, encoding="utf-8") as f:
            return [s for s in (line.strip() for line in f) if s and not s.startswith("#")]
    except UnicodeDecodeError:
        raise DataFileError(
            f"{path} is not a UTF-8 text file of one entry per line; the dataset's list files "
            "are damaged or replaced, so download the dataset again."
        ) from None


def bad_line(path: Path, number: int, layout: str) -> DataFileError:
    """The error for entry ``number`` of a list file (counted as `read_lines` returns them).

    The line itself is not quoted: the file may not be what it claims to be.
    """
    return DataFileError(
        f"{path}, entry {number}, does not read as {layout}; the dataset's list files are "
        "damaged or replaced, so download the dataset again."
    )


def file_signature(paths: Iterable[Path]) -> str:
    """Names and sizes of source files: identifies array data without hashing its bytes."""
    parts = []
    for p in paths:
        try:
            size = os.stat(p).st_size
        except OSError:
            size = -1
        parts.append(f"{Path(p).name}:{size}")
    return "|".join(parts)


class _SmallCache:
    """A tiny in-process cache of parsed dataset sources (keyed by path and file sizes)."""

    def __init__(self, maxsize: int = 3):
        self.maxsize = maxsize
        self._d: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        if key in self._d:
            self._d.move_to_end(key)
            return self._d[key]
        value = make()
        self._d[key] = value
        while len(self._d) > self.maxsize:
            self._d.popitem(last=False)
        return value

    def clear(self) -> None:
        self._d.clear()


SOURCE_CACHE = _SmallCache()


def is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")


def walk_images(folder: Path) -> list[str]:
    """Image files below ``folder`` (recursive), as sorted paths relative to ``folder``."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = os.path.relpath(dirpath, folder)
        for fn in sorted(filenames):
            if is_image(fn):
                out.append(fn if rel == "." else os.path.join(rel, fn))
    return out
