"""`ped.report`: evaluation numbers against direct `ped.evaluation` calls, files and PNGs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

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


# --------------------------------------- `ped report` through the real executable (item 6)
ROOT = Path(__file__).resolve().parents[2]
LONG = "file:/data/users/someone/experiments/2026/checkpoints/resnet-variant-final/net.pt"
RANKED = [LONG, "zoo:a", "zoo:b", "zoo:c"]
#: GBC is negative, higher (nearer 0) is better: zoo:a is its best model; logme reverses gbc.
STORED = {
    "gbc": dict(zip(RANKED, [-3.0, -0.02, -0.8, -1.5])),
    "logme": dict(zip(RANKED, [4.0, 0.5, 1.0, 2.0])),
    "parc": dict(zip(RANKED, [10.0, 30.0, 25.0, 20.0])),
}


def _ped(tmp_path: Path, *argv: str, **extra: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("ped")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "ped"]
    env = {k: v for k, v in os.environ.items() if k != "PED_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env["PED_HOME"] = str(tmp_path / "home")
    env.update(extra)
    return subprocess.run([*command, *argv], capture_output=True, text=True, env=env, timeout=300)


def _stored_db(tmp_path: Path) -> Path:
    from ped.store import ResultsDB

    db = ResultsDB(tmp_path / "results.sqlite")
    for name, vals in STORED.items():
        for model, value in vals.items():
            db.record_score(model, "toy", name, value)
    return db.path


def test_report_without_ground_truth_ranks_and_compares_scores(tmp_path):
    db = _stored_db(tmp_path)
    out = tmp_path / "rep"
    res = _ped(
        tmp_path,
        "report",
        "toy",
        "--db",
        str(db),
        "--format",
        "md",
        "--out",
        str(out),
        "-s",
        "gbc",
        "-s",
        "logme",
        "-s",
        "parc",
    )
    assert res.returncode == 0, res.stderr
    assert "toy: 4 models, 3 scores (gbc, logme, parc)" in res.stdout
    assert "no ground truth for toy" in res.stdout
    text = (out / "report.md").read_text()
    # the table, ordered by the first score asked (-s gbc): zoo:a (-0.02) first
    assert "## toy: ranking by gbc" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "#" in line]
    assert rows[0].startswith("| 1 | zoo:a | -0.02 #1 | 0.5 #4 | 30 #1 |")
    assert rows[-1].startswith(f"| 4 | {LONG} | -3 #4 | 4 #1 | 10 #4 |")
    # agreement: logme reverses gbc exactly, parc follows gbc exactly
    assert "| gbc | 1.00 | -1.00 | 1.00 |" in text
    assert "| logme | -1.00 | 1.00 | -1.00 |" in text
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["agreement_toy.png", "scores_toy.png"]
    for name in pngs:
        w, h = _png_ok(out / name)
        assert w > 300 and h > 150
    assert "scores against" not in text  # no evaluation without a ground truth


def test_report_with_ground_truth_keeps_the_evaluation_and_s_filters(tmp_path):
    db_path = _stored_db(tmp_path)
    from ped.store import ResultsDB

    ResultsDB(db_path).record_truth(
        "linear", "toy", dict(zip(RANKED, [70.0, 90.0, 85.0, 80.0])), metric="accuracy"
    )
    out = tmp_path / "rep"
    res = _ped(
        tmp_path,
        "report",
        "toy",
        "--db",
        str(db_path),
        "--out",
        str(out),
        "-s",
        "parc",
        "--n-boot",
        "20",
    )
    assert res.returncode == 0, res.stderr
    text = (out / "report.html").read_text()
    assert "toy: ranking by parc" in text and "toy: scores against linear" in text
    assert "<th>gbc</th>" not in text and "<th>parc</th>" in text  # -s keeps only parc
    res = _ped(tmp_path, "report", "toy", "--db", str(db_path), "-s", "nope", "--out", str(out))
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error: No 'nope' scores for 'toy'")


def test_bars_put_the_best_model_longest_whatever_the_sign(tmp_path):
    import matplotlib

    matplotlib.use("Agg", force=True)
    from ped.report import plot_score_bars
    from ped.report.plots import _score_panel, pyplot

    plt = pyplot()
    fig, ax = plt.subplots()
    _score_panel(ax, "gbc", STORED["gbc"], set())
    widths = {t.get_text(): b.get_width() for t, b in zip(ax.get_yticklabels(), ax.patches)}
    assert max(widths, key=widths.get) == "a"  # -0.02, the best GBC
    assert min(widths.values()) > 0
    plt.close(fig)
    _png_ok(plot_score_bars(STORED, tmp_path / "bars.png"))


def test_dynamics_plot_leaves_out_models_without_a_step(tmp_path, blobs):
    from ped.report.plots import pyplot

    far_x, far_y = blobs  # well separated blobs: no overlap, no step
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    X = rng.normal(0, 1, (120, 8)) + 0.3 * np.eye(3, 8)[y]  # overlapping classes
    sims = {
        "zoo:moves": ped.simulate(X, y, reference=X),
        "zoo:still": ped.simulate(far_x, far_y, reference=far_x),
    }
    assert sims["zoo:moves"].n_steps > 0
    assert sims["zoo:still"].n_steps == 0
    plt = pyplot()
    seen = {}
    real_close = plt.close

    def spy(fig):
        seen["lines"] = [ln.get_label() for ln in fig.axes[0].get_lines()]
        seen["texts"] = [fig.get_supxlabel()]
        real_close(fig)

    plt.close = spy
    try:
        plot_dynamics(sims, tmp_path / "dyn.png")
    finally:
        plt.close = real_close
    assert [x.split(" ")[0] for x in seen["lines"]] == ["moves"]
    assert any("still" in t and "not drawn" in t for t in seen["texts"])


# ------------------------------------------ tables and progress bars at 80 columns (item 7)
NET_SOURCE = """
import sys
import torch


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, int(sys.argv[2]), 3, stride=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x))


