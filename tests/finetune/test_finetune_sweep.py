"""Fine-tuning sweeps on a tiny fake backbone and dataset: stored, resumable, killable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ped.finetune import (
    DEFAULT_CS,
    DEFAULT_LRS,
    DEFAULT_WS,
    compute_metric,
    finetune,
    resolve_splits,
    select_best,
    train_and_score,
)
from ped.store import ResultsDB

from . import fakes

pytestmark = pytest.mark.slow  # sweeps, killed subprocesses: the full `make test` tier

GRID = {"lrs": [0.1, 0.01], "ws": [0.0, 1e-4], "steps": 6, "batch_size": 16}


@pytest.fixture(autouse=True)
def _reset_calls():
    fakes.CALLS["forward"] = 0


def test_default_grid_is_the_published_one():
    assert DEFAULT_LRS == (0.1, 0.01, 0.001, 0.0001)
    assert DEFAULT_WS == (0.0, 1e-6, 1e-5, 1e-4, 1e-3)
    np.testing.assert_allclose(DEFAULT_CS, np.logspace(-6, 5, 12))


def test_metrics_on_hand_cases():
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [1.0, 0.0]])
    labels = np.array([0, 1, 1, 1])
    assert compute_metric("accuracy", logits, labels) == pytest.approx(50.0)
    # class 0: 1/1, class 1: 1/3 -> mean 2/3
    assert compute_metric("mean_per_class_accuracy", logits, labels) == pytest.approx(200 / 3)
    # perfect ranking in both columns -> every interpolated precision is 1
    targets = np.array([[1, 0], [0, 1], [1, 0], [1, 0]])
    assert compute_metric("map11", logits, labels, targets) == pytest.approx(100.0)
    # the positive ranked last: precision 1/3 at recall 1 for t = 0.1 .. 1, and at t = 0 the
    # (precision 1, recall 0) end point sklearn appends: (1 + 10 / 3) / 11 = 13 / 33
    scores = np.array([[0.9], [0.8], [0.1]])
    truth = np.array([[0], [0], [1]])
    assert compute_metric("map11", scores, truth[:, 0], truth) == pytest.approx(1300 / 33)
    with pytest.raises(ValueError, match="got 'top5'"):
        compute_metric("top5", logits, labels)


def test_holdout_rule_without_val_and_union_with_val():
    s = resolve_splits(fakes.image_splits(50, 10), seed=0)
    assert (len(s.train), len(s.val), len(s.trainval)) == (40, 10, 50)
    assert s.val_rule == "holdout"
    idx = list(range(50))
    np.random.RandomState(0).shuffle(idx)  # ssl-transfer: np.random.seed(0); shuffle
    assert sorted(s.val.indices.tolist()) == sorted(idx[:10])
    s2 = resolve_splits(fakes.image_splits(50, 10, official_val=True))
    assert (len(s2.train), len(s2.val), len(s2.trainval)) == (50, 10, 60)
    assert s2.val_rule == "official"
    assert s2.trainval.labels.tolist() == s2.train.labels.tolist() + s2.val.labels.tolist()


def test_training_learns_the_toy_task():
    s = resolve_splits(fakes.image_splits(96, 48))
    score = train_and_score(
        fakes.FakeBackbone(),
        s.train,
        s.val,
        num_classes=3,
        metric="accuracy",
        lr=0.1,
        w=0.0,
        steps=40,
        batch_size=16,
    )
    assert score > 80.0


def test_grid_is_stored_and_rerun_does_no_work(tmp_path):
    db = ResultsDB(tmp_path / "r.sqlite")
    seen = []
    res = finetune(
        fakes.FakeBackbone(),
        fakes.image_splits(),
        db=db,
        progress=lambda d, t, **kw: seen.append((d, t, kw["phase"])),
        **GRID,
    )
    assert res.n_computed == 5
    assert [(v["lr"], v["w"]) for v in res.val_scores] == [
        (0.1, 0.0),
        (0.1, 1e-4),
        (0.01, 0.0),
        (0.01, 1e-4),
    ]
    assert [v["wd"] for v in res.val_scores] == [0.0, pytest.approx(1e-3), 0.0, pytest.approx(1e-2)]
    assert seen[-1] == (5, 5, "test")
    best = max(res.val_scores, key=lambda v: v["score"])  # first maximum wins (strict >)
    assert (res.best["lr"], res.best["w"]) == (best["lr"], best["w"])
    rows = db.points(model=res.model, protocol="full")
    assert sorted(r["phase"] for r in rows) == ["test", "val", "val", "val", "val"]
    assert {r["steps"] for r in rows} == {6}
    assert db.ground_truth("full", "custom") == {res.model: res.test_score}
    assert 0.0 <= res.test_score <= 100.0

    fakes.CALLS["forward"] = 0
    again = finetune(fakes.FakeBackbone(), fakes.image_splits(), db=db, **GRID)
    assert again.n_computed == 0 and fakes.CALLS["forward"] == 0
    assert all(v["cached"] for v in again.val_scores)
    assert again.val_scores == [{**v, "cached": True} for v in res.val_scores]
    assert again.test_score == res.test_score
    assert len(db.points()) == 5

    # a different budget is a different point: it runs
    more = finetune(fakes.FakeBackbone(), fakes.image_splits(), db=db, **{**GRID, "steps": 7})
    assert more.n_computed == 5


def test_same_seed_same_scores_in_fresh_databases(tmp_path):
    a = finetune(fakes.FakeBackbone(), fakes.image_splits(), db=tmp_path / "a.sqlite", **GRID)
    b = finetune(fakes.FakeBackbone(), fakes.image_splits(), db=tmp_path / "b.sqlite", **GRID)
    assert [v["score"] for v in a.val_scores] == [v["score"] for v in b.val_scores]
    assert a.test_score == b.test_score


def test_linear_protocol_and_text_fallback(tmp_path):
    db = ResultsDB(tmp_path / "r.sqlite")
    res = finetune(
        fakes.FakeBackbone(), fakes.image_splits(), protocol="linear", db=db, cs=[0.01, 1.0, 100.0]
    )
    assert res.protocol == "linear" and res.steps is None
    assert [v["c"] for v in res.val_scores] == [0.01, 1.0, 100.0]
    assert all(v["lr"] is None for v in res.val_scores)
    assert res.best["c"] in (0.01, 1.0, 100.0) and res.n_computed == 4
    assert (
        finetune(
            fakes.FakeBackbone(),
            fakes.image_splits(),
            protocol="linear",
            db=db,
            cs=[0.01, 1.0, 100.0],
        ).n_computed
        == 0
    )

    text = finetune(fakes.FakeTextBackbone(), fakes.text_splits(), db=db, cs=[0.1, 10.0], **GRID)
    assert text.requested_protocol == "full" and text.protocol == "linear"
    assert "linear protocol ran instead" in text.notes[0]
    assert text.test_score == pytest.approx(100.0)  # the words give the label away
    # a fallback counts as the ground truth of the protocol that was asked for
    assert db.ground_truth("full", "custom")["fake:text"] == text.test_score


def test_bad_arguments_raise(tmp_path):
    with pytest.raises(ValueError, match="got 'fast'"):
        finetune(
            fakes.FakeBackbone(), fakes.image_splits(), protocol="fast", db=tmp_path / "r.sqlite"
        )
    with pytest.raises(ValueError, match="got 0"):
        finetune(fakes.FakeBackbone(), fakes.image_splits(), steps=0, db=tmp_path / "r.sqlite")
    with pytest.raises(ValueError, match="got keys"):
        finetune(fakes.FakeBackbone(), {"train": fakes.FakeImages(8)}, db=tmp_path / "r.sqlite")


_CHILD = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("fakes", sys.argv[1])
fakes = importlib.util.module_from_spec(spec); spec.loader.exec_module(fakes)
from ped.finetune import finetune
finetune(fakes.FakeBackbone(sleep=float(sys.argv[3])), fakes.image_splits(), db=sys.argv[2],
         lrs=[0.1, 0.01], ws=[0.0, 1e-4], steps=6, batch_size=16)
"""


