"""The torch array backend (``device=``) gives the numpy path's results."""

from __future__ import annotations

import numpy as np
import pytest
from blobs_helper import make_blobs

import ped
from ped._stats import ClassStats, check_device
from ped._validation import check_labels

torch = pytest.importorskip("torch")

FEATURE_SCORES = [n for n in ped.list_scores() if ped.describe_score(n)["needs_features"]]


def _params(name):
    base = name.removeprefix("ped+")
    return {"random_state": 0} if base == "nleep" else {}


@pytest.fixture(scope="module")
def data():
    X, y = make_blobs(n_per_class=60, n_classes=5, dim=24, sep=1.0, seed=3, dtype=np.float32)
    ref = make_blobs(n_per_class=40, n_classes=3, dim=24, seed=4)[0]
    return X, y, ref


@pytest.mark.parametrize("name", FEATURE_SCORES)
def test_cpu_torch_equals_numpy(name, data):
    X, y, ref = data
    kw = {"reference": ref} if name.startswith("ped+") else {}
    expect = ped.score(name, X, y, **kw, **_params(name))
    got = ped.score(name, X, y, device="cpu", **kw, **_params(name))
    assert isinstance(got, float)
    assert got == pytest.approx(expect, rel=1e-6, abs=1e-12)


def test_score_many_with_device(data):
    X, y, ref = data
    names = ["logme", "sfda", "ped+logme"]
    expect = ped.score_many(names, X, y, reference=ref)
    got = ped.score_many(names, X, y, reference=ref, device="cpu")
    assert got == pytest.approx(expect, rel=1e-6)


def test_statistics_equal_numpy(data):
    X, y, _ = data
    lab = check_labels(y)
    a, b = ClassStats(X, lab), ClassStats(X, lab, device="cpu")
    for attr in ("means", "class_vars", "scatter", "within_scatter", "gram"):
        np.testing.assert_allclose(getattr(b, attr), getattr(a, attr), rtol=1e-9, atol=1e-9)
    P = np.random.default_rng(0).normal(size=(X.shape[1], 3))
    np.testing.assert_allclose(b.project(P), a.project(P), rtol=1e-9, atol=1e-9)
    w = np.random.default_rng(1).random(X.shape[0])
    for u, v in zip(b.weighted_sums(w), a.weighted_sums(w)):
        np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-9)


def test_simulate_with_device(data):
    X, y, ref = data
    a = ped.simulate(X, y, reference=ref)
    b = ped.simulate(X, y, reference=ref, device="cpu")
    assert a.n_steps == b.n_steps
    np.testing.assert_allclose(b.features, a.features, rtol=1e-9, atol=1e-9)


def test_device_is_not_a_hyper_parameter(data):
    X, y, _ = data
    assert "device" not in ped.describe_score("logme")["params"]
    with pytest.raises(ValueError, match=r"Expected device to be None, 'cpu', 'cuda'.*'gpu0'"):
        ped.score("logme", X, y, device="gpu0")
    with pytest.raises(TypeError, match="Expected device to be None, a string or a torch.device"):
        check_device(3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_equals_numpy(data):
    X, y, ref = data
    for name in ("logme", "sfda", "ped+logme", "gbc"):
        kw = {"reference": ref} if name.startswith("ped+") else {}
        expect = ped.score(name, X, y, **kw)
        assert ped.score(name, X, y, device="cuda", **kw) == pytest.approx(expect, rel=1e-6)


@pytest.mark.parametrize("device", [None, "cpu"])
def test_unfused_passes_equal_fused(data, device):
    """Moments first and the Gram later (as after `ped.simulate`) give the same statistics."""
    X, y, _ = data
    lab = check_labels(y)
    fused = ClassStats(X, lab, device=device)
    split = ClassStats(X, lab, device=device, fuse=False)
    np.testing.assert_allclose(split.class_vars, fused.class_vars, rtol=1e-12, atol=1e-12)
    assert "zgram" not in split._cache
    np.testing.assert_allclose(split.scatter, fused.scatter, rtol=1e-12, atol=1e-9)
    offsets = np.random.default_rng(2).normal(size=(lab.n_classes, X.shape[1]))
    direct = ClassStats(X + offsets[lab.codes], lab)
    np.testing.assert_allclose(
        split.translated(offsets).scatter, direct.scatter, rtol=1e-9, atol=1e-8
    )
