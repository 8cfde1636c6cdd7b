"""The benchmark judged twice: every score against the fine-tuned and the linear-probe truth.

`finetune_section` joins the benchmark's records of one target with the records of the
fine-tuning ground truth (`ped.finetune.protocol`, one per target, model, seed and learning
rate): the candidates' fine-tuned against linear-probe accuracy, every score's weighted tau
against both truths on the models and seeds that have both, the tau between the truths, what
one swapped pair does to tau for that many models, the batch-norm comparison and the learning
curves. `missing_scores` names the scores of the current plan that stored records lack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..evaluation import judge_twice, swap_resolution
from ..finetune.protocol import FinetuneConfig
from ..finetune.truth_records import record_config, summarise
from .config import PRIORS, TARGETS, plan_references, score_plan

__all__ = [
    "BASELINES",
    "TRUTHS",
    "finetune_key",
    "finetune_section",
    "judged_block",
    "missing_scores",
]

#: Names of the two ground truths, in the order the tables show them.
TRUTHS: tuple[str, str] = ("fine-tuned", "linear probe")
#: The baselines of issue 12 every score must beat: each score's paired difference from them.
BASELINES: tuple[str, str] = ("knn", "linear_cv")


def _score_of(name: str) -> str:
    return name.split("[")[0]


def missing_scores(result: Any, target: str) -> list[str]:
    """Scores of the current plan (and priors) that some stored record of ``target`` lacks.

    Records written before a score was added miss it; ``ped benchmark`` (not
    ``--render-only``) computes exactly these from the feature store.
    """
    recs = [r for r in result.records if r["target"] == target]
    if not recs:
        return []
    modality = TARGETS.get(target, {}).get("modality", "image")
    refs = plan_references(result.config, modality)
    out: dict[str, None] = {}
    for r in recs:
        has_probs = any("leep" in s["scores"] for s in r["seeds"])  # LEEP ran iff probs exist
        for p in score_plan(result.config, refs, has_probs):
            if any(p[0] not in s["scores"] for s in r["seeds"]):
                out.setdefault(p[0], None)
    out_list = list(out)
    if any("prior" not in r for r in recs):
        out_list += list(PRIORS)
    return out_list


def _seed_values(rec: Mapping[str, Any], seeds: Sequence[int], key: str | None) -> list[float]:
    """A record's per-seed ground truth (``key`` None) or score, for these seeds in order."""
    by_seed = {int(s["seed"]): s for s in rec["seeds"]}
    if key is None:
        return [float(by_seed[k]["accuracy"]) for k in seeds]
    return [float(by_seed[k]["scores"].get(key, float("nan"))) for k in seeds]


def _candidates(recs, chosen, running) -> list[dict[str, Any]]:
    """One row per fine-tuned candidate: fine-tuned and probe accuracy on the same seeds."""
    by_spec = {r["spec"]: r for r in recs}
    rows = []
    for spec, per_seed in chosen.items():
        seeds = sorted(per_seed)
        rec = by_spec.get(spec)
        probe_seeds = [k for k in seeds if rec and any(s["seed"] == k for s in rec["seeds"])]
        probe = float(np.mean(_seed_values(rec, probe_seeds, None))) if probe_seeds else None
        rows.append(
            {
                "spec": spec,
                "model": rec["model"] if rec else spec,
                "seeds": seeds,
                "finetuned": float(np.mean([per_seed[k]["test_acc"] for k in seeds])),
                "finetuned_running": float(
                    np.mean([running[spec][k]["test_acc"] for k in seeds if k in running[spec]])
                ),
                "probe": probe,
                "lr": [per_seed[k]["lr"] for k in seeds],
                "lr_edge": [per_seed[k].get("edge") for k in seeds],
                "train_acc": float(np.mean([per_seed[k].get("train_acc", np.nan) for k in seeds])),
                "levelled": all(per_seed[k]["levelled"] for k in seeds),
            }
        )
    rows.sort(key=lambda r: -r["finetuned"])
    return rows


