"""Every official on-disk format, read from tiny synthetic copies written in tmp dirs."""

from __future__ import annotations

import numpy as np
import pytest
from _data_fixtures import (
    VOC,
    colour,
    make_aircraft,
    make_caltech101,
    make_cars,
    make_cifar10,
    make_cifar100,
    make_dtd,
    make_flowers,
    make_food,
    make_imagenet_val_flat,
    make_imagenet_val_folders,
    make_pets,
    make_sun397,
    make_voc2007,
    write_image,
)
from PIL import Image

from ped.data import SPLITS, holdout_split, load_dataset
from ped.data._common import SOURCE_CACHE
from ped.errors import MissingDatasetError, UnknownDatasetError


@pytest.fixture(autouse=True)
def _fresh_cache():
    SOURCE_CACHE.clear()
    yield
    SOURCE_CACHE.clear()


def _pixel(ds, i):
    return ds[i][0].getpixel((0, 0))


def _check_split_algebra(root, name, *, official_val: bool, seed: int = 0):
    """Canonical splits: `all` = every item once; trainval / val / train as documented."""
    d = {s: load_dataset(name, s, root=root, seed=seed) for s in SPLITS}
    all_idx = d["all"].source_index
    assert sorted(all_idx.tolist()) == list(range(len(d["all"])))
    tr, va, tv, te = (d[s].source_index for s in ("train", "val", "trainval", "test"))
    assert set(tr).isdisjoint(va) and set(tr).isdisjoint(te) and set(va).isdisjoint(te)
    assert sorted(np.concatenate([tr, va, te]).tolist()) == all_idx.tolist()
    assert sorted(tv.tolist()) == sorted(np.concatenate([tr, va]).tolist())
    if not official_val:
        keep, hold = holdout_split(len(tv), seed)
        assert len(va) == int(np.floor(0.2 * len(tv)))
        assert va.tolist() == tv[hold].tolist()
    for s, ds in d.items():
        assert ds.split == s
        assert ds.labels.dtype == np.int64 and ds.labels.shape == (len(ds),)
        assert ds.num_classes == len(ds.classes)
        assert ds.labels.min() >= 0 and ds.labels.max() < ds.num_classes
    return d


def test_cifar10_pickles(tmp_path):
    info = make_cifar10(tmp_path / "cifar10")
    d = _check_split_algebra(tmp_path, "cifar10", official_val=False)
    ds = d["all"]
    assert len(ds) == info["n_train"] + info["n_test"] == 25
    assert ds.classes[-1] == "truck" and ds.num_classes == 10 and ds.metric == "accuracy"
    assert ds.labels.tolist() == info["labels"]
    img, label = ds[0]
    assert img.mode == "RGB" and img.size == (32, 32)
    # channel-major rows: pixel (0, 0) is bytes 0, 1024, 2048 of the row
    row = info["first_train"]
    assert img.getpixel((0, 0)) == (row[0], row[1024], row[2048])
    assert len(d["test"]) == 5 and len(d["trainval"]) == 20 and len(d["val"]) == 4
    test_img = d["test"][0][0]
    assert test_img.getpixel((0, 0)) == tuple(info["first_test"][[0, 1024, 2048]])


def test_cifar_root_may_be_the_inner_folder(tmp_path):
    make_cifar10(tmp_path / "x")
    ds = load_dataset("cifar10", "test", root=tmp_path / "x" / "cifar-10-batches-py")
    assert len(ds) == 5


def test_cifar100_pickles(tmp_path):
    make_cifar100(tmp_path / "cifar100")
    d = _check_split_algebra(tmp_path, "cifar100", official_val=False)
    assert len(d["all"]) == 18 and d["all"].num_classes == 100
    assert d["all"].labels[:3].tolist() == [0, 7, 14]


