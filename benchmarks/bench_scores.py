"""Time and peak memory of every `ped` score and of `ped.simulate`, against a floor.

The floor is one float64 Gram matrix ``X^T X`` of the same features, formed the way the
library forms it (float32 rows upcast to float64 in blocks of ``ClassStats.block_rows()``
and accumulated with a symmetric rank-k update), measured in the same process. Every time is
reported in seconds and as a ratio to that floor.

Peak memory is sampled: a thread reads the process's resident set size (``/proc/self/statm``)
every 2 ms, and the figure reported is the peak RSS during the call minus the RSS just before
it (so the features, already resident, are not counted). It sees numpy, BLAS and torch
allocations alike; allocations that live for less than the sampling interval can be missed.

Usage::

    nice python benchmarks/bench_scores.py --json benchmarks/results/scores.json
    python benchmarks/bench_scores.py --sizes small --scores logme,sfda,ped+logme --repeat 3
    python benchmarks/bench_scores.py --official ...   # also time official-like code

Synthetic features have the structure of real ones: ReLU of a 64-dimensional latent with
class structure, mapped linearly to 2,048 dimensions, plus a little noise, float32.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np

import ped
from ped._stats import ClassStats
from ped._validation import check_labels

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _official_like as official  # noqa: E402

SIZES = {
    "cifar100": (50_000, 2_048, 100),
    "sun397": (19_850, 2_048, 397),
    "small": (5_000, 512, 20),
    # Fewer samples than dimensions (ten images per class of CIFAR-100): the N x N side.
    "fewshot": (1_000, 2_048, 100),
    # Issue 17's TransRate comparison with tllib.
    "tiny": (2_000, 256, 10),
}
DEFAULT_PED_BASES = ("logme", "sfda", "gbc")
# Left out of "default": NLEEP's Gaussian mixture (5 C full-covariance components, the same
# scikit-learn fit in ped and in the official code) takes minutes per fit at CIFAR-100 size
# and much longer at SUN397 size (1,985 components); `make bench` times it in a run of its own.
SLOW = ("nleep",)
# Timed by benchmarks/bench_newer.py at a size where they are practical, beside PARC and LogME
# (kNN's leave-one-out search is O(N^2 D): 6 minutes a call at CIFAR-100 size here).
NEWER = ("knn", "linear_cv", "etran", "ncti", "pactran")


# ------------------------------------------------------------------------------ data
def make_features(n, d, c, *, seed=0, latent=64, noise=0.01):
    """ReLU of a class-structured ``latent``-d Gaussian mapped to ``d`` dims, float32."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0.0, 1.0, (c, latent))
    y = rng.integers(0, c, n)
    y[:c] = np.arange(c)  # every class present
    z = centers[y] + rng.normal(0.0, 1.0, (n, latent))
    A = rng.normal(0.0, 1.0, (latent, d)) / np.sqrt(latent)
    X = np.maximum(z @ A, 0.0)
    X += noise * rng.normal(size=X.shape)
    return X.astype(np.float32), y.astype(np.int64), A


def make_reference(A, n=10_000, seed=1):
    """Reference-domain (ImageNet-val-like) statistics through the same map ``A``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.3, (n, A.shape[0]))
    R = np.maximum(z @ A, 0.0) + 0.01 * rng.normal(size=(n, A.shape[1]))
    return ped.ReferenceStats.from_features(R.astype(np.float32), source="synthetic")


def make_source_probs(X, n_source=1000, seed=2):
    """Softmax outputs of a random linear 'source classifier', float64 (N, n_source)."""
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, 1.0 / np.sqrt(X.shape[1]), (X.shape[1], n_source)).astype(np.float32)
    Z = (X @ W).astype(np.float64) * 4.0
    Z -= Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


# ---------------------------------------------------------------------------- measure
def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Context manager sampling RSS in a thread; ``.extra`` = peak minus the start value."""

    def __init__(self, interval=0.002):
        self.interval = interval

    def __enter__(self):
        gc.collect()
        self.start = _rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())
        self.extra = self.peak - self.start
        return False


def measure(fn, repeat=1):
    """Run ``fn`` ``repeat`` times: (min seconds, max extra peak bytes, last value, all)."""
    times, peaks, value = [], [], None
    for _ in range(repeat):
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            value = fn()
            dt = time.perf_counter() - t0
        times.append(dt)
        peaks.append(mem.extra)
        value = _summarise(value)
        gc.collect()
    return min(times), max(peaks), value, times


