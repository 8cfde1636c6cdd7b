"""`ped.pipeline.rank` on stand-in features: order, storage, reference fallback, flags."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _product_fakes import SEPS, FakeData, blobs

import ped
from ped.errors import MissingDatasetError
from ped.pipeline import (
    DEFAULT_PARAMS,
    RankingResult,
    rank,
    rank_values,
    saturated_models,
    tie_groups,
)
from ped.store import ResultsDB

SCORES = ["logme", "ped+logme", "sfda", "ped+sfda"]


@pytest.fixture
def db(tmp_path):
    return ResultsDB(tmp_path / "results.sqlite")


def test_rank_orders_by_separation_and_records_scores(monkeypatch, db):
    fake = FakeData(SEPS).install(monkeypatch)
    res = rank("fake-target", list(SEPS), scores=SCORES, db=db)
    assert isinstance(res, RankingResult)
    assert res.order("logme") == ["fake:a", "fake:b", "fake:c", "fake:d"]
    assert res.models == list(SEPS)
    assert fake.calls == [(m, "fake-target") for m in SEPS]
    # the stored values are the returned ones, under the target's name
    stored = db.scores("fake-target")
    assert set(stored) == set(SCORES)
    for s in SCORES:
        assert stored[s] == pytest.approx(res.values[s])
    runs = db.runs("rank")
    assert len(runs) == len(SEPS) and runs[0]["info"]["model"] == "fake:a"


def test_rank_values_equal_direct_score_many(monkeypatch, db):
    fake = FakeData(SEPS, reference=True).install(monkeypatch)
    res = rank("fake-target", ["fake:b"], scores=SCORES, db=db)
    assert fake.ref_calls == ["fake:b"]
    X, y = blobs(SEPS["fake:b"], seed=sorted(SEPS).index("fake:b"))
    ref = fake.reference_stats("fake:b", "imagenet-val")
    # rank applies its benchmark-chosen defaults (PED at nsigma 0.3) unless told otherwise
    params = {s: DEFAULT_PARAMS[s] for s in SCORES if s in DEFAULT_PARAMS}
    assert params and all(p == {"nsigma": 0.3} for p in params.values())
    direct = ped.score_many(SCORES, X, y, reference=ref, params=params)
    for s in SCORES:
        assert res.values[s]["fake:b"] == pytest.approx(direct[s], rel=1e-12)
    paper = rank("fake-target", ["fake:b"], scores=SCORES, db=db,
                 params={s: {"nsigma": 0.6} for s in params})  # fmt: skip
    at_06 = ped.score_many(SCORES, X, y, reference=ref)
    for s in SCORES:
        assert paper.values[s]["fake:b"] == pytest.approx(at_06[s], rel=1e-12)
    assert res.reference == "imagenet-val"
    assert res.warnings == []


def test_to_frame_columns_and_best_first(monkeypatch, db):
    FakeData(SEPS).install(monkeypatch)
    frame = rank("fake-target", list(SEPS)[::-1], scores=["logme", "ped+logme"], db=db).to_frame()
    assert list(frame.columns) == [
        "model",
        "logme",
        "rank[logme]",
        "ped+logme",
        "rank[ped+logme]",
        "params",
        "imagenet_top1",
        "seconds",
        "cached",
        "reference",
        "flags",
    ]
    assert frame["model"].tolist()[0] == "fake:a"
    assert frame["rank[logme]"].tolist() == [1, 2, 3, 4]
    assert (frame["seconds"] >= 0).all()


def test_missing_reference_falls_back_with_a_warning(monkeypatch, db):
    fake = FakeData(SEPS, reference=None).install(monkeypatch)
    res = rank("fake-target", ["fake:a", "fake:b"], scores=SCORES, db=db)
    assert res.reference == "target"
    assert len(res.warnings) == 1
    w = res.warnings[0]
    assert "'imagenet-val' is not on this machine" in w
    assert "target data's own per-dimension mean and std" in w
    assert fake.ref_calls == []  # looked once, up front; no per-model attempt
    # PED on the target's own statistics
    X, y = blobs(SEPS["fake:a"], seed=0)
    direct = ped.score("ped+logme", X, y, reference=X)
    assert res.values["ped+logme"]["fake:a"] == pytest.approx(direct, rel=1e-12)


def test_missing_reference_raises_when_asked(monkeypatch, db):
    FakeData(SEPS, reference=None).install(monkeypatch)
    with pytest.raises(MissingDatasetError, match="'imagenet-val' was not found in /nowhere"):
        rank("fake-target", ["fake:a"], scores=SCORES, db=db, on_missing_reference="raise")


def test_no_warning_without_ped_scores(monkeypatch, db):
    FakeData(SEPS, reference=None).install(monkeypatch)
    res = rank("fake-target", ["fake:a", "fake:b"], scores=["logme"], db=db)
    assert res.warnings == [] and res.reference == "none"


def test_reference_target_and_none(monkeypatch, db):
    FakeData(SEPS, reference=True).install(monkeypatch)
    explicit = rank("fake-target", ["fake:a"], scores=SCORES, reference="target", db=db)
    assert explicit.reference == "target"
    assert explicit.warnings == [
        "PED reference: the target data's own statistics, as asked (reference='target')."
    ]
    implicit = rank("fake-target", ["fake:a"], scores=SCORES, reference=None, db=False)
    assert "no reference dataset was given" in implicit.warnings[0]
    assert implicit.values == explicit.values


def test_unknown_score_and_empty_models(monkeypatch, db):
    FakeData(SEPS).install(monkeypatch)
    with pytest.raises(ValueError, match="Unknown score 'nope'; choose among "):
        rank("fake-target", ["fake:a"], scores=["nope"], db=db)
    with pytest.raises(ValueError, match="Expected at least one model, got none."):
        rank("fake-target", [], db=db)


def test_ties_and_saturation_are_flagged(monkeypatch, db):
    # two copies of the same model tie on every score; easy clusters saturate SFDA at 1.0
    seps = {"fake:a": 40.0, "fake:d": 0.5}
    fake = FakeData(seps).install(monkeypatch)
    real_extract = fake.extract

    def extract(model, dataset, **kw):
        fs = real_extract("fake:a" if model == "fake:a2" else model, dataset, **kw)
        fs.model = model
        return fs

    fake.extract = extract  # the stand-in data path now extracts through this
    fake.install(monkeypatch)
    res = rank("fake-target", ["fake:a", "fake:a2", "fake:d"], scores=["logme", "sfda"], db=db)
    assert res.ties("logme") == [["fake:a", "fake:a2"]]
    assert res.ranks("logme") == {"fake:a": 1, "fake:a2": 1, "fake:d": 3}
    assert res.best("logme") == ["fake:a", "fake:a2"]
    assert res.values["sfda"]["fake:a"] == pytest.approx(1.0, abs=1e-3)
    assert set(res.saturated("sfda")) == {"fake:a", "fake:a2"}
    flags = res.flags()
    assert "logme: tied with fake:a2" in flags["fake:a"]
    assert "sfda: saturated" in flags["fake:a"]
    assert flags["fake:d"] == []
    assert any(
        w.startswith("sfda is saturated (at its bound 1.0) for fake:a, fake:a2")
        for w in res.warnings
    )
    frame = res.to_frame()
    assert frame.loc[frame.model == "fake:d", "flags"].item() == ""


def test_rank_helpers():
    assert rank_values({"a": 1.00001, "b": 1.00002, "c": 0.5}) == {"a": 1, "b": 1, "c": 3}
    assert rank_values({"a": 1.0, "b": math.nan}) == {"a": 1, "b": 2}
    assert tie_groups({"a": 0.12345, "b": 0.12346, "c": 0.2, "d": 0.2}) == [["c", "d"], ["a", "b"]]
    assert tie_groups({"a": 1.0, "b": 2.0}) == []
    assert saturated_models("ped+sfda", {"a": 0.9995, "b": 0.9}) == ["a"]
    assert saturated_models("gbc", {"a": -0.0002, "b": -0.5}) == ["a"]
    assert saturated_models("logme", {"a": 1e9}) == []


def test_to_dict_is_json_ready(monkeypatch, db):
    import json

    FakeData(SEPS).install(monkeypatch)
    d = rank("fake-target", ["fake:c", "fake:a"], scores=["logme"], limit=60, db=db).to_dict()
    text = json.dumps(d)
    assert json.loads(text)["ranking"][0]["model"] == "fake:a"
    assert d["ranking"][0]["n_samples"] == 60
    assert np.isfinite(d["ranking"][1]["values"]["logme"])


# ------------------------------------------------------------- registry facts rank uses
@pytest.fixture
def temporary_score():
    """Register a features score for one test, and take it out again."""
    from ped.scores import _registry

    names: list[str] = []

    def add(name, **facts):
        def func(*, stats, labels, source_probs=None, targets=None, alpha=1.0):
            return float(alpha)

        _registry.register(name, **facts)(func)
        names.append(name)
        return _registry.get_score(name)

    yield add
    for n in names:
        _registry._REGISTRY.pop(n, None)


def test_a_new_features_score_gets_its_ped_rank_defaults(temporary_score):
    from ped.pipeline import effective_params
    from ped.scores import RANK_DEFAULTS, rank_params

    temporary_score("zz_new", bounds=(0.0, 1.0))
    derived = rank_params()
    assert derived["ped+zz_new"] == RANK_DEFAULTS == {"nsigma": 0.3}
    assert "zz_new" not in derived  # the base keeps its signature's defaults
    # every features score of the registry has its ped+ entry; no source-probs score has one
    features = {n for n, i in ped.scores.registered().items() if i.needs_features}
    assert {k[4:] for k in derived if k.startswith("ped+")} == features
    assert effective_params(["ped+zz_new", "zz_new"], {"ped+zz_new": {"nsigma": 0.6}}) == {
        "ped+zz_new": {"nsigma": 0.6}
    }


def test_rank_defaults_of_a_base_score_reach_its_ped_variant(temporary_score):
    from ped.scores import rank_params

    temporary_score("zz_tuned", rank_defaults={"alpha": 2.0})
    derived = rank_params()
    assert derived["zz_tuned"] == {"alpha": 2.0}
    assert derived["ped+zz_tuned"] == {"nsigma": 0.3, "alpha": 2.0}


def test_bounds_and_saturation_come_from_the_registry(temporary_score):
    info = temporary_score("zz_bounded", bounds=(None, 0.0))
    assert info.bounds == (None, 0.0) and info.higher_is_better
    assert saturated_models("zz_bounded", {"a": -0.0001, "b": -3.0}) == ["a"]
    assert saturated_models("ped+zz_bounded", {"a": 0.0}) == ["a"]
    assert ped.scores.get_score("sfda").bounds == (0.0, 1.0)
    from ped.pipeline import SCORE_BOUNDS

    assert SCORE_BOUNDS["gbc"] == (None, 0.0) and "logme" not in SCORE_BOUNDS


def test_register_refuses_bad_facts(temporary_score):
    with pytest.raises(ValueError, match=r"Expected bounds \(lower, upper\) with lower < upper"):
        temporary_score("zz_bad", bounds=(1.0, 0.0))
    with pytest.raises(ValueError, match=r"rank_defaults of score 'zz_bad2' name unknown"):
        temporary_score("zz_bad2", rank_defaults={"beta": 1})
    assert "zz_bad2" not in ped.scores.registered()


# ------------------------------------------- cells: n/a with a reason, stored, set-level
def _constant_for(fake, monkeypatch, bad="fake:d"):
    """Model `bad` gets constant features: SFDA's within-class scatter vanishes."""
    real = fake.extract

    def extract(model, dataset, **kw):
        fs = real(model, dataset, **kw)
        if model == bad:
            fs.features = np.ones_like(fs.features)
        return fs

    fake.extract = extract  # the stand-in data path now extracts through this
    fake.install(monkeypatch)


