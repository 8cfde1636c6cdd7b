"""Untrusted data files: no code runs, errors name the file but never quote it, names are names.

Covers issue 13 items 2 and 4 (data part) and issue 14 item 3: the restricted unpickler of
the CIFAR (and animal-mnist) pickles, CSV errors, dataset names that look like paths,
unreadable images in an image folder, and high-depth images.
"""

from __future__ import annotations

import gzip
import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest
from _data_fixtures import colour, make_cifar10, make_cifar100, write_image
from PIL import Image

from ped.data import UnreadableImageError, load_dataset
from ped.data._common import SOURCE_CACHE
from ped.data._images import to_rgb
from ped.data._safe_pickle import load_pickle
from ped.errors import DataFileError, MissingDatasetError, PedError, UnknownDatasetError

SECRET = "API_TOKEN=sk-live-0123456789abcdef"


@pytest.fixture(autouse=True)
def _fresh_cache():
    SOURCE_CACHE.clear()
    yield
    SOURCE_CACHE.clear()


class _RunsCommand:
    """Pickles as a call of os.system: unpickling it with pickle.load runs the command."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


# --------------------------------------------------------------------------------------------
# Pickles


def test_crafted_cifar_batch_runs_nothing_and_names_file_and_global(tmp_path):
    make_cifar10(tmp_path / "cifar10")
    marker = tmp_path / "pwned"
    batch = tmp_path / "cifar10" / "cifar-10-batches-py" / "data_batch_1"
    payload = {"data": _RunsCommand(f"touch {marker}"), "labels": [0]}
    batch.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(DataFileError) as err:
        load_dataset("cifar10", root=tmp_path)
    assert not marker.exists()
    msg = str(err.value)
    assert str(batch) in msg
    assert f"{os.system.__module__}.system" in msg  # posix.system on Linux
    assert "refuses to load" in msg and "\n" not in msg
    assert isinstance(err.value, PedError) and isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    "payload",
    [
        eval,  # a builtin other than the four containers
        {"data": OrderedDict(a=1), "labels": [0]},  # an object of another class
        {"nested": [{"deeper": (_RunsCommand("true"),)}]},
    ],
    ids=["builtins.eval", "foreign-class", "nested-call"],
)
def test_restricted_unpickler_refuses_every_other_global(tmp_path, payload):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(payload, protocol=4))
    with pytest.raises(DataFileError, match=r"x\.pkl refers to .+ which ped refuses to load"):
        load_pickle(path)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_restricted_unpickler_reads_arrays_lists_dicts_strings(tmp_path, protocol):
    data = {
        "data": np.arange(24, dtype=np.uint8).reshape(2, 12),
        "labels": [3, 1],
        "name": "training batch 1 of 5",
        "raw": b"\x00\xff",
        "shape": (2, 12),
        "float": np.linspace(0, 1, 5, dtype="<f4"),
    }
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps(data, protocol=protocol))
    back = load_pickle(path)
    assert back["labels"] == [3, 1] and back["name"] == data["name"] and back["raw"] == b"\x00\xff"
    assert back["shape"] == (2, 12)
    assert np.array_equal(back["data"], data["data"]) and back["data"].dtype == np.uint8
    assert np.array_equal(back["float"], data["float"])
    gz = tmp_path / "ok.gz"
    with gzip.open(gz, "wb") as f:
        f.write(pickle.dumps(data["data"], protocol=protocol))
    assert np.array_equal(load_pickle(gz, compressed=True), data["data"])


def test_python2_style_cifar_batch_still_loads(tmp_path):
    """CIFAR's own files were written by Python 2 (protocol 2, str keys, bytes as str)."""
    info = make_cifar10(tmp_path / "cifar10")
    d = tmp_path / "cifar10" / "cifar-10-batches-py"
    for name in ("data_batch_1", "test_batch", "batches.meta"):
        with open(d / name, "rb") as f:
            content = pickle.load(f)  # the fixture wrote these files itself
        (d / name).write_bytes(pickle.dumps(content, protocol=2))
    ds = load_dataset("cifar10", root=tmp_path)
    assert len(ds) == 25 and ds.classes[-1] == "truck"
    row = info["first_train"]
    assert ds[0][0].getpixel((0, 0)) == (row[0], row[1024], row[2048])


