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

    assert ResultsDB(tmp_path / "r.sqlite").schema_version == SCHEMA_VERSION == 2


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
    with pytest.raises(StoreError, match=r"schema version 7, newer than the 2 this ped knows"):
        ResultsDB(path)


def _version_1_file(path):
    """A version-1 database (as the release before NaN storage wrote it), with rows."""
    import sqlite3

    from ped.store.schema import MIGRATIONS

    con = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](con)
    con.execute("PRAGMA user_version = 1")
    con.execute(
        "INSERT INTO scores (model, dataset, name, params, value, seconds, created) "
        "VALUES ('m', 'd', 'logme', '{}', 1.5, 0.1, 0.0)"
    )
    con.execute(
        "INSERT INTO points (config_hash, model, dataset, protocol, phase, score, metric, "
        "seconds, config, versions, created) VALUES ('h0', 'm', 'd', 'full', 'val', 50.0, "
        "'accuracy', 1.0, '{}', '{}', 0.0)"
    )
    # what version 1 did with a NaN: refused (scores) or silently dropped (points)
    with pytest.raises(sqlite3.IntegrityError):
        con.execute(
            "INSERT INTO scores (model, dataset, name, params, value, created) "
            "VALUES ('m', 'd', 'sfda', '{}', ?, 0.0)",
            (float("nan"),),
        )
    con.close()


def test_version_1_file_migrates_to_2_keeping_its_rows(tmp_path):
    path = tmp_path / "v1.sqlite"
    _version_1_file(path)
    db = ResultsDB(path)
    assert db.schema_version == 2
    assert db.scores("d") == {"logme": {"m": 1.5}}
    assert db.point("h0")["score"] == 50.0 and db.point("h0")["reason"] is None
    db.record_score("m", "d", "sfda", float("nan"), reason="features are constant")
    assert db.score_reasons("d") == {"sfda": {"m": "features are constant"}}
    assert db.prior("m") is None


def test_nan_score_is_stored_with_its_reason_and_read_as_nan(db):
    import math

    db.record_score("m1", "d", "sfda", float("nan"), {"a": 1}, reason="constant features")
    db.record_score("m2", "d", "sfda", 2.0, {"a": 1})
    db.record_score("m3", "d", "leep", None, reason="no source classifier")
    got = db.scores("d")
    assert math.isnan(got["sfda"]["m1"]) and got["sfda"]["m2"] == 2.0
    assert db.score_reasons("d") == {
        "sfda": {"m1": "constant features"},
        "leep": {"m3": "no source classifier"},
    }
    found = db.lookup_scores("m1", "d", {"sfda": {"a": 1}, "logme": {}})
    assert list(found) == ["sfda"] and found["sfda"].reason == "constant features"
    db.record_score("m1", "d", "sfda", 3.0, {"a": 1})  # a value later replaces the reason
    assert db.score_reasons("d") == {"leep": {"m3": "no source classifier"}}


def test_nan_grid_point_is_stored_not_dropped(db):
    assert _point(db, "h1", float("nan")) is True
    row = db.point("h1")
    assert row["score"] is None and "not a finite number" in row["reason"]
    assert [r["config_hash"] for r in db.points()] == ["h1"]


def test_prior_round_trip(db):
    db.record_prior("zoo:a", 1234, 75.1)
    db.record_prior("zoo:b", None, None)
    assert db.prior("zoo:a") == {"params": 1234, "imagenet_top1": 75.1}
    assert db.prior("zoo:b") == {"params": None, "imagenet_top1": None}
