"""Run (or resume) the fine-tuning ground truth of issue 12: a thin wrapper of the CLI.

Every argument goes to ``ped finetune-truth`` (`ped.finetune.protocol`), for example the CPU
run whose records docs/benchmarks.md uses (hours on 2 cores; resumable)::

    nice python benchmarks/finetune_truth.py --out docs/benchmarks/finetune

and the full budget on one large GPU (see benchmarks/finetune_gpu.sh)::

    python benchmarks/finetune_truth.py --device cuda --threads 2 --workers 8 \
        --seeds 0,1,2 --epochs 20 --image-size 96 --out benchmarks/results/finetune-gpu
"""

from __future__ import annotations

import sys

from ped.cli import main

if __name__ == "__main__":
    sys.exit(main(["finetune-truth", *sys.argv[1:]]))
