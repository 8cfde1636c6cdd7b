"""Family tests over the score registry (scikit-learn's test_common style)."""

from __future__ import annotations

import numpy as np
import pytest
from blobs_helper import make_blobs

import ped
from ped.scoring import describe_score

ALL = ped.list_scores()
FEATURE_SCORES = [n for n in ALL if describe_score(n)["needs_features"]]
BASE = ped.list_scores(include_ped=False)


def _params(name):
    p = describe_score(name)["params"]
    return {"random_state": 0} if "random_state" in p else {}


def _inputs(seed=0, n_per_class=40, dtype=np.float64):
    X, y = make_blobs(n_per_class=n_per_class, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 1)
    logits = rng.normal(size=(y.size, 7)) + np.eye(7)[y % 7] * 2
    sp = np.exp(logits)
    sp /= sp.sum(1, keepdims=True)
    ref = make_blobs(n_per_class=30, seed=seed + 7)[0]
    return X, y, sp, ref


def _score(name, X, y, sp, ref, **kw):
    return ped.score(name, X, y, source_probs=sp, reference=ref, **_params(name), **kw)


def test_registry_is_complete():
    for expected in ["logme", "sfda"]:
        assert expected in BASE
    assert all(f"ped+{n}" in ALL for n in BASE if describe_score(n)["needs_features"])
    assert all(n == n.lower() for n in ALL)


@pytest.mark.parametrize("name", ALL)
def test_returns_python_float_and_finite(name):
    X, y, sp, ref = _inputs()
    v = _score(name, X, y, sp, ref)
    assert type(v) is float
    assert np.isfinite(v)


# Scores that depend, by their definition, on the order of the label values: kNN's tied
# votes go to the smallest label (transformer-ranker's rule), and PACTran-Gaussian's official
# random start is drawn per class column (it stops at ftol 1e-6, not at the optimum). They are
# checked with relabelings that keep the order.
ORDER_DEPENDENT = ("knn", "pactran_gauss", "pactran_linear")