def test_aircraft_official_val(tmp_path):
    info = make_aircraft(tmp_path / "aircraft")
    d = _check_split_algebra(tmp_path, "aircraft", official_val=True)
    assert d["all"].classes == info["variants"]  # multi-word names survive
    assert d["all"].metric == "mean_per_class_accuracy"
    assert {s: len(d[s]) for s in ("train", "val", "test")} == info["sizes"]
    assert len(d["all"]) == 15 and len(d["trainval"]) == 9
    # the all-images order is train, test, val (the reference's ConcatDataset order)
    assert d["all"].labels.tolist() == [0, 0, 1, 1, 2, 2] * 2 + [0, 1, 2]
    first_test_id = int(info["rows"]["test"][0].split()[0])
    assert _pixel(d["test"], 0) == colour(0, first_test_id)


def test_dtd(tmp_path):
    info = make_dtd(tmp_path / "dtd")
    d = _check_split_algebra(tmp_path, "dtd", official_val=True)
    assert d["all"].classes == info["classes"] and len(d["all"]) == 18
    assert d["val"].labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert d["all"].metric == "accuracy"


def test_flowers_mat_files(tmp_path):
    info = make_flowers(tmp_path / "flowers")
    d = _check_split_algebra(tmp_path, "flowers", official_val=True)
    assert len(d["train"]) == 4 and len(d["val"]) == 4 and len(d["test"]) == 8
    assert d["all"].num_classes == 4 and d["all"].classes[0] == "1"
    expected = info["labels"][info["tstid"] - 1] - 1
    assert d["test"].labels.tolist() == expected.tolist()
    assert _pixel(d["test"], 0) == colour(int(expected[0]), int(info["tstid"][0]))
    assert d["all"].metric == "mean_per_class_accuracy"


def test_food_json(tmp_path):
    info = make_food(tmp_path / "food")
    d = _check_split_algebra(tmp_path, "food", official_val=False)
    assert d["all"].classes == info["classes"]
    assert len(d["trainval"]) == 15 and len(d["test"]) == 6 and len(d["val"]) == 3


def test_pets(tmp_path):
    info = make_pets(tmp_path / "pets")
    d = _check_split_algebra(tmp_path, "pets", official_val=False)
    assert d["all"].classes == info["classes"]
    assert len(d["trainval"]) == 12 and len(d["test"]) == 6
    assert d["all"].metric == "mean_per_class_accuracy"


def test_cars_devkit(tmp_path):
    info = make_cars(tmp_path / "cars")
    d = _check_split_algebra(tmp_path, "cars", official_val=False)
    assert d["all"].classes == info["classes"]
    assert d["test"].labels.tolist() == [c - 1 for c in info["test"]]
    assert len(d["trainval"]) == 9 and len(d["test"]) == 6


def test_sun397_exact_folder_match(tmp_path):
    info = make_sun397(tmp_path / "sun397")
    d = _check_split_algebra(tmp_path, "sun397", official_val=False)
    ds = d["all"]
    assert ds.classes == info["classes"]
    # "bar" is a substring of "barn": the exact folder match keeps them apart
    barn = ds.classes.index("barn")
    names = [ds._source.relpaths[i] for i in ds.source_index]
    for rel, y in zip(names, ds.labels):
        assert ds.classes[y] == rel.split("/", 1)[1].rsplit("/", 1)[0]
    assert (ds.labels == barn).sum() == 5
    assert len(d["trainval"]) == 12 and len(d["test"]) == 8
    assert ds[0][0].mode == "RGB"


