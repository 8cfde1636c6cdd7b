"""User data: ``imagefolder:<dir>`` and ``csv:<file>#<text column>,<label column>``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ped.data._common import walk_images
from ped.data._dataset import (
    Dataset,
    FileSource,
    TextSource,
    UnreadableImageError,
    build,
    check_split,
    derived_parts,
    read_image,
)
from ped.errors import DataFileError, MissingDatasetError, UnknownDatasetError

_SPLIT_DIRS = ("train", "val", "test")


def _subdirs(folder: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))


#: Options of ``imagefolder:<dir>?<key>=<value>``, with their meaning (for errors and docs).
IMAGEFOLDER_OPTIONS = {
    "skip_bad": "1 to skip (and count) files that cannot be decoded, instead of failing",
}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _parse_folder_options(spec: str, path: str) -> tuple[str, dict[str, bool]]:
    """Split ``<dir>?key=value&..`` into the folder and its options.

    A ``?`` whose tail holds no ``key=value`` pair is part of the folder name.
    """
    head, sep, query = path.rpartition("?")
    if not sep or "=" not in query:
        return path, {}
    options: dict[str, bool] = {}
    for pair in query.split("&"):
        key, eq, value = pair.partition("=")
        key = key.strip().lower()
        if key not in IMAGEFOLDER_OPTIONS or not eq:
            known = "; ".join(f"{k}: {v}" for k, v in IMAGEFOLDER_OPTIONS.items())
            raise UnknownDatasetError(
                f"Unknown option {pair!r} in dataset spec {spec!r}; imagefolder:<dir>?<option> "
                f"knows {known}."
            )
        value = value.strip().lower()
        if value not in _TRUE + _FALSE:
            raise UnknownDatasetError(
                f"Option {key} in dataset spec {spec!r} must be 1 or 0, got {value!r}."
            )
        options[key] = value in _TRUE
    return head, options


def load_imagefolder(spec: str, path: str, split: str, seed: int) -> Dataset:
    """Images in class subfolders: ``<dir>/<class>/<image>`` (searched recursively).

    When ``<dir>`` has a ``train/`` subfolder, the splits come from ``train/``, ``test/`` and
    (optionally) ``val/``, each holding the class subfolders; classes are the sorted union of
    their class folders. Without ``val/``, val is a seeded 20% hold-out of train. Without a
    ``train/`` folder, the data get a fixed stratified 80/20 train/test split (seed 0).
    ``all`` is every image once. Metric: accuracy.

    A class folder that holds no image file is not a class: it is left out and named in
    ``info["empty_class_folders"]`` (`ped.data.summarize` warns about it).

    An image file that cannot be decoded (truncated, damaged, or not an image despite its
    extension) raises `ped.data.UnreadableImageError`, naming the file, when the item is
    read. With ``imagefolder:<dir>?skip_bad=1`` every file is decoded once when the dataset
    is loaded (this costs one pass over the images), the unreadable ones are left out, and
    ``info["skipped"]`` lists each with its reason.
    """
    check_split(split, spec)
    path, options = _parse_folder_options(spec, path)
    skip_bad = options.get("skip_bad", False)
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise MissingDatasetError(
            f"Image folder {folder} does not exist: give imagefolder:<dir> a folder with one "
            "subfolder of images per class (optionally inside train/ and test/)."
        )
    has_split_dirs = (folder / "train").is_dir() and any(
        e.is_dir() for e in os.scandir(folder / "train")
    )
    if has_split_dirs:
        present = [p for p in _SPLIT_DIRS if (folder / p).is_dir()]
        folders = sorted({c for p in present for c in _subdirs(folder / p)})
        order = [p for p in ("train", "test", "val") if p in present]
    else:
        folders = _subdirs(folder)
        order = [""]
    found: dict[str, dict[str, list[str]]] = {part: {} for part in order}
    skipped: list[dict[str, str]] = []
    for part in order:
        base = folder / part if part else folder
        for c in folders:
            if not (base / c).is_dir():
                continue
            prefix = f"{part}/{c}" if part else c
            kept = []
            for rel in walk_images(base / c):
                relpath = f"{prefix}/{rel}"
                if skip_bad:
                    try:
                        read_image(folder / relpath, convert=False)
                    except UnreadableImageError as exc:
                        skipped.append({"item": relpath, "reason": exc.reason})
                        continue
                kept.append(relpath)
            found[part][c] = kept
    classes = [c for c in folders if any(found[p].get(c) for p in order)]
    empty = [c for c in folders if c not in classes]
    if not classes:
        what = "no readable images" if skipped else "no images"
        raise MissingDatasetError(
            f"Image folder {folder} holds {what} in class subfolders: expected "
            "<dir>/<class>/<image> (or <dir>/train/<class>/<image>)."
        )
    index = {c: k for k, c in enumerate(classes)}
    relpaths: list[str] = []
    labels: list[int] = []
    sizes: dict[str, int] = {}
    for part in order:
        n0 = len(relpaths)
        for c in classes:
            for relpath in found[part].get(c, []):
                relpaths.append(relpath)
                labels.append(index[c])
        sizes[part] = len(relpaths) - n0
    labels_arr = np.array(labels, dtype=np.int64)
    if has_split_dirs:
        parts, start = {}, 0
        for part in order:
            parts[part] = np.arange(start, start + sizes[part], dtype=np.int64)
            start += sizes[part]
        parts.setdefault("test", np.zeros(0, dtype=np.int64))
    else:
        parts = derived_parts(labels_arr)
    hint = (
        "remove or replace the file, or add ?skip_bad=1 to the dataset spec "
        f"(imagefolder:{folder}?skip_bad=1) to skip unreadable files"
    )
    return build(
        spec=spec,
        split=split,
        source=FileSource(folder, relpaths, hint=hint),
        labels=labels_arr,
        parts=parts,
        classes=classes,
        metric="accuracy",
        seed=seed,
        root=folder,
        info={"empty_class_folders": empty, "skipped": skipped, "skip_bad": skip_bad},
    )


def _sorted_labels(values: list) -> list:
    try:
        return sorted(values, key=float)
    except (TypeError, ValueError):
        return sorted(values, key=str)


_CSV_LAYOUT = (
    "a UTF-8 text CSV file with a header row, named as csv:<file>#<text column>,<label column>"
)


def _check_text_file(path: Path) -> None:
    """Refuse what is not a UTF-8 text file, without quoting any of its bytes."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                if b"\0" in chunk:
                    raise UnicodeDecodeError("utf-8", chunk, 0, 1, "NUL byte")
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise DataFileError(
            f"CSV file {path} is not UTF-8 text (it looks binary or uses another encoding): "
            f"expected {_CSV_LAYOUT}."
        ) from None
    except OSError as exc:
        raise DataFileError(
            f"CSV file {path} cannot be read ({type(exc).__name__}): expected {_CSV_LAYOUT}."
        ) from None