def test_a_score_a_model_cannot_have_is_na_with_its_reason(monkeypatch, db):
    """Issue 13 item 5 / issue 14 item 5: one bad cell (SFDA on constant features, LEEP
    without a source classifier) is n/a with its reason; the run, the other cells and the
    database survive, and `evaluate` still reads the database."""
    fake = FakeData(SEPS).install(monkeypatch)
    _constant_for(fake, monkeypatch)
    res = rank("fake-target", list(SEPS), scores=["logme", "sfda", "leep"], db=db)
    assert res.models == list(SEPS)
    assert math.isnan(res.values["sfda"]["fake:d"])
    assert all(np.isfinite(res.values["sfda"][m]) for m in ["fake:a", "fake:b", "fake:c"])
    assert set(res.reasons["leep"]) == set(SEPS)
    assert "source_probs" in res.reasons["leep"]["fake:a"]
    assert "fake:d" in res.reasons["sfda"] and "fake:a" not in res.reasons.get("sfda", {})
    assert any(n.startswith("sfda is n/a for fake:d: ") for n in res.notes())
    assert res.ranks("sfda")["fake:d"] == 4
    row = next(r for r in res.to_dict()["ranking"] if r["model"] == "fake:d")
    assert row["values"]["sfda"] is None and row["reasons"]["sfda"] == res.reasons["sfda"]["fake:d"]
    stored = db.scores("fake-target")
    assert math.isnan(stored["sfda"]["fake:d"]) and len(stored["logme"]) == 4
    assert db.score_reasons("fake-target")["sfda"]["fake:d"] == res.reasons["sfda"]["fake:d"]
    from ped.workflows.reporting import gather_scores

    gathered = gather_scores("fake-target", None, db)
    assert "leep" not in gathered and set(gathered["sfda"]) == {"fake:a", "fake:b", "fake:c"}