def test_voc2007_difficult_is_negative_and_first_positive(tmp_path):
    info = make_voc2007(tmp_path / "voc2007")
    d = _check_split_algebra(tmp_path, "voc2007", official_val=True)
    ds = d["all"]
    assert ds.metric == "map11" and ds.classes == list(VOC) and ds.targets.shape == (9, 20)
    order = info["images"]["train"] + info["images"]["test"] + info["images"]["val"]
    for row, y, (_, vals) in zip(ds.targets, ds.labels, order):
        positives = [VOC.index(c) for c, v in vals.items() if v == 1]
        assert sorted(np.flatnonzero(row).tolist()) == sorted(positives)
        assert y == (min(positives) if positives else 0)
    # 000005: chair positive, person difficult -> only chair
    assert ds.targets[0].sum() == 1 and ds.labels[0] == VOC.index("chair")
    # 000007: car and bird -> first positive in class order is bird
    assert ds.labels[1] == VOC.index("bird")
    # 000009: only difficult -> class 0
    assert ds.targets[2].sum() == 0 and ds.labels[2] == 0
    assert d["test"].targets.shape == (4, 20) and len(d["val"]) == 2


def test_caltech101_drops_duplicate_rows(tmp_path):
    info = make_caltech101(tmp_path / "caltech101")
    d = _check_split_algebra(tmp_path / "caltech101", "caltech101", official_val=False)
    ds = d["all"]
    assert ds.classes == info["classes"]
    assert len(d["trainval"]) == info["n_train_unique"] and len(d["test"]) == info["n_test"]
    assert ds.info["duplicates_dropped"] == info["duplicates"]


def test_imagenet_val_class_folders(tmp_path):
    info = make_imagenet_val_folders(tmp_path / "imagenet-val")
    ds = load_dataset("imagenet-val", root=tmp_path)
    assert len(ds) == info["n"] and ds.classes == info["classes"]
    assert ds.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert load_dataset("imagenet-val", "val", root=tmp_path).split == "all"
    with pytest.raises(UnknownDatasetError, match="no 'train' split"):
        load_dataset("imagenet-val", "train", root=tmp_path)


def test_imagenet_val_flat_with_and_without_labels(tmp_path):
    info = make_imagenet_val_flat(tmp_path / "a" / "imagenet-val")
    ds = load_dataset("imagenet-val", root=tmp_path / "a")
    assert ds.classes == ["1", "2", "3"]
    assert ds.labels.tolist() == [y - 1 for y in info["labels"]]
    assert _pixel(ds, 0) == colour(3, 1)
    make_imagenet_val_flat(tmp_path / "b", with_labels=False)
    unlabelled = load_dataset("imagenet-val", root=tmp_path / "b")
    assert len(unlabelled) == 6 and unlabelled.classes == ["unlabelled"]


