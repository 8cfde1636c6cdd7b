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
