from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ped import evaluation as ev


def test_weighted_tau_identity_and_reversal():
    gt = [82.1, 82.43, 83.78, 79.7, 81.85, 83.7, 82.16, 83.0, 85.42, 80.54, 81.5, 83.04]
    assert ev.weighted_tau(gt, gt) == pytest.approx(1.0)
    assert ev.weighted_tau(gt, [-g for g in gt]) == pytest.approx(-1.0)


def test_weighted_tau_is_symmetric_and_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=12), rng.normal(size=12)
    assert ev.weighted_tau(a, b) == pytest.approx(ev.weighted_tau(b, a), abs=1e-15)
    assert ev.weighted_tau(a, b) == pytest.approx(stats.weightedtau(a, b)[0], abs=1e-15)


def test_mappings_align_on_keys_and_ignore_duration():
    scores = {"b": 2.0, "a": 1.0, "c": 3.0, "duration": 12.5}
    truth = {"a": 10.0, "c": 30.0, "b": 20.0, "z": 0.0}
    assert ev.kendall_tau(scores, truth) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"got 1 missing: \['q'\]"):
        ev.kendall_tau({"q": 1.0, "a": 2.0}, truth)
    with pytest.raises(TypeError, match="both as sequences or both as mappings"):
        ev.kendall_tau(scores, [1, 2, 3])


def test_lengths_and_finiteness():
    with pytest.raises(ValueError, match="same length, got 3 and 2"):
        ev.weighted_tau([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="Expected finite scores and truth"):
        ev.pearson([1, np.nan, 3], [1, 2, 3])


def test_rel_and_recall_at_k_by_hand():
    scores = [0.9, 0.8, 0.1, 0.5]
    truth = [80.0, 90.0, 70.0, 85.0]
    assert ev.rel_at_k(scores, truth, 1) == pytest.approx(80 / 90)
    assert ev.rel_at_k(scores, truth, 2) == pytest.approx(1.0)
    assert ev.recall_at_k(scores, truth, 1) == 0.0
    assert ev.recall_at_k(scores, truth, 3) == 1.0
    with pytest.raises(ValueError, match="Expected k >= 1, got 0"):
        ev.rel_at_k(scores, truth, 0)


def test_weighted_pearson_by_hand():
    x = np.array([4.0, 3.0, 2.0, 1.0])  # already in descending score order
    y = np.array([1.0, 3.0, 2.0, 5.0])
    w = np.array([4.0, 3.0, 2.0, 1.0])
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    r = np.sum(w * (x - mx) * (y - my)) / np.sqrt(
        np.sum(w * (x - mx) ** 2) * np.sum(w * (y - my) ** 2)
    )
    assert ev.weighted_pearson(x, y) == pytest.approx(r, rel=1e-12)
    perm = [2, 0, 3, 1]
    assert ev.weighted_pearson(x[perm], y[perm]) == pytest.approx(r, rel=1e-12)


def test_bootstrap_interval_contains_estimate_and_is_reproducible():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=12)
    scores = truth + 0.5 * rng.normal(size=12)
    ci = ev.bootstrap_ci(scores, truth, n_boot=300, random_state=0)
    assert ci.low <= ci.estimate <= ci.high
    assert ci == ev.bootstrap_ci(scores, truth, n_boot=300, random_state=0)
    seeds = truth[None, :] + 0.1 * rng.normal(size=(3, 12))
    ci2 = ev.bootstrap_ci(scores, truth, "kendall_tau", n_boot=300, truth_samples=seeds)
    assert -1 <= ci2.low <= ci2.high <= 1
    with pytest.raises(ValueError, match=r"Unknown metric 'tau'"):
        ev.bootstrap_ci(scores, truth, "tau")


def test_bootstrap_replicates_pair_on_the_same_draws():
    rng = np.random.default_rng(0)
    T = np.array([[60.0, 70, 80, 90, 95]] * 3) + rng.normal(0, 0.3, (3, 5))
    good = ev.bootstrap_replicates(T / 10, T, n_boot=300)
    bad = ev.bootstrap_replicates(-T, T, n_boot=300)
    ok = np.isfinite(good)
    assert ok.sum() > 200 and np.array_equal(ok, np.isfinite(bad))
    # a perfect and a reversed score on the same resamples: paired difference 2 everywhere
    np.testing.assert_allclose((good - bad)[ok], 2.0)
    lo, hi = ev.percentile_interval(good)
    assert lo <= hi <= 1.0 + 1e-12
    assert np.isnan(ev.percentile_interval(np.full(4, np.nan))).all()
    with pytest.raises(ValueError, match="same shape"):
        ev.bootstrap_replicates(T, T[:, :3])


