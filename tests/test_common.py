"""Family tests over the score registry (scikit-learn's test_common style)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from blobs_helper import make_blobs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    with pytest.raises(ValueError, match=r"'ped\+<name>' or 'sa\+<name>' for any score"):
        ped.score("sa+lgme", X, y)
    with pytest.raises(
        ValueError, match=r"Unknown parameter 'bogus' for score 'logme'\. Valid parameters: none"
    ):
        ped.score("logme", X, y, bogus=1)
    with pytest.raises(
        ValueError,
        match=r"Unknown parameter 'nsgima' for score 'ped\+logme'\. Valid parameters: "
        r"constant, eps, exit_ratio, max_steps, nsigma, time_step\.",
    ):
        ped.score("ped+logme", X, y, reference=ref, nsgima=0.3)


def test_cli_score_rejects_a_misspelled_parameter(tmp_path, capsys):
    from ped.cli import main

    X, y, _, ref = _inputs()
    for name, arr in (("X", X), ("y", y), ("ref", ref)):
        np.save(tmp_path / f"{name}.npy", arr)
    argv = ["score", str(tmp_path / "X.npy"), str(tmp_path / "y.npy"), "-s", "ped+logme"]
    argv += ["-r", str(tmp_path / "ref.npy"), "-p", "nsgima=0.3"]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert "Unknown parameter(s) 'nsgima' for score(s) ped+logme" in err
    assert "nsigma" in err
    assert main([*argv[:-1], "nsigma=0.3", "--json"]) == 0


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


# ----------------------------------------------------------------- degenerate inputs, scale
SCALE_INVARIANT = [n for n in BASE if describe_score(n).get("scale_invariant")]
EXTREME_SCALES = [1e-200, 1e-150, 1e-40, 1e40, 1e154, 1e200]


def test_scale_invariant_names():
    # Derived from each formula (see the docstrings): the rest carry absolute constants.
    assert {"hscore", "reg_hscore", "parc"} <= set(SCALE_INVARIANT)
    assert not {"logme", "sfda", "gbc", "nleep", "transrate"} & set(SCALE_INVARIANT)
    assert not any(describe_score(n).get("scale_invariant") for n in ALL if n.startswith("ped+"))


@pytest.mark.parametrize("name", SCALE_INVARIANT)
def test_scale_invariant_scores_are_invariant(name):
    X, y, sp, ref = _inputs()
    base = _score(name, X, y, sp, ref)
    for scale in EXTREME_SCALES + [3.0, 1e-3]:
        assert _score(name, X * scale, y, sp, ref) == pytest.approx(base, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", FEATURE_SCORES)
@pytest.mark.parametrize("scale", EXTREME_SCALES)
def test_features_of_any_magnitude_give_a_finite_value(name, scale):
    X, y, sp, ref = _inputs()
    if "nleep" in name and scale > 1:
        # reg_covar (1e-6) vanishes next to such features: the mixture's covariances are
        # singular, and the formula with them.
        with pytest.raises(ValueError, match=r"N-LEEP could not fit its \d+-component"):
            _score(name, X * scale, y, sp, ref * scale)
        return
    if name.endswith(("pactran_gauss", "pactran_linear")) and scale > 2.0**100:
        # its prior and softmax terms are in absolute units: the squares leave float64
        with pytest.raises(ValueError, match="PACTran-Gaussian cannot score features"):
            _score(name, X * scale, y, sp, ref * scale)
        return
    # ped+ rescales with the reference, given at the same magnitude.
    v = _score(name, X * scale, y, sp, ref * scale)
    assert type(v) is float and np.isfinite(v), (name, scale, v)


@pytest.mark.parametrize("name", ["logme", "gbc", "transrate", "sfda"])
def test_scale_dependent_scores_are_continuous_across_the_internal_rescaling(name):
    # Features below 2**100 in magnitude are used as they are, larger ones divided by a power
    # of two (with the score's constants): the two sides of that boundary must agree.
    X, y, sp, ref = _inputs()
    below = _score(name, X * 2.0**96, y, sp, ref)  # largest entry just under 2**100
    above = _score(name, X * 2.0**96 * (1 + 2**-40), y, sp, ref)
    assert np.abs(X * 2.0**96).max() < 2.0**100 < np.abs(X * 2.0**98).max()
    above_boundary = _score(name, X * 2.0**98, y, sp, ref)
    assert above == pytest.approx(below, rel=1e-9, abs=1e-12)
    assert np.isfinite(above_boundary)


def test_logme_without_signal_is_the_evidence_of_a_featureless_model():
    X, y, sp, ref = _inputs()
    N = y.size
    counts = np.bincount(y)
    beta = N / (counts + 1e-5)
    expected = np.mean((N / 2 * np.log(beta) - beta / 2 * counts - N / 2 * np.log(2 * np.pi)) / N)
    for F in (np.zeros_like(X), X * 1e-200, X * 1e-60):
        assert ped.score("logme", F, y) == pytest.approx(expected, rel=1e-9)
    wide = np.zeros((N, 400))  # N < D: the thin-SVD path
    assert ped.score("logme", wide, y) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    "case", ["constant", "class-constant", "one sample per class", "two samples"]
)
def test_sfda_without_within_class_variation_is_a_value_error(case):
    X, y, sp, ref = _inputs()
    if case == "constant":
        X = np.ones_like(X)
    elif case == "class-constant":
        X = np.random.default_rng(0).normal(size=(4, X.shape[1]))[y]
    elif case == "one sample per class":
        first = [int(np.flatnonzero(y == c)[0]) for c in range(4)]
        X, y = X[first], y[first]
    else:
        first = [int(np.flatnonzero(y == c)[0]) for c in range(2)]
        X, y = X[first], y[first]
    with pytest.raises(
        ValueError,
        match=r"SFDA is undefined for these features: their "
        r"within-class scatter is zero",
    ):
        ped.score("sfda", X, y)


@pytest.mark.parametrize("name", FEATURE_SCORES)
def test_masked_features_with_nan_under_the_mask_are_refused(name):
    X, y, sp, ref = _inputs()
    mask = np.zeros(X.shape, dtype=bool)
    mask[5, 1] = True
    Xm = np.ma.masked_array(X.copy(), mask=mask)
    Xm.data[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"without masked entries, got a masked array with 1"):
        _score(name, Xm, y, sp, ref)


# ------------------------------------------------------------- hyper-parameter fuzzing
# For every hyper-parameter of the registered scores: values that must work and values that
# must be refused. A score's parameter missing here gets the generic pool below (any
# outcome but a finite float or a ValueError/TypeError is a failure).
_NAN, _INF = float("nan"), float("inf")
_not_number = st.sampled_from(["x", None, [1], {}])
_bad_real = st.sampled_from([_NAN, _INF, -_INF])


def _closed_interval(lo: float, hi: float):
    """(valid, invalid) strategies of a parameter that must lie in [lo, hi]."""
    outside = st.floats(hi, 1e300, exclude_min=True) | st.floats(-1e300, lo, exclude_max=True)
    return st.floats(lo, hi), outside | _bad_real | _not_number


PARAM_SPACE = {
    "gaussian": (
        st.sampled_from(["spherical", "diagonal"]),
        st.sampled_from(["full", "Spherical", "", 1, None]),
    ),
    "n_components": (
        st.integers(1, 100) | st.just(64.0),
        st.integers(-5, 0) | st.sampled_from([2.5, _NAN, _INF, "64", True]),
    ),
    "var_floor": (
        st.floats(1e-300, 1e300),
        st.floats(-1e300, 0.0) | _bad_real | _not_number,
    ),
    "variant": (
        st.sampled_from(["reference", "google"]),
        st.sampled_from(["matrix", "REFERENCE", 0, None]),
    ),
    "rcond": (
        st.none() | st.floats(0.0, 1e300),
        st.floats(-1e300, -1e-300) | _bad_real | st.just("x"),
    ),
    "log": (st.booleans(), st.sampled_from([0, 1, "yes", None, 1.0])),
    "faithful": (st.booleans(), st.sampled_from([0, 1, "yes", None, 1.0])),
    "double_softmax": (st.booleans(), st.sampled_from([0, 1, "yes", None, 1.0])),
    "component_ratio": (
        st.floats(0.01, 20.0),
        st.floats(-1e300, 0.0) | _bad_real | _not_number,
    ),
    "random_state": (
        st.none() | st.integers(0, 2**32 - 1),
        st.integers(-(2**40), -1) | st.integers(2**32, 2**40) | st.sampled_from([1.5, "0", True]),
    ),
    "variance_fraction": _closed_interval(0.0, 1.0),
    "reg_covar": (
        st.floats(1e-6, 1e300),  # 0 is accepted, but a mixture may then be singular
        st.floats(-1e300, 0.0, exclude_max=True) | _bad_real | _not_number,
    ),
    "ratio": (
        st.floats(1e-300, 1e300),
        st.floats(-1e300, 0.0) | _bad_real | _not_number,
    ),
    "max_samples": (
        st.integers(2, 10**9),
        st.integers(-5, 1) | st.sampled_from([2.5, _NAN, _INF, "100", True]),
    ),
    "shrinkage": (
        st.none() | st.floats(0.0, 1.0),
        st.floats(1.0, 1e300, exclude_min=True)
        | st.floats(-1e300, 0.0, exclude_max=True)
        | _bad_real
        | st.just("x"),
    ),
    "eps": (
        st.floats(1e-300, 1e300),
        st.floats(-1e300, 0.0) | _bad_real | _not_number,
    ),
    "ddof": (
        st.sampled_from([0, 1]),
        st.integers(2, 10) | st.sampled_from([-1, 0.5, _NAN, "1", True, None]),
    ),
    "k": (
        st.integers(1, 20),  # at most n_samples - 1 of the fuzz inputs
        st.integers(-5, 0) | st.sampled_from([2.5, _NAN, _INF, "3", True]),
    ),
    "metric": (
        st.sampled_from(["euclidean", "cosine"]),
        st.sampled_from(["manhattan", "", None, 1]),
    ),
    "component": (
        st.sampled_from(["seli", "ncc", "vc"]),
        st.sampled_from(["nc", "", None, 0]),
    ),
    "alpha": (
        st.floats(1e-6, 1e6),
        st.floats(-1e300, 0.0) | _bad_real | _not_number,
    ),
    "lda_factor": (
        st.floats(1e-3, 1e3),
        st.floats(-1e300, 0.0) | _bad_real | _not_number,
    ),
    "s2_factor": (
        st.floats(1e-3, 1e3),
        st.floats(-1e300, 0.0) | _bad_real | _not_number,
    ),
    "percent": _closed_interval(0.1, 100.0),
    "folds": (
        st.integers(2, 60),
        st.integers(-5, 1) | st.sampled_from([2.5, _NAN, _INF, "5", True]),
    ),
    "C": (
        st.floats(1e-6, 1e6),
        st.floats(-1e300, 0.0) | _bad_real | _not_number,
    ),
    "max_iter": (
        st.integers(1, 300),
        st.integers(-5, 0) | st.sampled_from([2.5, _NAN, _INF, "100", True]),
    ),
}
DYNAMICS_SPACE = {
    "nsigma": (st.floats(-10.0, 10.0), _bad_real | _not_number),
    "time_step": (st.floats(1e-6, 10.0), st.floats(-1e300, 0.0) | _bad_real | _not_number),
    "exit_ratio": (
        st.floats(0.0, 1.0),
        st.floats(1.0, 1e300, exclude_min=True)
        | st.floats(-1e300, 0.0, exclude_max=True)
        | _bad_real
        | _not_number,
    ),
    "max_steps": (
        st.integers(0, 50),
        st.integers(-5, -1) | st.integers(10_001, 10**12) | st.sampled_from([2.5, _INF, "6"]),
    ),
    "constant": (st.floats(0.0, 100.0), st.floats(-1e300, 0.0, exclude_max=True) | _bad_real),
    "eps": (st.floats(1e-12, 1e3), st.floats(-1e300, 0.0) | _bad_real | _not_number),
}
_GENERIC = st.sampled_from([_NAN, _INF, -1, 0, 1, 0.5, 2.5, "x", None, True, [1]])


def _fuzz_inputs():
    X, y = make_blobs(n_per_class=15, n_classes=3, dim=6, seed=4)
    rng = np.random.default_rng(2)
    sp = rng.dirichlet(np.ones(5), size=y.size)
    return X, y, sp


def _draw_params(data, space, names):
    """Draw a value for some of ``names``: valid ones, or (sometimes) one invalid value.
    Returns ``(params, expect_error)``; ``expect_error`` is None when unknown (generic)."""
    params, expect = {}, False
    bad = data.draw(st.sampled_from([None, *names]), label="invalid parameter")
    for k in names:
        if k == bad:
            continue
        if k in space and data.draw(st.booleans(), label=f"set {k}"):
            params[k] = data.draw(space[k][0], label=k)
    if bad is not None:
        if bad in space:
            params[bad] = data.draw(space[bad][1], label=f"invalid {bad}")
            expect = True
        else:
            params[bad] = data.draw(_GENERIC, label=f"generic {bad}")
            expect = None
    return params, expect


def _check_outcome(call, expect):
    try:
        value = call()
    except (ValueError, TypeError) as exc:
        assert expect is not False, f"valid parameters refused: {exc}"
        assert str(exc).strip(), "empty error message"
        return
    assert expect is not True, f"invalid parameter accepted, gave {value!r}"
    assert type(value) is float and np.isfinite(value), value


@pytest.mark.parametrize("name", BASE)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hyper_parameters_fuzzed(name, data):
    X, y, sp = _fuzz_inputs()
    names = sorted(describe_score(name)["params"])
    params, expect = _draw_params(data, PARAM_SPACE, names)
    features = X if describe_score(name)["needs_features"] else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # N-LEEP's reg_covar retries
        _check_outcome(lambda: ped.score(name, features, y, source_probs=sp, **params), expect)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_dynamics_hyper_parameters_fuzzed(data):
    X, y, _ = _fuzz_inputs()
    params, expect = _draw_params(data, DYNAMICS_SPACE, sorted(DYNAMICS_SPACE))
    _check_outcome(lambda: ped.score("ped+hscore", X, y, reference=X, **params), expect)
    try:
        ped.simulate(X, y, reference=X, **params)
        assert expect is False
    except (ValueError, TypeError):
        assert expect is True


def test_fuzz_space_covers_every_parameter():
    # A parameter without declared valid and invalid values is fuzzed only generically.
    from ped.scoring import DYNAMICS_PARAMS

    assert set(DYNAMICS_SPACE) == set(DYNAMICS_PARAMS)
    for name in BASE:
        assert set(describe_score(name)["params"]) <= set(PARAM_SPACE), name