torch.manual_seed(int(sys.argv[2]))
torch.jit.save(torch.jit.script(Net().eval()), sys.argv[1])
"""


@pytest.mark.slow
def test_rank_table_and_progress_fit_80_and_120_columns(tmp_path):
    folder = tmp_path / "a-rather-long" / "directory" / "of" / "experiments" / "checkpoints"
    folder.mkdir(parents=True)
    maker = tmp_path / "make_net.py"
    maker.write_text(NET_SOURCE)
    specs = []
    for name, width in (("resnet-variant-final.pt", "6"), ("resnet-variant-early.pt", "5")):
        subprocess.run([sys.executable, str(maker), str(folder / name), width], check=True)
        specs.append(f"file:{folder / name}")
    argv = ["rank", "digits", *specs, "--limit", "60", "--reference", "target"]
    for columns in (80, 120):
        res = _ped(tmp_path, *argv, COLUMNS=str(columns))
        assert res.returncode == 0, res.stderr
        lines = res.stdout.splitlines()
        end = next(i for i, line in enumerate(lines) if line.startswith(("note:", "best by")))
        lines = lines[:end]  # the table, its title and caption (notes wrap as text)
        assert max(len(line) for line in lines) <= columns, res.stdout
        header = next(line for line in lines if line.startswith("┃ rank"))
        assert "knn" in header  # rank, model and the first score always stay
        rows = [line for line in lines if line.startswith("│")]
        assert len(rows) == 2
        for row in rows:
            cells = [c.strip() for c in row.strip("│").split("│")]
            assert cells[1].startswith("…") and cells[1].endswith(".pt")  # the tail of the path
            assert all("…" not in c for c in cells[2:]), row  # numbers are never cut
            assert all(re.fullmatch(r"-?[\d.e+-]+ #\d[=*]*|[\d.]+", c) for c in cells[2:]), row
        if columns == 80:
            assert "not shown at 80 columns: seconds" in res.stdout
        else:
            assert "seconds" in header and "ped+gbc" in header and "not shown" not in res.stdout
        bar = [line for line in res.stderr.splitlines() if "2/2" in line]
        assert bar and all(len(line) <= columns for line in bar), res.stderr
        assert re.search(r"2/2 .*\d:\d\d:\d\d\s*$", bar[-1]), bar  # count and ETA kept


def test_progress_bar_keeps_count_and_eta_at_80_columns():
    from io import StringIO

    from rich.console import Console
    from rich.progress import Progress

    from ped.cli._common import _label, progress_columns

    for width in (80, 120):
        columns, label_width = progress_columns(width)
        out = StringIO()
        bar = Progress(*columns, console=Console(file=out, width=width, force_terminal=False))
        stage = "extract file:/a/very/long/path/to/checkpoints/net.pt on imagefolder:/data/x"
        task = bar.add_task(_label(stage, label_width), total=12345, rate="1,234.5 items/s")
        bar.update(task, completed=1234)
        line = bar.make_tasks_table(bar.tasks)
        console = Console(file=out, width=width)
        console.print(line)
        text = out.getvalue().rstrip("\n").splitlines()[-1]
        assert len(text) <= width
        assert text.startswith("extract file:/a/very")
        assert "1234/12345" in text and "1,234.5 items/s" in text
        assert re.search(r"\d:\d\d:\d\d$", text.rstrip()) or "-:--:--" in text


def test_ranking_table_drops_columns_in_order_and_shows_na():
    from io import StringIO

    from rich.console import Console

    from ped.cli._tables import ranking_table
    from ped.pipeline import RankingResult

    models = [LONG, "zoo:a", "zoo:b"]
    scores = ["parc", "gbc", "logme", "leep"]
    values = {s: {m: float(i + k) for k, m in enumerate(models)} for i, s in enumerate(scores)}
    values["leep"][LONG] = float("nan")  # a score the model cannot have
    result = RankingResult("toy", models, scores, values, seconds=dict.fromkeys(models, 1.0))
    result.priors = {"zoo:a": {"params": 5.3e6, "imagenet_top1": 75.1}}
    seen = {}
    for width in (50, 60, 80, 160):
        out = StringIO()
        Console(file=out, width=width).print(ranking_table(result, width=width))
        seen[width] = out.getvalue()
        assert max(len(line) for line in seen[width].splitlines()) <= width
    flat = {w: " ".join(text.split()) for w, text in seen.items()}  # captions wrap
    assert "n/a" in seen[160] and "5.3M" in seen[160] and "75.1" in seen[160]
    assert "not shown" not in flat[160]
    # the seconds and a prior leave before a model's name is cut below 24 characters
    assert "not shown at 80 columns: seconds, IN top-1 (" in flat[80] and "5.3M" in seen[80]
    row = next(line for line in seen[80].splitlines() if "…" in line)
    assert len(row.split("│")[2].strip()) >= 24
    assert "not shown at 60 columns: seconds, IN top-1, params (" in flat[60]
    header = next(line for line in seen[60].splitlines() if line.startswith("┃ rank"))
    assert "model" in header and "parc" in header  # rank, model, the first score stay
    assert "not shown at 50 columns: seconds, IN top-1, params, leep (" in flat[50]
