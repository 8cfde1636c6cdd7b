"""`ped.data.summarize`: a cheap look at the data and its warnings (issue 14 item 4)."""

from __future__ import annotations

import json

import pytest
from _data_fixtures import write_image
from PIL import Image

from ped.data import DatasetSummary, load_dataset, summarize
from ped.data._common import SOURCE_CACHE


@pytest.fixture(autouse=True)
def _fresh_cache():
    SOURCE_CACHE.clear()
    yield
    SOURCE_CACHE.clear()


def _no_decoding(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("summarize decoded an image")

    monkeypatch.setattr(Image, "open", refuse)


def test_balanced_dataset_has_counts_and_no_warnings(monkeypatch):
    ds = load_dataset("digits")
    _no_decoding(monkeypatch)
    s = summarize(ds)
    assert isinstance(s, DatasetSummary)
    assert (s.items, s.total_items, s.num_classes, s.limit) == (1797, 1797, 10, None)
    assert s.smallest == ("8", 174) and s.largest == ("3", 183)  # sklearn's digit counts
    assert sum(s.class_counts.values()) == 1797
    assert s.warnings == [] and s.skipped == []
    assert s.lines() == [
        "digits [all]: 1797 image items, 10 classes",
        "smallest class '8' (174), largest '3' (183)",
    ]
    assert summarize("digits", limit=100).lines()[1] == "every class has 10 items"
    json.dumps(s.as_dict())


def test_limit_below_the_number_of_classes_warns():
    s = summarize("digits", limit=5)
    assert s.items == 5 and s.total_items == 1797 and s.limit == 5
    assert sorted(s.class_counts.values()) == [0] * 5 + [1] * 5
    text = "\n".join(s.warnings)
    assert "5 classes have a single item" in text
    assert "10 classes for 5 items: more classes than half the items" in text
    assert "5 classes have no item in the first 5 items" in text
    assert s.lines()[0] == "digits [all]: 5 image items (first 5 of 1797), 10 classes"
    assert summarize("digits", limit=5000).limit is None
    with pytest.raises(ValueError, match="at least 1 item, got 0"):
        summarize("digits", limit=0)


def test_image_folder_warnings_name_folders_and_files(tmp_path, monkeypatch):
    base = tmp_path / "pics"
    for name, n in (("ant", 12), ("bee", 3), ("cow", 1)):
        for k in range(n):
            write_image(base / name / f"{k}.png", 0, k)
    (base / "dog").mkdir()
    (base / "ant" / "broken.jpg").write_text("not a jpeg")
    ds = load_dataset(f"imagefolder:{base}?skip_bad=1")
    _no_decoding(monkeypatch)
    s = summarize(ds)
    assert s.class_counts == {"ant": 12, "bee": 3, "cow": 1}
    assert s.smallest == ("cow", 1) and s.largest == ("ant", 12)
    assert s.skipped == [{"item": "ant/broken.jpg", "reason": "not an image in a format PIL reads"}]
    assert s.warnings == [
        "2 classes have fewer than 5 items: 'bee' (3), 'cow' (1).",
        "1 class has a single item (no within-class spread can be estimated): 'cow'.",
        "1 unreadable file skipped (first: ant/broken.jpg, not an image in a format PIL reads).",
        "1 class folder with no image left out: dog/.",
    ]
    assert "skipped 1: 1 not an image in a format PIL reads" in s.lines()


def test_csv_rows_with_empty_label_or_text_are_reported(tmp_path):
    path = tmp_path / "reviews.csv"
    rows = ["text,label"] + [f"review {i},{'good' if i % 2 else 'bad'}" for i in range(20)]
    rows[3] = "review 2,"  # data row 3: empty label
    rows[8] = ",good"  # data row 8: empty text
    rows[15] = "review 14,   "  # data row 15: blank label
    path.write_text("\n".join(rows) + "\n")
    s = summarize(f"csv:{path}")
    assert s.items == 18 and s.modality == "text"
    assert [x["item"] for x in s.skipped] == ["row 3", "row 15"]
    assert s.warnings == [
        "2 CSV rows with an empty label dropped (data rows 3, 15).",
        "1 CSV row with an empty text kept as '' (data rows 8).",
    ]


def test_one_item_per_class_label_column(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("text,label\n" + "".join(f"text {i},id{i}\n" for i in range(300)))
    s = summarize(f"csv:{path}")
    assert s.num_classes == 300 and s.items == 300
    assert s.warnings[0].startswith("300 classes have fewer than 5 items: 'id0' (1), ")
    assert s.warnings[0].endswith("and 295 more.")
    assert s.warnings[1].startswith("300 classes have a single item")
    assert s.warnings[2].startswith("300 classes for 300 items: more classes than half")


def test_summary_of_a_split_counts_only_that_split():
    test = load_dataset("digits", "test")
    s = summarize(test)
    assert s.split == "test" and s.items == len(test) == sum(s.class_counts.values())
