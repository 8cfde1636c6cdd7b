"""What a benchmark run is: its targets, the PED grid, and its settings (`BenchmarkConfig`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

__all__ = [
    "TARGETS",
    "PAPER_BASES",
    "BENCH_CS",
    "DEFAULT_PED",
    "ped_name",
    "BenchmarkConfig",
]

#: Targets of the benchmark, their modality and the dataset used as the ``other`` reference.
TARGETS: dict[str, dict[str, str]] = {
    "mnist5k": {"modality": "image", "other": "fashion-mnist"},
    "fashion-mnist": {"modality": "image", "other": "mnist5k"},
    "rotten-tomatoes": {"modality": "text", "other": "political-speeches"},
}
#: The paper's three scores, which get the whole PED grid.
PAPER_BASES: tuple[str, ...] = ("logme", "sfda", "gbc")
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
        Test items per ground-truth seed (drawn from the pool, stratified).
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
