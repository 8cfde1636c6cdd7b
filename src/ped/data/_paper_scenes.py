"""The PED paper's scene, object and multi-label targets (Cars, SUN397, VOC2007, Caltech-101)
and ImageNet val, in their official on-disk formats (see `ped.data._paper` for the others and
for the conventions every reader follows).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ped.data._common import (
    bad_line,
    first_existing,
    is_image,
    locate,
    read_lines,
    walk_images,
)
from ped.data._dataset import Dataset, FileSource, build, check_split
from ped.data._paper import _bad, _concat_parts
from ped.errors import MissingDatasetError, UnknownDatasetError

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Stanford Cars


def _mat_annotations(path: Path) -> tuple[list[str], list[int]]:
    from scipy.io import loadmat

    ann = np.atleast_1d(loadmat(path, squeeze_me=True)["annotations"])
    fnames = [str(a["fname"]) for a in ann]
    classes = [int(a["class"]) - 1 for a in ann]
    return fnames, classes


def load_cars(split: str, root: str | Path | None, seed: int) -> Dataset:
    """Stanford Cars (196 classes): devkit train (8144) / test (8041, labelled annotations).

    Layout: ``cars/{cars_train/, cars_test/, devkit/cars_meta.mat, devkit/cars_train_annos.mat,
    cars_test_annos_withlabels.mat}`` (the last may also sit in ``devkit/``; everything may
    sit inside ``stanford_cars/``). Val: a seeded 20% hold-out of train.
    """
    check_split(split, "cars")
    from scipy.io import loadmat

    def finder(folder: Path) -> Path | None:
        for cand in (folder / "stanford_cars", folder):
            if (cand / "devkit" / "cars_train_annos.mat").is_file():
                return cand
        return None

    folder = locate(
        "cars",
        root,
        "Stanford Cars (cars_train/, cars_test/, devkit/ with cars_meta.mat and "
        "cars_train_annos.mat, and cars_test_annos_withlabels.mat)",
        finder,
    )
    test_annos = first_existing(
        folder / "cars_test_annos_withlabels.mat",
        folder / "devkit" / "cars_test_annos_withlabels.mat",
    )
    if test_annos is None:
        raise _bad("cars", folder, "cars_test_annos_withlabels.mat is missing")
    tr_f, tr_y = _mat_annotations(folder / "devkit" / "cars_train_annos.mat")
    te_f, te_y = _mat_annotations(test_annos)
    meta = folder / "devkit" / "cars_meta.mat"
    if meta.is_file():
        classes = [str(c) for c in np.atleast_1d(loadmat(meta, squeeze_me=True)["class_names"])]
    else:
        classes = [str(k) for k in range(1, max(tr_y + te_y) + 2)]
    relpaths = [f"cars_train/{f}" for f in tr_f] + [f"cars_test/{f}" for f in te_f]
    tr, te = _concat_parts(len(tr_f), len(te_f))
    return build(
        spec="cars",
        split=split,
        source=FileSource(folder, relpaths),
        labels=np.array(tr_y + te_y),
        parts={"train": tr, "test": te},
        classes=classes,
        metric="accuracy",
        seed=seed,
        root=folder,
    )


# --------------------------------------------------------------------------------------------
# SUN397


def load_sun397(split: str, root: str | Path | None, seed: int) -> Dataset:
    """SUN397, partition 01: ``Training_01.txt`` (19 850) / ``Testing_01.txt`` (19 850).

    Layout: ``sun397/{ClassName.txt, Training_01.txt, Testing_01.txt, a/abbey/*.jpg, ..}``
    (the partition files may sit in ``Partitions/``, the images in ``SUN397/``). Class names
    are the lines of ``ClassName.txt`` without their ``/x/`` prefix, sorted. An image's class
    is its folder, matched exactly; the reference code took the first class name that is a
    substring of the image path, which can give the wrong class where one name is contained
    in another (e.g. ``bar`` in ``barn``). Val: a seeded 20% hold-out of train.
    """
    check_split(split, "sun397")

    def finder(folder: Path) -> Path | None:
        for cand in (folder / "SUN397", folder):
            if (cand / "ClassName.txt").is_file():
                return cand
        return None

    folder = locate(
        "sun397",
        root,
        "SUN397 (ClassName.txt, Training_01.txt, Testing_01.txt and the a/.. z/ image folders)",
        finder,
    )
    names = read_lines(folder / "ClassName.txt")
    classes = sorted(n[3:] for n in names)
    index = {c: k for k, c in enumerate(classes)}
    rows = {}
    for part, fn in (("train", "Training_01.txt"), ("test", "Testing_01.txt")):
        path = first_existing(folder / fn, folder / "Partitions" / fn)
        if path is None:
            raise _bad("sun397", folder, f"{fn} is missing")
        rows[part] = read_lines(path)
    first = rows["train"][0] if rows["train"] else ""
    image_base = folder
    if first and not (folder / first.lstrip("/")).exists() and (folder / "SUN397").is_dir():
        image_base = folder / "SUN397"
    relpaths, labels = [], []
    for part in ("train", "test"):
        for line in rows[part]:
            rel = line.lstrip("/")
            cls = os.path.dirname(rel)[2:]  # "a/abbey/sun_x.jpg" -> "abbey"
            if cls not in index:
                raise _bad("sun397", folder, f"{line} names no class in ClassName.txt")
            relpaths.append(rel)
            labels.append(index[cls])
    tr, te = _concat_parts(len(rows["train"]), len(rows["test"]))
    return build(
        spec="sun397",
        split=split,
        source=FileSource(image_base, relpaths),
        labels=np.array(labels),
        parts={"train": tr, "test": te},
        classes=classes,
        metric="accuracy",
        seed=seed,
        root=folder,
    )


# --------------------------------------------------------------------------------------------
# VOC2007


def load_voc2007(split: str, root: str | Path | None, seed: int) -> Dataset:
    """PASCAL VOC2007 classification (20 classes, multi-label), official train / val / test.

    Layout: ``voc2007/VOCdevkit/VOC2007/{JPEGImages/, ImageSets/Main/{class}_{split}.txt}``
    with the test set merged in (``VOCdevkit/`` or ``VOC2007/`` may be omitted). ``targets``
    is the multi-hot vector ``value == 1`` (difficult, 0, counts as negative); ``labels`` is
    its first positive class in the fixed class order, class 0 when an image has only
    difficult objects (the reference's argmax collapse). Metric: 11-point mAP.
    """
    check_split(split, "voc2007")

    def finder(folder: Path) -> Path | None:
        for cand in (folder / "VOCdevkit" / "VOC2007", folder / "VOC2007", folder):
            if (cand / "ImageSets" / "Main").is_dir():
                return cand
        return None

    folder = locate(
        "voc2007",
        root,
        "PASCAL VOC2007 (VOCdevkit/VOC2007/ with JPEGImages/ and "
        "ImageSets/Main/{class}_{train,val,test}.txt, test set included)",
        finder,
    )
    main = folder / "ImageSets" / "Main"
    order = ("train", "test", "val")
    ids_all: list[str] = []
    target_rows = []
    sizes = []
    for part in order:
        values: dict[str, list[int]] = {}
        ids: list[str] = []
        for c, cls in enumerate(VOC_CLASSES):
            path = main / f"{cls}_{part}.txt"
            if not path.is_file():
                raise _bad("voc2007", folder, f"ImageSets/Main/{path.name} is missing")
            for number, line in enumerate(read_lines(path), start=1):
                try:
                    image_id, value = line.split()
                    flag = int(value)
                except ValueError:
                    raise bad_line(path, number, "<image id> <1, 0 or -1>") from None
                if image_id not in values:
                    values[image_id] = [0] * len(VOC_CLASSES)
                    ids.append(image_id)
                values[image_id][c] = flag
        listed = main / f"{part}.txt"
        if listed.is_file():
            ids = [line.split()[0] for line in read_lines(listed)]
        for image_id in ids:
            if image_id not in values:
                raise _bad("voc2007", folder, f"image {image_id} has no {part} labels")
            target_rows.append(values[image_id])
        ids_all.extend(ids)
        sizes.append(len(ids))
    targets = (np.array(target_rows, dtype=np.int64) == 1).astype(np.float32)
    labels = np.argmax(targets, axis=1).astype(np.int64)
    tr, te, va = _concat_parts(*sizes)
    return build(
        spec="voc2007",
        split=split,
        source=FileSource(folder, [f"JPEGImages/{i}.jpg" for i in ids_all]),
        labels=labels,
        targets=targets,
        parts={"train": tr, "test": te, "val": va},
        classes=list(VOC_CLASSES),
        metric="map11",
        seed=seed,
        root=folder,
    )


# --------------------------------------------------------------------------------------------
# Caltech101


def load_caltech101(split: str, root: str | Path | None, seed: int) -> Dataset:
    """Caltech-101 with ssl-transfer's split files (102 classes incl. BACKGROUND_Google).

    Layout: ``caltech101/{101_ObjectCategories/<class>/*.jpg, caltech101-splits/{train,test}.txt}``
    (the split files may also sit next to ``101_ObjectCategories/``); lines read
    ``<class>/<file> <label>``. Classes: the sorted (case-sensitive) category folders named
    in the split files. The reference train file draws 30 images per class *with
    replacement* (bug B16); repeated rows are dropped so every image appears once (the
    number dropped is in ``info["duplicates_dropped"]``). Val: a seeded 20% hold-out.
    """
    check_split(split, "caltech101")

    def finder(folder: Path) -> Path | None:
        if (folder / "101_ObjectCategories").is_dir():
            return folder
        if (folder / "caltech101" / "101_ObjectCategories").is_dir():
            return folder / "caltech101"
        return None

    folder = locate(
        "caltech101",
        root,
        "Caltech-101 (101_ObjectCategories/ plus the ssl-transfer split files "
        "caltech101-splits/train.txt and test.txt)",
        finder,
    )
    rows: dict[str, list[str]] = {}
    for part in ("train", "test"):
        path = first_existing(folder / "caltech101-splits" / f"{part}.txt", folder / f"{part}.txt")
        if path is None:
            raise MissingDatasetError(
                f"Dataset 'caltech101' in {folder} has no split file {part}.txt: put "
                "ssl-transfer's caltech101-splits/{train,test}.txt into that folder."
            )
        rows[part] = [line.split()[0] for line in read_lines(path)]
    dropped = 0
    seen: set[str] = set()
    unique_rows = {}
    for part in ("train", "test"):
        kept = []
        for r in rows[part]:
            if r in seen:
                dropped += 1
                continue
            seen.add(r)
            kept.append(r)
        unique_rows[part] = kept
    classes = sorted({r.split("/", 1)[0] for part in unique_rows.values() for r in part})
    index = {c: k for k, c in enumerate(classes)}
    relpaths = [f"101_ObjectCategories/{r}" for p in ("train", "test") for r in unique_rows[p]]
    labels = [index[r.split("/", 1)[0]] for p in ("train", "test") for r in unique_rows[p]]
    tr, te = _concat_parts(len(unique_rows["train"]), len(unique_rows["test"]))
    return build(
        spec="caltech101",
        split=split,
        source=FileSource(folder, relpaths),
        labels=np.array(labels),
        parts={"train": tr, "test": te},
        classes=classes,
        metric="mean_per_class_accuracy",
        seed=seed,
        root=folder,
        info={"duplicates_dropped": dropped},
    )


# --------------------------------------------------------------------------------------------
# ImageNet val (the reference domain)

_IMAGENET_LABEL_FILES = ("labels.txt", "val_labels.txt", "ILSVRC2012_validation_ground_truth.txt")


def load_imagenet_val(split: str, root: str | Path | None, seed: int) -> Dataset:
    """ImageNet-1k validation images (50 000), the reference domain of PED's rescaling.

    Two layouts are read from ``$PED_DATA/imagenet-val/`` (or ``imagenet/val/``):

    * class subfolders (``n01440764/ILSVRC2012_val_00000293.JPEG`` ..): classes are the
      sorted folder names;
    * a flat folder of images plus an optional label file (``labels.txt``,
      ``val_labels.txt`` or the devkit's ``ILSVRC2012_validation_ground_truth.txt``) with one
      line per image: ``<file name> <label>``, or just ``<label>`` for the images in sorted
      file-name order. Classes are the distinct label values, sorted. Without a label file
      every image gets label 0 (class ``"unlabelled"``): only the images are needed for the
      reference statistics, whose labels the reference code never uses.

    Only ``split="all"`` exists (``"val"`` and ``"test"`` are accepted and give the same
    set, whose ``split`` reads ``"all"``).
    """
    if split not in ("all", "val", "test"):
        if split in ("train", "trainval"):
            raise UnknownDatasetError(
                f"Dataset 'imagenet-val' has no {split!r} split; it is one set: use split='all'."
            )
        check_split(split, "imagenet-val")

    def finder(folder: Path) -> Path | None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return None
        if any(e.is_file() and is_image(e.name) for e in entries):
            return folder
        if any(e.is_dir() for e in entries):
            return folder
        return None

    folder = locate(
        "imagenet-val",
        root,
        "the ImageNet val images, either in class subfolders or flat with a labels.txt",
        finder,
        aliases=("imagenet/val",),
    )
    flat = sorted(e.name for e in os.scandir(folder) if e.is_file() and is_image(e.name))
    info: dict = {}
    if flat:
        relpaths = flat
        label_file = next(
            (folder / n for n in _IMAGENET_LABEL_FILES if (folder / n).is_file()), None
        )
        if label_file is None:
            raw = ["unlabelled"] * len(flat)
            info["layout"] = "flat, no labels"
        else:
            lines = read_lines(label_file)
            pairs = [line.split() for line in lines]
            if pairs and len(pairs[0]) >= 2:
                by_name = {p[0]: p[1] for p in pairs}
                missing_names = [f for f in flat if f not in by_name]
                if missing_names:
                    raise _bad("imagenet-val", folder, f"{missing_names[0]} has no label")
                raw = [by_name[f] for f in flat]
            else:
                if len(pairs) != len(flat):
                    raise _bad(
                        "imagenet-val",
                        folder,
                        f"{label_file.name} has {len(pairs)} labels for {len(flat)} images",
                    )
                raw = [p[0] for p in pairs]
            info["layout"] = f"flat, labels from {label_file.name}"
        values = sorted(set(raw), key=lambda v: (len(v), v) if v.isdigit() else (1 << 30, v))
        index = {v: k for k, v in enumerate(values)}
        classes, labels = values, [index[v] for v in raw]
    else:
        classes = sorted(
            e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")
        )
        relpaths, labels = [], []
        for k, c in enumerate(classes):
            for rel in walk_images(folder / c):
                relpaths.append(f"{c}/{rel}")
                labels.append(k)
        info["layout"] = "class subfolders"
    if not relpaths:
        raise _bad("imagenet-val", folder, "it holds no image files")
    n = len(relpaths)
    ds = build(
        spec="imagenet-val",
        split="all",
        source=FileSource(folder, relpaths),
        labels=np.array(labels),
        parts={"train": np.zeros(0, np.int64), "test": np.arange(n), "val": np.zeros(0, np.int64)},
        classes=classes,
        metric="accuracy",
        seed=seed,
        root=folder,
        info=info,
    )
    return ds
