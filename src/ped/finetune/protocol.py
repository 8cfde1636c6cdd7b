"""A fine-tuning ground truth that converges on this machine (issue 12).

Every layer of a candidate network is trained together with a new linear head on the
benchmark's own items: per target, the class-balanced pool of ``pool`` items that the zoo
benchmark extracts features from; per seed, the benchmark's stratified split of that pool into
``pool - n_test`` training items and ``n_test`` test items (`ped.finetune.seed_split`; a
target smaller than the pool keeps the same test share, `ped.finetune.pool_test_size`, while
``n_val`` stays as set, so a target under about 900 items leaves too little to fit); the
training items are split again into a part to fit (``n_fit``) and ``n_val`` items that choose the
learning rate. The benchmark's linear probe sees the same training items, so the two ground
truths differ only in how the network is adapted.

The protocol (each choice measured, see ``docs/benchmarks.md``):

- SGD with Nesterov momentum 0.9, weight decay ``weight_decay``, batch ``batch_size``, a cosine
  schedule over ``epochs`` epochs, one run per learning rate of ``lrs``;
- no augmentation by default (the targets are 28-pixel grey images: ImageNet's random resized
  crop and flip destroy them); ``augment="shift"`` moves each image by up to ``shift`` pixels,
  ``augment="imagenet"`` uses the backbone's own training transform;
- inputs at ``image_size`` pixels (64 by default: accuracy as at 96, a third of the time);
- batch-norm layers train as usual, and each run is evaluated twice: with the running
  statistics, and after recomputing them on the fitting items with the final weights
  (``bn_eval``); the record keeps both, the summary uses ``bn_eval``;
- the new head reads the backbone's pooled features through a batch-norm layer without
  affine parameters (``head_norm="batchnorm"``, as MAE's linear probing, He et al., CVPR
  2022): the probe standardises its features, and without it the head of a network whose
  features are on another scale barely moves (CRAFT VGG16-BN@s8: median std 0.0125,
  38.9 % on animal-mnist) or diverges (HED@s8: rms 10, NaN at lr 0.03 and 0.01);
  ``head_norm="none"`` is the earlier protocol;
- the learning rate with the best validation accuracy is chosen (ties: the lower validation
  loss); its test accuracy is the ground truth;
- a run *levelled off* when its last epoch lowered the mean training loss by at most
  ``level_tol`` of the whole run's drop; every curve is recorded.

Each run fixes the number of torch threads (``threads``) and records it, so a run gives the
same numbers wherever it runs with the same threads and device. Runs are appended to
``records.jsonl`` one line per (target, model, seed, learning rate); an interrupted job resumes
where it stopped.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data import balanced_order, load_dataset
from .splits import pool_test_size, seed_split
from .training import starting_module
from .truth_records import (
    BN_EVALS,
    LEGACY_SETTINGS,
    append_record,
    load_records,
    record_config,
    summarise,
)

__all__ = [
    "CANDIDATES",
    "FINETUNE_TARGETS",
    "FinetuneConfig",
    "HEAD_NORMS",
    "LEGACY_SETTINGS",
    "load_records",
    "pool_splits",
    "prepare_pool",
    "record_config",
    "run_finetune_truth",
    "summarise",
    "train_point",
]

ProgressFn = Callable[..., None]
#: Targets of the fine-tuned ground truth (small grey images with headroom above the probe).
FINETUNE_TARGETS: tuple[str, ...] = ("fashion-mnist", "animal-mnist")
#: Candidates with a trainable torch module (ONNX graphs through onnx2torch included), cheapest
#: first (a partial run covers the most).
CANDIDATES: tuple[str, ...] = (
    "zoo:ppocr-det@s8",
    "zoo:ppocr-det@s16",
    "zoo:mtcnn-onet",
    "zoo:ppocr-det",
    "zoo:mobilenetv2@s16",
    "zoo:efficientnet-lite0@s16",
    "zoo:mobilenetv2",
    "zoo:efficientnet-lite0",
    "zoo:random-mobilenetv2",
    "zoo:mobilenetv2@s32",
    "zoo:efficientnet-lite0@s32",
    "zoo:ppocr-cls",
    "zoo:craft-vgg16bn@s8",
    "zoo:hed-vgg16@s8",
    "zoo:mobilenetv2@s8",
    "zoo:efficientnet-lite1",
    "zoo:efficientnet-lite2",
    "zoo:efficientnet-lite1@s16",
    "zoo:efficientnet-lite2@s16",
    "zoo:craft-vgg16bn@s16",
    "zoo:hed-vgg16",
    "zoo:craft-vgg16bn",
)
AUGMENTS = ("none", "shift", "imagenet")
HEAD_NORMS = ("batchnorm", "none")


@dataclass(frozen=True)
class FinetuneConfig:
    """Settings of the fine-tuning ground truth (every field enters the record key).

    Attributes
    ----------
    pool, n_test : int
        The benchmark's pool size and test items per seed (`ped.benchmark.BenchmarkConfig`).
    n_val : int
        Items of the training part held out to choose the learning rate.
    lrs : tuple of float
        Learning-rate grid.
    epochs, batch_size : int
        Passes over the fitting items, and batch size.
    weight_decay : float
        SGD weight decay.
    image_size : int
        Input side in pixels (networks with a fixed input size ignore it).
    augment : {"none", "shift", "imagenet"}
    shift : int
        Largest shift in pixels for ``augment="shift"``.
    bn_eval : {"running", "recompute"}
        Batch-norm statistics the summary's accuracies use.
    threads : int
        torch threads of each run.
    device : str
        ``"cpu"`` or ``"cuda"``.
    level_tol : float
        A run levelled off when its last epoch's loss drop is at most this share of the run's.
    head_norm : {"batchnorm", "none"}
        What the new head reads: the pooled features through a batch-norm layer without
        affine parameters, or the features as they are (the earlier protocol, whose records
        keep their key).
    """

    pool: int = 3000
    n_test: int = 2000
    n_val: int = 200
    lrs: tuple[float, ...] = (0.03, 0.01, 0.003)
    epochs: int = 10
    batch_size: int = 32
    weight_decay: float = 1e-4
    image_size: int = 64
    augment: str = "none"
    shift: int = 2
    bn_eval: str = "recompute"
    threads: int = 1
    device: str = "cpu"
    level_tol: float = 0.05
    head_norm: str = "batchnorm"

    def __post_init__(self) -> None:
        if self.head_norm not in HEAD_NORMS:
            raise ValueError(f"Unknown head_norm {self.head_norm!r}; choose from {HEAD_NORMS}.")
        if self.augment not in AUGMENTS:
            raise ValueError(f"Unknown augment {self.augment!r}; choose from {AUGMENTS}.")
        if self.bn_eval not in BN_EVALS:
            raise ValueError(f"Unknown bn_eval {self.bn_eval!r}; choose from {BN_EVALS}.")
        ints = {"pool": self.pool, "n_test": self.n_test, "n_val": self.n_val,
                "epochs": self.epochs, "batch_size": self.batch_size,
                "image_size": self.image_size, "threads": self.threads}  # fmt: skip
        for name, v in ints.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"Expected {name} to be a positive integer, got {v!r}.")
        if self.pool - self.n_test - self.n_val < 2 * self.batch_size:
            raise ValueError(
                f"pool={self.pool} leaves fewer than two batches to fit after n_test="
                f"{self.n_test} and n_val={self.n_val}."
            )
        if not self.lrs or any(not (math.isfinite(lr) and lr > 0) for lr in self.lrs):
            raise ValueError(f"Expected positive finite learning rates, got {self.lrs!r}.")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"Expected weight_decay >= 0, got {self.weight_decay!r}.")
        if not (0 < self.level_tol < 1):
            raise ValueError(f"Expected 0 < level_tol < 1, got {self.level_tol!r}.")

    def key(self) -> str:
        """Hash of the settings that change a run's numbers (not ``bn_eval``, ``level_tol``).

        A field at its `LEGACY_SETTINGS` value (``head_norm="none"``) hashes as before the
        field existed, so the earlier protocol's records keep their key.
        """
        d = asdict(self)
        for k in ("bn_eval", "level_tol"):
            d.pop(k)
        for k, legacy in LEGACY_SETTINGS.items():
            if d[k] == legacy:
                d.pop(k)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def pool_splits(
    labels: np.ndarray, seed: int, config: FinetuneConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions in the pool of the (fit, val, test) items of one seed.

    ``train, test = seed_split(labels, n_test, seed)`` is the benchmark's own split (its
    linear probe is trained on ``train``), with ``n_test`` scaled down by `pool_test_size` on
    a target smaller than the pool; ``val`` is a stratified ``n_val`` of ``train``
    drawn with seed ``seed + 1000``, as the probe's hold-out is.
    """
    n_test = pool_test_size(labels.shape[0], config.pool, config.n_test)
    train, test = seed_split(labels, n_test, seed)
    fit, val = seed_split(labels[train], config.n_val, seed + 1000)
    return train[fit], train[val], test