def test_killed_sweep_resumes_where_it_stopped(tmp_path):
    path = tmp_path / "r.sqlite"
    ResultsDB(path)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, fakes.__file__, str(path), "0.1"])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(ResultsDB(path).points()) >= 1:
                break
            assert child.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    done = len(ResultsDB(path).points())
    assert 1 <= done < 5

    res = finetune(fakes.FakeBackbone(), fakes.image_splits(), db=path, **GRID)
    assert res.n_computed == 5 - done
    assert sum(not v["cached"] for v in res.val_scores) == 4 - done
    assert len(ResultsDB(path).points()) == 5
    # and the resumed sweep equals one that was never interrupted
    fresh = finetune(fakes.FakeBackbone(), fakes.image_splits(), db=tmp_path / "f.sqlite", **GRID)
    assert [v["score"] for v in res.val_scores] == [v["score"] for v in fresh.val_scores]
    assert res.test_score == fresh.test_score


def test_fakes_path_is_a_file():
    assert Path(fakes.__file__).is_file()


def test_select_best_is_strict_and_starts_from_zero():
    assert select_best([("a", 50.0), ("b", 70.0), ("c", 70.0)]) == ("b", 70.0)
    assert select_best([("a", 0.0), ("b", -1.0)]) == ("a", 0.0)
    assert select_best([("a", -5.0), ("b", 10.0)]) == ("b", 10.0)


def test_nan_grid_point_is_stored_and_rerun_does_no_work(tmp_path, monkeypatch):
    """Issue 13 item 5: a diverged point (NaN) was dropped by INSERT OR IGNORE, then the
    sweep crashed; now it is stored with its reason, never chosen, and not run again."""
    import math

    from ped.finetune import jobs

    real = jobs.train_and_score

    def diverges_at_high_lr(*args, **kw):
        return float("nan") if kw["lr"] == 0.1 else real(*args, **kw)

    monkeypatch.setattr(jobs, "train_and_score", diverges_at_high_lr)
    db = ResultsDB(tmp_path / "r.sqlite")
    res = finetune(fakes.FakeBackbone(), fakes.image_splits(), db=db, **GRID)
    scores = [v["score"] for v in res.val_scores]
    assert [math.isnan(s) for s in scores] == [True, True, False, False]
    assert res.best["lr"] == 0.01 and math.isfinite(res.test_score)
    stored = [r for r in db.points() if r["lr"] == 0.1]
    assert len(stored) == 2 and all("not a finite number" in r["reason"] for r in stored)
    again = finetune(fakes.FakeBackbone(), fakes.image_splits(), db=db, **GRID)
    assert again.n_computed == 0