def test_cifar100_pickles_still_load(tmp_path):
    make_cifar100(tmp_path / "cifar100")
    ds = load_dataset("cifar100", root=tmp_path)
    assert len(ds) == 18 and ds.num_classes == 100 and ds.classes[7] == "c7"


@pytest.mark.parametrize(
    "content, match",
    [
        (b"not a pickle at all " + SECRET.encode(), "is not a readable pickle"),
        (pickle.dumps({"labels": [1]}, protocol=2), "expected a pickled dict with the keys"),
        (pickle.dumps({"data": np.zeros((2, 5), np.uint8), "labels": [0, 1]}), "3072 bytes"),
    ],
    ids=["garbage", "no-data-key", "wrong-row-size"],
)
def test_damaged_cifar_batch_is_one_clear_error(tmp_path, content, match):
    make_cifar10(tmp_path / "cifar10")
    batch = tmp_path / "cifar10" / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(content)
    with pytest.raises(DataFileError, match=match) as err:
        load_dataset("cifar10", root=tmp_path)
    assert str(batch) in str(err.value) and SECRET not in str(err.value)


# --------------------------------------------------------------------------------------------
# CSV


def test_csv_errors_never_quote_the_file(tmp_path):
    secret = tmp_path / "secrets.env"
    secret.write_text(SECRET + "\nDB_PASSWORD=hunter2\n")
    with pytest.raises(UnknownDatasetError) as err:
        load_dataset(f"csv:{secret}#text,label")
    msg = str(err.value)
    assert str(secret) in msg and "has no column 'text'" in msg
    assert "csv:<file>#<text column>,<label column>" in msg
    assert "sk-live" not in msg and "API_TOKEN" not in msg and "hunter2" not in msg


def test_csv_binary_file_is_one_clear_error(tmp_path):
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"text,label\n" + bytes(range(256)) * 8)
    with pytest.raises(DataFileError) as err:
        load_dataset(f"csv:{binary}")
    msg = str(err.value)
    assert msg.startswith(f"CSV file {binary} is not UTF-8 text") and "\\x" not in msg
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("text,label\ncaf\xe9 cr\xe8me,1\n".encode("latin1"))
    with pytest.raises(DataFileError, match="is not UTF-8 text"):
        load_dataset(f"csv:{latin1}")


def test_csv_unparsable_and_empty_files(tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text(f'text,label\n"{SECRET},1\nmore,2\n')
    with pytest.raises(DataFileError, match=r"cannot be parsed near line \d+") as err:
        load_dataset(f"csv:{broken}")
    assert SECRET not in str(err.value)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataFileError, match="is empty"):
        load_dataset(f"csv:{empty}")
    with pytest.raises(DataFileError, match="is not a regular file"):
        load_dataset(f"csv:{tmp_path}#a,b")


def test_csv_records_empty_labels_and_empty_texts(tmp_path):
    path = tmp_path / "r.csv"
    rows = ["text,label", "good,a", ",b", "fine,", "ok,  ", "   ,a", "nice,b"]
    path.write_text("\n".join(rows) + "\n")
    ds = load_dataset(f"csv:{path}")
    assert len(ds) == 4 and ds.classes == ["a", "b"]
    assert ds.info["dropped_rows"] == 2
    assert ds.info["skipped"] == [
        {"item": "row 3", "reason": "empty label"},
        {"item": "row 4", "reason": "empty label"},
    ]
    assert ds.info["empty_text_rows"] == [2, 5]
    assert [ds[i][0] for i in range(4)] == ["good", "", "   ", "nice"]


# --------------------------------------------------------------------------------------------
# Names


