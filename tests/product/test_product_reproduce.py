"""`ped.reproduce` on small stand-in features in the official layout (12 models x 2 datasets)."""

from __future__ import annotations

import numpy as np
import pytest

import ped
from ped.evaluation import weighted_tau
from ped.reproduce import (
    OFFICIAL_DATASETS,
    OFFICIAL_MODELS,
    find_official_features,
    published_weighted_tau,
    reproduce,
)
from ped.store import published_ground_truth

pytestmark = pytest.mark.slow  # product end-to-end: the full `make test` tier

DATASETS = ("cifar10", "dtd")
SCORES = ["logme", "ped+logme", "sfda", "ped+sfda"]


def _write_standins(root, datasets=DATASETS, models=OFFICIAL_MODELS, *, imagenet=True):
    """Tiny features whose class separation follows the published accuracy (plus noise)."""
    truth = published_ground_truth()["published:self_supervised_resnet50"]
    for ds_i, ds in enumerate(datasets):
        acc = truth[ds]
        lo, hi = min(acc.values()), max(acc.values())
        for m_i, m in enumerate(models):
            rng = np.random.default_rng(100 * ds_i + m_i)
            sep = 0.5 + 3.0 * (acc[m] - lo) / (hi - lo) + rng.normal(0, 0.1)
            C, n, D = 3, 12, 6
            centers = sep * np.eye(C, D)
            y = np.repeat(np.arange(C), n)
            X = (centers[y] + rng.normal(0, 1, (y.size, D))).astype(np.float32)
            np.save(root / f"{m}_{ds}_feature.npy", X)
            np.save(root / f"{m}_{ds}_label.npy", y)
    if imagenet:
        for m_i, m in enumerate(models):
            rng = np.random.default_rng(7 + m_i)
            np.save(
                root / f"{m}_imagenet_feature.npy", rng.normal(0.5, 2.0, (40, 6)).astype(np.float32)
            )


@pytest.fixture
def official_dir(tmp_path):
    _write_standins(tmp_path)
    return tmp_path


def test_find_official_features(official_dir):
    found = find_official_features(official_dir)
    assert len(found["pairs"]) == 24
    assert found["imagenet"] == list(OFFICIAL_MODELS)
    with pytest.raises(FileNotFoundError, match="Features folder not found: .*nope"):
        find_official_features(official_dir / "nope")


def test_reproduce_taus_match_direct_computation(official_dir):
    res = reproduce(official_dir, scores=SCORES)
    assert res.datasets == ["cifar10", "dtd"]  # published column order
    assert res.models == {ds: list(OFFICIAL_MODELS) for ds in DATASETS}
    truth = published_ground_truth()["published:self_supervised_resnet50"]
    for ds in DATASETS:
        X = np.load(official_dir / f"byol_{ds}_feature.npy")
        y = np.load(official_dir / f"byol_{ds}_label.npy")
        ref = ped.ReferenceStats.from_features(np.load(official_dir / "byol_imagenet_feature.npy"))
        assert res.values[ds]["ped+logme"]["byol"] == pytest.approx(
            ped.score("ped+logme", X, y, reference=ref, nsigma=0.6), rel=1e-12
        )
        for s in SCORES:
            vals = res.values[ds][s]
            assert res.taus[s][ds] == pytest.approx(
                weighted_tau(
                    [vals[m] for m in OFFICIAL_MODELS], [truth[ds][m] for m in OFFICIAL_MODELS]
                )
            )
    # the stand-ins follow the ground truth, so LogME ranks them well
    assert res.taus["logme"]["cifar10"] > 0.3
    published = published_weighted_tau()
    diff = res.diff()
    assert diff["logme"]["dtd"] == pytest.approx(
        res.taus["logme"]["dtd"] - published["logme"]["dtd"]
    )
    absent = [d for d in OFFICIAL_DATASETS if d not in DATASETS]
    assert f"Datasets missing (no features): {', '.join(absent)}." in res.missing
    frame = res.to_frame()
    assert len(frame) == len(SCORES) * 2
    assert set(frame.columns) == {"score", "dataset", "ours", "published", "diff", "n_models"}


def test_reproduce_nsigma_changes_ped_only(official_dir):
    a = reproduce(official_dir, scores=["logme", "ped+logme"], nsigma=0.6)
    b = reproduce(official_dir, scores=["logme", "ped+logme"], nsigma=2.0)
    assert a.values["cifar10"]["logme"] == b.values["cifar10"]["logme"]
    assert a.values["cifar10"]["ped+logme"] != b.values["cifar10"]["ped+logme"]


def test_reproduce_subset_reports_what_is_missing(tmp_path):
    models = OFFICIAL_MODELS[:5]
    _write_standins(tmp_path, datasets=("dtd",), models=models, imagenet=False)
    res = reproduce(tmp_path, scores=["logme", "ped+logme"])
    assert res.models == {"dtd": list(models)}
    lacking = ", ".join(OFFICIAL_MODELS[5:])
    assert f"dtd: models missing: {lacking}." in res.missing
    assert any(m.startswith("ImageNet features missing for byol") for m in res.missing)


def test_reproduce_default_scores_are_the_tables(official_dir):
    res = reproduce(official_dir, datasets=("dtd",))
    expected = [
        s
        for s in (
            "nleep",
            "ped+nleep",
            "parc",
            "ped+parc",
            "logme",
            "ped+logme",
            "sfda",
            "ped+sfda",
            "gbc",
            "ped+gbc",
        )
        if s in ped.list_scores()
    ]
    assert res.scores == expected
    assert set(res.taus) == set(expected)


def test_reproduce_errors(tmp_path):
    with pytest.raises(ValueError, match="No features of the paper's models and datasets in"):
        reproduce(tmp_path)
    with pytest.raises(
        ValueError, match="Expected exactly one of a features folder or a feature store."
    ):
        reproduce()
    with pytest.raises(ValueError, match="Unknown score 'nope'"):
        reproduce(tmp_path, scores=["nope"])