def prepare_pool(backbone: Any, dataset: Any, pool: int) -> tuple[Any, np.ndarray]:
    """The pool's items, preprocessed once by the backbone's eval transform.

    Returns a ``(pool, ...)`` float tensor and the ``(pool,)`` int64 labels, in the benchmark's
    order (the first ``pool`` items of `ped.data.balanced_order`).
    """
    import torch

    order = balanced_order(np.asarray(dataset.labels))[:pool]
    labels = np.asarray(dataset.labels, dtype=np.int64)[order]
    items = [backbone.transform(dataset[int(i)][0]) for i in order]
    return torch.stack([torch.as_tensor(x) for x in items]), labels


def _shift(batch: Any, shift: int, generator: Any) -> Any:
    """Move each image by up to ``shift`` pixels (zero padding), seeded."""
    import torch

    n, _, h, w = batch.shape
    padded = torch.nn.functional.pad(batch, (shift, shift, shift, shift))
    offs = torch.randint(0, 2 * shift + 1, (n, 2), generator=generator)
    return torch.stack(
        [padded[i, :, dy : dy + h, dx : dx + w] for i, (dy, dx) in enumerate(offs.tolist())]
    )


def _evaluate(net: Any, x: Any, y: np.ndarray, batch_size: int, device: str) -> tuple[float, float]:
    """(accuracy in percent, mean cross-entropy) of ``net`` in eval mode."""
    import torch

    net.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for s in range(0, len(y), batch_size):
            logits = net(x[s : s + batch_size].to(device)).float()
            target = torch.as_tensor(y[s : s + batch_size], device=device)
            loss += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
            correct += int((logits.argmax(1) == target).sum())
    return 100.0 * correct / len(y), loss / len(y)