@pytest.mark.parametrize(
    "name", ["../cifar10", "cifar10/../../etc", "/etc/passwd", "..", "~/data", "a\\b"]
)
def test_dataset_names_are_not_paths(name):
    with pytest.raises(UnknownDatasetError, match="looks like a path") as err:
        load_dataset(name)
    assert "imagefolder:<dir> or csv:<file>" in str(err.value)


def test_unknown_spec_kind_is_named():
    with pytest.raises(UnknownDatasetError, match=r"Unknown dataset kind 'folder:'"):
        load_dataset("folder:x")


# --------------------------------------------------------------------------------------------
# Image folders: unreadable files, skip_bad, high-depth images


def _folder_with_bad_files(base):
    for c, name in enumerate(["cat", "dog"]):
        for k in range(6):
            write_image(base / name / f"{k}.png", c, k)
    good = base / "cat" / "0.png"
    Image.new("RGB", (64, 64), (200, 10, 10)).save(base / "dog" / "photo.jpg", "JPEG")
    whole = (base / "dog" / "photo.jpg").read_bytes()
    (base / "dog" / "photo.jpg").write_bytes(whole[: len(whole) // 2])
    (base / "cat" / "notes.png").write_text(SECRET)
    return good


def test_unreadable_image_is_one_line_naming_the_file(tmp_path):
    base = tmp_path / "pics"
    _folder_with_bad_files(base)
    ds = load_dataset(f"imagefolder:{base}")
    assert len(ds) == 14
    bad = {ds._source.relpaths[i]: i for i in range(len(ds))}  # source order = all order
    with pytest.raises(UnreadableImageError) as err:
        ds[bad["cat/notes.png"]]
    msg = str(err.value)
    assert msg.startswith(f"Image file {base / 'cat' / 'notes.png'} cannot be read: not an image")
    assert "?skip_bad=1" in msg and "\n" not in msg and "sk-live" not in msg
    with pytest.raises(UnreadableImageError, match=r"photo\.jpg cannot be read: truncated"):
        ds[bad["dog/photo.jpg"]]
    assert isinstance(err.value, PedError) and isinstance(err.value, ValueError)


def test_skip_bad_leaves_unreadable_files_out_and_counts_them(tmp_path):
    base = tmp_path / "pics"
    _folder_with_bad_files(base)
    ds = load_dataset(f"imagefolder:{base}?skip_bad=1")
    assert len(ds) == 12 and ds.classes == ["cat", "dog"]
    assert ds.spec == f"imagefolder:{base}?skip_bad=1" and ds.root == base
    assert sorted(ds.info["skipped"], key=lambda s: s["item"]) == [
        {"item": "cat/notes.png", "reason": "not an image in a format PIL reads"},
        {"item": "dog/photo.jpg", "reason": "truncated"},
    ]
    assert all(ds[i][0].mode == "RGB" for i in range(len(ds)))
    plain = load_dataset(f"imagefolder:{base}?skip_bad=0")
    assert len(plain) == 14 and plain.info["skipped"] == []
    assert ds.fingerprint() != plain.fingerprint()


def test_folder_options_are_checked(tmp_path):
    base = tmp_path / "pics"
    write_image(base / "a" / "0.png", 0, 0)
    with pytest.raises(UnknownDatasetError, match=r"Unknown option 'skipbad=1'.*skip_bad"):
        load_dataset(f"imagefolder:{base}?skipbad=1")
    with pytest.raises(UnknownDatasetError, match=r"must be 1 or 0, got 'maybe'"):
        load_dataset(f"imagefolder:{base}?skip_bad=maybe")
    odd = tmp_path / "what?now"  # a '?' without key=value stays part of the folder name
    write_image(odd / "a" / "0.png", 0, 0)
    assert len(load_dataset(f"imagefolder:{odd}")) == 1


def test_empty_class_folder_is_left_out_and_named(tmp_path):
    base = tmp_path / "pics"
    for c, name in enumerate(["ant", "cow"]):
        for k in range(5):
            write_image(base / name / f"{k}.png", c, k)
    (base / "bee").mkdir()
    (base / "bee" / "readme.txt").write_text("no images here")
    ds = load_dataset(f"imagefolder:{base}")
    assert ds.classes == ["ant", "cow"] and np.bincount(ds.labels).tolist() == [5, 5]
    assert ds.info["empty_class_folders"] == ["bee"]
    assert ds[7][0].getpixel((0, 0)) == colour(1, 2)
    only_bad = tmp_path / "bad"
    (only_bad / "x").mkdir(parents=True)
    (only_bad / "x" / "1.png").write_text("x")
    with pytest.raises(MissingDatasetError, match="holds no readable images"):
        load_dataset(f"imagefolder:{only_bad}?skip_bad=1")


def test_sixteen_bit_png_keeps_its_gradient(tmp_path):
    ramp = (np.arange(256, dtype=np.uint32) * 257).astype(np.uint16)  # 0 .. 65535
    grad = np.tile(ramp, (4, 1))
    base = tmp_path / "pics"
    (base / "a").mkdir(parents=True)
    Image.fromarray(grad).save(base / "a" / "ramp.png")
    with Image.open(base / "a" / "ramp.png") as im:
        assert im.mode == "I;16"  # what a 16-bit grey PNG opens as
    img, _ = load_dataset(f"imagefolder:{base}")[0]
    row = np.asarray(img)[0, :, 0]
    assert img.mode == "RGB"
    assert row.tolist() == list(range(256))  # PIL's convert("RGB") gives 0, then 255 x 255
    assert (np.asarray(img) == 255).mean() < 0.01


@pytest.mark.parametrize(
    "mode, values, expected",
    [
        ("I;16", np.array([[0, 32768, 65535]], np.uint16), [0, 128, 255]),
        ("I", np.array([[0, 1000, 65535]], np.int32), [0, 4, 255]),
        ("I", np.array([[-10, 0, 10]], np.int32), [0, 128, 255]),  # outside 16 bits: stretched
        ("F", np.array([[0.0, 0.5, 1.0]], np.float32), [0, 128, 255]),
        ("F", np.array([[-2.0, np.nan, 2.0]], np.float32), [0, 0, 255]),
        ("F", np.array([[3.0, 3.0, 3.0]], np.float32), [0, 0, 0]),
        ("L", np.array([[0, 7, 255]], np.uint8), [0, 7, 255]),
    ],
)
def test_high_depth_modes_are_rescaled_not_clipped(mode, values, expected):
    im = Image.fromarray(values)
    assert im.mode == mode
    out = to_rgb(im)
    assert out.mode == "RGB" and np.asarray(out)[0, :, 1].tolist() == expected


# --------------------------------------------------------------------------------------------
# List files of the paper's datasets


def test_damaged_list_files_are_named_not_quoted(tmp_path):
    from _data_fixtures import make_dtd, make_pets

    make_pets(tmp_path / "pets")
    test_list = tmp_path / "pets" / "oxford-iiit-pet" / "annotations" / "test.txt"
    lines = test_list.read_text().splitlines()
    test_list.write_text("\n".join([*lines[:3], f"image_x {SECRET}", *lines[3:]]) + "\n")
    with pytest.raises(DataFileError, match=r"test\.txt, entry 2, does not read as") as err:
        load_dataset("pets", root=tmp_path)
    assert "sk-live" not in str(err.value)
    make_dtd(tmp_path / "dtd")
    (tmp_path / "dtd" / "dtd" / "labels" / "val1.txt").write_bytes(b"\xff\xfe" + bytes(range(256)))
    with pytest.raises(DataFileError, match=r"val1\.txt is not a UTF-8 text file"):
        load_dataset("dtd", root=tmp_path)


def test_describe_dataset_tells_user_data_from_built_ins():
    from ped.data import describe_dataset

    assert describe_dataset("animal-mnist").startswith("10000 animal silhouettes")
    with pytest.raises(UnknownDatasetError, match=r"'csv:x\.csv' is user data, not one of"):
        describe_dataset("csv:x.csv")
