"""The zoo benchmark: splits, the probe, the evaluation over seeds, and its quick slice."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from blobs_helper import make_blobs

from ped.benchmark import (
    BenchmarkConfig,
    BenchmarkResult,
    ped_name,
    probe_accuracy,
    run_benchmark,
    seed_split,
    write_outputs,
)
from ped.cli import main
from ped.models import list_zoo

pytestmark = pytest.mark.slow  # product end-to-end: the full `make test` tier

INSTALLED = {e.spec for e in list_zoo() if e.installed}
SLICE_IMAGE = ["zoo:efficientnet-lite0@s8", "zoo:mobilenetv2@s16", "zoo:ppocr-cls"]
SLICE_TEXT = ["zoo:glove-50d", "zoo:static-64", "zoo:minilm-l3"]
HAS_SLICE = all(m in INSTALLED for m in SLICE_IMAGE + SLICE_TEXT)


def test_seed_split_is_stratified_exact_and_seeded():
    y = np.repeat(np.arange(4), [50, 30, 15, 5])
    train, test = seed_split(y, 40, seed=0)
    assert test.size == 40 and np.intersect1d(train, test).size == 0
    assert np.union1d(train, test).size == y.size
    np.testing.assert_array_equal(np.bincount(y[test]), [20, 12, 6, 2])
    assert np.array_equal(seed_split(y, 40, seed=0)[1], test)
    assert not np.array_equal(seed_split(y, 40, seed=1)[1], test)
    # every class keeps a training item
    _, t = seed_split(np.array([0, 0, 1, 1, 1, 1]), 5, seed=0)
    assert np.bincount(np.array([0, 0, 1, 1, 1, 1])[np.setdiff1d(np.arange(6), t)]).min() >= 1


def test_probe_accuracy_orders_separable_and_noise():
    X, y = make_blobs(150, 4, 16, sep=6.0, seed=0)
    train, test = seed_split(y, 300, seed=0)
    good, c = probe_accuracy(X, y, train, test, cs=(1e-2, 1.0), seed=0)
    noise = np.random.default_rng(0).normal(size=X.shape)
    bad, _ = probe_accuracy(noise, y, train, test, cs=(1e-2, 1.0), seed=0)
    assert good > 95 > 40 > bad and c in (1e-2, 1.0)


def test_config_rejects_bad_settings():
    with pytest.raises(ValueError, match="reference"):
        BenchmarkConfig(references=("imagenet",))
    with pytest.raises(ValueError, match="training items"):
        BenchmarkConfig(pool=100, n_test=90)
    assert BenchmarkConfig().key() != BenchmarkConfig(seeds=4).key()


def _fake_result(seeds=3):
    """Four models whose score orders the truth exactly, and a score that reverses it."""
    rng = np.random.default_rng(0)
    records = []
    for k, acc in enumerate((60.0, 70.0, 80.0, 90.0)):
        rec = {"target": "t", "model": f"m{k}", "spec": f"m{k}", "n_features": 8,
               "extract_seconds": 0.0, "seeds": []}  # fmt: skip
        for s in range(seeds):
            a = acc + rng.normal(scale=0.5)
            rec["seeds"].append(
                {
                    "seed": s,
                    "accuracy": a,
                    "probe_seconds": 0.0,
                    "score_seconds": {"x": 0.0},
                    "scores": {"good": a / 10, "bad": -a, "flat": 1.0, "ped+bad[0.6,target]": a},
                }
            )
        records.append(rec)
    return BenchmarkResult(BenchmarkConfig(), records)


def test_evaluation_over_seeds():
    res = _fake_result()
    ev = res.evaluate("t", n_boot=200)
    assert ev["good"]["weighted_tau"] == pytest.approx(1.0)
    assert ev["bad"]["weighted_tau"] == pytest.approx(-1.0)
    lo, hi = ev["good"]["ci"]
    assert lo <= 1.0 <= hi + 1e-12 and ev["good"]["rel@1"] == pytest.approx(1.0)
    assert ev["good"]["seed_mean"] == pytest.approx(1.0) and ev["good"]["best"] == "m3"
    # a constant score is all ties: flagged, not ranked
    assert ev["flat"]["ties"] == [["m0", "m1", "m2", "m3"]]
    # PED's paired difference from its base, on the same resamples
    moved = ev["ped+bad[0.6,target]"]
    assert moved["delta"] == pytest.approx(2.0)
    assert moved["delta_ci"][0] > 0 and "delta" not in ev["bad"]
    truth = res.truth("t")
    assert truth["m3"]["mean"] > truth["m0"]["mean"] and np.isfinite(truth["m3"]["se"])


def test_write_outputs_replaces_the_docs_block(tmp_path):
    docs = tmp_path / "bench.md"
    docs.write_text(
        "# title\n\nverdict\n\n<!-- benchmark:begin -->\nold\n<!-- benchmark:end -->\ntail\n"
    )
    write_outputs(_fake_result(), tmp_path / "out", n_boot=50, plots=False, docs=docs)
    text = docs.read_text()
    assert "\nold\n" not in text and text.startswith("# title") and text.endswith("tail\n")
    assert "| good | 4 | 1.000" in text
    assert json.loads((tmp_path / "out" / "results.json").read_text())["targets"]["t"]


def test_ped_name():
    assert ped_name("logme", 0.6, "target") == "ped+logme[0.6,target]"


@pytest.mark.skipif(not HAS_SLICE, reason="the offline zoo is not installed")
def test_quick_slice_end_to_end_and_resumes(tmp_path, monkeypatch, capsys):
    """The benchmark's small slice: 3 image and 3 text models, real data, 2 seeds."""
    monkeypatch.setenv("PED_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    out = tmp_path / "bench"
    cfg = BenchmarkConfig(pool=160, n_test=80, seeds=2, reference_limit=80)
    models = {"image": SLICE_IMAGE, "text": SLICE_TEXT}
    lines: list[str] = []
    res = run_benchmark(
        ["mnist5k", "rotten-tomatoes"], models, config=cfg, out=out, log=lines.append
    )
    assert len(res.records) == 6 and len(lines) == 6
    rec = res.records[-1]
    assert rec["target"] == "mnist5k" and rec["n_pool"] == 160
    s0 = rec["seeds"][0]
    assert s0["n_test"] == 80 and s0["n_train"] == 80 and 10 < s0["accuracy"] <= 100
    assert {"logme", "sfda", "gbc", ped_name("logme", 0.3, "crops"),
            ped_name("sfda", 0.6, "other"), ped_name("nleep", 0.6, "target")} <= set(s0["scores"])  # fmt: skip
    text_rec = res.records[0]
    assert text_rec["target"] == "rotten-tomatoes"
    assert not any("crops" in k for k in text_rec["seeds"][0]["scores"])
    ev = res.evaluate("mnist5k", n_boot=100)
    assert ev["logme"]["n_models"] == 3
    # a rerun reads every record back and runs nothing
    again = run_benchmark(
        ["mnist5k", "rotten-tomatoes"], models, config=cfg, out=out, log=lines.append
    )
    assert len(lines) == 6 and again.records == res.records
    # the command reads the same records and writes the tables and plots
    rc = main(["benchmark", "-t", "mnist5k", "-t", "rotten-tomatoes", "--out", str(out),
               "--pool", "160", "--test", "80", "--seeds", "2", "--n-boot", "50", "--json", "-q",
               *[a for m in SLICE_TEXT + SLICE_IMAGE for a in ("-m", m)]])  # fmt: skip
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    summary = json.loads(captured.out)
    assert set(summary["targets"]) == {"mnist5k", "rotten-tomatoes"}
    assert (out / "heatmap.png").read_bytes()[:4] == b"\x89PNG"
    assert "### mnist5k: 3 models" in (out / "tables.md").read_text()
    # --render-only tabulates the stored records and computes nothing
    (out / "tables.md").unlink()
    rc = main(["benchmark", "-t", "mnist5k", "--out", str(out), "--pool", "160", "--test", "80",
               "--seeds", "2", "--n-boot", "20", "--render-only", "--json"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert rc == 0 and set(summary["targets"]) == {"mnist5k"}
    assert len(summary["targets"]["mnist5k"]["models"]) == 3 and (out / "tables.md").is_file()


def test_benchmark_unknown_target_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PED_HOME", str(tmp_path))
    rc = main(["benchmark", "-t", "cifar10", "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Unknown benchmark target" in err


def test_evaluation_does_not_depend_on_the_order_of_the_records():
    # A resumed run appends its new (target, model) pairs; the intervals must not move.
    from ped.benchmark.results import read_records

    shipped = Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "records.jsonl"
    # an upgraded pair is appended again: the last line of each (target, model) counts
    recs = [r for r in read_records(shipped).values() if r["target"] == "rotten-tomatoes"]
    assert len(recs) == 4
    forward = BenchmarkResult(BenchmarkConfig(), recs).evaluate("rotten-tomatoes", n_boot=200)
    backward = BenchmarkResult(BenchmarkConfig(), recs[::-1]).evaluate(
        "rotten-tomatoes", n_boot=200
    )
    assert forward.keys() == backward.keys()
    for name, row in forward.items():
        assert row["ci"] == backward[name]["ci"], name
        assert row.get("delta_ci") == backward[name].get("delta_ci"), name


# --- issue 12 / 16: new targets, the plan, the upgrade path, the fine-tuned truth -----------


def test_new_targets_and_plan():
    from ped.benchmark import PAPER_BASES, SLOW_SCORES, TARGETS
    from ped.benchmark.config import score_plan

    assert TARGETS["animal-mnist"] == {"modality": "image", "other": "fashion-mnist"}
    assert TARGETS["presidential-debates"] == {"modality": "text", "other": "rotten-tomatoes"}
    names = [p[0] for p in score_plan(BenchmarkConfig(), ["target"], False)]
    assert {"knn", "linear_cv", "ncti", "etran_energy", "pactran_gauss"} <= set(names)
    assert not set(SLOW_SCORES) & set(names) and "leep" not in names
    assert {f"sa+{b}" for b in PAPER_BASES} <= set(names) and "sa+knn" not in names
    assert "leep" in [p[0] for p in score_plan(BenchmarkConfig(), ["target"], True)]


def _finetune_records(accs, *, seeds=(0,), lrs=(0.1, 0.01)):
    """Synthetic fine-tuning records: per model a complete grid whose best lr has ``acc``."""
    cfg = BenchmarkConfig()
    out = []
    for k, acc in enumerate(accs):
        for seed in seeds:
            for j, lr in enumerate(lrs):
                a = acc - 5 * j  # the first lr wins on validation
                out.append({"target": "t", "spec": f"m{k}", "seed": seed, "lr": lr,
                            "config": {"pool": cfg.pool, "n_test": cfg.n_test, "lrs": list(lrs)},
                            "val_acc_recompute": a, "val_loss_recompute": 1.0,
                            "val_acc_running": a, "val_loss_running": 1.0,
                            "test_acc_recompute": a, "test_acc_running": a - 0.5 * (k % 2),
                            "levelled": True, "seconds": 1.0, "threads": 1,
                            "curve": [{"epoch": e + 1, "train_loss": 2.0 / (e + 1),
                                       "train_acc": 50.0, "val_acc": a, "val_loss": 1.0}
                                      for e in range(3)]})  # fmt: skip
    return out


def test_judged_twice_renders_both_truths_and_the_priors(tmp_path):
    res = _fake_result()
    for k, rec in enumerate(res.records):
        rec["prior"] = {"params": 1000 * (k + 1), "imagenet_top1": None if k == 0 else 70.0 + k}
        for s in rec["seeds"]:
            s["scores"]["knn"] = s["accuracy"] / 10  # a baseline that follows the probe
    # fine-tuning reverses the probe's order of the four models
    res.finetune = _finetune_records((95.0, 90.0, 85.0, 80.0))
    summary = res.to_dict(n_boot=100)
    ft = summary["targets"]["t"]["finetune"]
    judged = ft["judged"]
    assert judged["models"] == ["m0", "m1", "m2", "m3"] and ft["seeds"] == [0]
    assert judged["truths"]["fine-tuned"]["good"]["weighted_tau"] == pytest.approx(-1.0)
    assert judged["truths"]["linear probe"]["good"]["weighted_tau"] == pytest.approx(1.0)
    assert judged["between"][0]["weighted_tau"] == pytest.approx(-1.0)
    # the priors are seed-independent predictors; a model without a value is left out
    assert summary["targets"]["t"]["scores"]["prior:params"]["weighted_tau"] == pytest.approx(1.0)
    assert summary["targets"]["t"]["scores"]["prior:imagenet_top1"]["n_models"] == 3
    rows = {r["model"]: r for r in ft["candidates"]}
    assert rows["m0"]["finetuned"] == 95.0 and rows["m0"]["lr"] == [0.1]
    assert rows["m1"]["finetuned_running"] == 89.5 and rows["m0"]["probe"] < 62
    assert ft["batch_norm"]["changed"] == 4 and len(ft["curves"]["m0"]) == 2
    write_outputs(res, tmp_path, n_boot=50)
    text = (tmp_path / "tables.md").read_text()
    assert "#### t: fine-tuned against linear-probe ground truth" in text
    assert "τ vs fine-tuned" in text and "one swap of two neighbours" in text
    assert (
        "| 0.1 ↑ | yes | 50.0 | 0 |" in text
        and "the grid's largest / smallest (4 of 4 models)" in text
    )
    assert (tmp_path / "curves-t.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "ft-vs-probe-t.png").read_bytes()[:4] == b"\x89PNG"
    assert "![fine-tuned against linear-probe accuracy on t](ft-vs-probe-t.png)" in text
    # the cross-target table: sorted by the mean against fine-tuning, both truths side by side
    from ped.benchmark.render_finetune import both_truths_table

    table = both_truths_table(summary)
    assert table["targets"] == {"t": 4}
    rows = {r["score"]: r for r in table["rows"]}
    assert rows["good"]["mean"]["fine-tuned"] == pytest.approx(-1.0)
    assert rows["good"]["mean"]["linear probe"] == pytest.approx(1.0)
    means = [
        r["mean"]["fine-tuned"] for r in table["rows"] if math.isfinite(r["mean"]["fine-tuned"])
    ]
    assert means == sorted(means, reverse=True) and len(means) > 2
    assert "### Every score against both truths, over the fine-tuning targets" in text
    assert "| good | -1.000 | 1.000 | -1.000 | 1.000 |" in text
    assert (tmp_path / "both-truths.png").read_bytes()[:4] == b"\x89PNG"
    # every score paired with the baselines: "bad" follows fine-tuning, knn the probe
    vs = rows["bad"]["versus"]["fine-tuned"]["t"]["knn"]
    assert vs["delta"] == pytest.approx(2.0) and vs["delta_ci"][0] > 0
    assert rows["good"]["versus"]["fine-tuned"]["t"]["knn"]["delta"] == pytest.approx(0.0)
    assert "knn" not in rows["knn"]["versus"]["fine-tuned"]["t"]
    assert "An interval above 0 (the score beats the baseline): bad (over knn on t)" in text
    assert "| ped+bad[0.6,target] | " in text.split("Paired differences from the baselines")[1]


def test_two_fine_tuning_configurations_never_mix(tmp_path):
    res = _fake_result()
    old = _finetune_records((95.0, 90.0, 85.0, 80.0))
    new = _finetune_records((80.0, 85.0, 90.0, 96.0))
    for r in old:  # written before head_norm existed: its config does not name it
        r["config_key"] = "k-old"
    for r in new:
        r["config_key"], r["config"]["head_norm"] = "k-new", "batchnorm"
    res.finetune = old + new  # the configuration written last is the page's
    ft = res.to_dict(n_boot=20)["targets"]["t"]["finetune"]
    assert {r["model"]: r["finetuned"] for r in ft["candidates"]}["m3"] == 96.0
    assert ft["other_config"] == len(old)
    (c,) = ft["compared"]
    assert c["differs"] == {"head_norm": ["none", "batchnorm"]} and len(c["rows"]) == 4
    m3 = next(r for r in c["rows"] if r["spec"] == "m3")
    assert (m3["this"], m3["other"]) == (96.0, 80.0)
    write_outputs(res, tmp_path, n_boot=20)
    text = (tmp_path / "tables.md").read_text()
    assert "8 runs of another fine-tuning configuration" in text
    assert "(head_norm 'none' there, 'batchnorm' here; 8 runs)" in text
    assert "| m3 | 0 | 96.00 | 80.00 | +16.00 | 0.1 / 0.1 |" in text
    # the protocol's default configuration is judged wherever it was written in the file
    from ped.finetune.protocol import FinetuneConfig

    for r in new:
        r["config_key"] = FinetuneConfig().key()
    res.finetune = new + old
    ft = res.to_dict(n_boot=20)["targets"]["t"]["finetune"]
    assert {r["model"]: r["finetuned"] for r in ft["candidates"]}["m3"] == 96.0


def test_judged_block_keeps_the_most_model_seed_points():
    from ped.benchmark.judged import judged_block

    assert judged_block({"a": {0, 1}, "b": {0, 1}, "c": {0}}) == (["a", "b"], [0, 1])
    assert judged_block({"a": {0, 1}, "b": {0}, "c": {0}}) == (["a", "b", "c"], [0])
    assert judged_block({"a": {0, 1}, "b": {0}}) == (["a", "b"], [0])  # a tie: more models
    assert judged_block({"a": {0, 1, 2}, "b": {1, 2}, "c": {1, 2}}) == (["a", "b", "c"], [1, 2])
    assert judged_block({}) == ([], []) and judged_block({"a": set()}) == ([], [])
    assert judged_block({"b": {1}, "a": {0}}) == (["a"], [0])  # a full tie: the smallest seeds


def test_a_model_fine_tuned_on_fewer_seeds_is_left_out_not_the_seeds(tmp_path):
    res = _fake_result()
    res.finetune = _finetune_records((95.0, 90.0, 85.0), seeds=(0, 1)) + [
        {**r, "spec": "m3"} for r in _finetune_records((80.0,), seeds=(0,))
    ]
    ft = res.to_dict(n_boot=20)["targets"]["t"]["finetune"]
    assert ft["seeds"] == [0, 1] and ft["fewer_seeds"] == ["m3"]
    assert ft["judged"]["models"] == ["m0", "m1", "m2"]
    assert {r["model"] for r in ft["candidates"]} == {"m0", "m1", "m2", "m3"}
    write_outputs(res, tmp_path, n_boot=20)
    text = (tmp_path / "tables.md").read_text()
    assert (
        "Left out of the judgement for lacking those seeds (shown in the table above): `m3`."
        in text
    )


def test_too_few_finetuned_models_is_said_not_computed():
    res = _fake_result()
    res.finetune = _finetune_records((95.0, 90.0))
    summary = res.to_dict(n_boot=20)
    from ped.benchmark.render import render_markdown

    assert "Too few models for a verdict" in render_markdown(summary)


def test_old_records_render_with_missing_scores():
    res = _fake_result()  # its records lack every score of today's plan but four
    summary = res.to_dict(n_boot=20)
    missing = summary["targets"]["t"]["missing_scores"]
    assert "knn" in missing and "sa+logme" in missing and "prior:params" in missing
    from ped.benchmark.render import render_markdown

    assert "`knn`" in render_markdown(summary)


class _Features:
    def __init__(self, X, y):
        self.features, self.labels, self.source_probs = X, y, None
        self.model, self.n_features, self.n_samples, self.cached = "fake", X.shape[1], len(y), True


def test_rerun_computes_only_the_missing_scores(tmp_path, monkeypatch):
    import ped.benchmark.run as run
    import ped.models

    X, y = make_blobs(40, 3, 6, sep=3.0, seed=1)
    monkeypatch.setattr(ped.models, "load_backbone", lambda spec, **kw: object())
    monkeypatch.setattr(run, "extract", lambda *a, **kw: _Features(X, y))
    monkeypatch.setattr(run, "_prior", lambda bb: {"params": 7, "imagenet_top1": None})
    calls: list[list[str]] = []
    real = run.score_many
    monkeypatch.setattr(run, "score_many", lambda names, *a, **kw: calls.append(list(names))
                        or real(names, *a, **kw))  # fmt: skip
    cfg = BenchmarkConfig(pool=120, n_test=60, seeds=2, references=("target",))
    models = {"image": ["fake"]}
    full = run_benchmark(["mnist5k"], models, config=cfg, out=tmp_path).records[0]
    old = json.loads(json.dumps(full))
    del old["prior"]
    for s in old["seeds"]:
        for name in ("knn", "sa+logme"):
            del s["scores"][name]
    (tmp_path / "records.jsonl").write_text(json.dumps(old) + "\n")
    calls.clear()
    new = run_benchmark(["mnist5k"], models, config=cfg, out=tmp_path).records[0]
    assert sorted(n for c in calls for n in c) == sorted(["knn", "sa+logme"] * 2)
    assert new["prior"] == {"params": 7, "imagenet_top1": None}
    for a, b in zip(new["seeds"], full["seeds"]):
        assert a["scores"] == pytest.approx(b["scores"], nan_ok=True)
    # the upgraded record is stored: a third run computes nothing
    calls.clear()
    run_benchmark(["mnist5k"], models, config=cfg, out=tmp_path)
    assert calls == []


def test_a_target_with_fine_tuning_records_only_is_rendered(tmp_path):
    res = _fake_result()
    res.finetune = _finetune_records((95.0, 90.0, 85.0))
    for r in res.finetune:
        r["target"] = "only-ft"
    write_outputs(res, tmp_path, n_boot=20)
    text = (tmp_path / "tables.md").read_text()
    assert "No linear-probe records on only-ft yet" in text
    assert "#### only-ft: fine-tuned against linear-probe ground truth" in text
    assert "| m0 | 95.00 |" in text and (tmp_path / "curves-only-ft.png").is_file()


def test_swap_resolution():
    from ped.evaluation import swap_resolution

    for n in (3, 4, 16, 37):
        res = swap_resolution(n)
        assert res["kendall"] == pytest.approx(4 / (n * (n - 1)))
        assert res["weighted_top"] > res["weighted_bottom"] > 0  # the top weighs most
    with pytest.raises(ValueError, match="n"):
        swap_resolution(2)


def test_a_target_smaller_than_the_pool_keeps_the_test_share():
    from ped.finetune import pool_test_size

    assert pool_test_size(5000, 3000, 2000) == 2000
    assert pool_test_size(1122, 3000, 2000) == 748  # presidential-debates
    assert pool_test_size(30, 3000, 2000) == 10  # at least 20 training items
    assert pool_test_size(21, 3000, 2000) == 2


@pytest.mark.skipif("zoo:static-64" not in INSTALLED, reason="zoo not installed")
def test_presidential_debates_is_benchmarked_on_its_1122_items(tmp_path):
    config = BenchmarkConfig(seeds=1, nsigmas=(0.3,), references=("target",))
    res = run_benchmark(
        ["presidential-debates"], {"text": ["zoo:static-64"]}, config=config, out=tmp_path
    )
    (rec,) = res.records
    (seed,) = rec["seeds"]
    assert rec["n_pool"] == 1122 and (seed["n_train"], seed["n_test"]) == (374, 748)
    majority = 100 * 454 / 1122  # the Republican share: a probe must beat it
    assert majority < seed["accuracy"] <= 100 and np.isfinite(seed["scores"]["logme"])


def test_settings_line_and_a_record_split_by_an_older_rule(tmp_path):
    from ped.benchmark.render import _settings_lines
    from ped.benchmark.run import _same_split

    config = BenchmarkConfig()
    (line, _) = _settings_lines(
        {**config.__dict__, "cs": list(config.cs)}
    )  # the rendered summary's config is a plain dict
    assert f"C grid {list(config.cs)} chosen" in line and "{" not in line
    rec = {"n_pool": 1122, "seeds": [{"n_test": 748}, {"n_test": 748}]}
    assert _same_split(config, rec)
    assert not _same_split(config, {**rec, "seeds": [{"n_test": 1119}]})  # 3 training items
    assert _same_split(config, {"n_pool": 3000, "seeds": [{"n_test": 2000}]})


def test_mean_table_leaves_out_a_score_not_computed_on_every_model():
    from ped.benchmark.render import _mean_lines

    def target(taus, missing=()):
        return {"scores": {s: {"weighted_tau": v} for s, v in taus.items()},
                "missing_scores": list(missing)}  # fmt: skip

    summary = {"targets": {
        "mnist5k": target({"gbc": 0.7, "knn": 0.9}, missing=["knn"]),  # knn on 5 of 37 models
        "fashion-mnist": target({"gbc": 0.6, "knn": 0.8}),
    }}  # fmt: skip
    rows = {line.split(" | ")[0]: line for line in _mean_lines(summary) if line.startswith("| ")}
    assert rows["| gbc"] == "| gbc | 0.700 | 0.600 | 0.650 | 0.650 |"
    assert rows["| knn"] == "| knn | – | 0.800 | – | – |"
