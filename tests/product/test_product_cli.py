"""The product commands: JSON outputs parse, and user errors are one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _product_fakes import SEPS, FakeData
from test_product_reproduce import _write_standins

from ped import evaluation as ev
from ped.cli import main
from ped.store import ResultsDB


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PED_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PED_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def _run(capsys, *argv):
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_rank_json_and_csv_and_plot(home, monkeypatch, capsys):
    FakeData(SEPS).install(monkeypatch)
    csv, png = home / "r.csv", home / "r.png"
    rc, out, err = _run(
        capsys,
        "rank",
        "fake-target",
        *SEPS,
        "-s",
        "logme",
        "-s",
        "ped+logme",
        "--json",
        "--csv",
        str(csv),
        "--plot",
        str(png),
        "-q",
    )
    assert rc == 0, err
    data = json.loads(out)
    assert [r["model"] for r in data["ranking"]] == list(SEPS)
    assert data["scores"] == ["logme", "ped+logme"]
    assert "'imagenet-val' is not on this machine" in data["warnings"][0]
    assert "note: PED reference:" in err  # never silent, even with --json
    assert csv.read_text().splitlines()[0].startswith("model,logme,rank[logme],ped+logme")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_rank_table_shows_notice_and_flags(home, monkeypatch, capsys):
    FakeData({"fake:a": 40.0, "fake:b": 35.0}).install(monkeypatch)
    rc, out, err = _run(capsys, "rank", "fake-target", "fake:a", "fake:b", "-s", "sfda", "-q")
    assert rc == 0, err
    assert "fake:a" in out and "#1=*" in out
    assert "note: PED reference" not in out  # no PED score asked: no reference needed
    assert "sfda is saturated (at its bound 1.0) for fake:a, fake:b" in " ".join(out.split())
    assert "tied for best by sfda: fake:a, fake:b" in out


def test_evaluate_json_matches_direct(home, capsys):
    db = ResultsDB()
    models = ["zoo:a", "zoo:b", "zoo:c", "zoo:d"]
    truth = dict(zip(models, [90.0, 80.0, 85.0, 60.0]))
    logme = dict(zip(models, [3.0, 1.0, 2.0, 0.5]))
    ped_logme = dict(zip(models, [3.0, 2.5, 2.0, 0.5]))
    for m in models:
        db.record_score(m, "toy", "logme", logme[m])
        db.record_score(m, "toy", "ped+logme", ped_logme[m])
    db.record_truth("linear", "toy", truth, metric="accuracy")
    rc, out, err = _run(capsys, "evaluate", "toy", "--json", "--n-boot", "50")
    assert rc == 0, err
    data = json.loads(out)
    assert data["truth_source"] == "linear"
    assert data["scores"]["logme"]["metrics"]["weighted_tau"] == pytest.approx(
        ev.weighted_tau(logme, truth)
    )
    assert data["scores"]["ped+logme"]["metrics"]["pearson"] == pytest.approx(
        ev.pearson(ped_logme, truth)
    )
    assert data["pairs"][0]["score"] == "logme"
    rc, out, err = _run(capsys, "evaluate", "toy", "--n-boot", "0")
    assert rc == 0 and "with PED" in out and "logme" in out


def test_evaluate_and_report_from_rank(home, monkeypatch, capsys):
    FakeData(SEPS).install(monkeypatch)
    rc, out, err = _run(
        capsys, "rank", "fake-target", *SEPS, "-s", "logme", "-s", "ped+logme", "--json", "-q"
    )
    assert rc == 0, err
    scores = home / "scores.json"
    scores.write_text(out)
    truth = home / "truth.json"
    truth.write_text(json.dumps({"fake:a": 95, "fake:b": 90, "fake:c": 70, "fake:d": 40}))
    rc, out, err = _run(
        capsys, "evaluate", "fake-target", "--scores", str(scores), "--truth", str(truth), "--json"
    )
    assert rc == 0, err
    assert json.loads(out)["scores"]["logme"]["metrics"]["weighted_tau"] == pytest.approx(1.0)
    rc, out, err = _run(
        capsys,
        "report",
        "fake-target",
        "--truth",
        str(truth),
        "--format",
        "md",
        "--out",
        str(home / "rep"),
        "--n-boot",
        "20",
    )
    assert rc == 0, err
    assert (home / "rep" / "report.md").is_file()
    assert (home / "rep" / "scores_vs_truth_fake-target.png").is_file()
    # the fakes store no features, so the dynamics are skipped with a note
    assert "no stored features of fake:a on fake-target" in " ".join(out.split())


def test_reproduce_json(home, capsys):
    feats = home / "results_f"
    feats.mkdir()
    _write_standins(feats, datasets=("pets",))
    rc, out, err = _run(
        capsys, "reproduce", str(feats), "-s", "logme", "-s", "ped+logme", "--json", "-q"
    )
    assert rc == 0, err
    data = json.loads(out)
    assert data["datasets"] == ["pets"]
    assert set(data["weighted_tau"]) == {"logme", "ped+logme"}
    assert data["published"]["logme"]["pets"] == 0.684
    assert data["diff"]["logme"]["pets"] == pytest.approx(
        data["weighted_tau"]["logme"]["pets"] - 0.684
    )
    assert "Datasets missing (no features): aircraft" in err
    rc, out, err = _run(capsys, "reproduce", str(feats), "-s", "logme", "-q")
    assert rc == 0 and "(0.684," in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rank", "digits", "nope:model", "-q"], "error: Unknown model spec 'nope:model'"),
        (["rank", "no-such-data", "zoo:raw-pixels", "-q"], "error: Unknown dataset 'no-such-data'"),
        (
            ["rank", "imagenet-val", "zoo:raw-pixels", "-q"],
            "error: Dataset 'imagenet-val' was not found in ",
        ),
        (
            ["rank", "digits", "zoo:raw-pixels", "--reference", "imagenet-val", "-q"],
            "error: Dataset 'imagenet-val' was not found in ",
        ),
        (["rank", "digits", "zoo:raw-pixels", "-s", "nope", "-q"], "error: Unknown score 'nope'"),
        (["evaluate", "digits"], "error: No ground truth for 'digits'"),
        (["evaluate", "cifar10"], "error: No scores for 'cifar10' in the results database"),
        (
            ["reproduce", "/nonexistent/feats"],
            "error: Features folder not found: /nonexistent/feats",
        ),
        (
            ["report", "cifar10", "--format", "pdf"],
            "error: Expected --format html or md, got 'pdf'.",
        ),
    ],
)
def test_user_errors_are_one_line(home, capsys, argv, message):
    rc, out, err = _run(capsys, *argv)
    assert rc == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(message), lines[0]
    assert "Traceback" not in err


@pytest.mark.slow
def test_rank_real_zoo_slice(home, capsys):
    """A real (tiny) run on 8x8 digits through the feature store: two small nets."""
    pytest.importorskip("ped.features")
    rc, out, err = _run(
        capsys,
        "rank",
        "digits",
        "zoo:efficientnet-lite0@s8?image_size=32",
        "zoo:mobilenetv2@s8?image_size=32",
        "--limit",
        "120",
        "-s",
        "logme",
        "-s",
        "ped+logme",
        "--json",
        "-q",
    )
    if rc == 2 and "is not installed" in err:
        pytest.skip(f"zoo not installed here: {err.strip()}")
    assert rc == 0, err
    data = json.loads(out)
    assert len(data["ranking"]) == 2
    assert all(r["n_samples"] == 120 for r in data["ranking"])
    assert all(np.isfinite(r["values"]["ped+logme"]) for r in data["ranking"])
    # second run reads the store
    rc, out, _ = _run(
        capsys,
        "rank",
        "digits",
        "zoo:mobilenetv2@s8?image_size=32",
        "--limit",
        "120",
        "-s",
        "logme",
        "--json",
        "-q",
    )
    assert json.loads(out)["ranking"][0]["cached"] is True
