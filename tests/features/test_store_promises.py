"""The feature store keeps its promises (issue 13, items 1, 3, 12, 13).

Removal by listed key only; no link followed and nothing outside the store written or deleted;
damaged entries reported and extracted again (never returned, never blocking their key);
leftovers of killed runs listed and cleaned; a read-only store still serves its entries.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from _feature_helpers import PixelBackbone

from ped.data import load_dataset
from ped.errors import StoreError
from ped.features import FeatureStore, extract
from ped.features import store as store_module
from ped.features.store import open_entry

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX links and FIFOs")


@pytest.fixture(scope="module")
def small():
    return load_dataset("digits").subset(np.arange(24), split="all")


@pytest.fixture
def entry(tmp_path, small):
    fs = extract(PixelBackbone(), small, store=tmp_path / "store", batch_size=8)
    return fs


def _again(tmp_path, small, caplog):
    bb = PixelBackbone()
    with caplog.at_level(logging.WARNING, logger="ped.features"):
        fs = extract(bb, small, store=tmp_path / "store", batch_size=8)
    return fs, bb


def _good(fs, small):
    ref = extract(PixelBackbone(), small, store=fs.path.parent.parent / "clean", batch_size=8)
    return np.array_equal(fs.features, ref.features) and np.array_equal(fs.labels, ref.labels)


# ---------------------------------------------------------------------- item 1: remove


@pytest.mark.parametrize("bad", ["/etc", "..", "../outside", "./x", "abc", "zzzzzz", ""])
def test_remove_refuses_paths_and_non_keys(tmp_path, entry, bad):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    store = FeatureStore(entry.path.parent)
    with pytest.raises(StoreError, match="is not a valid key|has no entry"):
        store.remove(bad)
    assert (outside / "keep.txt").read_text() == "mine" and entry.path.is_dir()


def test_remove_refuses_an_absolute_path_to_a_folder_outside(tmp_path, entry):
    victim = tmp_path / "0123456789abcdef0123456789abcdef"  # looks like a key, is a path
    victim.mkdir()
    with pytest.raises(StoreError, match="is not a valid key"):
        FeatureStore(entry.path.parent).remove(str(victim))
    assert victim.is_dir()


def test_remove_unknown_or_ambiguous_key_is_an_error(entry):
    store = FeatureStore(entry.path.parent)
    with pytest.raises(StoreError, match="has no entry 'ffff'"):
        store.remove("ffff")
    twin = entry.path.parent / (entry.key[:4] + "0" * 28)
    twin.mkdir()
    (twin / "meta.json").write_text("[]")  # listed as damaged, so removable too
    with pytest.raises(StoreError, match="matches 2 entries"):
        store.remove(entry.key[:4])
    assert entry.path.is_dir()


def test_remove_returns_exactly_what_it_removed(entry):
    store = FeatureStore(entry.path.parent)
    partial = store.partial_path(entry.key)
    partial.mkdir(parents=True)
    (partial / "progress.json").write_text("{}")
    assert store.remove(entry.key[:6]) == [str(entry.path), str(partial)]
    assert not entry.path.exists() and not partial.exists()


# ---------------------------------------------------------------------- item 3: links


def test_planted_partial_link_is_never_followed(tmp_path, small):
    store = tmp_path / "store"
    key = extract(PixelBackbone(), small, store=tmp_path / "probe").key
    target = tmp_path / "target"
    target.mkdir()
    (target / ".bashrc").write_text("secret")
    (target / "features.npy").write_text("user file")
    (store / ".partial").mkdir(parents=True)
    os.symlink(target, store / ".partial" / key)
    with pytest.raises(StoreError, match="not a plain folder"):
        extract(PixelBackbone(), small, store=store)
    assert (target / ".bashrc").read_text() == "secret"
    assert (target / "features.npy").read_text() == "user file"
    assert sorted(p.name for p in target.iterdir()) == [".bashrc", "features.npy"]


def test_links_inside_a_partial_folder_are_replaced_not_written_through(tmp_path, small):
    store = tmp_path / "store"
    key = extract(PixelBackbone(), small, store=tmp_path / "probe").key
    victim = tmp_path / "victim.npy"
    victim.write_bytes(b"precious")
    partial = store / ".partial" / key
    partial.mkdir(parents=True)
    os.symlink(victim, partial / "features.npy")
    os.symlink(victim, partial / ".features.npy.1.0123abcd.tmp")
    fs = extract(PixelBackbone(), small, store=store)
    assert victim.read_bytes() == b"precious"
    assert _good(fs, small)


def test_planted_links_in_an_entry_are_not_read(entry, small, tmp_path, caplog):
    outside = tmp_path / "labels.npy"
    np.save(outside, np.zeros(len(small), dtype=np.int64))
    (entry.path / "labels.npy").unlink()
    os.symlink(outside, entry.path / "labels.npy")
    with pytest.raises(StoreError, match="damaged"):
        FeatureStore(entry.path.parent).get(entry.key)
    fs, bb = _again(tmp_path, small, caplog)
    assert not fs.cached and bb.calls > 0 and _good(fs, small)
    assert outside.is_file()  # the link's target is never deleted


# ---------------------------------------------------------------------- item 12: damage


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _nan(path: Path) -> None:
    arr = np.load(path)
    arr[3, 2] = np.nan
    np.save(path, arr)


def _shuffle_labels(path: Path) -> None:
    arr = np.load(path)
    np.save(path, arr[::-1].copy())


def _wrong_meta(path: Path) -> None:
    meta = json.loads(path.read_text())
    meta["dataset"] = "cifar100"
    path.write_text(json.dumps(meta))


DAMAGE = {
    "flipped byte": ("features.npy", lambda p: _flip_byte(p, p.stat().st_size - 5)),
    "nan": ("features.npy", _nan),
    "shuffled labels": ("labels.npy", _shuffle_labels),
    "wrong meta": ("meta.json", _wrong_meta),
    "empty features": ("features.npy", lambda p: p.write_bytes(b"")),
    "meta is a list": ("meta.json", lambda p: p.write_text("[1, 2]")),
    "no checksum of features": ("meta.json", None),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_entry_is_reported_and_extracted_again(tmp_path, small, entry, case, caplog):
    name, damage = DAMAGE[case]
    path = entry.path / name
    if damage is None:  # a checksum record that leaves the features out
        meta = json.loads(path.read_text())
        del meta["checksum"]["files"]["features.npy"]
        path.write_text(json.dumps(meta))
    else:
        damage(path)
    with pytest.raises(StoreError, match="is damaged"):
        FeatureStore(entry.path.parent).get(entry.key)
    fs, bb = _again(tmp_path, small, caplog)
    assert not fs.cached and bb.calls > 0 and _good(fs, small)
    assert any("damaged" in r.getMessage() for r in caplog.records)
    again, bb = _again(tmp_path, small, caplog)  # the key is not blocked: a plain hit now
    assert again.cached and bb.calls == 0


def test_fifo_in_place_of_features_never_hangs(tmp_path, small, entry, caplog):
    (entry.path / "features.npy").unlink()
    os.mkfifo(entry.path / "features.npy")
    out: dict = {}
    t = threading.Thread(target=lambda: out.update(r=_again(tmp_path, small, caplog)))
    t.daemon = True
    t.start()
    t.join(60)
    assert not t.is_alive(), "extract hung on a FIFO"
    fs, bb = out["r"]
    assert not fs.cached and _good(fs, small)


def test_entry_written_without_checksum_is_adopted(tmp_path, small, entry, caplog):
    meta = json.loads((entry.path / "meta.json").read_text())
    del meta["checksum"]
    (entry.path / "meta.json").write_text(json.dumps(meta))
    fs, bb = _again(tmp_path, small, caplog)
    assert fs.cached and bb.calls == 0
    assert "checksum" in json.loads((entry.path / "meta.json").read_text())
    meta["dataset_fingerprint"] = "other"  # no checksum, and it does not hash to its key
    (entry.path / "meta.json").write_text(json.dumps(meta))
    fs, bb = _again(tmp_path, small, caplog)
    assert not fs.cached and bb.calls > 0


def test_checksum_is_verified_once_per_process_until_a_file_changes(entry, monkeypatch):
    from ped import _files

    calls = []
    real = _files.file_digest
    monkeypatch.setattr(_files, "file_digest", lambda p: calls.append(p.name) or real(p))
    store = FeatureStore(entry.path.parent)
    store.get(entry.key)
    store.get(entry.key)
    assert calls == []  # verified when it was written, by this process
    _nan(entry.path / "features.npy")
    with pytest.raises(StoreError, match="features.npy does not match its checksum"):
        store.get(entry.key)
    assert calls == ["features.npy"]


# ---------------------------------------------------------------------- item 13: leftovers


def test_leftovers_are_listed_and_cleaned(tmp_path, small, entry):
    root = entry.path.parent
    store = FeatureStore(root)
    trash = root / ".tmp" / f"trash-{entry.key}-123-0123abcd"
    trash.mkdir()
    (trash / "features.npy").write_bytes(b"x" * 10)
    tmp = entry.path / ".meta.json.4242.89abcdef.tmp"
    tmp.write_text("{}")
    stale = store.partial_path("ab" * 16)
    stale.mkdir()
    (stale / "progress.json").write_text("{}")
    foreign = root / ".tmp" / "my-notes"
    foreign.write_text("mine")
    damaged = root / ("cd" * 16)
    damaged.mkdir()
    (damaged / "meta.json").write_text("[1]")
    got = {(e["status"], e["path"]) for e in store.leftovers()}
    assert got == {
        ("trash", str(trash)),
        ("tmp", str(tmp)),
        ("stale", str(stale)),
        ("foreign", str(foreign)),
        ("damaged", str(damaged)),
    }
    assert sorted(store.clean()) == sorted([str(trash), str(tmp), str(stale), str(damaged)])
    assert not trash.exists() and not tmp.exists() and not stale.exists()
    assert not damaged.exists()
    assert foreign.read_text() == "mine" and entry.path.is_dir()
    assert [e["status"] for e in store.leftovers()] == ["foreign"]
    assert store.get(entry.key).cached


def test_trash_holding_foreign_files_is_left_in_place(entry, tmp_path):
    store = FeatureStore(entry.path.parent)
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    os.symlink(outside, entry.path / "extra-link")
    store.remove(entry.key)
    [left] = store.leftovers()
    assert left["status"] == "trash" and outside.read_text() == "keep"
    assert store.clean() == [] and outside.read_text() == "keep"


def test_extraction_clears_its_own_cut_short_trash(tmp_path, small, entry):
    trash = entry.path.parent / ".tmp" / f"trash-{entry.key}-99-0123abcd"
    trash.mkdir()
    (trash / "labels.npy").write_bytes(b"x")
    FeatureStore(entry.path.parent).remove(entry.key)
    extract(PixelBackbone(), small, store=entry.path.parent, batch_size=8)
    assert not trash.exists()


def test_read_only_store_with_stale_partial_serves_the_entry(entry, small, monkeypatch):
    partial = FeatureStore(entry.path.parent).partial_path(entry.key)
    partial.mkdir(parents=True)
    (partial / "progress.json").write_text("{}")

    def read_only(path, **kw):
        raise StoreError(f"Lock file {path} cannot be opened (Read-only file system).")

    monkeypatch.setattr(store_module, "file_lock", read_only)
    bb = PixelBackbone()
    fs = extract(bb, small, store=entry.path.parent, batch_size=8)
    assert fs.cached and bb.calls == 0 and partial.exists()


def test_no_rewrite_of_meta_after_publication(entry):
    # meta.json is written once, before the rename: no `.meta.json.<pid>.tmp` can be left
    assert sorted(p.name for p in entry.path.iterdir()) == [
        "features.npy", "labels.npy", "meta.json", "source_probs.npy"]  # fmt: skip
    meta = json.loads((entry.path / "meta.json").read_text())
    assert set(meta["checksum"]["files"]) == {"features.npy", "labels.npy", "source_probs.npy"}


def test_open_entry_by_path(entry):
    assert np.array_equal(open_entry(entry.path).features, entry.features)
    with pytest.raises(StoreError, match="not a valid key"):
        open_entry(entry.path.parent / "..")


def test_nothing_outside_the_store_is_written(tmp_path, small):
    outside = tmp_path / "outside"
    outside.mkdir()
    store = tmp_path / "store"
    fs = extract(PixelBackbone(), small, store=store, batch_size=8)
    FeatureStore(store).remove(fs.key)
    FeatureStore(store).clean()
    assert list(outside.iterdir()) == []
    assert {p.name for p in tmp_path.iterdir()} == {"outside", "store"}


# ---------------------------------------------------------------------- the commands


def test_cli_remove_clean_and_list(tmp_path, entry, capsys):
    from ped.cli import main

    store = str(entry.path.parent)
    outside = tmp_path / "victim"
    outside.mkdir()
    assert main(["features", "remove", str(outside), "--store", store]) == 2
    out, err = capsys.readouterr()
    assert "is not a valid key" in err and len(err.strip().splitlines()) == 1
    assert outside.is_dir()
    tmp = entry.path / ".meta.json.4242.89abcdef.tmp"
    tmp.write_text("{}")
    assert main(["features", "list", "--store", store, "--json"]) == 0
    rows = json.loads(capsys.readouterr()[0])
    assert [r.get("status") for r in rows] == [None, "tmp"]
    assert main(["features", "clean", "--store", store]) == 0
    assert "".join(capsys.readouterr()[0].split()) == f"removed{tmp}"  # rich may wrap
    assert main(["features", "remove", entry.key[:8], "--store", store]) == 0
    assert "".join(capsys.readouterr()[0].split()) == f"removed{entry.path}"
