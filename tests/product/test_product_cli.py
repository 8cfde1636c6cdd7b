"""The product commands: JSON outputs parse, and user errors are one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _product_fakes import SEPS, FakeData
from onnx_helper import tiny_onnx
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


# ------------------------------------------------- the real executable, in a subprocess
ROOT = Path(__file__).resolve().parents[2]


def _ped_command() -> list[str]:
    """The installed `ped` script beside this Python, else `python -m ped` (same entry)."""
    script = Path(sys.executable).with_name("ped")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "ped"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PED_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env["PED_HOME"] = str(tmp_path / "home")
    env.update(extra)
    return env


def _ped(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*_ped_command(), *argv],
        capture_output=True,
        text=True,
        env=_env(tmp_path, **env),
        timeout=300,
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["rank", "mnist5k", "zoo:x", "--limt", "10"], "error: No such option: --limt"),
        (["rank", "mnist5k"], "error: Missing argument 'models'"),
        (["rank", "mnist5k", "zoo:x", "--limit", "abc"], "error: Invalid value for '--limit'"),
        (["frobnicate"], "error: No such command 'frobnicate'"),
        (["--limt", "10"], "error: No such option: --limt"),
        (["features"], "error: Missing command"),
        (["score", "missing.npy", "y.npy"], "error: features file not found: missing.npy"),
    ],
)
def test_usage_errors_are_one_stderr_line_with_exit_2(tmp_path, argv, message):
    res = _ped(tmp_path, *argv)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.returncode == 2, res.stderr
    assert len(lines) == 1 and lines[0].startswith(message), res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_bare_ped_prints_the_help_without_a_traceback(tmp_path):
    res = _ped(tmp_path)
    assert res.returncode == 2
    shown = res.stdout + res.stderr  # typer's rich help writes to stdout itself
    assert "Usage: ped" in shown and "rank" in shown
    assert "Traceback" not in res.stderr + res.stdout


def test_ped_debug_shows_the_traceback(tmp_path):
    res = _ped(tmp_path, "score", "missing.npy", "y.npy", PED_DEBUG="1")
    assert res.returncode != 0 and "Traceback" in res.stderr
    assert "FileNotFoundError: features file not found" in res.stderr


def test_ctrl_c_exits_130_with_one_line(tmp_path):
    """SIGINT while `ped score` waits for its input: exit 130 and one line saying so."""
    fifo = tmp_path / "X.npy"
    os.mkfifo(fifo)
    np.save(tmp_path / "y.npy", np.arange(10) % 2)
    proc = subprocess.Popen(
        [*_ped_command(), "score", str(fifo), str(tmp_path / "y.npy"), "-s", "logme"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
        # A background job of a non-interactive shell (`make test &`) inherits SIGINT ignored,
        # and Python then installs no handler: give the child the default disposition.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Opening a FIFO for writing without blocking succeeds only once a reader has it open:
    # then `ped score` is inside the command, reading its features.
    deadline = time.monotonic() + 120
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "ped never opened its input"
            time.sleep(0.05)
    try:
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(fd)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert proc.returncode == 130, err
    assert len(lines) == 1 and lines[0].startswith("interrupted: `ped score` stopped by Ctrl-C")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv, resumes",
    [(["rank", "mnist5k", "zoo:x"], True), (["extract", "m", "d"], True), (["score"], False)],
)
def test_the_interruption_line_says_whether_the_command_resumes(capsys, argv, resumes):
    from ped.cli import _interrupted

    assert _interrupted(argv) == 130
    err = capsys.readouterr().err
    assert err.startswith(f"interrupted: `ped {argv[0]}` stopped by Ctrl-C;")
    assert ("run the same command again to resume" in err) is resumes


@pytest.mark.parametrize("argv", [["--help"], ["scores"], ["rank", "--help"]])
def test_start_up_imports_no_heavy_library(tmp_path, argv):
    """`ped --help` and `ped scores` import neither torch, pandas, matplotlib nor scipy."""
    res = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ped", *argv],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in res.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    heavy = {"torch", "pandas", "matplotlib", "onnxruntime", "ray", "sklearn", "scipy"}
    if argv[0] != "scores":
        heavy |= {"numpy"}  # `ped scores` reads the registry, which numpy's types annotate
    assert not imported & heavy, sorted(imported & heavy)


# ------------------------------- ped rank: cells, parameters, summary, priors (issues 12-16)
def _rank_json(tmp_path: Path, *argv: str) -> dict:
    res = _ped(tmp_path, "rank", "digits", "zoo:raw-pixels", "--limit", "100", "--json", *argv)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


def _row(data: dict) -> dict:
    (row,) = data["ranking"]
    return row


@pytest.mark.slow
def test_rank_cli_na_cell_parameters_and_instant_repeat(tmp_path):
    """A score the model cannot have is n/a with its reason and the run goes on (LEEP without
    a source classifier); -p and --nsigma reach PED; the repeat reads every cell back."""
    first = _rank_json(tmp_path, "-s", "logme,leep", "-s", "ped+logme")
    row = _row(first)
    assert row["values"]["leep"] is None and row["ranks"]["leep"] is None
    assert "source_probs" in row["reasons"]["leep"]
    assert any(n.startswith("leep is n/a for zoo:raw-pixels: ") for n in first["notes"])
    assert row["values"]["logme"] is not None and row["stored_scores"] == []
    assert row["prior"] == {"params": 0, "imagenet_top1": None}  # raw pixels: no weights
    again = _row(_rank_json(tmp_path, "-s", "logme,leep", "-s", "ped+logme"))
    assert again["stored_scores"] == ["leep", "logme", "ped+logme"]
    assert again["values"] == row["values"] and again["timings"]["score"] == 0.0
    at_06 = _row(_rank_json(tmp_path, "-s", "ped+logme", "-p", "ped+logme.nsigma=0.6"))
    short = _row(_rank_json(tmp_path, "-s", "ped+logme", "--nsigma", "0.6"))
    assert at_06["stored_scores"] == [] and short["stored_scores"] == ["ped+logme"]
    assert at_06["values"]["ped+logme"] == short["values"]["ped+logme"]
    assert at_06["values"]["ped+logme"] != row["values"]["ped+logme"]
    db = ResultsDB(tmp_path / "home" / "results.sqlite")
    assert db.score_reasons("digits")["leep"]["zoo:raw-pixels"] == row["reasons"]["leep"]
    bad = _ped(tmp_path, "rank", "digits", "zoo:raw-pixels", "-s", "ped+logme", "-p",
               "ped+logme.nsigmaa=1", "-q")  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: Unknown parameter 'nsigmaa' for score 'ped+logme'")


def test_rank_cli_summary_on_stderr_unless_quiet(tmp_path):
    res = _ped(tmp_path, "rank", "digits", "zoo:raw-pixels", "--limit", "5", "-s", "logme")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "digits [all]: 5 image items (first 5 of 1797), 10 classes" in res.stderr
    assert "warning:" in res.stderr  # 5 items, 10 classes: classes without an item
    assert "digits [all]" not in res.stdout
    quiet = _ped(tmp_path, "rank", "digits", "zoo:raw-pixels", "--limit", "5", "-s", "logme", "-q")
    assert quiet.returncode == 0 and "digits [all]" not in quiet.stderr


@pytest.mark.slow
def test_extract_summary_and_image_size_shared_with_rank(tmp_path):
    res = _ped(tmp_path, "extract", "zoo:efficientnet-lite0@s8", "digits", "--limit", "40",
               "--image-size", "32")  # fmt: skip
    if res.returncode == 2 and "is not installed" in res.stderr:
        pytest.skip(f"zoo not installed here: {res.stderr.strip()}")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "digits [all]: 40 image items" in res.stderr
    ranked = _ped(tmp_path, "rank", "digits", "zoo:efficientnet-lite0@s8", "--limit", "40",
                  "--image-size", "32", "-s", "logme", "--json")  # fmt: skip
    assert ranked.returncode == 0, ranked.stderr[-3000:]
    assert _row(json.loads(ranked.stdout))["cached"] is True


@pytest.mark.slow
def test_rank_cli_baselines_and_set_level_scores(tmp_path):
    data = _rank_json(tmp_path, "-s", "knn,linear_cv,ncti,etran")
    row = _row(data)
    assert all(row["values"][s] is not None for s in ("knn", "linear_cv"))
    assert data["set_level_scores"] == ["ncti", "etran"]
    assert any("change when the set of candidates changes" in w for w in data["warnings"])
    listed = _ped(tmp_path, "scores", "--json")
    names = {r["name"] for r in json.loads(listed.stdout)}
    assert {"knn", "linear_cv"} <= names


def test_evaluate_and_report_after_a_rank_with_na_cells(home, monkeypatch, capsys):
    """Issue 14 item 5: n/a cells (LEEP without a source classifier, SFDA on constant
    features) leave the database, and a --json file, that evaluate and report still read."""
    fake = FakeData(SEPS).install(monkeypatch)
    real = fake.extract

    def extract(model, dataset, **kw):
        fs = real(model, dataset, **kw)
        if model == "fake:d":
            fs.features = np.ones_like(fs.features)
        return fs

    fake.extract = extract  # the stand-in data path now extracts through this
    fake.install(monkeypatch)
    rc, out, err = _run(capsys, "rank", "fake-target", *SEPS, "-s", "logme,sfda,leep", "--json",
                        "-q")  # fmt: skip
    assert rc == 0, err
    scores = home / "scores.json"
    scores.write_text(out)
    truth = home / "truth.json"
    truth.write_text(json.dumps({"fake:a": 95, "fake:b": 90, "fake:c": 70, "fake:d": 40}))
    for extra in ([], ["--scores", str(scores)]):
        rc, out, err = _run(
            capsys, "evaluate", "fake-target", "--truth", str(truth), "--json", *extra
        )
        assert rc == 0, err
        got = json.loads(out)["scores"]
        assert "leep" not in got and np.isfinite(got["sfda"]["metrics"]["weighted_tau"])
    rc, out, err = _run(capsys, "report", "fake-target", "--truth", str(truth), "--format", "md",
                        "--out", str(home / "rep"), "--n-boot", "20")  # fmt: skip
    assert rc == 0, err
    assert (home / "rep" / "report.md").is_file()
    rc, out, err = _run(capsys, "rank", "fake-target", *SEPS, "-s", "logme,sfda,leep", "-q")
    assert rc == 0, err
    assert "n/a" in out and "sfda is n/a for fake:d" in " ".join(out.split())


# ----------------------------- issue 14 item 3: unreadable and high-depth files, end to end
def _folder_with_a_truncated_and_a_fake_image(base: Path) -> None:
    from PIL import Image

    for c, name in enumerate(["cat", "dog"]):
        (base / name).mkdir(parents=True)
        for k in range(6):
            Image.fromarray(np.full((8, 8, 3), 40 * c + 5 * k, np.uint8)).save(
                base / name / f"{k}.png"
            )
    Image.new("RGB", (64, 64), (200, 10, 10)).save(base / "dog" / "photo.jpg", "JPEG")
    whole = (base / "dog" / "photo.jpg").read_bytes()
    (base / "dog" / "photo.jpg").write_bytes(whole[: len(whole) // 2])
    (base / "cat" / "notes.png").write_text("sk-live-0123 a secret, not an image")


def test_unreadable_images_are_one_line_or_skipped_and_counted(tmp_path):
    base = tmp_path / "pics"
    _folder_with_a_truncated_and_a_fake_image(base)
    res = _ped(tmp_path, "extract", "zoo:raw-pixels", f"imagefolder:{base}", "-q")
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.returncode == 2 and len(lines) == 1, res.stderr
    assert lines[0].startswith(f"error: Image file {base / 'cat' / 'notes.png'} cannot be read")
    assert "?skip_bad=1" in lines[0] and "sk-live" not in res.stderr + res.stdout
    assert "Traceback" not in res.stderr

    skip = _ped(tmp_path, "extract", "zoo:raw-pixels", f"imagefolder:{base}?skip_bad=1")
    assert skip.returncode == 0, skip.stderr[-3000:]
    assert skip.stdout.startswith("12 x 3072 features, 2 classes, extracted in ")
    assert "skipped 2: 1 not an image in a format PIL reads, 1 truncated" in skip.stderr
    assert "sk-live" not in skip.stderr + skip.stdout


def test_a_sixteen_bit_image_is_rescaled_not_clipped(tmp_path):
    from PIL import Image

    from ped.features.store import open_entry

    base = tmp_path / "deep"
    ramp = np.tile((np.arange(32, dtype=np.uint32) * 2114).astype(np.uint16), (32, 1))
    for name in ("a", "b"):
        (base / name).mkdir(parents=True)
        for k in range(2):
            Image.fromarray(ramp).save(base / name / f"{k}.png")  # opens as mode I;16
    res = _ped(tmp_path, "extract", "zoo:raw-pixels", f"imagefolder:{base}", "--json", "-q")
    assert res.returncode == 0, res.stderr[-3000:]
    X = open_entry(json.loads(res.stdout)["path"]).features
    levels = np.unique(np.round(X[0], 4))
    assert len(levels) >= 16  # a gradient, where clipping at 255 leaves two levels
    assert np.mean(X[0] == X[0].max()) < 0.1


# -------------------------- issue 14 item 9: the user's own models and text references, end to end
def test_own_onnx_model_layer_preprocessing_and_image_size(tmp_path):
    path = tmp_path / "tiny.onnx"
    tiny_onnx(path, hw=("H", "W"))  # any input size
    spec = f"onnx:{path}#conv_out?size=24&mean=0.5&std=0.5&grey=1"
    res = _ped(tmp_path, "extract", spec, "digits", "--limit", "20", "--json", "-q")
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    assert out["model"] == f"onnx:{path}#conv_out?image_size=24&mean=0.5&std=0.5&grey=1"
    assert (out["n_samples"], out["n_features"]) == (20, 4)
    plain = _ped(tmp_path, "extract", f"onnx:{path}", "digits", "--limit", "20", "--json", "-q")
    assert json.loads(plain.stdout)["model"] == f"onnx:{path}#logits"  # the graph's output
    bad = _ped(tmp_path, "extract", f"onnx:{path}#nope", "digits", "--limit", "20", "-q")
    assert bad.returncode == 2 and bad.stderr.startswith("error: The ONNX model ")
    ref = _ped(tmp_path, "reference", f"onnx:{path}#feat", "--dataset", "digits", "--limit",
               "30", "--image-size", "24", "--json")  # fmt: skip
    assert ref.returncode == 0, ref.stderr[-3000:]
    assert json.loads(ref.stdout)["model"] == f"onnx:{path}#feat?image_size=24"


@pytest.mark.slow
def test_a_text_target_is_rescaled_with_a_text_reference(tmp_path):
    from ped.pipeline import DEFAULT_TEXT_REFERENCE

    res = _ped(tmp_path, "rank", "rotten-tomatoes", "zoo:static-64", "-s", "ped+logme",
               "--limit", "100", "--json", "-q")  # fmt: skip
    if res.returncode == 2 and "is not installed" in res.stderr:
        pytest.skip(f"zoo not installed here: {res.stderr.strip()}")
    assert res.returncode == 0, res.stderr[-3000:]
    data = json.loads(res.stdout)
    assert data["reference"] == DEFAULT_TEXT_REFERENCE != "imagenet-val"
    assert not any("imagenet" in n for n in data["notes"] + data["warnings"])


@pytest.mark.slow
def test_csv_summary_warns_of_empty_rows_and_tiny_classes(tmp_path):
    """Issue 14 item 4 through the executable: the summary before the work, with warnings."""
    rows = ["text,label"]
    rows += [f"review {i} is {'good' if i % 2 else 'bad'},{'pos' if i % 2 else 'neg'}"
             for i in range(30)]  # fmt: skip
    rows += ["orphan review,", ",pos", "one of a kind,solo"]
    csv = tmp_path / "reviews.csv"
    csv.write_text("\n".join(rows) + "\n")
    res = _ped(tmp_path, "extract", "zoo:static-64", f"csv:{csv}#text,label")
    if res.returncode == 2 and "is not installed" in res.stderr:
        pytest.skip(f"zoo not installed here: {res.stderr.strip()}")
    assert res.returncode == 0, res.stderr[-3000:]
    err = res.stderr
    assert f"csv:{csv}#text,label [all]: 32 text items, 3 classes" in err
    assert "smallest class 'solo' (1), largest 'pos' (16)" in err
    assert "warning: 1 class has a single item" in err
    assert "warning: 1 CSV row with an empty label dropped (data rows 31)." in err
    assert "warning: 1 CSV row with an empty text kept as '' (data rows 32)." in err