def _read_csv(path: Path, **kwargs):
    """``pandas.read_csv`` whose errors name the file and the layout, never its contents."""
    import re

    import pandas as pd

    try:
        return pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataFileError(f"CSV file {path} is empty: expected {_CSV_LAYOUT}.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        # pandas' message may quote the file; keep only the row number it gives.
        found = re.search(r"(?:line|row) (\d+)", str(exc))
        where = f" near line {found.group(1)}" if found else ""
        raise DataFileError(
            f"CSV file {path} cannot be parsed{where} (a row with more fields than the header, "
            f"or an unclosed quote): expected {_CSV_LAYOUT}."
        ) from None


def load_csv(spec: str, rest: str, split: str, seed: int) -> Dataset:
    """Texts with labels in a CSV file: ``csv:<file>#<text column>,<label column>``.

    Without ``#..`` the columns ``text`` and ``label`` are used. Rows with an empty label are
    dropped (their number is in ``info["dropped_rows"]`` and their data-row numbers, counted
    from 1 after the header, in ``info["skipped"]``); an empty text reads as ``""`` and is
    kept (its row numbers are in ``info["empty_text_rows"]``; `ped.data.summarize` warns
    about both). Classes are the distinct labels, sorted numerically when they are all
    numbers, else as strings. Splits: a fixed stratified 80/20 train/test split (seed 0);
    val is a seeded 20% hold-out of train. Metric: accuracy.

    Errors name the file and the expected layout, never the file's contents (a mistyped
    path may point at a private file): a missing column is reported with the number of
    columns the header has, not their names.
    """
    check_split(split, spec)
    file_part, sep, columns = rest.rpartition("#")
    if not sep:
        file_part, columns = rest, "text,label"
    text_col, comma, label_col = columns.partition(",")
    if not comma or not text_col or not label_col:
        raise UnknownDatasetError(
            f"Dataset spec {spec!r} does not name its columns as csv:<file>#<text column>,"
            "<label column>."
        )
    path = Path(file_part).expanduser()
    if not path.exists():
        raise MissingDatasetError(
            f"CSV file {path} does not exist: give csv:<file>#<text column>,<label column> "
            "the path of a CSV file with a header row."
        )
    if not path.is_file():
        raise DataFileError(f"CSV path {path} is not a regular file: expected {_CSV_LAYOUT}.")
    _check_text_file(path)
    header = _read_csv(path, nrows=0).columns
    for col in (text_col, label_col):
        if col not in header:
            raise UnknownDatasetError(
                f"CSV file {path} has no column {col!r} in its header row ({len(header)} "
                f"column{'s' if len(header) != 1 else ''}): expected {_CSV_LAYOUT}, with the "
                "column names exactly as the header row spells them."
            )
    # Read both columns as text: a label column with a gap must not turn 1 into "1.0".
    table = _read_csv(path, dtype={text_col: str, label_col: str}, usecols=[text_col, label_col])
    label_values = table[label_col].fillna("").str.strip()
    labelled = (label_values != "").to_numpy()
    text_values = table[text_col].fillna("")
    empty_text = (text_values.str.strip() == "").to_numpy()
    skipped = [{"item": f"row {i + 1}", "reason": "empty label"} for i in np.flatnonzero(~labelled)]
    raw = label_values[labelled].tolist()
    names = _sorted_labels(list(set(raw)))
    codes = {c: k for k, c in enumerate(names)}
    labels = np.array([codes[v] for v in raw], dtype=np.int64)
    texts = text_values[labelled].astype(str).tolist()
    if not texts:
        raise MissingDatasetError(
            f"CSV file {path} has no labelled rows: every row's {label_col!r} is empty."
        )
    return build(
        spec=spec,
        split=split,
        source=TextSource(texts),
        labels=labels,
        parts=derived_parts(labels),
        classes=names,
        metric="accuracy",
        seed=seed,
        root=path,
        info={
            "dropped_rows": len(skipped),
            "skipped": skipped,
            "empty_text_rows": [int(i) + 1 for i in np.flatnonzero(empty_text & labelled)],
            "text_column": text_col,
            "label_column": label_col,
        },
    )