def test_a_repeated_rank_reads_its_cells_and_priors_back(monkeypatch, db):
    """Issue 14 item 5: the same request reads every cell from the database (no score and
    no reference statistics computed); other parameters are other cells."""
    fake = FakeData(SEPS, reference=None).install(monkeypatch)
    first = rank("fake-target", list(SEPS), scores=SCORES, db=db)
    assert first.stored == {m: [] for m in SEPS}
    assert first.priors["fake:a"] == {"params": 8000, "imagenet_top1": None}
    calls = []
    monkeypatch.setattr(
        "ped.pipeline.steps.compute_cells", lambda *a, **k: calls.append(a) or ({}, {})
    )
    fake.prior_calls.clear()
    again = rank("fake-target", list(SEPS), scores=SCORES, db=db)
    assert calls == [] and fake.prior_calls == []
    assert again.values == first.values and again.priors == first.priors
    assert again.stored == {m: sorted(SCORES) for m in SEPS}
    assert all(t["score"] == 0.0 and t["reference"] == 0.0 for t in again.timings.values())
    monkeypatch.undo()
    FakeData(SEPS, reference=None).install(monkeypatch)
    other = rank("fake-target", ["fake:c"], scores=SCORES, params={"ped+logme": {"nsigma": 0.6}},
                 db=db)  # fmt: skip
    assert other.stored["fake:c"] == ["logme", "ped+sfda", "sfda"]
    assert other.values["ped+logme"]["fake:c"] != first.values["ped+logme"]["fake:c"]


