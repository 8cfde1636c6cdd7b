"""GPU timings of `ped`: scores and PED with ``device="cuda"`` against the numpy path, with
the values checked against the CPU ones, and feature extraction of three zoo models.

For every size (default CIFAR-100 and SUN397 shapes, the synthetic features of
`bench_scores.py`) and every call of ``CALLS`` (LogME, SFDA, GBC, PARC, PED+LogME and
`ped.simulate`), the call is timed once on the numpy path (``device=None``, the machine's
BLAS threads) and ``--repeat`` times on the device, after one untimed warm-up call on the
device (CUDA context, kernels, allocator). The device value must agree with the numpy value to
a relative ``--rtol`` (PARC ranks distances, whose round-off differs between BLAS libraries, so
it gets ``--rtol-parc``). Extraction: each zoo model of ``--zoo`` extracts ``--extract-n``
synthetic RGB images on the device into a temporary feature store (one warm-up batch first).

The whole script takes under five minutes on an H100/H200 machine. Without CUDA it stops with
one line; ``--device cpu`` runs the same logic through torch on the CPU (a dry run, used by
the tests at the ``tiny`` size).

Usage::

    python benchmarks/bench_gpu.py --json benchmarks/results/gpu.json
    python benchmarks/bench_gpu.py --device cpu --sizes tiny --zoo none --json /tmp/gpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import ped

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scores import SIZES, make_features, make_reference  # noqa: E402

#: The calls timed at every size.
CALLS = ("logme", "sfda", "gbc", "parc", "ped+logme", "simulate")
#: Three zoo models whose forward passes run in torch (the last needs no package).
DEFAULT_ZOO = ("zoo:efficientnet-lite0", "zoo:mobilenetv2", "zoo:random-mobilenetv2")


class NoDeviceError(Exception):
    """The requested torch device is not available on this machine."""


def check_device(device: str) -> str:
    """Return ``device`` if torch can use it; raise `NoDeviceError` with one sentence if not."""
    try:
        import torch
    except ImportError as exc:
        raise NoDeviceError("bench_gpu.py needs torch, which is not installed.") from exc
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise NoDeviceError(
            f"bench_gpu.py: CUDA is not available here (torch {torch.__version__}, CUDA build "
            f"{torch.version.cuda}); run it on a machine with an NVIDIA GPU, or pass "
            "--device cpu for a dry run."
        )
    if device != "cpu" and not device.startswith("cuda"):
        raise NoDeviceError(f"bench_gpu.py: expected --device cuda[:N] or cpu, got {device!r}.")
    return device


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda", help="torch device (default cuda)")
    p.add_argument("--sizes", default="cifar100,sun397", help="comma list of " + ", ".join(SIZES))
    p.add_argument(
        "--calls", default=",".join(CALLS), help="comma list of score names and 'simulate'"
    )
    p.add_argument("--repeat", type=int, default=2, help="timed device runs (minimum kept)")
    p.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance of values")
    p.add_argument("--rtol-parc", type=float, default=1e-4, help="relative tolerance of PARC")
    p.add_argument(
        "--zoo",
        default=",".join(DEFAULT_ZOO),
        help="comma list of model specs to extract with, or 'none'",
    )
    p.add_argument("--extract-n", type=int, default=4096, help="images per extraction")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    args = p.parse_args(argv)
    args.sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    bad = [s for s in args.sizes if s not in SIZES]
    if bad:
        p.error(f"unknown sizes {bad}; valid: {', '.join(SIZES)}")
    args.calls = [s.strip() for s in args.calls.split(",") if s.strip()]
    valid = ped.list_scores() + ["simulate"]
    bad = [c for c in args.calls if c not in valid]
    if bad:
        p.error(f"unknown calls {bad}; valid: {', '.join(valid)}")
    args.zoo = (
        []
        if args.zoo.strip().lower() == "none"
        else [s.strip() for s in args.zoo.split(",") if s.strip()]
    )
    if args.repeat < 1 or args.extract_n < 1 or args.batch_size < 1:
        p.error("--repeat, --extract-n and --batch-size must be positive")
    return args


def summarise(value) -> float:
    """A float to compare across devices: a score itself; for a `ped.Simulation`, the total
    absolute class translation (with the accepted steps, which must match exactly)."""
    if isinstance(value, ped.Simulation):
        return float(np.abs(value.offsets).sum()) + 1e3 * value.n_steps
    return float(value)


def relative_difference(reference: float, value: float) -> float:
    """``|value - reference| / |reference|`` (absolute difference when the reference is 0)."""
    scale = abs(reference) if reference != 0 else 1.0
    return abs(value - reference) / scale


def check_values(rows: list[dict], rtol: float, rtol_parc: float) -> list[str]:
    """Mark each row ``agrees`` (device value within tolerance of the numpy value) and return
    the descriptions of the rows that do not."""
    bad = []
    for r in rows:
        tol = rtol_parc if r["name"].removeprefix("ped+") == "parc" else rtol
        r["rel_diff"] = relative_difference(r["cpu_value"], r["device_value"])
        r["rtol"] = tol
        r["agrees"] = bool(r["rel_diff"] <= tol)
        if not r["agrees"]:
            bad.append(
                f"{r['size']} {r['name']}: device {r['device_value']!r} against numpy "
                f"{r['cpu_value']!r} (relative difference {r['rel_diff']:.1e} > {tol:g})"
            )
    return bad


def _call(name, X, y, ref, device):
    if name == "simulate":
        return lambda: ped.simulate(X, y, reference=ref, device=device)
    kw = {"reference": ref} if name.startswith("ped+") else {}
    return lambda: ped.score(name, X, y, device=device, **kw)


def _timed(fn, sync) -> tuple[float, object]:
    t0 = time.perf_counter()
    value = fn()
    sync()
    return time.perf_counter() - t0, value


def time_scores(args, log) -> list[dict]:
    import torch

    def sync():
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    rows = []
    for size in args.sizes:
        N, D, C = SIZES[size]
        X, y, A = make_features(N, D, C, seed=args.seed)
        ref = make_reference(A)
        for name in args.calls:
            cpu_s, cpu_v = _timed(_call(name, X, y, ref, None), lambda: None)
            warm_s, _ = _timed(_call(name, X, y, ref, args.device), sync)
            times, value = [], None
            for _ in range(args.repeat):
                t, value = _timed(_call(name, X, y, ref, args.device), sync)
                times.append(t)
            row = {
                "size": size,
                "N": N,
                "D": D,
                "C": C,
                "name": name,
                "cpu_seconds": cpu_s,
                "device_seconds": min(times),
                "device_all_seconds": times,
                "device_first_call_seconds": warm_s,
                "cpu_value": summarise(cpu_v),
                "device_value": summarise(value),
            }
            rows.append(row)
            log(
                f"[{size}] {name:10s} numpy {cpu_s:7.2f} s  {args.device} {min(times):7.2f} s "
                f"(first call {warm_s:.2f} s)"
            )
    return rows


def synthetic_images(n: int, side: int = 160, seed: int = 0):
    """A `ped` dataset of ``n`` random RGB images (``side`` pixels square), ten classes."""
    from ped.data._dataset import ArraySource, Dataset

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    return Dataset(
        spec=f"bench:random-images-{n}-{side}",
        split="all",
        source=ArraySource(images),
        index=np.arange(n),
        labels=np.arange(n) % 10,
        classes=[str(k) for k in range(10)],
        metric="accuracy",
    )


def time_extraction(args, log) -> list[dict]:
    import torch

    from ped.features import extract
    from ped.models import load_backbone

    rows = []
    if not args.zoo:
        return rows
    data = synthetic_images(args.extract_n, seed=args.seed)
    warm = synthetic_images(min(args.batch_size, args.extract_n), seed=args.seed + 1)
    work = Path(tempfile.mkdtemp(prefix="ped-bench-gpu-"))
    try:
        for spec in args.zoo:
            row = {"model": spec, "n_images": args.extract_n, "batch_size": args.batch_size}
            try:
                backbone = load_backbone(spec)
            except Exception as exc:  # a zoo package not installed here: record, go on
                row["skipped"] = f"{type(exc).__name__}: {str(exc)[:160]}"
                log(f"[extract] {spec}: skipped ({row['skipped']})")
                rows.append(row)
                continue
            kw = {"batch_size": args.batch_size, "device": args.device}
            extract(backbone, warm, store=work / "warm", **kw)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            fs = extract(backbone, data, store=work / spec.replace(":", "_"), **kw)
            seconds = time.perf_counter() - t0
            row.update(
                seconds=seconds,
                images_per_second=args.extract_n / seconds,
                feature_dim=int(np.asarray(fs.features).shape[1]),
            )
            log(f"[extract] {spec}: {seconds:.2f} s, {args.extract_n / seconds:.0f} images/s")
            rows.append(row)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def machine(device: str) -> dict:
    import torch

    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
        info["cuda"] = torch.version.cuda
    try:
        with open("/proc/cpuinfo") as fh:
            info["cpu_model"] = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), ""
            )
    except OSError:
        info["cpu_model"] = platform.processor()
    info["cores"] = os.cpu_count()
    return info


def run(args, log, argv=None) -> tuple[dict, list[str]]:
    """Time everything; return the JSON document and the value disagreements."""
    t0 = time.perf_counter()
    scores = time_scores(args, log)
    bad = check_values(scores, args.rtol, args.rtol_parc)
    extraction = time_extraction(args, log)
    doc = {
        "benchmark": "gpu",
        "command": " ".join(["bench_gpu.py"] + list(sys.argv[1:] if argv is None else argv)),
        "device": args.device,
        "machine": machine(args.device),
        "scores": scores,
        "extraction": extraction,
        "disagreements": bad,
        "total_seconds": time.perf_counter() - t0,
    }
    return doc, bad


def main(argv=None) -> int:
    args = parse_args(argv)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    try:
        check_device(args.device)
    except NoDeviceError as exc:
        print(exc, file=sys.stderr)
        return 2
    doc, bad = run(args, log, argv)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
    for line in bad:
        print(f"bench_gpu.py: values differ: {line}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
