"""The offline zoo benchmark: can a score tell the zoo's models apart, and does PED help?

For each target dataset, every candidate model's features are extracted once on a
class-balanced pool of items (the feature store keeps them). Each ground-truth *seed* then
draws its own stratified split of the pool into a training part and a test part of
``n_test`` items (the same share of a target smaller than the pool); the linear protocol (logistic regression, C chosen on a 20% hold-out of
the training part, refitted on the whole training part) gives the model's test accuracy,
and every score is computed on the same training part, with and without PED. The result
per target is a table of the ground truth (mean and standard error over seeds) and, per
score, the weighted Kendall's tau of the seed-averaged score against the seed-averaged
ground truth with a bootstrap interval over models *and* seeds, the per-seed spread, and
the selection view (rel@1, rel@3).

PED is run with ``nsigma`` 0.3 and 0.6 and with reference statistics from the target
itself (``target``), from another dataset of the same modality (``other``), and, for
images, from crops of natural photographs (``crops``, the ``natural-crops`` dataset),
for the paper's three scores (LogME, SFDA, GBC); every other feature score gets PED at the
default setting (nsigma 0.6, target statistics).

Work is checkpointed per (target, model) in ``records.jsonl`` of the output folder: an
interrupted run resumes where it stopped, and features come from the feature store.

One job per module: `ped.benchmark.config` (targets, the PED grid, `BenchmarkConfig`),
`ped.benchmark.run` (running: `run_benchmark`, the seeds' splits and probes, the scores),
`ped.benchmark.results` (the records and their evaluation, `BenchmarkResult`, `load_result`)
`ped.benchmark.judged` (the fine-tuned ground truth beside the linear probe:
`finetune_section`; `missing_scores` of stored records) and `ped.benchmark.render` /
`render_finetune` (Markdown tables, plots, ``results.json``, `write_outputs`).

Every registered score enters the plan except `SLOW_SCORES`; SA (``sa+<base>``) stands beside
PED for the paper's bases; the data-free prior of each model (`PRIORS`) is stored per record
and evaluated as a seed-independent predictor. A record stored before a score joined the plan
gets only that score on the next run.
"""

from __future__ import annotations

from .config import (
    BENCH_CS,
    DEFAULT_PED,
    PAPER_BASES,
    PRIORS,
    SLOW_SCORES,
    TARGETS,
    BenchmarkConfig,
    ped_name,
    score_plan,
)
from .judged import finetune_section, missing_scores
from .render import ped_summary, plot_scatter, plot_truth, render_markdown, write_outputs
from .results import BenchmarkResult, load_result, read_records
from .run import probe_accuracy, run_benchmark, seed_split

__all__ = [
    "load_result",
    "BenchmarkConfig",
    "BenchmarkResult",
    "TARGETS",
    "PAPER_BASES",
    "run_benchmark",
    "ped_name",
    "seed_split",
    "probe_accuracy",
    "BENCH_CS",
    "DEFAULT_PED",
    "read_records",
    "ped_summary",
    "render_markdown",
    "plot_truth",
    "plot_scatter",
    "write_outputs",
    "SLOW_SCORES",
    "PRIORS",
    "score_plan",
    "finetune_section",
    "missing_scores",
]
