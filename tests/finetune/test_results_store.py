"""The results database: rows, ground-truth sources, scores, and concurrent writers."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

import pytest

from ped.errors import StoreError
from ped.store import PUBLISHED_SOURCES, ResultsDB, published_ground_truth


@pytest.fixture
def db(tmp_path):
    return ResultsDB(tmp_path / "results.sqlite")


def _point(db, key, score=50.0, **kw):
    return db.record_point(
        key,
        model="m",
        dataset="d",
        protocol="full",
        score=score,
        metric="accuracy",
        seconds=1.5,
        lr=0.1,
        w=0.0,
        wd=0.0,
        **kw,
    )


def test_point_is_recorded_once_and_read_back(db):
    assert _point(db, "h1", 50.0, config={"lr": 0.1}) is True
    assert _point(db, "h1", 99.0) is False  # second write of a finished point is ignored
    row = db.point("h1")
    assert row["score"] == 50.0
    assert row["config"] == {"lr": 0.1}
    assert "torch" in row["versions"] and "python" in row["versions"]
    assert db.point("missing") is None
    assert [r["config_hash"] for r in db.points(model="m")] == ["h1"]
    assert db.points(model="other") == []


def test_wal_mode_and_default_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PED_HOME", str(tmp_path / "home"))
    db = ResultsDB()
    assert db.path == tmp_path / "home" / "results.sqlite"
    mode = db._connection().execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_not_a_database_raises_store_error(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="Cannot open the results database|bad.sqlite"):
        ResultsDB(bad)


def test_sweep_writes_ground_truth_under_its_protocol(db):
    db.record_sweep(
        "s1",
        model="m1",
        dataset="d",
        protocol="linear",
        best={"c": 1.0},
        val_score=80.0,
        test_score=75.0,
        metric="accuracy",
        seconds=3.0,
    )
    db.record_sweep(
        "s2",
        model="m2",
        dataset="d",
        protocol="linear",
        best={"c": 0.1},
        val_score=70.0,
        test_score=65.0,
        metric="accuracy",
        seconds=3.0,
    )
    assert db.ground_truth("linear", "d") == {"m1": 75.0, "m2": 65.0}
    assert db.sweep("s1")["best_c"] == 1.0
    assert ("linear", "d", 2, "accuracy") in db.truth_sources()
    assert db.truth_sources(dataset="d") == [("linear", "d", 2, "accuracy")]


def test_published_sources_match_the_packaged_json(db):
    raw = json.loads(
        resources.files("ped").joinpath("_resources/finetune_accuracy.json").read_text()
    )
    truth = db.ground_truth("published:supervised_imagenet", "cifar10")
    assert truth == raw["supervised_imagenet"]["accuracy"]["cifar10"]
    assert db.ground_truth("published:self_supervised_resnet50", "aircraft")["byol"] == 82.1
    sources = {(s, d): (n, m) for s, d, n, m in db.truth_sources()}
    assert sources[("published:self_supervised_resnet50", "aircraft")] == (
        12,
        "mean_per_class_accuracy",
    )
    assert sources[("published:supervised_imagenet", "voc2007")][1] == "map11"
    assert set(published_ground_truth()) == set(PUBLISHED_SOURCES)
    with pytest.raises(ValueError, match="got 'published:mine'"):
        db.record_truth("published:mine", "d", {"m": 1.0}, metric="accuracy")


def test_scores_latest_wins_and_filter_by_name(db):
    db.record_score("m1", "d", "logme", 1.0, {"a": 1}, 0.1)
    db.record_score("m1", "d", "logme", 2.0, {"a": 1}, 0.1)  # same inputs: replaced
    db.record_score("m2", "d", "logme", 3.0, {"a": 1}, 0.1)
    db.record_score("m1", "d", "sfda", 4.0)
    assert db.scores("d") == {"logme": {"m1": 2.0, "m2": 3.0}, "sfda": {"m1": 4.0}}
    assert db.scores("d", names=["sfda"]) == {"sfda": {"m1": 4.0}}
    assert db.scores("d", params={"a": 1}) == {"logme": {"m1": 2.0, "m2": 3.0}}
    assert db.scores("other") == {}


_WRITER = """
import sys
from ped.store import ResultsDB
db = ResultsDB(sys.argv[1])
w = int(sys.argv[2])
for i in range(60):
    db.record_point(f"{w}-{i}", model=f"m{w}", dataset="d", protocol="full", score=i,
                    metric="accuracy", seconds=0.0, versions={})
    db.record_score(f"m{w}", "d", f"s{i}", float(i))
"""


@pytest.mark.slow
def test_concurrent_writers_lose_no_row(tmp_path):
    path = tmp_path / "shared.sqlite"
    ResultsDB(path)
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(w)]) for w in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    db = ResultsDB(path)
    assert len(db.points()) == 4 * 60
    assert len({r["config_hash"] for r in db.points()}) == 240
    scores = db.scores("d")
    assert len(scores) == 60 and all(len(v) == 4 for v in scores.values())


# ----------------------------------------------------------------- schema version


def _today_file(path):
    """A database as the code before schema versions wrote it (user_version 0), with a row."""
    import sqlite3

    from ped.store.schema import TABLES

    con = sqlite3.connect(path)
    con.executescript(TABLES)
    con.execute("INSERT INTO ground_truth VALUES ('full', 'cifar10', 'm', 91.5, 'accuracy', 0.0)")
    con.commit()
    assert con.execute("PRAGMA user_version").fetchone()[0] == 0
    con.close()


def test_new_file_has_the_current_schema_version(tmp_path):
    from ped.store import SCHEMA_VERSION

    assert ResultsDB(tmp_path / "r.sqlite").schema_version == SCHEMA_VERSION == 1


def test_unversioned_file_is_migrated_in_place(tmp_path):
    from ped.store import SCHEMA_VERSION

    path = tmp_path / "old.sqlite"
    _today_file(path)
    db = ResultsDB(path)
    assert db.schema_version == SCHEMA_VERSION
    assert db.ground_truth("full", "cifar10") == {"m": 91.5}
    assert _point(db, "h1") is True  # and it is writable as before
    assert ResultsDB(path).schema_version == SCHEMA_VERSION  # opening again changes nothing


def test_newer_schema_is_a_clear_error(tmp_path):
    import sqlite3

    path = tmp_path / "new.sqlite"
    ResultsDB(path).close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 7")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match=r"schema version 7, newer than the 1 this ped knows"):
        ResultsDB(path)
