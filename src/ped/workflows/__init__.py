"""Workflows: the library functions behind the commands that chain several steps.

Each workflow reads and writes through the data path and the stores, reports progress
through callbacks and returns its results; none prints (the command line renders them).

- `ped.workflows.demo`: `run_demo`, the offline zoo against a linear probe (`ped demo`);
- `ped.workflows.reporting`: `evaluate_dataset` (`ped evaluate`) and `build_report`
  (`ped report`), with the ground-truth and stored-score look-ups they share.
"""

from __future__ import annotations

from .demo import DemoPlan, DemoResult, plan_demo, run_demo
from .reporting import (
    EvaluationRun,
    ReportRun,
    build_report,
    evaluate_dataset,
    gather_scores,
    resolve_truth,
    stored_dynamics,
)

__all__ = [
    "DemoPlan",
    "DemoResult",
    "plan_demo",
    "run_demo",
    "EvaluationRun",
    "ReportRun",
    "build_report",
    "evaluate_dataset",
    "gather_scores",
    "resolve_truth",
    "stored_dynamics",
]
