from __future__ import annotations

import numpy as np
import pytest
from official_reference import logme_target

import ped
from ped._validation import check_features, check_labels, check_source_probs


def test_labels_of_any_hashable_type():
    lab = check_labels(["b", "a", "b", "c"])
    assert lab.codes.tolist() == [1, 0, 1, 2]
    assert lab.classes.tolist() == ["a", "b", "c"]
    mixed = check_labels([1, "a", 1, ("t", 2)])
    assert mixed.codes.tolist() == [0, 1, 0, 2]
    assert check_labels(np.array([10, -3, 10])).codes.tolist() == [1, 0, 1]


def test_feature_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"got None"):
        check_features(None)
    with pytest.raises(ValueError, match=r"numeric dtype, got dtype <U1"):
        check_features(np.array([["a"]]))
    with pytest.raises(ValueError, match=r"got 3-D array of shape \(2, 2, 2\)"):
        check_features(np.zeros((2, 2, 2)))
    f32 = np.zeros((3, 2), dtype=np.float32)
    assert check_features(f32) is f32  # no copy
    assert check_features(np.zeros((3, 2), dtype=np.int64)).dtype == np.float64


def test_source_probs_errors():
    with pytest.raises(ValueError, match="rows to sum to 1, got row 1 summing to 0.5"):
        check_source_probs(np.array([[0.5, 0.5], [0.25, 0.25]]))


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 1, np.nan, 1, 0, None, 0, 1], dtype=object),
        [0, 1, None, 1, 0, float("nan"), 0, 1],
        np.array(["a", "b", None, "a", "b", float("nan"), "b", "a"], dtype=object),
        np.array([0.0, 1.0, np.nan, 1.0, 0.0, np.inf, 0.0, 1.0]),
    ],
)
def test_missing_labels_are_named_by_position(labels):
    with pytest.raises(
        ValueError,
        match=r"got 2 missing label\(s\) \(None, NaN or infinity\) at position\(s\) 2, 5",
    ):
        check_labels(labels)


def test_missing_label_positions_are_truncated():
    labels = np.array([None] * 12 + [0, 1], dtype=object)
    with pytest.raises(ValueError, match=r"at position\(s\) 0, 1, .*, 9, \.\.\. \(12 in all\)"):
        check_labels(labels)


def test_missing_labels_rejected_by_score():
    X = np.random.default_rng(0).normal(size=(8, 3))
    y = np.array([0, 1, None, 1, 0, 1, 0, 1], dtype=object)
    with pytest.raises(ValueError, match=r"missing label\(s\) .* at position\(s\) 2;"):
        ped.score("hscore", X, y)


def test_fractional_float_labels_ask_for_a_2d_target():
    with pytest.raises(
        ValueError,
        match=r"Expected class labels, got 3 non-integer float value\(s\) \(first 0\.5 at "
        r"position 1\); a regression target goes in as an array of shape \(n_samples, 1\)",
    ):
        check_labels(np.array([0.0, 0.5, 1.0, 1.5, 2.25]))
    assert check_labels(np.array([2.0, 0.0, 1.0])).codes.tolist() == [2, 0, 1]


def test_single_regression_target_is_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    t = X @ rng.normal(size=(6, 1)) + 0.1 * rng.normal(size=(200, 1))
    value = ped.score("logme", X, t)
    # The evidence of a regression, not of 200 one-sample classes.
    assert value == pytest.approx(logme_target(X, t[:, 0]), rel=1e-9)
    assert value == pytest.approx(ped.score("logme", X, np.c_[t, t]), rel=1e-12)
    with pytest.raises(ValueError, match=r"Expected class labels, got 200 non-integer float"):
        ped.score("logme", X, t[:, 0])
    with pytest.raises(ValueError, match=r"'sfda' takes 1-D class labels; got 2-D targets"):
        ped.score("sfda", X, t)
    # Integer labels in a column are still classes.
    y = (t[:, 0] > 0).astype(int)
    assert ped.score("sfda", X, y[:, None]) == ped.score("sfda", X, y)


def test_masked_arrays():
    X = np.ma.masked_array(np.zeros((3, 2)), mask=[[0, 0], [0, 1], [0, 0]])
    X.data[1, 1] = np.nan
    with pytest.raises(
        ValueError, match=r"Expected features without masked entries, got a masked array with 1"
    ):
        check_features(X)
    clean = np.ma.masked_array(np.ones((3, 2)), mask=False)
    assert type(check_features(clean)) is np.ndarray
    with pytest.raises(ValueError, match=r"Expected labels without masked entries"):
        check_labels(np.ma.masked_array([0, 1, 2], mask=[0, 1, 0]))
