"""Feature-extraction throughput of `ped.features.extract` against a bare forward loop.

Measures, on the same model and the same inputs:

* ``bare``: a plain Python loop (decode, ``transform``, ``collate``, ``forward``) that keeps
  nothing;
* ``pipeline``: `ped.features.extract` on a cache miss (DataLoader, chunk files, progress
  file, assembly into the store, atomic rename), and its overhead over ``bare`` (target: at
  most 20%);
* the time of a cache hit: for the same small entry, opened from a model spec (includes
  building the backbone and digesting its weights) and from a backbone object; and for a
  synthetic 50 000 x 2 048 float32 entry (400 MB), plus the time to read it all.

Usage::

    python benchmarks/bench_extract.py [--model SPEC] [--dataset SPEC] [--n 512]
        [--batch-size 64] [--repeats 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


class _RandomFeatures:
    """A stand-in backbone that emits seeded random features fast (to build a big entry)."""

    modality = "image"
    module = None
    device = "cpu"
    num_source_classes = None

    def __init__(self, dim: int):
        self.feature_dim = dim
        self.spec = f"bench:random{dim}"
        self._batch = 0

    def digest(self):
        return "random-v1"

    def preprocess_id(self):
        return "none"

    def transform(self, item):
        return 0

    def collate(self, items):
        return len(items)

    def forward(self, n):
        rng = np.random.default_rng(self._batch)
        self._batch += 1
        return rng.standard_normal((n, self.feature_dim), dtype=np.float32), None

    def to(self, device):
        return self


def bare_loop(backbone, view, batch_size: int) -> float:
    import torch

    t0 = time.perf_counter()
    with torch.no_grad():
        for s in range(0, len(view), batch_size):
            items = [
                backbone.transform(view[i][0]) for i in range(s, min(len(view), s + batch_size))
            ]
            backbone.forward(backbone.collate(items))
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="zoo:efficientnet-lite0?image_size=128")
    p.add_argument("--dataset", default="mnist5k")
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--hit-n", type=int, default=50_000)
    p.add_argument("--hit-d", type=int, default=2_048)
    p.add_argument("--json", type=Path)
    args = p.parse_args()

    import torch

    from ped.data import balanced_order, load_dataset
    from ped.data._dataset import ArraySource, Dataset
    from ped.features import FeatureStore, extract
    from ped.models import load_backbone

    work = Path(tempfile.mkdtemp(prefix="ped-bench-"))
    try:
        ds = load_dataset(args.dataset)
        backbone = load_backbone(args.model)
        view = ds.subset(balanced_order(ds.labels)[: args.n], split=ds.split)
        bare_loop(backbone, view.subset(np.arange(args.batch_size)), args.batch_size)  # warm-up

        bare, pipe = [], []
        for r in range(args.repeats):
            bare.append(bare_loop(backbone, view, args.batch_size))
            store = work / f"store{r}"
            t0 = time.perf_counter()
            fs = extract(backbone, ds, limit=args.n, batch_size=args.batch_size, store=store)
            pipe.append(time.perf_counter() - t0)
            assert not fs.cached
        t_bare, t_pipe = min(bare), min(pipe)

        t0 = time.perf_counter()
        hit = extract(backbone, ds, limit=args.n, batch_size=args.batch_size, store=store)
        t_hit_obj = time.perf_counter() - t0
        assert hit.cached
        t0 = time.perf_counter()
        hit = extract(args.model, args.dataset, limit=args.n, store=store)
        t_hit_spec = time.perf_counter() - t0
        assert hit.cached

        # a big entry: 50 000 x 2 048 float32
        big_ds = Dataset(
            spec="bench:big",
            split="all",
            source=ArraySource(np.zeros((args.hit_n, 1, 1), dtype=np.uint8)),
            index=np.arange(args.hit_n),
            labels=np.arange(args.hit_n) % 100,
            classes=[str(k) for k in range(100)],
            metric="accuracy",
        )
        big_store = work / "big"
        t0 = time.perf_counter()
        big = extract(_RandomFeatures(args.hit_d), big_ds, batch_size=1024, store=big_store)
        t_big_build = time.perf_counter() - t0
        hits = []
        for _ in range(5):
            t0 = time.perf_counter()
            big = extract(_RandomFeatures(args.hit_d), big_ds, batch_size=1024, store=big_store)
            hits.append(time.perf_counter() - t0)
            assert big.cached
        t0 = time.perf_counter()
        FeatureStore(big_store).get(big.key)
        t_get = time.perf_counter() - t0
        t0 = time.perf_counter()
        checksum = float(np.asarray(big.features).sum(dtype=np.float64))
        t_read = time.perf_counter() - t0

        result = {
            "model": backbone.spec,
            "dataset": args.dataset,
            "n_items": args.n,
            "batch_size": args.batch_size,
            "torch_threads": torch.get_num_threads(),
            "machine": platform.processor() or platform.machine(),
            "bare_s": round(t_bare, 4),
            "pipeline_s": round(t_pipe, 4),
            "bare_items_per_s": round(args.n / t_bare, 2),
            "pipeline_items_per_s": round(args.n / t_pipe, 2),
            "overhead_pct": round(100.0 * (t_pipe - t_bare) / t_bare, 2),
            "all_bare_s": [round(x, 4) for x in bare],
            "all_pipeline_s": [round(x, 4) for x in pipe],
            "hit_small_backbone_object_s": round(t_hit_obj, 5),
            "hit_small_from_spec_s": round(t_hit_spec, 5),
            "big_entry_shape": [args.hit_n, args.hit_d],
            "big_entry_build_s": round(t_big_build, 3),
            "big_hit_s_median": round(float(np.median(hits)), 5),
            "big_hit_s_all": [round(x, 5) for x in hits],
            "big_store_get_s": round(t_get, 5),
            "big_full_read_s": round(t_read, 4),
            "big_checksum": checksum,
        }
        print(json.dumps(result, indent=1))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