@pytest.mark.parametrize("name", ALL)
def test_label_permutation_and_dtype_invariance(name):
    X, y, sp, ref = _inputs()
    base = _score(name, X, y, sp, ref)
    relabel = np.array([3, 0, 2, 1])[y]  # permuted class ids
    names = np.array(["cat", "dog", "emu", "fox"])[y]  # strings
    sparse = np.array([-5, 10, 1000, 7])[y]  # sparse and negative integers
    if name.split("+")[-1] in ORDER_DEPENDENT:
        relabel = y + 3
        sparse = np.array([-5, 7, 10, 1000])[y]
    for labels in (relabel, names, sparse, list(sparse)):
        assert _score(name, X, labels, sp, ref) == pytest.approx(base, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_sample_order_invariance(name):
    X, y, sp, ref = _inputs()
    base = _score(name, X, y, sp, ref)
    perm = np.random.default_rng(3).permutation(y.size)
    got = _score(name, X[perm], y[perm], sp[perm], ref)
    # Scores with a random component (mixtures, subsampling) see a different draw order.
    random = ("nleep", "parc", "pactran_ndir", "pactran_ngamma")
    rel = 0.2 if any(r in name for r in random) else 1e-6
    assert got == pytest.approx(base, rel=rel, abs=1e-9)


@pytest.mark.parametrize("name", ALL)
def test_inputs_never_modified(name):
    X, y, sp, ref = _inputs()
    copies = [a.copy() for a in (X, y, sp, ref)]
    _score(name, X, y, sp, ref)
    for a, b in zip((X, y, sp, ref), copies):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", FEATURE_SCORES)
def test_float32_features_close_to_float64(name):
    X, y, sp, ref = _inputs()
    v64 = _score(name, X, y, sp, ref)
    v32 = _score(name, X.astype(np.float32), y, sp, ref)
    assert v32 == pytest.approx(v64, rel=1e-3, abs=1e-3)


@pytest.mark.parametrize("name", FEATURE_SCORES)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_features_rejected(name, bad):
    X, y, sp, ref = _inputs()
    X = X.copy()
    X[3, 2] = bad
    with pytest.raises(ValueError, match=r"Expected finite features, got \d+ NaN and \d+ inf"):
        _score(name, X, y, sp, ref)


@pytest.mark.parametrize("name", FEATURE_SCORES)
def test_shape_errors(name):
    X, y, sp, ref = _inputs()
    with pytest.raises(ValueError, match=r"Expected features as a 2-D array .* got 1-D"):
        _score(name, X[:, 0], y, sp, ref)
    with pytest.raises(ValueError, match=r"Expected as many labels as samples \(160\), got 159"):
        _score(name, X, y[:-1], sp, ref)
    with pytest.raises(
        ValueError, match=r"at least 1 sample\(s\) and 1 feature, got shape \(0, 12\)"
    ):
        _score(name, X[:0], y[:0], sp, ref)
    with pytest.raises(ValueError, match=r"Expected at least 2 distinct classes, got 1"):
        _score(name, X, np.zeros_like(y), sp, ref)


@pytest.mark.parametrize("name", FEATURE_SCORES)
def test_awkward_but_valid_inputs(name):
    X, y, sp, ref = _inputs(n_per_class=6)
    # one class with a single sample
    y1 = y.copy()
    y1[y1 == 3] = 2
    y1[0] = 3
    assert np.isfinite(_score(name, X, y1, sp, ref))
    # more dimensions than samples
    rng = np.random.default_rng(0)
    Xw = np.c_[X, rng.normal(size=(X.shape[0], 60))]
    refw = np.c_[ref, rng.normal(size=(ref.shape[0], 60))]
    assert np.isfinite(_score(name, Xw, y, sp, refw))
    # two classes with identical samples (coinciding centroids)
    Xc = X.copy()
    Xc[y == 1] = Xc[y == 0][: (y == 1).sum()]
    assert np.isfinite(_score(name, Xc, y, sp, ref))


@pytest.mark.parametrize("name", [n for n in ALL if n.startswith("ped+")])
def test_ped_reference_errors(name):
    X, y, sp, ref = _inputs()
    with pytest.raises(ValueError, match=r"Expected reference= .* got None"):
        ped.score(name, X, y, source_probs=sp, **_params(name))
    with pytest.raises(
        ValueError, match=r"Expected reference statistics of width 12 .* got width 5"
    ):
        ped.score(name, X, y, source_probs=sp, reference=ref[:, :5], **_params(name))


def test_unknown_score_lists_valid_names():
    X, y, sp, ref = _inputs()
    with pytest.raises(ValueError, match=r"Unknown score 'lgme'\. Valid scores: .*logme"):
        ped.score("lgme", X, y)
    with pytest.raises(TypeError, match=r"Unknown parameter 'bogus' for score 'logme'"):
        ped.score("logme", X, y, bogus=1)


def test_score_many_equals_score():
    X, y, sp, ref = _inputs()
    names = [n for n in ALL if "nleep" not in n and "parc" not in n]
    many = ped.score_many(names, X, y, source_probs=sp, reference=ref)
    for n in names:
        assert many[n] == pytest.approx(_score(n, X, y, sp, ref), rel=1e-9)


SOURCE_SCORES = [n for n in BASE if describe_score(n)["needs_source_probs"]]


@pytest.mark.parametrize("name", SOURCE_SCORES)
def test_source_probs_errors(name):
    X, y, sp, ref = _inputs()
    assert np.isfinite(ped.score(name, None, y, source_probs=sp))
    with pytest.raises(ValueError, match=r"needs source_probs"):
        ped.score(name, X, y)
    neg = sp.copy()
    neg[0, 0] = -0.5
    with pytest.raises(
        ValueError, match=r"Expected non-negative source_probs, got a minimum of -0.5"
    ):
        ped.score(name, None, y, source_probs=neg)
    with pytest.raises(ValueError, match=r"rows to sum to 1, got row 0 summing to 2"):
        ped.score(name, None, y, source_probs=sp * np.r_[2.0, np.ones(len(y) - 1)][:, None])
    with pytest.raises(ValueError, match=r"one row per sample \(160\), got 159 rows"):
        ped.score(name, None, y, source_probs=sp[:-1])
