"""PED dynamics: hand-checked steps, invariants (hypothesis) and edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from blobs_helper import make_blobs
from hypothesis import given, settings
from hypothesis import strategies as st

import ped
from ped import ReferenceStats


def _pairwise_step(X, y, mean, std, nsigma, tau, k, eps=1e-3):
    """One PED step written out pair by pair, as the paper describes it."""
    s = np.maximum(std, eps)
    Z = (X - mean) / s
    classes = np.unique(y)
    m = {c: Z[y == c].mean(0) for c in classes}
    rho = {c: np.sqrt(Z[y == c].var(0).sum()) for c in classes}
    delta = {c: np.zeros(X.shape[1]) for c in classes}
    for i, a in enumerate(classes):
        for b in classes[i + 1 :]:
            d = np.linalg.norm(m[a] - m[b])
            F = max(abs(nsigma) * (rho[a] + rho[b]) - d, 0.0)
            step = min(0.5 * tau**2 * k * F, F)
            u = (m[a] - m[b]) / d
            delta[a] += step * u
            delta[b] -= step * u
    Xn = X.copy()
    for c in classes:
        Xn[y == c] = (Z[y == c] + delta[c]) * s + mean
    P = sum(np.abs(delta[c]).sum() for c in classes)
    return Xn, P


def test_one_step_on_three_classes_matches_pairwise_formula():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (20, 3)), rng.normal(0.5, 1, (20, 3)), rng.normal(1, 1, (20, 3))]
    y = np.repeat([0, 1, 2], 20)
    ref = ReferenceStats(np.zeros(3) + 0.1, np.ones(3) * 1.5)
    sim = ped.simulate(X, y, reference=ref, nsigma=2.0, max_steps=1, time_step=0.5)
    expect, P = _pairwise_step(X, y, ref.mean, ref.std, 2.0, 0.5, 1.0)
    assert sim.n_steps == 1
    np.testing.assert_allclose(sim.features, expect, rtol=1e-12, atol=1e-12)
    assert sim.displacement[0] == pytest.approx(P, rel=1e-12)


def test_step_is_gradient_descent_on_energy():
    X, y = make_blobs(n_per_class=30, n_classes=3, dim=5, sep=0.5)
    sim = ped.simulate(X, y, reference=X, max_steps=1, nsigma=1.0)
    # Finite-difference gradient of E over the rescaled centroids.
    ref = ReferenceStats.from_features(X)
    s = np.maximum(ref.std, 1e-3)
    Z = (X - ref.mean) / s
    M = np.array([Z[y == c].mean(0) for c in range(3)])
    rho = np.array([np.sqrt(Z[y == c].var(0).sum()) for c in range(3)])

    def energy(M):
        E = 0.0
        for a in range(3):
            for b in range(a + 1, 3):
                F = max(rho[a] + rho[b] - np.linalg.norm(M[a] - M[b]), 0)
                E += 0.5 * F**2
        return E

    grad = np.zeros_like(M)
    h = 1e-6
    for idx in np.ndindex(M.shape):
        Mp, Mm = M.copy(), M.copy()
        Mp[idx] += h
        Mm[idx] -= h
        grad[idx] = (energy(Mp) - energy(Mm)) / (2 * h)
    moved_Z = np.array([((sim.features - ref.mean) / s)[y == c].mean(0) for c in range(3)])
    np.testing.assert_allclose(moved_Z - M, -0.5 * 0.1**2 * grad, rtol=1e-5, atol=1e-9)
    assert sim.energy[0] == pytest.approx(energy(M), rel=1e-10)


def test_no_overlap_moves_nothing_and_warns_nothing():
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(0, 0.01, (10, 4)), rng.normal(100, 0.01, (10, 4))]
    y = np.repeat([0, 1], 10)
    with np.errstate(all="raise"):
        sim = ped.simulate(X, y, reference=ReferenceStats(np.zeros(4), np.ones(4)))
    assert sim.n_steps == 0
    np.testing.assert_array_equal(sim.features, X)
    assert sim.displacement[0] == 0.0


def test_coinciding_centroids_stay_finite():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(15, 4))
    X = np.r_[A, A, rng.normal(3, 1, (15, 4))]
    y = np.repeat([0, 1, 2], 15)
    sim = ped.simulate(X, y, reference=X)
    assert np.isfinite(sim.features).all()
    m = [sim.features[y == c].mean(0) for c in range(3)]
    np.testing.assert_allclose(m[0], m[1])  # no direction to push them apart along


def test_early_exit_on_large_time_step():
    X, y = make_blobs(n_per_class=20, n_classes=3, dim=4, sep=0.3)
    sim = ped.simulate(X, y, reference=X, time_step=3.0, nsigma=2.0)
    assert sim.n_steps < 6
    assert sim.ratio[-1] <= 0.5 or sim.n_steps == 6


def test_exit_ratio_at_least_one_rejects_first_step():
    X, y = make_blobs(n_per_class=20, n_classes=3, dim=4)
    sim = ped.simulate(X, y, reference=X, exit_ratio=1.0)
    assert sim.n_steps == 0
    np.testing.assert_array_equal(sim.features, X)


def test_reference_width_and_none_errors():
    X, y = make_blobs()
    with pytest.raises(ValueError, match=r"got width 3"):
        ped.simulate(X, y, reference=X[:, :3])
    with pytest.raises(ValueError, match=r"Expected reference= .* got None"):
        ped.simulate(X, y, reference=None)
    with pytest.raises(ValueError, match=r"Expected time_step > 0, got -1"):
        ped.simulate(X, y, reference=X, time_step=-1)


BAD_DYNAMICS = [
    ({"time_step": -1}, r"Expected time_step > 0, got -1"),
    ({"time_step": 0.0}, r"Expected time_step > 0, got 0\.0"),
    ({"nsigma": float("nan")}, r"Expected a finite nsigma, got nan"),
    ({"nsigma": float("inf")}, r"Expected a finite nsigma, got inf"),
    ({"max_steps": 2.5}, r"Expected max_steps as a whole number, got 2\.5"),
    ({"max_steps": float("inf")}, r"Expected max_steps as a whole number, got inf"),
    ({"max_steps": -1}, r"Expected max_steps in \[0, 10000\], got -1"),
    ({"max_steps": 10**9, "exit_ratio": 0.0}, r"Expected max_steps in \[0, 10000\]"),
    ({"eps": -1e-3}, r"Expected eps > 0, got -0\.001"),
    ({"eps": 0}, r"Expected eps > 0, got 0"),
    ({"exit_ratio": -0.5}, r"Expected exit_ratio in \[0\.0, 1\.0\], got -0\.5"),
    ({"exit_ratio": float("nan")}, r"Expected exit_ratio in \[0\.0, 1\.0\], got nan"),
    ({"constant": -1.0}, r"Expected constant >= 0, got -1\.0"),
]


@pytest.mark.parametrize(("params", "message"), BAD_DYNAMICS)
def test_one_validation_for_simulate_and_every_ped_score(params, message):
    X, y = make_blobs()
    with pytest.raises(ValueError, match=message):
        ped.simulate(X, y, reference=X, **params)
    for name in ("ped+logme", "ped+hscore"):
        with pytest.raises(ValueError, match=message):
            ped.score(name, X, y, reference=X, **params)
    with pytest.raises(ValueError, match=message):
        ped.score_many(["ped+sfda"], X, y, reference=X, params={"ped+sfda": params})


def test_dynamics_parameters_of_the_wrong_type():
    X, y = make_blobs()
    with pytest.raises(TypeError, match=r"Expected nsigma as a real number, got 'big'"):
        ped.simulate(X, y, reference=X, nsigma="big")
    with pytest.raises(TypeError, match=r"Expected max_steps as an integer, got True"):
        ped.score("ped+logme", X, y, reference=X, max_steps=True)


def test_exit_ratio_zero_and_whole_float_max_steps_are_valid():
    X, y = make_blobs()
    sim = ped.simulate(X, y, reference=X, exit_ratio=0.0, max_steps=3.0, nsigma=-2.0)
    assert sim.n_steps == 3
    assert sim.params["max_steps"] == 3 and type(sim.params["max_steps"]) is int


def test_float32_input_gives_float64_output_and_is_not_modified():
    X, y = make_blobs(dtype=np.float32)
    X0 = X.copy()
    sim = ped.simulate(X, y, reference=X)
    assert sim.features.dtype == np.float64
    np.testing.assert_array_equal(X, X0)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_classes=st.integers(2, 6),
    dim=st.integers(2, 10),
    nsigma=st.floats(0.1, 3.0),
    sep=st.floats(0.0, 3.0),
)
def test_energy_never_rises_and_classes_move_rigidly(seed, n_classes, dim, nsigma, sep):
    X, y = make_blobs(n_per_class=8, n_classes=n_classes, dim=dim, sep=sep, seed=seed)
    sim = ped.simulate(X, y, reference=X, nsigma=nsigma)
    energies = np.r_[sim.energy[: sim.n_steps], sim.final_energy]
    assert np.all(np.diff(energies) <= 1e-9 * max(1.0, energies[0]))
    moved = sim.features
    for c in np.unique(y):
        shift = moved[y == c] - X[y == c]
        np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=1e-9)
        np.testing.assert_allclose(moved[y == c].var(0), X[y == c].var(0), rtol=1e-9, atol=1e-12)
    assert sim.n_steps <= 6


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_classes=st.integers(2, 5))
def test_translated_stats_equal_recomputed_stats(seed, n_classes):
    from ped._stats import ClassStats
    from ped._validation import check_labels

    X, y = make_blobs(n_per_class=7, n_classes=n_classes, dim=6, seed=seed)
    lab = check_labels(y)
    stats = ClassStats(X, lab)
    offsets = np.random.default_rng(seed).normal(size=(n_classes, 6))
    moved = stats.translated(offsets)
    direct = ClassStats(X + offsets[lab.codes], lab)
    for attr in ("means", "mean", "scatter", "gram", "within_scatter", "class_vars"):
        np.testing.assert_allclose(
            getattr(moved, attr), getattr(direct, attr), rtol=1e-9, atol=1e-9
        )
    P = np.random.default_rng(1).normal(size=(6, 3))
    np.testing.assert_allclose(moved.project(P), direct.features() @ P, rtol=1e-10, atol=1e-10)
    rows = np.random.default_rng(seed).permutation(X.shape[0])[: X.shape[0] // 2]
    np.testing.assert_allclose(moved.gather(rows), direct.features()[rows], atol=1e-12)
    np.testing.assert_array_equal(stats.gather(rows), X[rows])


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_simulate_at_extreme_magnitudes(scale):
    # eps is an absolute floor of the reference std: scaled with the features (it does not
    # bind at 1e200 either way), the dynamics must be those of the unscaled features.
    X, y = make_blobs()
    ref = make_blobs(seed=3)[0]
    sim = ped.simulate(X * scale, y, reference=ref * scale, eps=1e-3 * min(scale, 1.0))
    base = ped.simulate(X, y, reference=ref)
    assert sim.n_steps == base.n_steps
    np.testing.assert_allclose(sim.features, base.features * scale, rtol=1e-9, atol=0)
    np.testing.assert_allclose(sim.offsets, base.offsets * scale, rtol=1e-9, atol=1e-12 * scale)


@pytest.mark.parametrize("device", [None, "cpu"])
def test_class_stats_scale_is_exact(device):
    from ped._stats import ClassStats, feature_scale
    from ped._validation import check_labels

    X, y = make_blobs()
    lab = check_labels(y)
    big = X * 2.0**300
    assert feature_scale(big) == 2.0 ** round(np.log2(np.abs(big).max()))
    assert feature_scale(X) == 1.0 and feature_scale(np.zeros((2, 2))) == 1.0
    plain = ClassStats(X, lab, device=device)
    scaled = ClassStats(big, lab, device=device, scale=2.0**300)
    for attr in ("means", "class_vars", "scatter", "within_scatter", "gram"):
        np.testing.assert_array_equal(getattr(scaled, attr), getattr(plain, attr))
    np.testing.assert_array_equal(scaled.features(), X)
    np.testing.assert_array_equal(scaled.gather(np.arange(5)), X[:5])
    P = np.random.default_rng(0).normal(size=(X.shape[1], 2))
    np.testing.assert_array_equal(scaled.project(P), plain.project(P))
    with pytest.raises(ValueError, match=r"Expected a power-of-two scale, got 3\.0"):
        ClassStats(X, lab, scale=3.0)
