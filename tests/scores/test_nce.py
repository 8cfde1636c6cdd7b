from __future__ import annotations

import numpy as np
import pytest

import ped


def direct_nce(z, y):
    """-H(Y | Z) from counts."""
    n = len(y)
    total = 0.0
    for s in np.unique(z):
        ys = y[z == s]
        p = np.bincount(ys) / len(ys)
        p = p[p > 0]
        total += len(ys) / n * np.sum(p * np.log(p))
    return total


def test_perfect_source_mapping_scores_zero():
    y = np.array([0, 1, 2, 1, 0, 2, 2, 1])
    probs = np.eye(5)[(y + 2) % 5]  # a relabelling of the targets
    assert ped.score("nce", None, y, source_probs=probs) == pytest.approx(0.0, abs=1e-15)


def test_constant_source_label_gives_minus_label_entropy():
    y = np.array([0, 1] * 10)
    probs = np.tile([0.6, 0.4], (20, 1))
    assert ped.score("nce", None, y, source_probs=probs) == pytest.approx(-np.log(2), rel=1e-12)


def test_matches_direct_formula_on_argmax():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(300, 6))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = rng.integers(0, 4, 300)
    assert ped.score("nce", None, y, source_probs=probs) == pytest.approx(
        direct_nce(probs.argmax(1), y), rel=1e-12
    )