def test_unknown_score_parameter_fails_before_any_work(monkeypatch, db):
    fake = FakeData(SEPS).install(monkeypatch)
    with pytest.raises(ValueError, match=r"Unknown parameter 'nsigmaa' for score 'ped\+logme'"):
        rank("fake-target", ["fake:a"], scores=["ped+logme"], params={"ped+logme": {"nsigmaa": 1}})
    with pytest.raises(ValueError, match="Parameters given for score 'sfda', which is not asked"):
        rank("fake-target", ["fake:a"], scores=["logme"], params={"sfda": {}})
    assert fake.calls == []


def test_set_level_scores_over_the_candidates(monkeypatch, db):
    """Issue 16 item 2: NCTI and ETran over the candidate set, with the note that their
    values change with the set; the same set reads them back, another set recomputes."""
    FakeData(SEPS).install(monkeypatch)
    res = rank("fake-target", list(SEPS), scores=["ncti", "etran", "logme"], db=db)
    hub = ped.hub_scores(
        ["ncti", "etran"],
        {m: blobs(s, seed=sorted(SEPS).index(m)) for m, s in SEPS.items()},
    )
    for n in ("ncti", "etran"):
        assert res.values[n] == pytest.approx(hub[n].values)
    assert res.set_level == ["ncti", "etran"]
    assert ped.hub.HUB_NOTE in res.warnings
    assert res.to_dict()["set_level_scores"] == ["ncti", "etran"]
    again = rank("fake-target", list(SEPS), scores=["ncti", "etran", "logme"], db=db)
    assert again.values == res.values
    three = rank("fake-target", list(SEPS)[:3], scores=["ncti"], db=db)
    assert three.values["ncti"] != {m: res.values["ncti"][m] for m in list(SEPS)[:3]}


def test_set_level_parameters_are_checked_before_any_work(monkeypatch, db):
    fake = FakeData(SEPS).install(monkeypatch)
    with pytest.raises(ValueError, match="Unknown parameter 'k' for score 'etran'"):
        rank("fake-target", ["fake:a"], scores=["etran"], params={"etran": {"k": 1}})
    assert fake.calls == []
    res = rank("fake-target", list(SEPS), scores=["ncti"], params={"ncti": {"n_components": 4}})
    assert set(res.values["ncti"]) == set(SEPS)


def test_a_text_target_gets_a_text_reference(monkeypatch, db):
    """Issue 14 item 9: PED's fallback note names a text reference for a text target."""
    from _product_fakes import FakeDataset

    from ped.pipeline import DEFAULT_TEXT_REFERENCE

    fake = FakeData(SEPS)
    fake.reference_name = DEFAULT_TEXT_REFERENCE
    real = fake.load_dataset

    def load_dataset(spec, split="all"):
        got = real(spec, split)
        return FakeDataset(got.spec, got.split, modality="text") if spec == "fake-target" else got

    fake.load_dataset = load_dataset
    res = rank("fake-target", ["fake:a"], scores=["ped+logme"], db=db, data_path=fake.data_path())
    assert f"'{DEFAULT_TEXT_REFERENCE}' is not on this machine" in res.warnings[0]
    assert "imagenet" not in res.warnings[0]


def test_rank_takes_its_data_path_as_a_parameter(db):
    """Stand-ins go in through `data_path`, with nothing patched (issue 15 item 8)."""
    fake = FakeData(SEPS)
    res = rank("fake-target", list(SEPS), scores=["logme"], db=db, data_path=fake.data_path())
    assert res.models == list(SEPS) and {c[0] for c in fake.calls} == set(SEPS)
    assert res.ranks("logme")["fake:a"] == 1  # the easiest fake target ranks first
