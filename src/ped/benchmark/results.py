"""What a benchmark run measured: its records (``records.jsonl``) and their evaluation."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..evaluation import evaluate_seeds
from ..finetune.truth_records import load_records
from .config import PRIORS, BenchmarkConfig
from .judged import finetune_section, missing_scores

__all__ = ["BenchmarkResult", "read_records", "load_result"]


@dataclass
class BenchmarkResult:
    """Everything one benchmark run measured.

    Attributes
    ----------
    config : BenchmarkConfig
    records : list of dict
        One per (target, model): dims, timings, the data-free ``prior``, and per seed the
        ground truth and scores.
    finetune : list of dict
        Records of the fine-tuning ground truth (`ped.finetune.protocol`), one per (target,
        model, seed, learning rate); empty when there are none.
    """

    config: BenchmarkConfig
    records: list[dict[str, Any]] = field(default_factory=list)
    finetune: list[dict[str, Any]] = field(default_factory=list)

    @property
    def targets(self) -> list[str]:
        """Targets with records, then those with fine-tuning records only."""
        names = [r["target"] for r in self.records] + [r["target"] for r in self.finetune]
        return list(dict.fromkeys(names))

    def models(self, target: str) -> list[str]:
        return [r["model"] for r in self.records if r["target"] == target]

    def _recs(self, target: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["target"] == target]

    def truth(self, target: str) -> dict[str, dict[str, float]]:
        """Per model: mean, standard error and per-seed test accuracies."""
        out = {}
        for r in self._recs(target):
            acc = np.array([s["accuracy"] for s in r["seeds"]])
            se = float(acc.std(ddof=1) / math.sqrt(acc.size)) if acc.size > 1 else float("nan")
            out[r["model"]] = {"mean": float(acc.mean()), "se": se, "seeds": acc.tolist()}
        return out

    def score_names(self, target: str) -> list[str]:
        names: dict[str, None] = {}
        for r in self._recs(target):
            for s in r["seeds"]:
                names.update(dict.fromkeys(s["scores"]))
        return list(names)

    def score_samples(self, target: str) -> dict[str, dict[str, list[float]]]:
        """``{score: {model: value per seed}}``, the priors included (the same value on every
        seed; NaN where the record has no prior or the prior has no value)."""
        recs = self._recs(target)
        scores = {
            name: {r["model"]: [s["scores"].get(name, float("nan")) for s in r["seeds"]]
                   for r in recs}
            for name in self.score_names(target)
        }  # fmt: skip
        for table, key in PRIORS.items():
            per_model = {}
            for r in recs:
                v = (r.get("prior") or {}).get(key)
                v = float("nan") if v is None else float(v)
                per_model[r["model"]] = [v] * len(r["seeds"])
            if any(math.isfinite(v[0]) for v in per_model.values()):
                scores[table] = per_model
        return scores

    def evaluate(self, target: str, *, n_boot: int = 1000) -> dict[str, dict[str, Any]]:
        """Per score: weighted tau with a bootstrap interval over models and seeds, and more.

        The headline is the weighted tau of the seed-averaged score against the seed-averaged
        ground truth; the interval resamples models and, per model, a ground-truth seed (the
        score taken on that seed's training part). ``seed_mean`` / ``seed_sd`` are the tau of
        each seed's scores against that seed's ground truth, averaged. The numbers are those
        of `ped.evaluation.evaluate_seeds` (models in name order, so that they do not depend
        on the order the records were written in).
        """
        recs = self._recs(target)
        scores = self.score_samples(target)
        truth = {r["model"]: [s["accuracy"] for s in r["seeds"]] for r in recs}
        # A table name such as ped+logme[0.3,target] measures the registered ped+logme.
        return evaluate_seeds(
            scores, truth, n_boot=n_boot, score_of=score_of, pair_prefixes=("ped+", "sa+")
        )

    def to_dict(self, *, n_boot: int = 1000) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "targets": {
                t: {
                    "models": self.models(t),
                    "missing_scores": missing_scores(self, t),
                    "finetune": finetune_section(self, t, n_boot=n_boot),
                    "truth": self.truth(t),
                    "scores": self.evaluate(t, n_boot=n_boot),
                    "seconds": {
                        "extract": sum(r["extract_seconds"] for r in self._recs(t)),
                        "probe": sum(s["probe_seconds"] for r in self._recs(t) for s in r["seeds"]),
                        "scores": sum(
                            sum(s["score_seconds"].values())
                            for r in self._recs(t)
                            for s in r["seeds"]
                        ),
                    },
                }
                for t in self.targets
            },
            "records": self.records,
        }


def score_of(name: str) -> str:
    """The registered score a table name measures (``ped+logme[0.3,target]``: ``ped+logme``)."""
    return name.split("[")[0]


def read_records(path: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The finished (target, model) records of a ``records.jsonl``, keyed by
    ``(config key, target, spec)``; a line cut by a crash is skipped."""
    done = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            done[(rec["config_key"], rec["target"], rec["spec"])] = rec
    return done


def load_result(
    out: str | Path,
    targets: Sequence[str],
    config: BenchmarkConfig | None = None,
    *,
    finetune: str | Path | None = None,
) -> BenchmarkResult:
    """The stored records of ``out/records.jsonl`` for these targets and this configuration,
    without computing anything (``ped benchmark --render-only``); with ``finetune``, the
    fine-tuning records of ``finetune/records.jsonl`` too."""
    config = config or BenchmarkConfig()
    key = config.key()
    stored = read_records(Path(out) / "records.jsonl").values()
    ft = load_records(Path(finetune) / "records.jsonl") if finetune is not None else []
    return BenchmarkResult(
        config,
        [r for r in stored if r["config_key"] == key and r["target"] in targets],
        [r for r in ft if r.get("target") in targets],
    )
