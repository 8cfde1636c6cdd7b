"""The PED paper's 11 target datasets and ImageNet val, in their official on-disk formats.

Each reader finds its dataset below ``$PED_DATA/<name>/`` (or ``root``), parses only the
split and label files (no image is decoded), and returns the requested split. The canonical
splits follow reference-behaviour.md section 5: official val splits for Aircraft, DTD,
Flowers and VOC2007, otherwise a seeded 20% hold-out of train; ``all`` holds every image
exactly once (train + test (+ val)), which fixes the reference's bug B7.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ped.data._common import (
    SOURCE_CACHE,
    bad_line,
    file_signature,
    locate,
    read_lines,
)
from ped.data._dataset import ArraySource, Dataset, FileSource, build, check_split
from ped.data._safe_pickle import load_pickle
from ped.errors import DataFileError, MissingDatasetError


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
