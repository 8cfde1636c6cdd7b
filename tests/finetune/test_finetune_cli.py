"""`ped finetune` and `ped truths` through the Typer app, on the fake backbone and data."""

from __future__ import annotations

import functools
import json

import pytest
from typer.testing import CliRunner

import ped.finetune
from ped.cli.finetune import app
from ped.finetune import finetune, resolve_splits

from . import fakes


@pytest.fixture
def fake_specs(monkeypatch):
    """The command's one library call, given resolvers that know the fake specs."""
    seen = []

    def model(spec, device, image_size=None):
        seen.append(spec)
        assert spec == "fake:tiny"
        return fakes.FakeBackbone()

    def data(spec, seed, limit):
        seen.append(spec)
        assert spec == "fake-images"
        return resolve_splits(fakes.image_splits(), seed=seed, limit=limit, name="fake-images")

    call = functools.partial(finetune, resolve_model=model, resolve_data=data)
    # the command imports ped.finetune where it runs (start-up stays free of numpy)
    monkeypatch.setattr(ped.finetune, "finetune", call)
    return seen


def test_finetune_json_has_best_val_scores_and_test(fake_specs, tmp_path):
    db = tmp_path / "r.sqlite"
    args = [
        "finetune",
        "fake:tiny",
        "fake-images",
        "--lrs",
        "0.1,0.01",
        "--wds",
        "0,1e-4",
        "--steps",
        "4",
        "--batch-size",
        "16",
        "--db",
        str(db),
        "--json",
    ]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    res = json.loads(out.stdout)
    assert fake_specs[:2] == ["fake:tiny", "fake-images"]
    assert {"lr", "wd"} <= set(res["best"])
    assert len(res["val_scores"]) == 4
    assert [(v["lr"], v["w"]) for v in res["val_scores"]] == [
        (0.1, 0.0),
        (0.1, 1e-4),
        (0.01, 0.0),
        (0.01, 1e-4),
    ]
    assert isinstance(res["test_score"], float) and res["n_computed"] == 5

    again = CliRunner().invoke(app, args)
    assert json.loads(again.stdout)["n_computed"] == 0

    table = CliRunner().invoke(app, args[:-1])
    assert table.exit_code == 0 and "(stored)" in table.stdout and "test accuracy" in table.stdout

    truths = CliRunner().invoke(app, ["truths", "--db", str(db), "--json"])
    rows = json.loads(truths.stdout)
    mine = [r for r in rows if r["source"] == "full"]
    assert mine == [
        {
            "source": "full",
            "dataset": "fake-images",
            "n_models": 1,
            "metric": "accuracy",
            "values": {"fake:tiny-0": res["test_score"]},
        }
    ]
    assert {"published:self_supervised_resnet50", "published:supervised_imagenet"} <= {
        r["source"] for r in rows
    }


def test_truths_table_filters_by_dataset(tmp_path):
    out = CliRunner().invoke(
        app, ["truths", "--dataset", "cifar10", "--db", str(tmp_path / "r.sqlite")]
    )
    assert out.exit_code == 0
    # the best supervised model on CIFAR-10 in the published table, and no other dataset
    assert "resnet152 (97.53)" in out.stdout and "aircraft" not in out.stdout


def test_bad_grid_value_is_a_value_error(tmp_path):
    out = CliRunner().invoke(
        app,
        [
            "finetune",
            "fake:tiny",
            "fake-images",
            "--lrs",
            "0.1,x",
            "--db",
            str(tmp_path / "r.sqlite"),
        ],
    )
    assert out.exit_code != 0
    assert isinstance(out.exception, ValueError)
    assert "got '0.1,x'" in str(out.exception)
