from __future__ import annotations

import numpy as np
import pytest

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
