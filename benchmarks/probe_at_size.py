"""The benchmark's linear probe at other input sizes (issue 12: fine-tuned below its probe?).

The benchmark's linear probe reads features of images at 96 px; the fine-tuning protocol trains
at 64 px. When a pretrained candidate fine-tunes below its probe, this asks whether the input
size explains it: the same probe (`ped.benchmark.run.seed_probe`: the benchmark's C grid,
pool and seed splits) on features extracted at each of ``--sizes``. The committed records
(`benchmarks/results/probe_at_size.json`, cited in docs/benchmarks.md) come from::

    python benchmarks/probe_at_size.py zoo:efficientnet-lite0 zoo:efficientnet-lite0@s32 \\
        zoo:efficientnet-lite1 zoo:efficientnet-lite2 zoo:mobilenetv2 --target animal-mnist \\
        --target fashion-mnist --json benchmarks/results/probe_at_size.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="Image model specs (zoo:efficientnet-lite2).")
    parser.add_argument("--target", action="append", help="Targets (default animal-mnist).")
    parser.add_argument("--sizes", default="64,96", help="Input sizes in px, comma-separated.")
    parser.add_argument("--seeds", default="0,1", help="The benchmark's ground-truth seeds.")
    parser.add_argument("--json", type=Path, help="Also write the rows to this file.")
    args = parser.parse_args(argv)

    import numpy as np

    from ped.benchmark import BenchmarkConfig
    from ped.benchmark.run import seed_probe
    from ped.features import extract
    from ped.models import load_backbone

    cfg = BenchmarkConfig()
    rows = []
    print(f"{'target':14s} {'model':28s} {'px':>4s} {'seed':>4s} {'probe %':>8s} {'C':>8s}")
    for target in args.target or ["animal-mnist"]:
        for spec in args.models:
            for size in _ints(args.sizes):
                fs = extract(load_backbone(spec, image_size=size), target, limit=cfg.pool)
                X = np.asarray(fs.features, dtype=np.float32)
                y = np.asarray(fs.labels)
                for seed in _ints(args.seeds):
                    acc, c, _, _ = seed_probe(cfg, X, y, seed)
                    rows.append({"target": target, "spec": spec, "image_size": size,
                                 "seed": seed, "accuracy": acc, "c": c})  # fmt: skip
                    print(f"{target:14s} {spec:28s} {size:4d} {seed:4d} {acc:8.2f} {c:8.0e}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