def paired_overhead(names, X, y, probs, ref, args, log, size):
    """PED's overhead timed in pairs: for every ``ped+<base>`` whose base is also timed, run
    base and ``ped+<base>`` alternately ``args.pair_repeat`` times and keep each one's
    fastest run. The main table times each name's repeats back to back, minutes apart from
    its base's, so on a shared machine the drift between the two windows is as large as the
    overhead itself; alternating puts both in the same window."""
    pairs = []
    if args.pair_repeat < 1:
        return pairs
    for name in names:
        base = name.removeprefix("ped+")
        if not name.startswith("ped+") or base not in names:
            continue
        calls = {k: score_call(k, X, y, probs, ref, args.device) for k in (base, name)}
        times = {base: [], name: []}
        for _ in range(args.pair_repeat):
            for k, fn in calls.items():
                times[k].append(measure(fn)[0])
        ratio = min(times[name]) / min(times[base])
        pairs.append(dict(name=name, base=base, base_seconds=times[base],
                          ped_seconds=times[name], ratio=ratio))  # fmt: skip
        log(f"[{size}] paired {name} / {base} = {ratio:.3f} ({args.pair_repeat} rounds)")
    return pairs


def _summarise(value):
    if isinstance(value, ped.Simulation):
        return {"n_steps": int(value.n_steps)}
    if isinstance(value, np.ndarray):
        return None
    return value


def gram_floor(X, y):
    """One float64 Gram matrix of ``X`` by blockwise upcast (the library's block size); the
    smaller one, ``X X^T`` from one float64 copy, when there are fewer samples than features."""
    if X.shape[0] < X.shape[1]:
        b = np.array(X, dtype=np.float64)
        return float((b @ b.T)[0, 0])
    stats = ClassStats(X, check_labels(y))
    step = stats.block_rows()
    G = np.zeros((X.shape[1], X.shape[1]))
    for start in range(0, X.shape[0], step):
        b = np.array(X[start : start + step], dtype=np.float64)
        G += b.T @ b
    return float(G[0, 0])


def machine_info():
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": platform.processor() or "",
        "cores": os.cpu_count(),
        "numpy": np.__version__,
        "ped": getattr(ped, "__version__", "?"),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_average_at_start": os.getloadavg(),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as fh:
            info["mem_total_gb"] = round(int(fh.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for p in threadpool_info()
        ]
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        info["torch"] = None
    return info


def _available_bytes():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


# ------------------------------------------------------------------------------- run
def select_scores(spec):
    all_names = ped.list_scores()
    plain = [n for n in all_names if "+" not in n]  # no ped+ / sa+ compositions
    if spec in (None, "", "default"):
        base = [n for n in plain if n not in SLOW and not n.startswith(NEWER)]
        return base + ["simulate"] + [f"ped+{b}" for b in DEFAULT_PED_BASES if b in base]
    if spec == "all":
        return plain + ["simulate"] + [n for n in all_names if "+" in n]
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n != "simulate" and n not in all_names]
    if unknown:
        raise SystemExit(f"unknown scores {unknown}; valid: {all_names + ['simulate']}")
    return names


def score_call(name, X, y, probs, ref, device):
    params = {}
    base = name.removeprefix("ped+")
    if base == "nleep":
        params["random_state"] = 0
    if name == "simulate":
        return lambda: ped.simulate(X, y, reference=ref, device=device)
    info = ped.describe_score(name)
    kw = {"device": device}
    if info["needs_source_probs"]:
        return lambda: ped.score(name, None, y, source_probs=probs)
    if name.startswith("ped+"):
        kw["reference"] = ref
    return lambda: ped.score(name, X, y, **kw, **params)


def official_calls(X, y, probs, ref_X_stats, names):
    """Official-like callables for the names that have one."""
    general = ref_X_stats
    calls = {}

    def dyn():
        return official.ped_dynamics(X, y, general)

    table = {
        "logme": lambda: official.logme(X, y),
        "sfda": lambda: official.sfda(X, y),
        "hscore": lambda: official.hscore(X, y),
        "transrate": lambda: official.transrate(X, y),
        "gbc": lambda: official.gbc(X, y),
        "nleep": lambda: official.nleep(X, y),
        "parc": lambda: official.parc(X, y),
        "leep": lambda: official.leep(probs, y),
        "nce": lambda: official.nce(probs.argmax(axis=1), y),
        "simulate": dyn,
    }
    for n in names:
        if n in table:
            calls[n] = table[n]
        elif n.startswith("ped+") and n[4:] in ("logme", "sfda", "nleep", "gbc"):
            base = n[4:]
            calls[n] = (lambda b: lambda: getattr(official, b)(dyn(), y))(base)
    return calls


