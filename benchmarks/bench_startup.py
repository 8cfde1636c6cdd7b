"""Start-up time of the command line and of ``import ped``, each in a fresh process.

Runs ``ped --help``, ``ped scores`` and ``python -c "import ped"`` N times each (a new
Python process every time, as a user's shell does), reports the median wall time, the time
of a bare ``python -c pass`` for scale, and the top imports of each command from
``python -X importtime`` (cumulative microseconds), then writes everything as JSON.

Usage::

    python benchmarks/bench_startup.py [--repeats 7] [--top 12]
        [--json benchmarks/results/startup.json]

Run it from the repository root with ``PYTHONPATH=src`` (or an installed ped). Timings on a
shared machine are noisy: compare the commands with the bare interpreter within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: What is timed: name -> arguments after the Python executable.
COMMANDS: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "import ped": ["-c", "import ped"],
    "ped --help": ["-m", "ped", "--help"],
    "ped scores": ["-m", "ped", "scores"],
}
#: Libraries that must not load for `ped --help` (and, numpy aside, `ped scores`).
HEAVY = ("torch", "pandas", "matplotlib", "onnxruntime", "ray", "sklearn", "numpy", "scipy")


def time_once(args: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one fresh process."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def import_profile(args: list[str], env: dict[str, str], top: int) -> dict:
    """Top-level packages loaded and the `top` slowest imports (cumulative) of one run."""
    res = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    rows = []
    for line in res.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if cumulative.isdigit():
            rows.append((int(cumulative), name))
    packages = sorted({name.split(".")[0] for _, name in rows})
    rows.sort(reverse=True)
    return {
        "heavy_loaded": [p for p in HEAVY if p in packages],
        "n_modules": len(rows),
        "top_cumulative_us": [{"module": n, "us": us} for us, n in rows[:top]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="Fresh processes per command.")
    parser.add_argument("--top", type=int, default=12, help="Slowest imports to keep.")
    parser.add_argument(
        "--json", type=Path, default=Path("benchmarks/results/startup.json"), help="Output."
    )
    args = parser.parse_args(argv)
    env = dict(os.environ)
    src = Path(__file__).resolve().parents[1] / "src"
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    env.setdefault("PED_HOME", str(Path(os.environ.get("TMPDIR", "/tmp")) / "ped-bench-startup"))

    results: dict[str, dict] = {}
    for name, cmd in COMMANDS.items():
        time_once(cmd, env)  # warm the file cache once; not counted
        times = [time_once(cmd, env) for _ in range(args.repeats)]
        results[name] = {
            "median_s": statistics.median(times),
            "min_s": min(times),
            "max_s": max(times),
            "runs_s": times,
        }
        if name != "python -c pass":
            results[name]["imports"] = import_profile(cmd, env, args.top)
    base = results["python -c pass"]["median_s"]
    for name, r in results.items():
        r["median_minus_python_s"] = r["median_s"] - base
        print(
            f"{name:16s} median {r['median_s']:.3f} s (python itself {base:.3f} s, "
            f"+{r['median_minus_python_s']:.3f} s); heavy loaded: "
            f"{', '.join(r.get('imports', {}).get('heavy_loaded', [])) or 'none'}"
        )
    out = {
        "repeats": args.repeats,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "commands": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
