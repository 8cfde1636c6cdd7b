"""Ground-truth fine-tuning: hyper-parameter sweeps that resume, are stored, and scale out.

One job per module:

- `ped.finetune.splits`: the train / val / trainval / test views (`Splits`, `resolve_splits`);
- `ped.finetune.metrics`: the test metrics, 11-point mAP included (`compute_metric`);
- `ped.finetune.training`: the full protocol's SGD loop (`train_and_score`);
- `ped.finetune.probe`: the linear protocol (`probe_decisions`, `linear_sweep`) and the choice
  of the best grid point (`select_best`), which the zoo benchmark reuses;
- `ped.finetune.jobs`: what a grid point's job runs, in this process or in a Ray worker;
- `ped.finetune.sweep`: `finetune`, the sweep over the results database and the job runner;
- `ped.finetune.protocol`: the converged fine-tuning ground truth of the zoo benchmark (all
  layers, learning rate chosen on held-out items, curves recorded; `run_finetune_truth`);
- `ped.finetune.truth_records`: its records (`append_record`, `load_records`, `summarise`).
"""

from __future__ import annotations

from .metrics import METRICS, compute_metric
from .probe import DEFAULT_CS, linear_sweep, probe_decisions, select_best
from .splits import Splits, View, pool_test_size, resolve_splits, seed_split
from .sweep import PROTOCOLS, SweepResult, finetune
from .training import DEFAULT_LRS, DEFAULT_WS, train_and_score

__all__ = [
    "finetune",
    "SweepResult",
    "Splits",
    "resolve_splits",
    "compute_metric",
    "train_and_score",
    "linear_sweep",
    "DEFAULT_LRS",
    "DEFAULT_WS",
    "DEFAULT_CS",
    "METRICS",
    "PROTOCOLS",
    "probe_decisions",
    "select_best",
    "View",
    "seed_split",
    "pool_test_size",
]
