"""The feature store: keys, cache hits without a model, atomicity, resume, concurrency."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _feature_helpers import LengthTextBackbone, PixelBackbone

from ped.data import balanced_order, load_dataset
from ped.data._dataset import ArraySource, Dataset
from ped.errors import StoreError, UnknownDatasetError
from ped.features import FeatureStore, extract, reference_stats

HELPERS = Path(__file__).with_name("_feature_helpers.py")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _expected(backbone, ds, order=None):
    idx = range(len(ds)) if order is None else order
    x = np.stack([backbone.transform(ds[int(i)][0]) for i in idx])
    saved = backbone.calls, backbone.items, backbone.count_file
    backbone.count_file = None
    feats, probs = backbone.forward(x)
    backbone.calls, backbone.items, backbone.count_file = saved
    return feats, probs


def _no_leftovers(root: Path, key: str) -> None:
    assert not (root / ".partial" / key).exists()
    assert not [p for p in (root / ".tmp").iterdir() if p.name.startswith(key)]


def test_miss_then_hit_runs_no_model(tmp_path, digits):
    bb = PixelBackbone()
    ds = digits.subset(np.arange(100), split="all")
    first = extract(bb, ds, store=tmp_path, batch_size=32)
    assert not first.cached and bb.calls == 4 and bb.items == 100
    feats, probs = _expected(bb, ds)
    assert first.features.dtype == np.float32 and first.features.shape == (100, 16)
    assert np.array_equal(first.features, feats)
    assert np.allclose(first.source_probs, probs) and first.source_probs.shape == (100, 5)
    assert np.array_equal(first.labels, ds.labels) and first.labels.dtype == np.int64
    assert first.targets is None
    calls = bb.calls
    second = extract(bb, ds, store=tmp_path, batch_size=32)
    assert second.cached and bb.calls == calls  # no forward call on a hit
    assert isinstance(second.features, np.memmap)
    assert np.array_equal(second.features, first.features) and second.key == first.key
    meta = second.meta
    assert meta["model"] == "fake:pixels" and meta["dataset"] == "digits"
    assert meta["n_samples"] == 100 and meta["n_features"] == 16 and meta["split"] == "all"
    assert {"forward_s", "data_s", "items_per_s"} <= set(meta["timings"]) and meta["created"]
    assert sorted(p.name for p in second.path.iterdir()) == [
        "features.npy", "labels.npy", "meta.json", "source_probs.npy"]  # fmt: skip
    _no_leftovers(tmp_path, first.key)


def test_key_depends_on_model_preprocess_data_split_and_limit(tmp_path, digits):
    keys = set()
    keys.add(extract(PixelBackbone(), digits, store=tmp_path, limit=30).key)
    keys.add(extract(PixelBackbone(feature_dim=8), digits, store=tmp_path, limit=30).key)
    keys.add(extract(PixelBackbone(size=4), digits, store=tmp_path, limit=30).key)
    keys.add(extract(PixelBackbone(), digits, store=tmp_path, limit=31).key)
    keys.add(extract(PixelBackbone(), "digits", split="test", store=tmp_path, limit=30).key)
    assert len(keys) == 5 and len(FeatureStore(tmp_path).entries()) == 5


def test_limit_is_the_first_n_of_the_balanced_order(tmp_path, digits):
    bb = PixelBackbone()
    fs = extract(bb, "digits", limit=50, store=tmp_path)
    order = balanced_order(digits.labels)[:50]
    assert np.array_equal(fs.labels, digits.labels[order])
    assert np.array_equal(fs.features, _expected(bb, digits, order)[0])
    assert fs.meta["limit"] == 50
    small = digits.subset(np.arange(20), split="all")
    assert extract(bb, small, limit=20, store=tmp_path).meta["limit"] is None


def test_chunking_and_batching_do_not_change_the_result(tmp_path, digits):
    ds = digits.subset(np.arange(70), split="all")
    a = extract(PixelBackbone(), ds, store=tmp_path / "a", chunk_size=2048, batch_size=8)
    b = extract(PixelBackbone(), ds, store=tmp_path / "b", chunk_size=10, batch_size=8)
    assert a.key == b.key and np.array_equal(a.features, b.features)
    assert np.array_equal(a.source_probs, b.source_probs)


def test_progress_callback(tmp_path, digits):
    calls = []
    ds = digits.subset(np.arange(40), split="all")
    extract(PixelBackbone(), ds, store=tmp_path, batch_size=16,
            progress=lambda d, t, **kw: calls.append((d, t, kw)))  # fmt: skip
    assert [(d, t) for d, t, _ in calls] == [(16, 40), (32, 40), (40, 40)]
    assert all(kw["items_per_s"] >= 0 for *_, kw in calls)
    calls.clear()
    extract(PixelBackbone(), ds, store=tmp_path, progress=lambda d, t, **kw: calls.append((d, t)))
    assert calls == [(40, 40)]


def test_targets_and_no_source_probs(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    targets = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    targets[0, 2] = 1
    ds = Dataset(spec="multi", split="all", source=ArraySource(images), index=np.arange(6),
                 labels=targets.argmax(1), classes=["a", "b", "c"], metric="map11",
                 targets=targets)  # fmt: skip
    fs = extract(PixelBackbone(source_classes=None), ds, store=tmp_path)
    assert fs.source_probs is None and np.array_equal(fs.targets, targets)
    assert extract(PixelBackbone(source_classes=None), ds, store=tmp_path).targets.shape == (6, 3)


def test_text_datasets_and_modality_mismatch(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("text,label\n" + "".join(f"word {'x' * i},{i % 2}\n" for i in range(10)))
    bb = LengthTextBackbone()
    fs = extract(bb, f"csv:{csv}", store=tmp_path / "s")
    assert fs.features.shape == (10, 3) and fs.features[3, 0] == len("word xxx")
    with pytest.raises(UnknownDatasetError, match="holds text items but model 'fake:pixels'"):
        extract(PixelBackbone(), f"csv:{csv}", store=tmp_path / "s")


def test_bad_arguments(tmp_path, digits):
    with pytest.raises(ValueError, match="limit"):
        extract(PixelBackbone(), digits, limit=0, store=tmp_path)
    with pytest.raises(ValueError, match="batch_size"):
        extract(PixelBackbone(), digits, batch_size=0, store=tmp_path)
    with pytest.raises(ValueError, match=r"split='all'.*got split='test'"):
        extract(PixelBackbone(), digits, split="test", store=tmp_path)


def test_store_entries_get_remove(tmp_path, digits):
    ds = digits.subset(np.arange(12), split="all")
    fs = extract(PixelBackbone(), ds, store=tmp_path)
    store = FeatureStore(tmp_path)
    [entry] = store.entries()
    assert entry["key"] == fs.key and entry["size_bytes"] > 0 and entry["n_samples"] == 12
    assert np.array_equal(store.get(fs.key[:8]).features, fs.features)
    assert store.get(fs.key).cached
    with pytest.raises(StoreError, match="has no entry 'ffff'"):
        store.get("ffff")
    assert store.remove(fs.key) == [str(fs.path)] and store.entries() == []
    with pytest.raises(StoreError, match="has no entry"):
        store.remove(fs.key)
    assert FeatureStore(tmp_path / "nothing").entries() == []


def test_default_store_is_under_ped_home(tmp_path, monkeypatch, digits):
    monkeypatch.setenv("PED_HOME", str(tmp_path / "home"))
    fs = extract(PixelBackbone(), digits.subset(np.arange(5), split="all"))
    assert fs.path.parent == tmp_path / "home" / "features"


def test_damaged_entry_is_an_error_and_is_rebuilt(tmp_path, digits):
    ds = digits.subset(np.arange(12), split="all")
    fs = extract(PixelBackbone(), ds, store=tmp_path)
    (fs.path / "features.npy").write_bytes(b"garbage")
    with pytest.raises(StoreError, match="damaged"):
        FeatureStore(tmp_path).get(fs.key)
    bb = PixelBackbone()
    again = extract(bb, ds, store=tmp_path)
    assert not again.cached and bb.calls == 1 and again.features.shape == (12, 16)


def test_reference_stats(tmp_path, digits):
    bb = PixelBackbone()
    ref = reference_stats(bb, digits, limit=200, store=tmp_path)
    feats = _expected(bb, digits, balanced_order(digits.labels)[:200])[0].astype(np.float64)
    assert np.allclose(ref.mean, feats.mean(0), rtol=1e-10, atol=1e-10)
    assert np.allclose(ref.std, feats.std(0), rtol=1e-10, atol=1e-10)  # population std
    assert ref.n_samples == 200 and ref.source == "digits"
    calls = bb.calls
    again = reference_stats(bb, digits, limit=200, store=tmp_path)
    assert bb.calls == calls and np.array_equal(again.mean, ref.mean)
    [entry] = FeatureStore(tmp_path).entries()
    assert (Path(entry["path"]) / "reference_stats.npz").is_file()


@pytest.mark.slow
def test_num_workers_keep_the_order(tmp_path, digits):
    ds = digits.subset(np.arange(64), split="all")
    a = extract(PixelBackbone(), ds, store=tmp_path / "a", batch_size=8)
    b = extract(PixelBackbone(), ds, store=tmp_path / "b", batch_size=8, num_workers=2)
    assert np.array_equal(a.features, b.features)


# --------------------------------------------------------------------------------------------
# Processes: SIGKILL part-way, then resume; two processes at once


def _child(store, limit, chunk, batch, sleep, count_file="") -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(HELPERS.parent), *filter(None, [env.get("PYTHONPATH")])]
    )
    args = [str(store), str(limit), str(chunk), str(batch), str(sleep), str(count_file)]
    return subprocess.Popen([sys.executable, str(HELPERS), *args], env=env)


def _progress_files(root: Path) -> list[Path]:
    return list((root / ".partial").glob("*/progress.json")) if (root / ".partial").exists() else []


@pytest.mark.slow
def test_sigkill_part_way_resumes_bit_identical(tmp_path, digits):
    store = tmp_path / "store"
    proc = _child(store, 96, 16, 4, 0.02)
    deadline = time.time() + 60
    chunks = 0
    while time.time() < deadline:
        files = _progress_files(store)
        if files:
            state = json.loads(files[0].read_text())
            chunks = state["chunks_done"]
            if chunks >= 2:
                break
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the child finished before it could be killed"
    assert 2 <= chunks < 6
    assert FeatureStore(store).entries() == []  # nothing half-written is visible
    resumed_bb = PixelBackbone()
    resumed = extract(resumed_bb, "digits", limit=96, store=store, chunk_size=16, batch_size=4)
    done = json.loads((resumed.path / "meta.json").read_text())["timings"]["resumed_at"]
    assert done and done[0] >= 32
    assert resumed_bb.items == 96 - done[0]  # only the unfinished chunks ran again
    clean = extract(PixelBackbone(), "digits", limit=96, store=tmp_path / "clean",
                    chunk_size=16, batch_size=4)  # fmt: skip
    assert resumed.key == clean.key
    assert resumed.features.tobytes() == clean.features.tobytes()
    assert resumed.source_probs.tobytes() == clean.source_probs.tobytes()
    assert np.array_equal(resumed.labels, clean.labels)
    _no_leftovers(store, resumed.key)


@pytest.mark.slow
def test_two_processes_same_key_build_one_entry(tmp_path, digits):
    store = tmp_path / "store"
    count_file = tmp_path / "count.txt"
    procs = [_child(store, 60, 16, 4, 0.005, count_file) for _ in range(2)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    [entry] = FeatureStore(store).entries()
    counts: dict[str, int] = {}
    for line in count_file.read_text().split("\n"):
        if line:
            pid, n = line.split()
            counts[pid] = counts.get(pid, 0) + int(n)
    assert sorted(counts.values()) == [60]  # one process extracted, the other waited
    bb = PixelBackbone()
    fs = extract(bb, "digits", limit=60, store=store)
    assert fs.cached and bb.calls == 0 and fs.key == entry["key"]
    order = balanced_order(digits.labels)[:60]
    assert np.array_equal(fs.features, _expected(bb, digits, order)[0])
    _no_leftovers(store, fs.key)


def test_leftover_partial_of_a_finished_entry_is_cleaned(tmp_path, digits):
    ds = digits.subset(np.arange(8), split="all")
    fs = extract(PixelBackbone(), ds, store=tmp_path)
    leftover = tmp_path / ".partial" / fs.key
    leftover.mkdir(parents=True)
    (leftover / "progress.json").write_text("{}")
    assert extract(PixelBackbone(), ds, store=tmp_path).cached
    assert not leftover.exists()