def load_real(spec):
    """``real:ENTRY[,REF_ENTRY]``: features (and source probabilities) of a feature-store
    entry directory, and the features of a reference entry (default: the target's own)."""
    parts = spec[len("real:") :].split(",")
    entry = Path(parts[0])
    X = np.load(entry / "features.npy")
    y = np.load(entry / "labels.npy")
    probs = np.load(entry / "source_probs.npy") if (entry / "source_probs.npy").is_file() else None
    R = np.load(Path(parts[1]) / "features.npy") if len(parts) > 1 else X
    return np.ascontiguousarray(X, dtype=np.float32), y.astype(np.int64), probs, R


def blas_threads_in_use():
    """The largest thread count of the loaded BLAS libraries (threadpoolctl), or None."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else None


def parse_threads(spec):
    """``--blas-threads``: None (the environment's setting) or a list of positive counts from
    a comma list of integers and ``all`` (every core, ``os.cpu_count()``), duplicates dropped."""
    if spec in (None, ""):
        return [None]
    out = []
    for part in str(spec).split(","):
        part = part.strip().lower()
        if part == "all":
            n = os.cpu_count() or 1
        else:
            try:
                n = int(part)
            except ValueError:
                n = 0
            if n < 1:
                raise SystemExit(
                    f"--blas-threads takes positive integers and 'all', comma separated; "
                    f"got {spec!r}"
                )
        if n not in out:
            out.append(n)
    return out


@contextlib.contextmanager
def thread_limit(n):
    """Limit BLAS/OpenMP (threadpoolctl) and torch's intra-op threads to ``n`` inside the
    block; nothing when ``n`` is None."""
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    try:
        import torch
    except ImportError:
        torch = None
    before = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=n):
        if torch is not None:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(before)


def run_size(size, names, args, log, threads=None):
    with thread_limit(threads):
        out = _run_size(size, names, args, log)
    out["blas_threads"] = threads
    return out


def _run_size(size, names, args, log):
    needs_probs = any(ped.describe_score(n)["needs_source_probs"] for n in names if n != "simulate")
    if size.startswith("real:"):
        X, y, real_probs, R = load_real(size)
        N, D = X.shape
        C = int(np.unique(y).size)
        ref = ped.ReferenceStats.from_features(R, source="real")
        general = np.asarray(R, dtype=np.float32)
        probs = None
        if needs_probs:
            probs = (
                np.asarray(real_probs, dtype=np.float64)
                if real_probs is not None
                else make_source_probs(X)
            )
    else:
        N, D, C = SIZES[size]
        X, y, A = make_features(N, D, C, seed=args.seed)
        ref = make_reference(A)
        general = None
        probs = make_source_probs(X) if needs_probs else None
    label = size
    if size.startswith("real:"):
        meta_path = Path(size[len("real:") :].split(",")[0]) / "meta.json"
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        label = f"real features: {meta.get('model', '?')} on {meta.get('dataset', '?')}"
    out = {
        "size": label,
        "N": N,
        "D": D,
        "C": C,
        "dtype": "float32",
        "blas_threads_in_use": blas_threads_in_use(),
        "rows": [],
    }
    floors = []
    t, m, _, ts = measure(lambda: gram_floor(X, y), repeat=max(args.repeat, 2))
    floors += ts
    log(f"[{size}] N={N} D={D} C={C}  floor (float64 Gram) {t:.2f} s")
    for name in names:
        t, m, v, ts = measure(score_call(name, X, y, probs, ref, args.device), args.repeat)
        out["rows"].append(
            {
                "name": name,
                "impl": "ped",
                "seconds": t,
                "all_seconds": ts,
                "peak_bytes": m,
                "value": v,
            }
        )
        log(f"[{size}] {name:18s} {t:8.2f} s  peak +{m / 2**30:6.2f} GiB  value {v}")
    out["ped_pairs"] = paired_overhead(names, X, y, probs, ref, args, log, size)
    t, m, _, ts = measure(lambda: gram_floor(X, y), repeat=2)
    floors += ts
    out["floor_seconds"] = min(floors)
    out["floor_all_seconds"] = floors
    if args.official:
        # the official PED rescales with reference *features*; use the same stats' draw
        if general is None:
            general = _reference_features(A)
        calls = official_calls(X, y, probs, general, names)
        limit = args.mem_limit_gb * 2**30 if args.mem_limit_gb else 0.7 * _available_bytes()
        for name, fn in calls.items():
            key = "ped" if name == "simulate" or name.startswith("ped+") else name
            need = official.MEMORY.get(key, lambda *a: 0)(N, D, C)
            if name.startswith("ped+"):
                need = max(need, official.MEMORY["ped"](N, D, C))
            row = {"name": name, "impl": "official-like", "estimated_bytes": need}
            if need > limit:
                row["skipped"] = (
                    f"estimated {need / 2**30:.1f} GiB extra > limit {limit / 2**30:.1f} GiB"
                )
                log(f"[{size}] official {name}: skipped ({row['skipped']})")
            else:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        t, m, v, ts = measure(fn, args.repeat)
                except Exception as exc:  # record the failure, as the official code has them
                    row["skipped"] = f"failed: {type(exc).__name__}: {str(exc)[:120]}"
                    log(f"[{size}] official {name}: {row['skipped']}")
                else:
                    row.update(seconds=t, all_seconds=ts, peak_bytes=m, value=_summarise(v))
                    log(f"[{size}] official {name:18s} {t:8.2f} s  peak +{m / 2**30:6.2f} GiB")
            out["rows"].append(row)
    return out


def _reference_features(A, n=10_000, seed=1):
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.3, (n, A.shape[0]))
    R = np.maximum(z @ A, 0.0) + 0.01 * rng.normal(size=(n, A.shape[1]))
    return R.astype(np.float32)


def print_table(results, file=sys.stdout):
    for res in results:
        floor = res["floor_seconds"]
        print(
            f"\n{res['size']}: N={res['N']} D={res['D']} C={res['C']}, "
            f"BLAS threads {res.get('blas_threads_in_use')}, floor {floor:.2f} s",
            file=file,
        )
        print(
            f"{'score':20s} {'impl':14s} {'seconds':>9s} {'x floor':>8s} {'peak GiB':>9s}",
            file=file,
        )
        for r in res["rows"]:
            if "skipped" in r:
                print(f"{r['name']:20s} {r['impl']:14s} skipped: {r['skipped']}", file=file)
                continue
            print(
                f"{r['name']:20s} {r['impl']:14s} {r['seconds']:9.2f} "
                f"{r['seconds'] / floor:8.2f} {r['peak_bytes'] / 2**30:9.2f}",
                file=file,
            )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--sizes",
        default="cifar100,sun397",
        help="comma list of " + ",".join(SIZES) + " or real:ENTRY[,REF_ENTRY] (real features "
        "of a feature-store entry directory, reference features of another; ';' separates "
        "several real sizes)",
    )
    p.add_argument(
        "--scores",
        default="default",
        help="comma list of names (and 'simulate'), 'default' (the base scores but nleep and "
        "those of bench_newer.py, simulate, ped+logme/sfda/gbc) or 'all'",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per timing (ped and official-like); the minimum is kept",
    )
    p.add_argument(
        "--pair-repeat",
        type=int,
        default=5,
        help="rounds of the paired PED-overhead timing (base and ped+<base> alternately; "
        "0 skips it)",
    )
    p.add_argument("--official", action="store_true", help="also time official-like code")
    p.add_argument(
        "--mem-limit-gb",
        type=float,
        default=None,
        help="skip official runs estimated above this (default 70%% of available)",
    )
    p.add_argument("--device", default=None, help="ped device= (None: numpy)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--blas-threads",
        default=None,
        help="limit BLAS/OpenMP and torch threads; a comma list of counts and 'all' (every "
        "core) runs every size once per count, for thread scaling (default: no limit, the "
        "threads the environment gives, as users get them)",
    )
    p.add_argument("--json", type=Path, default=None, help="write all numbers here")
    args = p.parse_args(argv)
    names = select_scores(args.scores)
    sep = ";" if "real:" in args.sizes else ","
    sizes = [s.strip() for s in args.sizes.split(sep) if s.strip()]
    for s in sizes:
        if s not in SIZES and not s.startswith("real:"):
            raise SystemExit(
                f"unknown size {s!r}; valid: {', '.join(SIZES)}, or real:ENTRY[,REF_ENTRY] "
                "(feature-store entry directories)"
            )

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    load_start = os.getloadavg()
    thread_counts = parse_threads(args.blas_threads)
    results = []
    for s in sizes:
        for n in thread_counts:
            if len(thread_counts) > 1:
                log(f"[{s}] BLAS threads: {n}")
            results.append(run_size(s, names, args, log, threads=n))
    print_table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "machine": machine_info(),
            "command": " ".join([Path(sys.argv[0]).name] + (argv or sys.argv[1:])),
            "memory_method": "peak RSS (sampled every 2 ms from /proc/self/statm) minus RSS "
            "before the call",
            "floor": "one float64 Gram X^T X by blockwise upcast, min over repeated runs",
            "device": args.device,
            "blas_threads_limit": args.blas_threads,
            "blas_threads_default": blas_threads_in_use(),
            "total_seconds": time.perf_counter() - t0,
            "results": results,
        }
        doc["machine"]["load_average_at_start"] = load_start
        doc["machine"]["load_average_at_end"] = os.getloadavg()
        args.json.write_text(json.dumps(doc, indent=1, default=float))


if __name__ == "__main__":
    main()
