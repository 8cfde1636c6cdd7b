"""Tiny synthetic datasets written in the official on-disk formats (a few images per class).

Each ``make_<name>(folder)`` writes the dataset under ``folder`` exactly as the official
archive extracts (including its inner folder name) and returns what a reader should find.
Images are small solid-colour files whose colour encodes (class, index), so a test can check
that the right file was read for an item.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
from PIL import Image


def colour(label: int, k: int) -> tuple[int, int, int]:
    return (10 * label % 256, 7 * k % 256, 128)


def write_image(path: Path, label: int, k: int, size: int = 6) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # PNG content under any extension: PIL reads by content, and colours survive exactly.
    Image.new("RGB", (size, size), colour(label, k)).save(path, format="PNG")


# --------------------------------------------------------------------------------------------


def make_cifar10(folder: Path, n_train_per_batch: int = 4, n_test: int = 5) -> dict:
    d = folder / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    all_train = []
    for b in range(1, 6):
        data = rng.integers(0, 256, (n_train_per_batch, 3072), dtype=np.uint8)
        labels = [(b + i) % 10 for i in range(n_train_per_batch)]
        all_train.append((data, labels))
        with open(d / f"data_batch_{b}", "wb") as f:
            pickle.dump({"data": data, "labels": labels}, f)
    test = rng.integers(0, 256, (n_test, 3072), dtype=np.uint8)
    test_labels = [i % 10 for i in range(n_test)]
    with open(d / "test_batch", "wb") as f:
        pickle.dump({"data": test, "labels": test_labels}, f)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship"]
    with open(d / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [*names, "truck"]}, f)
    return {
        "n_train": 5 * n_train_per_batch,
        "n_test": n_test,
        "first_train": all_train[0][0][0],
        "first_test": test[0],
        "labels": [y for _, ls in all_train for y in ls] + test_labels,
    }


def make_cifar100(folder: Path, n_train: int = 12, n_test: int = 6) -> dict:
    d = folder / "cifar-100-python"
    d.mkdir(parents=True)
    rng = np.random.default_rng(1)
    tr = rng.integers(0, 256, (n_train, 3072), dtype=np.uint8)
    te = rng.integers(0, 256, (n_test, 3072), dtype=np.uint8)
    for name, data in (("train", tr), ("test", te)):
        labels = [(7 * i) % 100 for i in range(data.shape[0])]
        with open(d / name, "wb") as f:
            pickle.dump({"data": data, "fine_labels": labels, "coarse_labels": labels}, f)
    with open(d / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [f"c{k}" for k in range(100)]}, f)
    return {"n_train": n_train, "n_test": n_test}


def make_aircraft(folder: Path) -> dict:
    d = folder / "fgvc-aircraft-2013b" / "data"
    variants = ["707-320", "A300B4", "Cessna 172"]
    (d / "images").mkdir(parents=True)
    (d / "variants.txt").write_text("\n".join(variants) + "\n")
    counts = {"train": 2, "val": 1, "test": 2}
    image_id = 1000000
    rows = {}
    for part, per_class in counts.items():
        lines = []
        for c, v in enumerate(variants):
            for _ in range(per_class):
                image_id += 1
                write_image(d / "images" / f"{image_id}.jpg", c, image_id)
                lines.append(f"{image_id} {v}")
        rows[part] = lines
        (d / f"images_variant_{part}.txt").write_text("\n".join(lines) + "\n")
    return {"variants": variants, "sizes": {p: 3 * n for p, n in counts.items()}, "rows": rows}


def make_dtd(folder: Path) -> dict:
    d = folder / "dtd"
    classes = ["banded", "blotchy", "zigzagged"]
    sizes = {}
    for part in ("train", "val", "test"):
        lines = []
        for c, name in enumerate(classes):
            for k in range(2):
                rel = f"{name}/{name}_{part}_{k}.jpg"
                write_image(d / "images" / rel, c, k)
                lines.append(rel)
        (d / "labels").mkdir(parents=True, exist_ok=True)
        (d / "labels" / f"{part}1.txt").write_text("\n".join(lines) + "\n")
        sizes[part] = len(lines)
    return {"classes": classes, "sizes": sizes}


def make_flowers(folder: Path) -> dict:
    from scipy.io import savemat

    d = folder
    n_classes, per_class = 4, 4  # 16 images: ids 1..16
    labels = np.repeat(np.arange(1, n_classes + 1), per_class)
    for i, y in enumerate(labels, start=1):
        write_image(d / "jpg" / f"image_{i:05d}.jpg", int(y) - 1, i)
    savemat(d / "imagelabels.mat", {"labels": labels.reshape(1, -1).astype(np.uint8)})
    ids = np.arange(1, labels.size + 1)
    trn = ids[0::4]
    val = ids[1::4]
    tst = np.concatenate([ids[2::4], ids[3::4]])
    savemat(d / "setid.mat", {"trnid": trn.reshape(1, -1), "valid": val.reshape(1, -1),
                              "tstid": tst.reshape(1, -1)})  # fmt: skip
    return {"trnid": trn, "valid": val, "tstid": tst, "labels": labels}


def make_food(folder: Path) -> dict:
    d = folder / "food-101"
    classes = ["apple_pie", "baby_back_ribs", "waffles"]
    meta = {"train": {}, "test": {}}
    k = 0
    for part, n in (("train", 5), ("test", 2)):
        for c, name in enumerate(classes):
            ids = []
            for _ in range(n):
                k += 1
                write_image(d / "images" / name / f"{100 + k}.jpg", c, k)
                ids.append(f"{name}/{100 + k}")
            meta[part][name] = ids
    (d / "meta").mkdir(parents=True)
    for part in meta:
        (d / "meta" / f"{part}.json").write_text(json.dumps(meta[part]))
    (d / "meta" / "classes.txt").write_text("\n".join(classes) + "\n")
    return {"classes": classes, "n_train": 15, "n_test": 6}


def make_pets(folder: Path) -> dict:
    d = folder / "oxford-iiit-pet"
    breeds = [("Abyssinian", 1), ("american_bulldog", 2), ("Bengal", 1)]
    (d / "annotations").mkdir(parents=True)
    for part, n in (("trainval", 4), ("test", 2)):
        lines = ["#Image CLASS-ID SPECIES BREED ID", "#ID: 1:37 Class ids"]
        for c, (name, species) in enumerate(breeds):
            for k in range(n):
                image = f"{name}_{part}{k}"
                write_image(d / "images" / f"{image}.jpg", c, k)
                lines.append(f"{image} {c + 1} {species} {c + 1}")
        (d / "annotations" / f"{part}.txt").write_text("\n".join(lines) + "\n")
    return {"classes": [b for b, _ in breeds], "n_train": 12, "n_test": 6}


def _cars_annos(path: Path, fnames: list[str], classes: list[int]) -> None:
    from scipy.io import savemat

    dtype = [(f, "O") for f in ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "fname")]
    arr = np.zeros((1, len(fnames)), dtype=dtype)
    for i, (fn, c) in enumerate(zip(fnames, classes)):
        arr[0, i] = (np.uint8(1), np.uint8(1), np.uint8(5), np.uint8(5), np.uint8(c), fn)
    savemat(path, {"annotations": arr})


def make_cars(folder: Path) -> dict:
    from scipy.io import savemat

    d = folder / "stanford_cars"
    names = ["AM General Hummer SUV 2000", "Acura RL Sedan 2012", "Audi S4 Sedan 2007"]
    (d / "devkit").mkdir(parents=True)
    meta = np.empty((1, len(names)), dtype=object)
    for i, n in enumerate(names):
        meta[0, i] = n
    savemat(d / "devkit" / "cars_meta.mat", {"class_names": meta})
    out = {}
    for part, n in (("train", 3), ("test", 2)):
        fnames, classes = [], []
        for c in range(len(names)):
            for k in range(n):
                fn = f"{len(fnames) + 1:05d}.jpg"
                write_image(d / f"cars_{part}" / fn, c, k)
                fnames.append(fn)
                classes.append(c + 1)
        target = (
            d / "devkit" / "cars_train_annos.mat"
            if part == "train"
            else d / "cars_test_annos_withlabels.mat"
        )
        _cars_annos(target, fnames, classes)
        out[part] = classes
    return {"classes": names, "train": out["train"], "test": out["test"]}


def make_sun397(folder: Path) -> dict:
    d = folder / "SUN397"
    classes = ["/a/abbey", "/b/bar", "/b/barn", "/a/apartment_building/outdoor"]
    (d).mkdir(parents=True)
    (d / "ClassName.txt").write_text("\n".join(classes) + "\n")
    rows = {"train": [], "test": []}
    for part, n in (("train", 3), ("test", 2)):
        for c, name in enumerate(classes):
            for k in range(n):
                rel = f"{name}/sun_{part}{k}.jpg"
                write_image(d / rel.lstrip("/"), c, k)
                rows[part].append(rel)
    (d / "Partitions").mkdir()
    (d / "Partitions" / "Training_01.txt").write_text("\n".join(rows["train"]) + "\n")
    (d / "Partitions" / "Testing_01.txt").write_text("\n".join(rows["test"]) + "\n")
    return {"classes": sorted(c[3:] for c in classes), "rows": rows}


VOC = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip


def make_voc2007(folder: Path) -> dict:
    d = folder / "VOCdevkit" / "VOC2007"
    main = d / "ImageSets" / "Main"
    main.mkdir(parents=True)
    # (id, {class: value}); values: 1 positive, 0 difficult, -1 negative (default)
    images = {
        "train": [("000005", {"chair": 1, "person": 0}), ("000007", {"car": 1, "bird": 1}),
                  ("000009", {"dog": 0})],
        "val": [("000012", {"tvmonitor": 1}), ("000017", {"horse": 1, "person": 1})],
        "test": [("000001", {"dog": 1, "person": 1}), ("000002", {"train": 1}),
                 ("000004", {"car": 0, "bus": 1}), ("000006", {"sofa": 1})],
    }  # fmt: skip
    for part, rows in images.items():
        (main / f"{part}.txt").write_text("\n".join(i for i, _ in rows) + "\n")
        for cls in VOC:
            lines = [f"{i} {vals.get(cls, -1):2d}" for i, vals in rows]
            (main / f"{cls}_{part}.txt").write_text("\n".join(lines) + "\n")
        for k, (i, _) in enumerate(rows):
            write_image(d / "JPEGImages" / f"{i}.jpg", 0, k)
    return {"images": images}


def make_caltech101(folder: Path) -> dict:
    d = folder / "caltech101"
    classes = ["BACKGROUND_Google", "Faces", "accordion", "ant"]  # case-sensitive sort order
    for c, name in enumerate(classes):
        for k in range(1, 5):
            write_image(d / "101_ObjectCategories" / name / f"image_{k:04d}.jpg", c, k)
    train, test = [], []
    for c, name in enumerate(classes):
        # drawn with replacement, as the reference split files are (bug B16)
        train += [f"{name}/image_0001.jpg {c}", f"{name}/image_0002.jpg {c}"]
        if c == 1:
            train.append(f"{name}/image_0001.jpg {c}")
        test += [f"{name}/image_0003.jpg {c}", f"{name}/image_0004.jpg {c}"]
    (d / "caltech101-splits").mkdir()
    (d / "caltech101-splits" / "train.txt").write_text("\n".join(train) + "\n")
    (d / "caltech101-splits" / "test.txt").write_text("\n".join(test) + "\n")
    return {"classes": classes, "n_train_unique": 8, "n_test": 8, "duplicates": 1}


def make_imagenet_val_folders(folder: Path) -> dict:
    wnids = ["n01440764", "n01443537", "n01484850"]
    for c, w in enumerate(wnids):
        for k in range(3):
            write_image(folder / w / f"ILSVRC2012_val_{c * 3 + k + 1:08d}.JPEG", c, k)
    return {"classes": wnids, "n": 9}


def make_imagenet_val_flat(folder: Path, with_labels: bool = True) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    labels = [3, 1, 3, 2, 1, 1]
    for i, y in enumerate(labels, start=1):
        write_image(folder / f"ILSVRC2012_val_{i:08d}.JPEG", y, i)
    if with_labels:
        (folder / "ILSVRC2012_validation_ground_truth.txt").write_text(
            "\n".join(str(y) for y in labels) + "\n"
        )
    return {"labels": labels, "n": len(labels)}
