"""`ped.report`: evaluation numbers against direct `ped.evaluation` calls, files and PNGs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import ped
from ped import evaluation as ev
from ped.report import (
    evaluate,
    load_scores,
    pair_names,
    plot_dynamics,
    plot_heatmap,
    write_report,
)

MODELS = [f"zoo:m{i}" for i in range(6)]
TRUTH = dict(zip(MODELS, [91.0, 88.5, 85.0, 84.0, 80.0, 70.0]))
SCORES = {
    "logme": dict(zip(MODELS, [1.2, 1.5, 0.9, 0.8, 0.3, 0.1])),
    "ped+logme": dict(zip(MODELS, [1.6, 1.5, 0.9, 1.0, 0.3, 0.1])),
    "sfda": dict(zip(MODELS, [0.7, 0.6, 0.9, 0.5, 0.4, 0.2])),
}


def _png_ok(path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        return im.size


def test_evaluate_matches_direct_metrics():
    e = evaluate(SCORES, TRUTH, dataset="d", source="linear", n_boot=200)
    for name, vals in SCORES.items():
        row = e.rows[name]
        assert row.models == MODELS
        assert row.metrics["weighted_tau"] == pytest.approx(ev.weighted_tau(vals, TRUTH))
        assert row.metrics["kendall_tau"] == pytest.approx(ev.kendall_tau(vals, TRUTH))
        assert row.metrics["pearson"] == pytest.approx(ev.pearson(vals, TRUTH))
        for k in (1, 3):
            assert row.metrics[f"rel@{k}"] == pytest.approx(ev.rel_at_k(vals, TRUTH, k))
            assert row.metrics[f"recall@{k}"] == pytest.approx(ev.recall_at_k(vals, TRUTH, k))
        ci = row.intervals["weighted_tau"]
        direct = ev.bootstrap_ci(vals, TRUTH, "weighted_tau", n_boot=200, random_state=0)
        assert (ci.low, ci.high) == pytest.approx((direct.low, direct.high))
    # the PED version of logme puts the best model on top: rel@1 = 1
    assert e.rows["ped+logme"].metrics["rel@1"] == 1.0
    assert e.rows["logme"].metrics["rel@1"] == pytest.approx(88.5 / 91.0)


def test_pairs_side_by_side_and_frame():
    e = evaluate(SCORES, TRUTH, n_boot=0)
    assert pair_names(SCORES) == [("logme", "logme", "ped+logme"), ("sfda", "sfda", None)]
    frame = e.to_frame()
    assert frame["score"].tolist() == ["logme", "sfda"]
    assert frame.loc[0, "weighted_tau[ped]"] == pytest.approx(
        e.rows["ped+logme"].metrics["weighted_tau"]
    )
    assert np.isnan(frame.loc[1, "weighted_tau[ped]"])
    d = e.to_dict()
    gain = d["pairs"][0]["weighted_tau_gain"]
    assert gain == pytest.approx(
        e.rows["ped+logme"].metrics["weighted_tau"] - e.rows["logme"].metrics["weighted_tau"]
    )
    json.dumps(d)


def test_evaluate_leaves_out_models_without_truth_and_needs_two():
    scores = {"logme": {**SCORES["logme"], "zoo:extra": 5.0}}
    e = evaluate(scores, TRUTH, n_boot=0)
    assert e.missing["logme"] == ["zoo:extra"]
    assert e.rows["logme"].models == MODELS
    with pytest.raises(ValueError, match="shares 1 model\\(s\\) with the ground truth"):
        evaluate({"logme": {"zoo:m0": 1.0, "zoo:x": 2.0}}, TRUTH, n_boot=0)


def test_load_scores_layouts(tmp_path):
    rank_json = {
        "dataset": "mnist5k",
        "ranking": [
            {"model": "zoo:a", "values": {"logme": 1.0, "sfda": 0.5}},
            {"model": "zoo:b", "values": {"logme": 0.5, "sfda": None}},
        ],
    }
    p = tmp_path / "r.json"
    p.write_text(json.dumps(rank_json))
    assert load_scores(p) == (
        "mnist5k",
        {"logme": {"zoo:a": 1.0, "zoo:b": 0.5}, "sfda": {"zoo:a": 0.5}},
    )
    p.write_text(json.dumps({"logme": {"a": 1, "b": 2}}))
    assert load_scores(p, "x") == ("x", {"logme": {"a": 1.0, "b": 2.0}})
    p.write_text(json.dumps({"d1": {"logme": {"a": 1}}, "d2": {"logme": {"a": 2}}}))
    assert load_scores(p, "d2") == ("d2", {"logme": {"a": 2.0}})
    with pytest.raises(ValueError, match="holds scores of several datasets \\(d1, d2\\); name one"):
        load_scores(p)
    p.write_text("[1, 2]")
    with pytest.raises(ValueError, match="Expected a JSON object in .*, got list"):
        load_scores(p)
    with pytest.raises(FileNotFoundError, match="Scores file not found: .*nope.json"):
        load_scores(tmp_path / "nope.json")


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_write_report_files_and_pngs(tmp_path, fmt, blobs):
    X, y = blobs
    sims = {
        "zoo:m0": ped.simulate(X, y, reference=X),
        "zoo:m1": ped.simulate(X * 2, y, reference=X),
    }
    e1 = evaluate(SCORES, TRUTH, dataset="mnist5k", source="linear", n_boot=50)
    e2 = evaluate(
        {k: {m: -v for m, v in s.items()} for k, s in SCORES.items()},
        TRUTH,
        dataset="fashion-mnist",
        source="linear",
        n_boot=50,
    )
    path = write_report([e1, e2], tmp_path / "out", fmt=fmt, dynamics={"mnist5k": sims})
    assert path.name == f"report.{fmt}"
    text = path.read_text()
    pngs = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert pngs == [
        "heatmap_weighted_tau.png",
        "ped_dynamics_mnist5k.png",
        "scores_vs_truth_fashion-mnist.png",
        "scores_vs_truth_mnist5k.png",
    ]
    for name in pngs:
        w, h = _png_ok(tmp_path / "out" / name)
        assert w > 300 and h > 150
    assert "mnist5k: scores against linear" in text
    assert f"{e1.rows['logme'].metrics['weighted_tau']:.3f} / " in text
    if fmt == "html":
        assert text.count("data:image/png;base64,") == 4  # self-contained
    else:
        assert "![heatmap_weighted_tau](heatmap_weighted_tau.png)" in text


def test_plots_individually(tmp_path, blobs):
    X, y = blobs
    p = plot_dynamics({"a": ped.simulate(X, y, reference=X)}, tmp_path / "dyn.png", title="t")
    _png_ok(p)
    h = plot_heatmap({"d1": {"logme": 0.5, "sfda": -0.2}, "d2": {"logme": 0.1}}, tmp_path / "h.png")
    _png_ok(h)


def test_write_report_rejects_bad_format(tmp_path):
    e = evaluate(SCORES, TRUTH, n_boot=0)
    with pytest.raises(ValueError, match="Expected fmt 'html' or 'md', got 'pdf'."):
        write_report([e], tmp_path, fmt="pdf")