def test_bootstrap_ci_is_the_one_bootstrap_with_one_seed():
    # bootstrap_ci draws its replicates through bootstrap_replicates (one seed per model)
    rng = np.random.default_rng(3)
    truth = rng.normal(size=4)
    scores = truth + rng.normal(size=4)
    for metric in ("weighted_tau", "pearson"):
        ci = ev.bootstrap_ci(scores, truth, metric, n_boot=200, random_state=4)
        reps = ev.bootstrap_replicates(scores[None], truth[None], metric, n_boot=200,
                                       random_state=4)  # fmt: skip
        assert [ci.low, ci.high] == ev.percentile_interval(reps)
        assert ci.n_valid == int(np.isfinite(reps).sum()) < 200  # 4 models: some resamples drop
    with pytest.raises(ValueError, match=r"Unknown metric 'tau'"):
        ev.bootstrap_replicates(scores[None], truth[None], "tau")


def test_evaluate_seeds_orders_models_by_name_and_pairs_ped_with_its_base():
    truth = {f"m{k}": [60.0 + 10 * k, 61.0 + 10 * k] for k in range(5)}
    good = {m: [t / 10 for t in v] for m, v in truth.items()}
    bad = {m: [-t for t in v] for m, v in truth.items()}
    noise = np.random.default_rng(0).normal(size=(5, 2))
    noisy = {m: [t + 20 * e for t, e in zip(v, noise[k])] for k, (m, v) in enumerate(truth.items())}
    scores = {"x": bad, "ped+x[0.3,target]": good, "short": {"m0": [1, 1], "m1": [2, 2]},
              "noisy": noisy}  # fmt: skip
    out = ev.evaluate_seeds(scores, truth, n_boot=100, score_of=lambda n: n.split("[")[0])
    assert set(out) == {"x", "ped+x[0.3,target]", "noisy"}  # "short": under 3 models
    moved = out["ped+x[0.3,target]"]
    assert moved["weighted_tau"] == pytest.approx(1.0) and moved["delta"] == pytest.approx(2.0)
    assert moved["delta_ci"][0] == pytest.approx(2.0) and "delta" not in out["x"]
    assert moved["best"] == "m4" and list(moved["values"]) == sorted(truth)
    backwards = {n: dict(reversed(list(v.items()))) for n, v in scores.items()}
    again = ev.evaluate_seeds(backwards, truth, n_boot=100, score_of=lambda n: n.split("[")[0])
    assert again["noisy"]["ci"] == out["noisy"]["ci"] and again["noisy"]["ci"][0] < 1
    # without score_of the bracketed name is its own score: no base to pair with
    assert "delta" not in ev.evaluate_seeds(scores, truth, n_boot=20)["ped+x[0.3,target]"]


def test_evaluate_seeds_pairs_every_score_with_the_baselines():
    truth = {f"m{k}": [60.0 + 10 * k, 61.0 + 10 * k] for k in range(5)}
    scores = {
        "base": {m: [-t for t in v] for m, v in truth.items()},
        "good": {m: [t / 10 for t in v] for m, v in truth.items()},
        "few": {m: v for m, v in list(truth.items())[:4]},  # other models: not paired
    }
    out = ev.evaluate_seeds(scores, truth, n_boot=100, versus=["base", "absent"])
    assert out["good"]["versus"]["base"]["delta"] == pytest.approx(2.0)
    assert out["good"]["versus"]["base"]["delta_ci"] == pytest.approx([2.0, 2.0])
    assert "versus" not in out["base"] and "versus" not in out["few"]
    assert "versus" not in ev.evaluate_seeds(scores, truth, n_boot=20)["good"]


def test_ranking_utilities_live_in_evaluation_and_pipeline_reexports_them():
    import ped.pipeline as pipeline

    assert pipeline.rank_values is ev.rank_values and pipeline.tie_groups is ev.tie_groups
    assert pipeline.saturated_models is ev.saturated_models
    assert ev.saturated_models("ped+sfda", {"a": 0.9995, "b": 0.9}) == ["a"]
    assert ev.rank_values({"a": 2.0, "b": 2.00001, "c": 1.0}) == {"a": 1, "b": 1, "c": 3}