def _batch_norm(ft: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Running against recomputed batch-norm statistics over every run (test accuracy)."""
    diffs = [r["test_acc_recompute"] - r["test_acc_running"] for r in ft]
    changed = [d for d in diffs if d != 0]
    return {
        "runs": len(diffs),
        "changed": len(changed),
        "mean_diff": float(np.mean(diffs)) if diffs else float("nan"),
        "min_diff": float(min(diffs)) if diffs else float("nan"),
        "max_diff": float(max(diffs)) if diffs else float("nan"),
    }


def _curves(ft: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per model, every run's learning curve (training loss and validation accuracy)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(ft, key=lambda r: (r["spec"], r["seed"], -r["lr"])):
        out.setdefault(r["spec"], []).append(
            {
                "seed": int(r["seed"]),
                "lr": float(r["lr"]),
                "train_loss": [c["train_loss"] for c in r["curve"]],
                "val_acc": [c["val_acc"] for c in r["curve"]],
            }
        )
    return out


def _shares_splits(rec: Mapping[str, Any], cfg: Any) -> bool:
    return (rec["config"]["pool"], rec["config"]["n_test"]) == (cfg.pool, cfg.n_test)


def judged_block(seed_sets: Mapping[str, set[int]]) -> tuple[list[str], list[int]]:
    """The models and shared seeds the scores are judged on: the block with the most points.

    Every model's seed set proposes a block (that set, and every model holding all of it);
    the block with the most (model, seed) points wins, ties going to more models. So two
    models fine-tuned on one seed only do not pull seventeen others down to that seed: they
    are left out of the judgement (and listed), while one model with an extra seed does not
    add that seed for everyone. A tie of both goes to the smallest seeds, so the answer does
    not depend on the order of the models.
    """
    best: tuple[int, int, list[str], list[int]] = (0, 0, [], [])
    for proposal in sorted({tuple(sorted(v)) for v in seed_sets.values() if v}):
        models = [m for m, v in seed_sets.items() if set(proposal) <= v]
        size = (len(models) * len(proposal), len(models))
        if size > best[:2]:
            best = (*size, models, list(proposal))
    return best[2], best[3]


def finetune_key(result: Any) -> str | None:
    """The fine-tuning configuration the page judges, among the runs with the benchmark's pool
    and test size: the protocol's default (`FinetuneConfig()`) when the records hold it, else
    the one written last (None without runs). Runs of other configurations stay in the
    records, are counted as ``other_config`` and compared model by model."""
    keys = [r.get("config_key") for r in result.finetune if _shares_splits(r, result.config)]
    default = FinetuneConfig().key()
    return default if default in keys else (keys[-1] if keys else None)


def finetune_section(result: Any, target: str, *, n_boot: int = 1000) -> dict[str, Any] | None:
    """Everything the benchmark's page shows of the fine-tuned truth on one target.

    Only runs whose pool and test size are the benchmark's count (they share its splits),
    and of those only the runs of one fine-tuning configuration (`finetune_key`), so that
    two protocols never mix; only complete learning-rate grids are
    summarised (`ped.finetune.protocol.summarise`, with
    recomputed batch-norm statistics). The scores are judged on the models that have both
    truths, on the block of models and shared seeds with the most points (`judged_block`).

    Returns
    -------
    dict or None
        None without fine-tuning records for ``target``; else ``candidates``, ``judged``
        (`ped.evaluation.judge_twice`), ``seeds``, ``resolution``, ``batch_norm``,
        ``curves``, ``incomplete`` (models whose grid is unfinished), ``fewer_seeds``
        (models left out of the judgement for lacking its seeds) and ``other_config``
        (runs left out for another pool, test size or fine-tuning configuration) and
        ``compared`` (per other configuration with the same splits, its differing settings
        and both fine-tuned accuracies of every model and seed complete under both).
    """
    cfg = result.config
    ft = [r for r in result.finetune if r.get("target") == target]
    if not ft:
        return None
    key = finetune_key(result)
    usable = [r for r in ft if _shares_splits(r, cfg) and r.get("config_key") == key]
    chosen = summarise(usable).get(target, {})
    running = summarise(usable, bn_eval="running").get(target, {})
    recs = [r for r in result.records if r["target"] == target]
    by_spec = {r["spec"]: r for r in recs}
    both = [s for s in chosen if s in by_spec]
    models, seeds = judged_block(
        {s: set(chosen[s]) & {int(x["seed"]) for x in by_spec[s]["seeds"]} for s in both}
    )
    scores_all = result.score_samples(target)
    truths = {
        TRUTHS[0]: {by_spec[s]["model"]: [chosen[s][k]["test_acc"] for k in seeds] for s in models},
        TRUTHS[1]: {by_spec[s]["model"]: _seed_values(by_spec[s], seeds, None) for s in models},
    }
    index = {by_spec[s]["model"]: [k for k, x in enumerate(by_spec[s]["seeds"])
                                   if int(x["seed"]) in seeds] for s in models}  # fmt: skip
    scores = {
        name: {m: [v[k] for k in index[m]] for m, v in per_model.items() if m in index}
        for name, per_model in scores_all.items()
    }
    judged = judge_twice(scores, truths, n_boot=n_boot, score_of=_score_of,
                         pair_prefixes=("ped+", "sa+"), versus=BASELINES)  # fmt: skip
    n = len(judged["models"])
    return {
        "seeds": seeds,
        "candidates": _candidates(recs, chosen, running),
        "judged": judged,
        "resolution": swap_resolution(n) if n >= 3 else None,
        "batch_norm": _batch_norm(usable),
        "curves": _curves(usable),
        "incomplete": sorted({r["spec"] for r in usable} - set(chosen)),
        "fewer_seeds": [s for s in both if s not in models],
        "other_config": len(ft) - len(usable),
        "compared": _compare_configs(ft, usable, chosen, cfg, target),
    }


def _compare_configs(ft, usable, chosen, cfg, target) -> list[dict[str, Any]]:
    """Per other configuration with the same splits: how its settings differ from the page's
    and, per model and seed with a complete grid under both, the two fine-tuned accuracies."""
    if not usable:
        return []
    mine = record_config(usable[-1])
    out = []
    others: dict[str, list[Mapping[str, Any]]] = {}
    for r in ft:
        if _shares_splits(r, cfg) and r.get("config_key") != usable[-1].get("config_key"):
            others.setdefault(r.get("config_key"), []).append(r)
    for key, runs in others.items():
        theirs = record_config(runs[-1])
        fields = sorted(set(mine) | set(theirs))
        differs = {k: [theirs.get(k), mine.get(k)] for k in fields if theirs.get(k) != mine.get(k)}
        got = summarise(runs).get(target, {})
        rows = [
            {"spec": spec, "seed": seed, "this": chosen[spec][seed]["test_acc"],
             "other": got[spec][seed]["test_acc"], "other_lr": got[spec][seed]["lr"],
             "this_lr": chosen[spec][seed]["lr"]}
            for spec in sorted(set(chosen) & set(got))
            for seed in sorted(set(chosen[spec]) & set(got[spec]))
        ]  # fmt: skip
        out.append({"key": key, "differs": differs, "runs": len(runs), "rows": rows})
    return out
