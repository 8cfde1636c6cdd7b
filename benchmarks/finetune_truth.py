"""Run (or resume) the fine-tuning ground truth of issue 12 (`ped.finetune.protocol`).

Examples
--------
The CPU run whose records docs/benchmarks.md uses (hours on 2 cores; resumable)::

    nice python benchmarks/finetune_truth.py --out docs/benchmarks/finetune

The full budget on one large GPU (see benchmarks/finetune_gpu.sh)::

    python benchmarks/finetune_truth.py --device cuda --threads 8 --seeds 0,1,2 \
        --out benchmarks/results/finetune-gpu
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from ped.finetune.protocol import FinetuneConfig, run_finetune_truth, summarise

#: Candidates in the order they run (cheapest first, so a partial run covers the most models).
CANDIDATES = (
    "zoo:mtcnn-onet",
    "zoo:mobilenetv2@s16",
    "zoo:efficientnet-lite0@s16",
    "zoo:mobilenetv2",
    "zoo:efficientnet-lite0",
    "zoo:random-mobilenetv2",
    "zoo:mobilenetv2@s32",
    "zoo:efficientnet-lite0@s32",
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


def _spawn(workers: int, argv: list[str]) -> int:
    """Start ``workers`` copies of this script on interleaved shards of the model list."""
    procs = [
        subprocess.Popen([sys.executable, __file__, *argv, "--shard", f"{k}/{workers}"])
        for k in range(workers)
    ]
    return max(p.wait() for p in procs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--targets", default="fashion-mnist,animal-mnist")
    p.add_argument("--models", default=",".join(CANDIDATES))
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--lrs", default="0.03,0.01,0.003")
    p.add_argument("--augment", default="none")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="run this many processes, each on every n-th model (all append to one file)",
    )
    p.add_argument("--shard", default=None, help=argparse.SUPPRESS)  # "k/n", set by --workers
    a = p.parse_args(argv)
    models = a.models.split(",")
    if a.workers > 1 and a.shard is None:
        return _spawn(a.workers, argv if argv is not None else sys.argv[1:])
    if a.shard is not None:
        k, n = (int(v) for v in a.shard.split("/"))
        models = models[k::n]
    config = FinetuneConfig(
        epochs=a.epochs,
        image_size=a.image_size,
        lrs=tuple(float(v) for v in a.lrs.split(",")),
        augment=a.augment,
        threads=a.threads,
        device=a.device,
    )
    t0 = time.time()

    def log(line: str) -> None:
        print(f"[{time.time() - t0:7.0f} s] {line}", flush=True)

    recs = run_finetune_truth(
        a.targets.split(","),
        models,
        seeds=[int(s) for s in a.seeds.split(",")],
        config=config,
        out=a.out,
        log=log,
    )
    for target, models in summarise(recs).items():
        for spec, seeds in models.items():
            for seed, s in seeds.items():
                print(f"{target} {spec} seed {seed}: lr {s['lr']:g} test {s['test_acc']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
