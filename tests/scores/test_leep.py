from __future__ import annotations

import numpy as np
import pytest

import ped


def direct_leep(probs, y):
    n = len(y)
    C = y.max() + 1
    joint = np.zeros((C, probs.shape[1]))
    for i in range(n):
        joint[y[i]] += probs[i] / n
    cond = joint / joint.sum(axis=0, keepdims=True)
    return np.mean(np.log([probs[i] @ cond[y[i]] for i in range(n)]))


def random_probs(n=200, n_source=7, n_target=4, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, n_source))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return probs, rng.integers(0, n_target, n)


def test_matches_direct_formula():
    probs, y = random_probs()
    assert ped.score("leep", None, y, source_probs=probs) == pytest.approx(
        direct_leep(probs, y), rel=1e-12
    )


def test_without_log_is_mean_probability():
    probs, y = random_probs()
    value = ped.score("leep", None, y, source_probs=probs, log=False)
    assert 0.0 < value <= 1.0
    assert np.log(value) >= ped.score("leep", None, y, source_probs=probs)  # Jensen


def test_perfect_source_classifier_scores_zero():
    y = np.array([0, 1, 2, 1, 0, 2, 2])
    probs = np.eye(3)[y]
    assert ped.score("leep", None, y, source_probs=probs) == pytest.approx(0.0, abs=1e-15)


def test_unused_source_class_is_ignored():
    probs, y = random_probs(n_source=3)
    padded = np.hstack([probs, np.zeros((len(y), 2))])
    assert ped.score("leep", None, y, source_probs=padded) == pytest.approx(
        ped.score("leep", None, y, source_probs=probs), rel=1e-12
    )


def test_input_untouched_and_string_labels():
    probs, y = random_probs()
    before = probs.copy()
    value = ped.score("leep", None, np.array(["abcd"[k] for k in y]), source_probs=probs)
    np.testing.assert_array_equal(probs, before)
    assert value == pytest.approx(direct_leep(probs, y), rel=1e-12)


def test_rejects_non_bool_log():
    probs, y = random_probs()
    with pytest.raises(TypeError, match="Expected log as True or False, got 'yes'"):
        ped.score("leep", None, y, source_probs=probs, log="yes")
