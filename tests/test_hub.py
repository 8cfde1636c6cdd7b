"""Set-level scores (NCTI, ETran over a set of candidate models)."""

from __future__ import annotations

import numpy as np
import pytest
from blobs_helper import make_blobs

import ped
from ped.hub import minmax


def _models(n=3):
    X, y = make_blobs(n_per_class=30, n_classes=4, dim=10, seed=0)
    rng = np.random.default_rng(1)
    return {f"m{i}": (X + i * rng.normal(size=X.shape), y) for i in range(n)}


def test_etran_is_the_weighted_sum_of_scaled_components():
    models = _models()
    h = ped.hub_score("etran", models)
    e = np.array([ped.score("etran_energy", *models[m]) for m in models])
    lda = np.array([ped.score("etran_lda", *models[m]) for m in models])
    want = 0.15 * (e - e.min()) / np.ptp(e) + 0.85 * (lda - lda.min()) / np.ptp(lda)
    np.testing.assert_allclose(list(h.values.values()), want, rtol=1e-12)
    assert h.components["m1"] == {"energy": e[1], "lda": lda[1]}


def test_values_change_with_the_candidate_set():
    models = _models(3)
    full = ped.hub_score("ncti", models).values
    for pair in (("m0", "m1"), ("m1", "m2"), ("m0", "m2")):
        two = ped.hub_score("ncti", {k: models[k] for k in pair}).values
        if any(two[k] != full[k] for k in pair):
            break
    else:
        raise AssertionError("no subset changed a value")
    seli = [ped.hub_score("ncti", models).components[m]["seli"] for m in models]
    assert len(set(seli)) == 3


def test_constant_component_and_single_model_contribute_zero():
    assert minmax([2.0, 2.0, 2.0]).tolist() == [0.0, 0.0, 0.0]
    models = _models(1)
    assert ped.hub_score("etran", models).values == {"m0": 0.0}


def test_hub_scores_and_errors():
    models = _models(2)
    both = ped.hub_scores(["ncti", "etran"], models, params={"etran": {"percent": 10}})
    assert set(both) == {"ncti", "etran"}
    with pytest.raises(ValueError, match=r"Unknown set-level score 'leep'\. Valid set-level"):
        ped.hub_score("leep", models)
    with pytest.raises(ValueError, match=r"Expected a \(features, labels\) pair for model 'a'"):
        ped.hub_score("etran", {"a": np.zeros((3, 3))})
    with pytest.raises(ValueError, match=r"Expected models as a non-empty mapping"):
        ped.hub_score("etran", {})
