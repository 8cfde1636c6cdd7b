"""The PED paper's 11 target datasets and ImageNet val, in their official on-disk formats.

Each reader finds its dataset below ``$PED_DATA/<name>/`` (or ``root``), parses only the
split and label files (no image is decoded), and returns the requested split. The canonical
splits follow reference-behaviour.md section 5: official val splits for Aircraft, DTD,
Flowers and VOC2007, otherwise a seeded 20% hold-out of train; ``all`` holds every image
exactly once (train + test (+ val)), which fixes the reference's bug B7.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ped.data._common import (
    SOURCE_CACHE,
    bad_line,
    file_signature,
    first_existing,
    is_image,
    locate,
    read_lines,
    walk_images,
)
from ped.data._dataset import ArraySource, Dataset, FileSource, build, check_split
from ped.data._safe_pickle import load_pickle
from ped.errors import DataFileError, MissingDatasetError, UnknownDatasetError

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip


def _concat_parts(*sizes: int) -> list[np.ndarray]:
    out, start = [], 0
    for n in sizes:
        out.append(np.arange(start, start + n, dtype=np.int64))
        start += n
    return out


def _bad(name: str, path: Path, what: str) -> MissingDatasetError:
    return MissingDatasetError(
        f"Dataset {name!r} in {path} is incomplete or malformed: {what}; download it again."
    )


# --------------------------------------------------------------------------------------------
# CIFAR


def _find_cifar(sub: str, marker: str):
    def finder(folder: Path) -> Path | None:
        for cand in (folder / sub, folder):
            if (cand / marker).is_file():
                return cand
        return None

    return finder


def _unpickle(path: Path, keys: tuple[str, ...]) -> dict:
    """One CIFAR python batch or meta file: a dict with ``keys``, read without running code."""
    d = load_pickle(path)
    if not isinstance(d, dict) or any(k not in d for k in keys):
        raise DataFileError(
            f"{path} is not a CIFAR python batch: expected a pickled dict with the keys "
            f"{', '.join(keys)}; download the dataset again."
        )
    return d


def _cifar_arrays(folder: Path, files: list[str], label_key: str):
    images, labels = [], []
    for fn in files:
        path = folder / fn
        d = _unpickle(path, ("data", label_key))
        try:
            images.append(np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.append(np.asarray(d[label_key], dtype=np.int64).reshape(-1))
        except (TypeError, ValueError):
            raise DataFileError(
                f"{path} is not a CIFAR python batch: 'data' must hold rows of 3072 bytes "
                f"and {label_key!r} one integer label per row; download the dataset again."
            ) from None
        if labels[-1].shape[0] != images[-1].shape[0]:
            raise DataFileError(
                f"{path} holds {images[-1].shape[0]} images but {labels[-1].shape[0]} labels; "
                "download the dataset again."
            )
    return np.concatenate(images).transpose(0, 2, 3, 1).copy(), np.concatenate(labels)


def load_cifar(
    name: str, split: str, root: str | Path | None, seed: int
) -> Dataset:  # cifar10 / cifar100
    """CIFAR-10 / CIFAR-100, python version (the pickles torchvision also reads).

    Layout: ``cifar10/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}`` and
    ``cifar100/cifar-100-python/{train,test,meta}`` (the inner folder may be omitted).
    Splits: 50 000 train / 10 000 test; val is a seeded 20% hold-out of train.
    """
    check_split(split, name)
    if name == "cifar10":
        sub, marker, layout = (
            "cifar-10-batches-py",
            "data_batch_1",
            "the CIFAR-10 python version (cifar-10-batches-py/ with data_batch_1..5, "
            "test_batch, batches.meta)",
        )
        train_files = [f"data_batch_{i}" for i in range(1, 6)]
        test_files, meta_file, label_key, names_key = (
            ["test_batch"],
            "batches.meta",
            "labels",
            "label_names",
        )
    else:
        sub, marker, layout = (
            "cifar-100-python",
            "train",
            "the CIFAR-100 python version (cifar-100-python/ with train, test, meta)",
        )
        train_files, test_files = ["train"], ["test"]
        meta_file, label_key, names_key = "meta", "fine_labels", "fine_label_names"
    folder = locate(name, root, layout, _find_cifar(sub, marker))
    files = [folder / f for f in train_files + test_files]
    for f in files:
        if not f.is_file():
            raise _bad(name, folder, f"{f.name} is missing")
    signature = file_signature(files)

    def make():
        tr_x, tr_y = _cifar_arrays(folder, train_files, label_key)
        te_x, te_y = _cifar_arrays(folder, test_files, label_key)
        return np.concatenate([tr_x, te_x]), np.concatenate([tr_y, te_y]), tr_x.shape[0]

    images, labels, n_train = SOURCE_CACHE.get((name, str(folder), signature), make)
    meta_path = folder / meta_file
    if meta_path.is_file():
        classes = [str(c) for c in _unpickle(meta_path, (names_key,))[names_key]]
    else:
        classes = [str(k) for k in range(int(labels.max()) + 1)]
    train, test = _concat_parts(n_train, images.shape[0] - n_train)
    return build(
        spec=name,
        split=split,
        source=ArraySource(images, content_id=f"{name}|{signature}"),
        labels=labels,
        parts={"train": train, "test": test},
        classes=classes,
        metric="accuracy",
        seed=seed,
        root=folder,
    )


# --------------------------------------------------------------------------------------------
# FGVC-Aircraft


def load_aircraft(split: str, root: str | Path | None, seed: int) -> Dataset:
    """FGVC-Aircraft 2013b, 'variant' level (100 classes), official train / val / test.

    Layout: ``aircraft/fgvc-aircraft-2013b/data/{images/, images_variant_{train,val,test}.txt,
    variants.txt}`` (``fgvc-aircraft-2013b/`` or ``data/`` may be omitted). Class order: the
    lines of ``variants.txt`` (else the sorted variant names).
    """
    check_split(split, "aircraft")

    def finder(folder: Path) -> Path | None:
        for cand in (folder / "fgvc-aircraft-2013b" / "data", folder / "data", folder):
            if (cand / "images_variant_train.txt").is_file():
                return cand
        return None

    folder = locate(
        "aircraft",
        root,
        "FGVC-Aircraft 2013b (fgvc-aircraft-2013b/data/ with images/ and "
        "images_variant_{train,val,test}.txt)",
        finder,
    )
    rows: dict[str, list[tuple[str, str]]] = {}
    for part in ("train", "val", "test"):
        path = folder / f"images_variant_{part}.txt"
        if not path.is_file():
            raise _bad("aircraft", folder, f"{path.name} is missing")
        rows[part] = []
        for line in read_lines(path):
            image_id, _, variant = line.partition(" ")
            rows[part].append((image_id, variant.strip()))
    variants_file = folder / "variants.txt"
    if variants_file.is_file():
        classes = read_lines(variants_file)
    else:
        classes = sorted({v for part in rows.values() for _, v in part})
    index = {c: k for k, c in enumerate(classes)}
    order = ("train", "test", "val")
    relpaths, labels = [], []
    for part in order:
        for image_id, variant in rows[part]:
            if variant not in index:
                raise _bad("aircraft", folder, f"variant {variant!r} is not in variants.txt")
            relpaths.append(f"images/{image_id}.jpg")
            labels.append(index[variant])
    tr, te, va = _concat_parts(*(len(rows[p]) for p in order))
    return build(
        spec="aircraft",
        split=split,
        source=FileSource(folder, relpaths),
        labels=np.array(labels),
        parts={"train": tr, "test": te, "val": va},
        classes=classes,
        metric="mean_per_class_accuracy",
        seed=seed,
        root=folder,
    )


# --------------------------------------------------------------------------------------------
# DTD


def load_dtd(split: str, root: str | Path | None, seed: int) -> Dataset:
    """Describable Textures, split 1 (47 classes), official train / val / test.

    Layout: ``dtd/dtd/{images/<class>/*.jpg, labels/{train,val,test}1.txt}`` (the inner
    ``dtd/`` may be omitted). Classes: the sorted class folders named in the split files.
    """
    check_split(split, "dtd")

    def finder(folder: Path) -> Path | None:
        for cand in (folder / "dtd", folder):
            if (cand / "labels" / "train1.txt").is_file():
                return cand
        return None

    folder = locate(
        "dtd", root, "DTD (dtd/ with images/<class>/ and labels/{train,val,test}1.txt)", finder
    )
    rows = {}
    for part in ("train", "val", "test"):
        path = folder / "labels" / f"{part}1.txt"
        if not path.is_file():
            raise _bad("dtd", folder, f"labels/{path.name} is missing")
        rows[part] = read_lines(path)
    classes = sorted({r.split("/", 1)[0] for part in rows.values() for r in part})
    index = {c: k for k, c in enumerate(classes)}
    order = ("train", "test", "val")
    relpaths = [f"images/{r}" for p in order for r in rows[p]]
    labels = [index[r.split("/", 1)[0]] for p in order for r in rows[p]]
    tr, te, va = _concat_parts(*(len(rows[p]) for p in order))
    return build(
        spec="dtd",
        split=split,
        source=FileSource(folder, relpaths),
        labels=np.array(labels),
        parts={"train": tr, "test": te, "val": va},
        classes=classes,
        metric="accuracy",
        seed=seed,
        root=folder,
    )


# --------------------------------------------------------------------------------------------
# Flowers-102


def load_flowers(split: str, root: str | Path | None, seed: int) -> Dataset:
    """Oxford Flowers-102, official train (trnid) / val (valid) / test (tstid).

    Layout: ``flowers/{jpg/image_00001.jpg.., imagelabels.mat, setid.mat}`` (also accepted
    inside ``flowers-102/``). Class names are the official 1-based ids ``"1"`` .. ``"102"``.
    """
    check_split(split, "flowers")
    from scipy.io import loadmat

    def finder(folder: Path) -> Path | None:
        for cand in (folder / "flowers-102", folder):
            if (cand / "setid.mat").is_file() and (cand / "imagelabels.mat").is_file():
                return cand
        return None

    folder = locate(
        "flowers",
        root,
        "Oxford Flowers-102 (jpg/, imagelabels.mat and setid.mat in one folder)",
        finder,
    )
    image_labels = np.asarray(loadmat(folder / "imagelabels.mat")["labels"]).ravel()
    setid = loadmat(folder / "setid.mat")
    ids = {p: np.asarray(setid[k]).ravel().astype(np.int64) for p, k in
           (("train", "trnid"), ("val", "valid"), ("test", "tstid"))}  # fmt: skip
    n_classes = int(image_labels.max())
    order = ("train", "test", "val")
    relpaths, labels = [], []
    for p in order:
        for i in ids[p]:
            relpaths.append(f"jpg/image_{int(i):05d}.jpg")
            labels.append(int(image_labels[int(i) - 1]) - 1)
    tr, te, va = _concat_parts(*(ids[p].shape[0] for p in order))
    return build(
        spec="flowers",
        split=split,
        source=FileSource(folder, relpaths),
        labels=np.array(labels),
        parts={"train": tr, "test": te, "val": va},
        classes=[str(k) for k in range(1, n_classes + 1)],
        metric="mean_per_class_accuracy",
        seed=seed,
        root=folder,
    )


# --------------------------------------------------------------------------------------------
# Food-101


def load_food(split: str, root: str | Path | None, seed: int) -> Dataset:
    """Food-101, official train (75 750) / test (25 250) from ``meta/{train,test}.json``.

    Layout: ``food/food-101/{images/<class>/<id>.jpg, meta/{train,test}.json,
    meta/classes.txt}`` (the inner ``food-101/`` may be omitted). Val: a seeded 20%
    hold-out of train.
    """
    import json

    check_split(split, "food")

    def finder(folder: Path) -> Path | None:
        for cand in (folder / "food-101", folder):
            if (cand / "meta" / "train.json").is_file():
                return cand
        return None

    folder = locate(
        "food", root, "Food-101 (food-101/ with images/ and meta/{train,test}.json)", finder
    )
    rows = {}
    for part in ("train", "test"):
        path = folder / "meta" / f"{part}.json"
        if not path.is_file():
            raise _bad("food", folder, f"meta/{path.name} is missing")
        with open(path, encoding="utf-8") as f:
            rows[part] = json.load(f)
    classes_file = folder / "meta" / "classes.txt"
    classes = read_lines(classes_file) if classes_file.is_file() else sorted(rows["train"])
    relpaths, labels, sizes = [], [], []
    for part in ("train", "test"):
        n = 0
        for k, c in enumerate(classes):
            for item in rows[part].get(c, []):
                relpaths.append(f"images/{item}.jpg")
                labels.append(k)
                n += 1
        sizes.append(n)
    tr, te = _concat_parts(*sizes)
    return build(
        spec="food",
        split=split,
        source=FileSource(folder, relpaths),
        labels=np.array(labels),
        parts={"train": tr, "test": te},
        classes=classes,
        metric="accuracy",
        seed=seed,
        root=folder,
    )


# --------------------------------------------------------------------------------------------
# Oxford-IIIT Pets


def load_pets(split: str, root: str | Path | None, seed: int) -> Dataset:
    """Oxford-IIIT Pets (37 breeds): 'train' is ``trainval.txt`` (3680), test ``test.txt``.

    Layout: ``pets/oxford-iiit-pet/{images/*.jpg, annotations/{trainval,test}.txt}`` (the
    inner folder may be omitted). Class ids come from the files' second column; names from
    the image names (``Abyssinian_100`` -> ``Abyssinian``). Val: a seeded 20% hold-out.
    """
    check_split(split, "pets")

    def finder(folder: Path) -> Path | None:
        for cand in (folder / "oxford-iiit-pet", folder):
            if (cand / "annotations" / "trainval.txt").is_file():
                return cand
        return None

    folder = locate(
        "pets",
        root,
        "Oxford-IIIT Pets (images/ and annotations/{trainval,test}.txt)",
        finder,
    )
    names: dict[int, str] = {}
    relpaths, labels, sizes = [], [], []
    for part in ("trainval", "test"):
        path = folder / "annotations" / f"{part}.txt"
        if not path.is_file():
            raise _bad("pets", folder, f"annotations/{path.name} is missing")
        lines = read_lines(path)
        for number, line in enumerate(lines, start=1):
            fields = line.split()
            try:
                image, class_id = fields[0], int(fields[1]) - 1
            except (IndexError, ValueError):
                raise bad_line(path, number, "<image name> <class id> ...") from None
            names.setdefault(class_id, image.rsplit("_", 1)[0])
            relpaths.append(f"images/{image}.jpg")
            labels.append(class_id)
        sizes.append(len(lines))
    n_classes = max(names) + 1
    classes = [names.get(k, str(k)) for k in range(n_classes)]
    tr, te = _concat_parts(*sizes)
    return build(
        spec="pets",
        split=split,
        source=FileSource(folder, relpaths),
        labels=np.array(labels),
        parts={"train": tr, "test": te},
        classes=classes,
        metric="mean_per_class_accuracy",
        seed=seed,
        root=folder,
    )


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