def _recompute_bn(net: Any, x: Any, batch_size: int, device: str) -> bool:
    """Replace every batch-norm layer's running statistics by their mean over ``x``.

    Returns False (and changes nothing) when the network has no batch-norm layer.
    """
    import torch

    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return False
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    starts = list(range(0, x.shape[0], batch_size))
    if len(starts) > 1 and x.shape[0] - starts[-1] == 1:
        starts.pop()  # a chunk of one item breaks batch-norm in train mode: join the one before
    ends = starts[1:] + [x.shape[0]]
    net.train()
    with torch.no_grad():
        for s, e in zip(starts, ends):
            net(x[s:e].to(device))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    net.eval()
    return True


class _Net:
    """Backbone module + a new linear head (a factory, so torch loads only when used)."""

    @staticmethod
    def build(module: Any, feature_dim: int, num_classes: int, head_norm: str = "none") -> Any:
        import torch

        class Net(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.backbone = copy.deepcopy(starting_module(module))
                self.norm = (
                    torch.nn.BatchNorm1d(int(feature_dim), affine=False)
                    if head_norm == "batchnorm"
                    else torch.nn.Identity()
                )
                self.head = torch.nn.Linear(int(feature_dim), int(num_classes))

            def forward(self, x: Any) -> Any:
                return self.head(self.norm(self.backbone(x).flatten(1)))

        return Net()


def _batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(n)
    out = [order[s : s + batch_size] for s in range(0, n, batch_size)]
    if len(out) > 1 and out[-1].size == 1:  # a batch of one breaks batch-norm in train mode
        out.pop()
    return out


def train_point(
    backbone: Any,
    x: Any,
    y: np.ndarray,
    splits: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    lr: float,
    seed: int,
    config: FinetuneConfig,
    items: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Fine-tune ``backbone.module`` + a linear head at one learning rate; measure it.

    Parameters
    ----------
    backbone : Backbone
        Needs a trainable ``module`` mapping a batch of ``x`` rows to ``(B, feature_dim)``.
    x : torch.Tensor of shape (pool, ...)
        The pool, preprocessed (`prepare_pool`).
    y : ndarray of shape (pool,)
        Labels ``0 .. C-1``.
    splits : (fit, val, test) position arrays
        From `pool_splits`.
    lr : float
    seed : int
        Seeds the head's initialisation, the batch order and the shifts.
    config : FinetuneConfig
    items : sequence, optional
        The raw pool items, needed only for ``augment="imagenet"``.

    Returns
    -------
    dict
        ``curve`` (per epoch: train loss and accuracy, val accuracy and loss), the final
        ``val_acc``/``test_acc`` with running and with recomputed batch-norm statistics,
        ``levelled``, ``seconds``, ``threads``.
    """
    import torch

    fit, val, test = splits
    device = config.device
    old_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    t0 = time.perf_counter()
    try:
        torch.manual_seed(seed)
        net = _Net.build(
            backbone.module, backbone.feature_dim, int(y.max()) + 1, config.head_norm
        ).to(device)
        for p in net.parameters():
            p.requires_grad_(True)
        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.SGD(
            params, lr=lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay
        )
        rng = np.random.default_rng(seed)
        steps = config.epochs * len(_batches(fit.size, config.batch_size, np.random.default_rng(0)))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
        gen = torch.Generator().manual_seed(seed)
        curve = []
        for epoch in range(config.epochs):
            tr_loss, tr_acc = _train_epoch(
                net, x, y, fit, rng, gen, opt, sched, config, backbone, items
            )
            va_acc, va_loss = _evaluate(net, x[val], y[val], 256, device)
            curve.append({"epoch": epoch + 1, "train_loss": tr_loss, "train_acc": tr_acc,
                          "val_acc": va_acc, "val_loss": va_loss})  # fmt: skip
        out = _final_metrics(net, x, y, splits, device)
    finally:
        torch.set_num_threads(old_threads)
    losses = [c["train_loss"] for c in curve]
    out.update(
        curve=curve,
        levelled=levelled(losses, config.level_tol),
        seconds=time.perf_counter() - t0,
        threads=config.threads,
        device=device,
        torch=torch.__version__,
        n_fit=int(fit.size),
        n_val=int(val.size),
        n_test=int(test.size),
    )
    return out


def _train_epoch(net, x, y, fit, rng, gen, opt, sched, config, backbone, items):
    import torch

    net.train()
    total, correct, seen = 0.0, 0, 0
    for b in _batches(fit.size, config.batch_size, rng):
        pos = fit[b]
        if config.augment == "imagenet":
            xb = torch.stack([backbone.train_transform(items[i], generator=gen) for i in pos])
        else:
            xb = x[pos]
            if config.augment == "shift":
                xb = _shift(xb, config.shift, gen)
        target = torch.as_tensor(y[pos], device=config.device)
        logits = net(xb.to(config.device))
        loss = torch.nn.functional.cross_entropy(logits, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        total += float(loss.detach()) * pos.size
        correct += int((logits.argmax(1) == target).sum())
        seen += pos.size
    return total / seen, 100.0 * correct / seen


def _final_metrics(net, x, y, splits, device) -> dict[str, Any]:
    fit, val, test = splits
    out: dict[str, Any] = {}
    out["val_acc_running"], out["val_loss_running"] = _evaluate(net, x[val], y[val], 256, device)
    out["test_acc_running"], _ = _evaluate(net, x[test], y[test], 256, device)
    if _recompute_bn(net, x[fit], 256, device):
        out["val_acc_recompute"], out["val_loss_recompute"] = _evaluate(
            net, x[val], y[val], 256, device
        )
        out["test_acc_recompute"], _ = _evaluate(net, x[test], y[test], 256, device)
    else:
        for k in ("val_acc", "val_loss", "test_acc"):
            out[f"{k}_recompute"] = out[f"{k}_running"]
    return out


def levelled(losses: Sequence[float], tol: float) -> bool:
    """Whether the last epoch lowered the loss by at most ``tol`` of the whole run's drop."""
    if len(losses) < 2:
        return False
    drop = losses[0] - min(losses)
    last = losses[-2] - losses[-1]
    return bool(drop > 0 and last <= tol * drop)


def _open_pool(spec: Any, target: Any, config: FinetuneConfig) -> tuple[Any, Any, np.ndarray, Any]:
    """Backbone, preprocessed pool, labels and (for ImageNet augmentation) the raw items."""
    from ..models import load_backbone  # loads torch: only when a model is opened

    bb = load_backbone(spec, image_size=config.image_size) if isinstance(spec, str) else spec
    if getattr(bb, "module", None) is None:
        raise ValueError(f"Model {bb.spec!r} has no trainable torch module to fine-tune.")
    ds = load_dataset(target) if isinstance(target, str) else target
    x, y = prepare_pool(bb, ds, config.pool)
    items = None
    if config.augment == "imagenet":
        items = [ds[int(j)][0] for j in balanced_order(ds.labels)[: config.pool]]
    return bb, x, y, items


def run_finetune_truth(
    targets: Sequence[Any],
    specs: Sequence[Any],
    *,
    seeds: Sequence[int] = (0, 1),
    config: FinetuneConfig | None = None,
    out: str | Path,
    progress: ProgressFn | None = None,
    log: Callable[[str], None] | None = None,
    workers: int = 1,
) -> list[dict[str, Any]]:
    """Run (or resume) the fine-tuning ground truth; returns every record of this config.

    Parameters
    ----------
    targets : sequence of str or Dataset
        Dataset specs (or datasets: their ``spec`` names the records).
    specs : sequence of str or Backbone
        Model specs (or backbones with a trainable ``module``).
    seeds : sequence of int
        Ground-truth seeds (the benchmark's splits of the pool).
    config : FinetuneConfig, optional
    out : str or Path
        Folder of ``records.jsonl``.
    progress : callable, optional
        ``progress(done, total, description=...)`` once per (seed, model, target).
    log : callable, optional
        Receives one line per finished run (``workers=1`` only).
    workers : int, default 1
        Processes sharing the job (each takes every ``workers``-th model and appends to the
        same file; ``progress`` then reports finished shards). Each run still uses
        ``config.threads`` torch threads, so the numbers do not depend on ``workers``.

    Jobs go seed-major, then model, then target, so a partial run covers both targets of the
    same models for the first seed first. Each finished run is appended to
    ``out/records.jsonl`` at once.
    """
    config = config or FinetuneConfig()
    ckpt = Path(out) / "records.jsonl"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"Expected workers to be a positive integer, got {workers!r}.")
    if workers > 1 and len(specs) > 1:
        return _run_sharded(targets, specs, seeds, config, ckpt.parent, workers, progress)
    key = config.key()
    records = [r for r in load_records(ckpt) if r.get("config_key") == key]
    done = {(r["target"], r["spec"], r["seed"], r["lr"]) for r in records}
    name = lambda obj: obj if isinstance(obj, str) else obj.spec  # noqa: E731
    jobs = [(s, m, t) for s in seeds for m in specs for t in targets]
    cache: dict[tuple[str, str], tuple[Any, Any, np.ndarray, Any]] = {}
    for i, (seed, spec, target) in enumerate(jobs):
        job = (name(target), name(spec))
        todo = [lr for lr in config.lrs if (*job, seed, lr) not in done]
        if todo and job not in cache:
            cache.clear()  # one pool in memory at a time
            cache[job] = _open_pool(spec, target, config)
        for lr in todo:
            bb, x, y, items = cache[job]
            rec = train_point(bb, x, y, pool_splits(y, seed, config), lr=lr, seed=seed,
                              config=config, items=items)  # fmt: skip
            rec.update(config_key=key, config=asdict(config), target=job[0], spec=job[1],
                       seed=seed, lr=lr)  # fmt: skip
            append_record(ckpt, rec)
            records.append(rec)
            if log is not None:
                log(_line(rec))
        if progress is not None:
            progress(i + 1, len(jobs), description=f"{job[0]}: {job[1]} seed {seed}")
    return records


def _run_sharded(targets, specs, seeds, config, out, workers, progress) -> list[dict[str, Any]]:
    """`run_finetune_truth` in ``workers`` spawned processes, every ``workers``-th model each."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    shards = [list(specs[k::workers]) for k in range(min(workers, len(specs)))]
    ctx = multiprocessing.get_context("spawn")  # torch state is not fork-safe
    with ProcessPoolExecutor(len(shards), mp_context=ctx) as pool:
        futures = [
            pool.submit(run_finetune_truth, targets, shard, seeds=seeds, config=config, out=out)
            for shard in shards
        ]
        for done, fut in enumerate(as_completed(futures), 1):
            fut.result()  # a worker's error is this call's error
            if progress is not None:
                progress(done, len(shards), description=f"{done} of {len(shards)} shards")
    key = config.key()
    return [r for r in load_records(Path(out) / "records.jsonl") if r.get("config_key") == key]


def _line(rec: Mapping[str, Any]) -> str:
    return (
        f"{rec['target']} {rec['spec']} seed {rec['seed']} lr {rec['lr']:g}: test "
        f"{rec['test_acc_running']:.1f} / {rec['test_acc_recompute']:.1f} (running / recomputed "
        f"BN), val {rec['val_acc_running']:.1f}, loss {rec['curve'][-1]['train_loss']:.3g}, "
        f"levelled {rec['levelled']}, {rec['seconds']:.0f} s"
    )
