from __future__ import annotations

import numpy as np
import pytest
from _helpers import blobs

import ped
from ped.scores import knn as knn_module


def direct_knn(X, y, k, metric):
    """Leave-one-out kNN written out: full distance matrix, a loop of votes."""
    if metric == "cosine":
        U = X / np.linalg.norm(X, axis=1, keepdims=True)
        D = 1.0 - U @ U.T
    else:
        D = np.linalg.norm(X[:, None, :] - X[None, :, :], axis=2)
    np.fill_diagonal(D, np.inf)
    correct = 0
    for i in range(len(y)):
        nearest = np.argsort(D[i], kind="stable")[:k]
        values, counts = np.unique(y[nearest], return_counts=True)
        pred = values[counts == counts.max()].min()  # ties: the smallest label
        correct += pred == y[i]
    return correct / len(y)


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_matches_direct_loop(k, metric):
    X, y = blobs(n_per_class=25, n_classes=5, dim=10, sep=1.0)
    assert ped.score("knn", X, y, k=k, metric=metric) == pytest.approx(
        direct_knn(X, y, k, metric), abs=1e-15
    )


def test_blockwise_equals_single_block(monkeypatch):
    X, y = blobs(n_per_class=40, n_classes=6, dim=9, sep=0.8)
    whole = ped.score("knn", X, y)
    monkeypatch.setattr(knn_module, "_BLOCK_ELEMENTS", 7 * X.shape[0])  # 7 rows per block
    assert ped.score("knn", X, y) == whole


def test_tied_vote_goes_to_smallest_label():
    # Sample 0 has one neighbour of each of the labels 5, 7, 9 (and one far away of 0):
    # the three-way tie goes to 5, the smallest label.
    X = np.array([[0.0], [1.0], [-1.1], [1.2], [50.0], [51.0], [52.0], [53.0]])
    y = np.array([7, 9, 5, 7, 5, 9, 7, 5])
    pred = knn_module.knn_predictions(X, np.unique(y, return_inverse=True)[1], 3, k=3)
    assert pred[0] == 0  # code of label 5


def test_two_classes_give_accuracy_not_f1():
    # Class 1 is never predicted correctly (each of its points sits among class 0 points),
    # so the F1 of class 1 would be 0; the accuracy is 8 / 10.
    X = np.array([[0.0], [0.1], [0.2], [0.3], [10.0], [10.1], [10.2], [10.3], [0.15], [10.15]])
    y = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    assert ped.score("knn", X, y, k=3) == pytest.approx(0.8, abs=1e-15)


def test_perfectly_separated_classes_score_one():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 20)
    X = rng.normal(size=(60, 4)) * 0.1 + 100.0 * y[:, None]
    assert ped.score("knn", X, y) == 1.0


def test_cosine_zero_row_is_finite_and_translated_features_are_used():
    X, y = blobs(n_per_class=10, n_classes=3, dim=6)
    X = X.copy()
    X[0] = 0.0
    assert 0.0 <= ped.score("knn", X, y, metric="cosine") <= 1.0
    # A translated ClassStats (PED) is read with its offsets.
    ref = np.random.default_rng(1).normal(size=(40, 6))
    moved = ped.simulate(X, y, reference=ref, nsigma=2.0).features
    assert ped.score("ped+knn", X, y, reference=ref, nsigma=2.0) == ped.score("knn", moved, y)


def test_parameter_errors():
    X, y = blobs(n_per_class=3, n_classes=2)
    with pytest.raises(ValueError, match=r"Expected k <= n_samples - 1 = 5 .* got k=6"):
        ped.score("knn", X, y, k=6)
    with pytest.raises(ValueError, match=r"Expected k >= 1, got 0"):
        ped.score("knn", X, y, k=0)
    with pytest.raises(ValueError, match=r"Expected metric to be one of .* got 'manhattan'"):
        ped.score("knn", X, y, metric="manhattan")
