"""Time the scores published since PED (kNN, ETran, NCTI, PACTran, SA) and the baselines
(kNN, cross-validated logistic regression) against PARC and LogME.

Every score runs on the same synthetic features (ReLU of a 32-dimensional latent with class
structure, mapped to ``--dim`` dimensions, float32), best of ``--repeat`` runs; each time is
also given as a ratio to LogME's and to PARC's, measured in the same process. The set-level scores
(`ped.hub_score`) run over three candidate models of that size. PACTran-ndir/ngamma are left
out: their mixture of N/10 full-covariance components took 115 s at the default size (LogME:
0.8 s) in a first run on a busy machine.

Usage::

    nice python benchmarks/bench_newer.py --json benchmarks/results/newer.json
    python benchmarks/bench_newer.py --n 4000 --dim 512 --classes 40 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

import ped

SCORES = [
    "logme",
    "parc",
    "knn",
    "linear_cv",
    "etran_energy",
    "etran_lda",
    "ncti",
    "pactran_gauss",
    "pactran_linear",
    "pactran_dir",
    "pactran_gamma",
    "sa+logme",
    "ped+logme",
]


def features(n: int, dim: int, n_classes: int, seed: int, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    latent = 32
    y = rng.integers(0, n_classes, n)
    z = rng.normal(0, 0.6, (n_classes, latent))[y] + rng.normal(size=(n, latent))
    A = rng.normal(size=(latent, dim)) / np.sqrt(latent)
    X = np.maximum(z @ A, 0) + 0.05 * rng.normal(size=(n, dim))
    return (scale * X).astype(np.float32), y


def source_probs(y: np.ndarray, n_source: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(y.size, n_source)) + 2.0 * np.eye(n_source)[y % n_source]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, value = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t)
    return best, value


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--classes", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    X, y = features(args.n, args.dim, args.classes, seed=0)
    ref = features(500, args.dim, 10, seed=1)[0]
    sp = source_probs(y, 50, seed=2)
    rows = {}
    for name in SCORES:
        kw = {"reference": ref} if name.startswith("ped+") else {}
        secs, value = best_of(
            args.repeat, lambda name=name, kw=kw: ped.score(name, X, y, source_probs=sp, **kw)
        )
        rows[name] = {"seconds": secs, "value": value}
        print(f"{name:16s} {secs:8.3f} s  {value: .6g}", flush=True)
    models = {f"m{s}": features(args.n, args.dim, args.classes, seed=0, scale=s) for s in (1, 2)}
    models["m_other"] = features(args.n, args.dim, args.classes, seed=3)
    models["m_other"] = (models["m_other"][0], y)
    models = {m: (F, y) for m, (F, _) in models.items()}
    for name in ("etran", "ncti"):
        secs, h = best_of(args.repeat, lambda name=name: ped.hub_score(name, models))
        rows[f"hub:{name} (3 models)"] = {"seconds": secs, "value": h.values}
        print(f"hub:{name:12s} {secs:8.3f} s  {h.values}", flush=True)
    base, parc = rows["logme"]["seconds"], rows["parc"]["seconds"]
    for r in rows.values():
        r["ratio_to_logme"] = r["seconds"] / base
        r["ratio_to_parc"] = r["seconds"] / parc
    out = {
        "benchmark": "newer",
        "command": "python benchmarks/bench_newer.py "
        f"--n {args.n} --dim {args.dim} --classes {args.classes} --repeat {args.repeat}",
        "shape": {"n_samples": args.n, "n_features": args.dim, "n_classes": args.classes},
        "repeat": args.repeat,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
        "total_seconds": time.perf_counter() - t0,
        "note": "best of --repeat runs; ratios within one run are the comparable figures",
        "results": rows,
    }
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
