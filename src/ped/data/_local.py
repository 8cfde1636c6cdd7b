"""User data: ``imagefolder:<dir>`` and ``csv:<file>#<text column>,<label column>``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ped.data._common import walk_images
from ped.data._dataset import Dataset, FileSource, TextSource, build, check_split, derived_parts
from ped.errors import MissingDatasetError, UnknownDatasetError

_SPLIT_DIRS = ("train", "val", "test")


def _subdirs(folder: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))


def load_imagefolder(spec: str, path: str, split: str, seed: int) -> Dataset:
    """Images in class subfolders: ``<dir>/<class>/<image>`` (searched recursively).

    When ``<dir>`` has a ``train/`` subfolder, the splits come from ``train/``, ``test/`` and
    (optionally) ``val/``, each holding the class subfolders; classes are the sorted union of
    their class folders. Without ``val/``, val is a seeded 20% hold-out of train. Without a
    ``train/`` folder, the data get a fixed stratified 80/20 train/test split (seed 0).
    ``all`` is every image once. Metric: accuracy.
    """
    check_split(split, spec)
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
        classes = sorted({c for p in present for c in _subdirs(folder / p)})
        order = [p for p in ("train", "test", "val") if p in present]
    else:
        classes = _subdirs(folder)
        order = [""]
    index = {c: k for k, c in enumerate(classes)}
    relpaths: list[str] = []
    labels: list[int] = []
    sizes: dict[str, int] = {}
    for part in order:
        base = folder / part if part else folder
        n0 = len(relpaths)
        for c in classes:
            if not (base / c).is_dir():
                continue
            prefix = f"{part}/{c}" if part else c
            for rel in walk_images(base / c):
                relpaths.append(f"{prefix}/{rel}")
                labels.append(index[c])
        sizes[part] = len(relpaths) - n0
    if not relpaths:
        raise MissingDatasetError(
            f"Image folder {folder} holds no images in class subfolders: expected "
            "<dir>/<class>/<image> (or <dir>/train/<class>/<image>)."
        )
    labels_arr = np.array(labels, dtype=np.int64)
    if has_split_dirs:
        parts, start = {}, 0
        for part in order:
            parts[part] = np.arange(start, start + sizes[part], dtype=np.int64)
            start += sizes[part]
        parts.setdefault("test", np.zeros(0, dtype=np.int64))
    else:
        parts = derived_parts(labels_arr)
    return build(
        spec=spec,
        split=split,
        source=FileSource(folder, relpaths),
        labels=labels_arr,
        parts=parts,
        classes=classes,
        metric="accuracy",
        seed=seed,
        root=folder,
    )


def _sorted_labels(values: list) -> list:
    try:
        return sorted(values, key=float)
    except (TypeError, ValueError):
        return sorted(values, key=str)


def load_csv(spec: str, rest: str, split: str, seed: int) -> Dataset:
    """Texts with labels in a CSV file: ``csv:<file>#<text column>,<label column>``.

    Without ``#..`` the columns ``text`` and ``label`` are used. Rows without a label are
    dropped (their number is in ``info["dropped_rows"]``); a missing text reads as ``""``.
    Classes are the distinct labels, sorted numerically when they are all numbers, else as
    strings. Splits: a fixed stratified 80/20 train/test split (seed 0); val is a seeded 20%
    hold-out of train. Metric: accuracy.
    """
    check_split(split, spec)
    import pandas as pd

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
    if not path.is_file():
        raise MissingDatasetError(
            f"CSV file {path} does not exist: give csv:<file>#<text column>,<label column> "
            "the path of a CSV file with a header row."
        )
    header = pd.read_csv(path, nrows=0).columns
    for col in (text_col, label_col):
        if col not in header:
            raise UnknownDatasetError(
                f"CSV file {path} has no column {col!r}; its columns are "
                + ", ".join(repr(str(c)) for c in header)
                + "."
            )
    # Read both columns as text: a label column with a gap must not turn 1 into "1.0".
    table = pd.read_csv(path, dtype={text_col: str, label_col: str})
    labelled = table[label_col].notna() & (table[label_col].str.strip() != "")
    dropped = int((~labelled).sum())
    table = table[labelled]
    raw = [v.strip() for v in table[label_col].tolist()]
    names = _sorted_labels(list(set(raw)))
    codes = {c: k for k, c in enumerate(names)}
    labels = np.array([codes[v] for v in raw], dtype=np.int64)
    texts = table[text_col].fillna("").astype(str).tolist()
    if not texts:
        raise MissingDatasetError(f"CSV file {path} has no labelled rows.")
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
        info={"dropped_rows": dropped, "text_column": text_col, "label_column": label_col},
    )
