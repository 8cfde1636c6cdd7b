"""What a benchmark run is: its targets, the PED grid, and its settings (`BenchmarkConfig`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from ..scoring import list_scores

__all__ = [
    "TARGETS",
    "PAPER_BASES",
    "BENCH_CS",
    "DEFAULT_PED",
    "SLOW_SCORES",
    "PRIORS",
    "ped_name",
    "BenchmarkConfig",
    "score_plan",
    "plan_references",
]

#: Targets of the benchmark, their modality and the dataset used as the ``other`` reference.
TARGETS: dict[str, dict[str, str]] = {
    "mnist5k": {"modality": "image", "other": "fashion-mnist"},
    "fashion-mnist": {"modality": "image", "other": "mnist5k"},
    "rotten-tomatoes": {"modality": "text", "other": "political-speeches"},
    "animal-mnist": {"modality": "image", "other": "fashion-mnist"},
    "presidential-debates": {"modality": "text", "other": "rotten-tomatoes"},
}
#: The paper's three scores, which get the whole PED grid and SA (``sa+<base>``) beside it.
PAPER_BASES: tuple[str, ...] = ("logme", "sfda", "gbc")
#: Registered scores the benchmark leaves out: PACTran's Dirichlet and Gamma priors on the
#: features optimise per model for minutes (``pactran_dir`` / ``pactran_gamma`` on the source
#: classifier's probabilities stay in).
SLOW_SCORES: tuple[str, ...] = ("pactran_ndir", "pactran_ngamma")
#: The data-free priors of `ped.models.prior`, evaluated as seed-independent predictors under
#: these table names (a model without a value is left out of that predictor's tau).
PRIORS: dict[str, str] = {"prior:params": "params", "prior:imagenet_top1": "imagenet_top1"}
#: The linear protocol's C grid used by the benchmark (every other point of the 12-point
#: grid of the fine-tuning protocol, 1e-6 .. 1e5).
BENCH_CS: tuple[float, ...] = (1e-4, 1e-2, 1e0, 1e2)
#: Default PED setting (that of `ped.scoring.DYNAMICS_PARAMS`) for the other bases.
DEFAULT_PED = (0.6, "target")


def ped_name(base: str, nsigma: float, reference: str) -> str:
    """Name of a PED variant in the benchmark's tables: ``ped+logme[0.6,target]``."""
    return f"ped+{base}[{nsigma:g},{reference}]"


@dataclass
class BenchmarkConfig:
    """Settings of one benchmark run (all of them enter the checkpoint key).

    Attributes
    ----------
    pool : int
        Items per target extracted per model (the first ``pool`` of the balanced order).
    n_test : int
        Test items per ground-truth seed (drawn from the pool, stratified); a target with
        fewer items than ``pool`` keeps the same test share (`ped.finetune.pool_test_size`).
    seeds : int
        Ground-truth seeds (splits of the pool).
    cs : tuple of float
        C grid of the linear probe.
    nsigmas : tuple of float
        PED's ``nsigma`` values for the paper's bases.
    references : tuple of str
        PED reference statistics: ``target``, ``other``, ``crops``.
    image_size : int
        Input side of the zoo networks that take any size.
    reference_limit : int
        Items of the ``other`` / ``crops`` reference data.
    max_iter : int
        L-BFGS iterations of each probe fit.
    """

    pool: int = 3000
    n_test: int = 2000
    seeds: int = 3
    cs: tuple[float, ...] = BENCH_CS
    nsigmas: tuple[float, ...] = (0.3, 0.6)
    references: tuple[str, ...] = ("target", "other", "crops")
    image_size: int = 96
    reference_limit: int = 1200
    max_iter: int = 500

    def __post_init__(self) -> None:
        self.cs = tuple(float(c) for c in self.cs)
        self.nsigmas = tuple(float(s) for s in self.nsigmas)
        self.references = tuple(self.references)
        bad = [r for r in self.references if r not in ("target", "other", "crops")]
        if bad:
            raise ValueError(f"Unknown reference {bad[0]!r}; choose target, other or crops.")
        if self.n_test < 2 or self.pool - self.n_test < 20:
            raise ValueError(
                f"Expected n_test >= 2 and at least 20 training items, got pool={self.pool}, "
                f"n_test={self.n_test}."
            )
        if self.seeds < 1:
            raise ValueError(f"Expected seeds >= 1, got {self.seeds}.")

    def key(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def score_plan(config: BenchmarkConfig, references: Sequence[str], has_probs: bool):
    """``[(table name, score name, nsigma or None, reference or None), ...]``.

    Every registered score but `SLOW_SCORES` (those reading the source classifier only where
    the model has one), PED's grid for the paper's bases and SA (``sa+<base>``) beside them,
    PED at `DEFAULT_PED` for every other feature score.
    """
    plan = []
    bases = [b for b in list_scores(include_ped=False) if b not in SLOW_SCORES]
    feature_bases = [b for b in bases if f"ped+{b}" in list_scores()]
    for b in bases:
        if b not in feature_bases and not has_probs:
            continue  # LEEP / NCE read the source classifier, which this model lacks
        plan.append((b, b, None, None))
    for b in feature_bases:
        if b in PAPER_BASES:
            for s in config.nsigmas:
                for r in references:
                    plan.append((ped_name(b, s, r), f"ped+{b}", s, r))
            plan.append((f"sa+{b}", f"sa+{b}", None, None))
        else:
            s, r = DEFAULT_PED
            plan.append((ped_name(b, s, r), f"ped+{b}", s, r))
    return plan


def plan_references(config: BenchmarkConfig, modality: str) -> list[str]:
    """The reference statistics a model of this modality is scored with."""
    return [r for r in config.references if r != "crops" or modality == "image"]