@pytest.mark.parametrize(
    "name",
    ["aircraft", "caltech101", "cars", "cifar10", "cifar100", "dtd", "flowers", "food", "pets",
     "sun397", "voc2007", "imagenet-val"],
)  # fmt: skip
def test_missing_dataset_says_where_and_what(tmp_path, monkeypatch, name):
    monkeypatch.setenv("PED_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(MissingDatasetError) as err:
        load_dataset(name)
    msg = str(err.value)
    assert str(tmp_path / "nowhere" / name) in msg
    assert "expected" in msg and "PED_DATA" in msg


def test_unknown_names_and_splits_list_the_options():
    with pytest.raises(UnknownDatasetError, match=r"Unknown dataset 'cifar11'; choose one of"):
        load_dataset("cifar11")
    with pytest.raises(UnknownDatasetError, match=r"Unknown split 'dev'.*all, train, val"):
        load_dataset("digits", "dev")


def test_missing_image_file_is_a_clear_error(tmp_path):
    make_dtd(tmp_path / "dtd")
    ds = load_dataset("dtd", "train", root=tmp_path)
    (ds.root / "images" / "banded" / "banded_train_0.jpg").unlink()
    with pytest.raises(MissingDatasetError, match="does not exist"):
        ds[0]


def test_fingerprint_tracks_split_and_files(tmp_path):
    make_dtd(tmp_path / "dtd")
    a = load_dataset("dtd", "train", root=tmp_path)
    assert a.fingerprint() == load_dataset("dtd", "train", root=tmp_path).fingerprint()
    assert a.fingerprint() != load_dataset("dtd", "test", root=tmp_path).fingerprint()
    noise = np.random.default_rng(0).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    Image.fromarray(noise).save(a.root / "images" / "banded" / "banded_train_0.jpg", "PNG")
    assert a.fingerprint() != load_dataset("dtd", "train", root=tmp_path).fingerprint()


def test_val_seed(tmp_path):
    make_food(tmp_path / "food")
    v0 = load_dataset("food", "val", root=tmp_path).source_index
    v5 = load_dataset("food", "val", root=tmp_path, seed=5).source_index
    assert len(v0) == len(v5) == 3 and v0.tolist() != v5.tolist()
    # the reference protocol: np.random.seed(seed); np.random.shuffle(list(range(n)))
    state = np.random.get_state()
    np.random.seed(5)
    idx = list(range(15))
    np.random.shuffle(idx)
    np.random.set_state(state)
    assert v5.tolist() == sorted(idx[:3])


# --------------------------------------------------------------------------------------------
# imagefolder and csv


def test_imagefolder_flat_classes(tmp_path):
    for c, name in enumerate(["cat", "dog"]):
        for k in range(10):
            write_image(tmp_path / "pics" / name / f"{k}.png", c, k)
    (tmp_path / "pics" / "dog" / "notes.txt").write_text("not an image")
    d = {s: load_dataset(f"imagefolder:{tmp_path / 'pics'}", s) for s in SPLITS}
    assert len(d["all"]) == 20 and d["all"].classes == ["cat", "dog"]
    assert len(d["test"]) == 4 and np.bincount(d["test"].labels).tolist() == [2, 2]
    assert len(d["trainval"]) == 16 and len(d["val"]) == 3
    assert _pixel(d["all"], 11) == colour(1, 1)


def test_imagefolder_with_split_folders(tmp_path):
    base = tmp_path / "data"
    for part, n in (("train", 5), ("test", 2)):
        for c, name in enumerate(["a", "b", "c"]):
            for k in range(n):
                write_image(base / part / name / "sub" / f"{k}.jpg", c, k)
    tr = load_dataset(f"imagefolder:{base}", "trainval")
    te = load_dataset(f"imagefolder:{base}", "test")
    assert len(tr) == 15 and len(te) == 6 and te.classes == ["a", "b", "c"]
    assert len(load_dataset(f"imagefolder:{base}", "val")) == 3


def test_imagefolder_errors(tmp_path):
    with pytest.raises(MissingDatasetError, match="does not exist"):
        load_dataset(f"imagefolder:{tmp_path / 'none'}")
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    with pytest.raises(MissingDatasetError, match="holds no images"):
        load_dataset(f"imagefolder:{tmp_path / 'empty'}")


def test_csv_text_dataset(tmp_path):
    path = tmp_path / "reviews.csv"
    rows = ["body,stars"] + [f'"review {i}, fine",{i % 3 + 1}' for i in range(30)] + ["x,"]
    path.write_text("\n".join(rows) + "\n")
    ds = load_dataset(f"csv:{path}#body,stars")
    assert ds.modality == "text" and len(ds) == 30 and ds.classes == ["1", "2", "3"]
    assert ds[0] == ("review 0, fine", 0)
    assert ds.info["dropped_rows"] == 1
    assert len(load_dataset(f"csv:{path}#body,stars", "test")) == 6


def test_csv_bad_column_names_the_column_not_the_header(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("body,stars\nhello,1\n")
    with pytest.raises(UnknownDatasetError) as err:
        load_dataset(f"csv:{path}#text,stars")
    msg = str(err.value)
    assert f"CSV file {path} has no column 'text' in its header row (2 columns)" in msg
    assert "csv:<file>#<text column>,<label column>" in msg
    assert "body" not in msg
    with pytest.raises(MissingDatasetError, match="does not exist"):
        load_dataset(f"csv:{tmp_path / 'none.csv'}#a,b")
