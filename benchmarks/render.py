"""Render the JSON of `bench_scores.py` as the Markdown tables of docs/performance.md.

Usage::

    python benchmarks/render.py benchmarks/results/scores.json [more.json ...] > table.md
    python benchmarks/render.py --update docs/performance.md benchmarks/results/*.json

``--update`` rewrites the part of the file between ``<!-- BEGIN GENERATED -->`` and
``<!-- END GENERATED -->``. A file given that does not exist (``gpu.json`` before the GPU
script has run) is skipped with a message. A `bench_scores.py` file that timed the same size
with several ``--blas-threads`` gets a thread-scaling table; a `bench_gpu.py` file
(``"benchmark": "gpu"``) its own tables, a `bench_startup.py` file its start-up table.

Nothing is typed by hand: every number comes from the JSON files given.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

GIB = 2**30


def _fmt(x, nd=2):
    return f"{x:.{nd}f}"


def render(doc: dict, name: str) -> str:
    m = doc["machine"]
    blas = m.get("blas")
    if isinstance(blas, list):
        blas = ", ".join(
            f"{b.get('internal_api')} {b.get('version')} ({b.get('num_threads')} threads, "
            f"{b.get('architecture')})"
            for b in blas
        )
    lines = [
        f"### `{name}`",
        "",
        f"- command: `{doc.get('command', '?')}`",
        f"- machine: {m.get('cpu_model')}, {m.get('cores')} cores, "
        f"{m.get('mem_total_gb', '?')} GB RAM; numpy {m.get('numpy')}, BLAS: {blas}; "
        f"torch {m.get('torch')}; CUDA: {m.get('cuda')}",
        f"- run at {m.get('time')}, load average (1/5/15 min) at start "
        f"{tuple(round(v, 2) for v in m.get('load_average_at_start', ()))}, at end "
        f"{tuple(round(v, 2) for v in m.get('load_average_at_end', ()))}; "
        f"device={doc.get('device')}; BLAS thread limit {doc.get('blas_threads_limit')}; whole run {doc.get('total_seconds', 0) / 60:.1f} min",
        f"- floor: {doc.get('floor')}; memory: {doc.get('memory_method')}",
        "",
    ]
    for res in doc["results"]:
        floor = res["floor_seconds"]
        threads = res.get("blas_threads_in_use")
        limit = res.get("blas_threads")
        thread_note = (
            ""
            if threads is None
            else f", {threads} BLAS threads ({'limited' if limit else 'default'})"
        )
        lines += [
            f"**{res['size']}** (N={res['N']:,}, D={res['D']:,}, C={res['C']}, "
            f"{res['dtype']}{thread_note}): floor {_fmt(floor)} s "
            f"(all floor runs: {', '.join(_fmt(t) for t in res['floor_all_seconds'])} s)",
            "",
            "| score | ped s | ped x floor | ped peak GiB | official-like s | official x floor "
            "| official peak GiB | speed-up |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        ours = {r["name"]: r for r in res["rows"] if r["impl"] == "ped"}
        offi = {r["name"]: r for r in res["rows"] if r["impl"] == "official-like"}
        for n, r in ours.items():
            cells = [
                f"`{n}`",
                _fmt(r["seconds"]),
                _fmt(r["seconds"] / floor),
                _fmt(r["peak_bytes"] / GIB),
            ]
            o = offi.get(n)
            if o is None:
                cells += ["", "", "", ""]
            elif "skipped" in o:
                cells += [f"skipped: {o['skipped']}", "", "", ""]
            else:
                cells += [
                    _fmt(o["seconds"]),
                    _fmt(o["seconds"] / floor),
                    _fmt(o["peak_bytes"] / GIB),
                    f"{o['seconds'] / r['seconds']:.1f}x",
                ]
            lines.append("| " + " | ".join(cells) + " |")
        ped_rows = [n for n in ours if n.startswith("ped+") and n[4:] in ours]
        if ped_rows:
            lines += [
                "",
                "PED overhead, from the table: "
                + "; ".join(
                    f"`{n}` / `{n[4:]}` = {ours[n]['seconds'] / ours[n[4:]]['seconds']:.2f}"
                    for n in ped_rows
                ),
            ]
        pairs = res.get("ped_pairs") or []
        if pairs:
            lines += [
                "",
                "PED overhead, timed in pairs (base and `ped+<base>` alternately, "
                f"{len(pairs[0]['ped_seconds'])} rounds, fastest of each): "
                + "; ".join(
                    f"`{p['name']}` / `{p['base']}` = {p['ratio']:.3f} "
                    f"({_fmt(min(p['ped_seconds']))} s / {_fmt(min(p['base_seconds']))} s)"
                    for p in pairs
                ),
            ]
        lines += _targets(res, ours, offi)
        lines.append("")
    lines += _thread_scaling(doc["results"])
    return "\n".join(lines)


def _thread_scaling(results):
    """One table per size timed with several thread limits: seconds per thread count and
    the speed-up from the fewest to the most threads."""
    by_size = {}
    for res in results:
        by_size.setdefault(res["size"], []).append(res)
    out = []
    for size, runs in by_size.items():
        counts = [r.get("blas_threads_in_use") or r.get("blas_threads") for r in runs]
        if len(runs) < 2 or None in counts or len(set(counts)) < 2:
            continue
        runs = [r for _, r in sorted(zip(counts, runs, strict=True), key=lambda p: p[0])]
        counts = sorted(counts)
        out += [
            f"**Thread scaling, {size}** (seconds with the BLAS/OpenMP thread limit given; "
            f"speed-up from {counts[0]} to {counts[-1]} threads)",
            "",
            "| | " + " | ".join(f"{n} threads" for n in counts) + " | speed-up |",
            "|---|" + "---:|" * (len(counts) + 1),
        ]
        first, last = runs[0], runs[-1]
        cells = [_fmt(r["floor_seconds"]) for r in runs]
        sp = first["floor_seconds"] / last["floor_seconds"]
        out.append(f"| floor | {' | '.join(cells)} | {sp:.2f}x |")
        names = [r["name"] for r in first["rows"] if r["impl"] == "ped" and "seconds" in r]
        for n in names:
            secs = []
            for r in runs:
                row = next((x for x in r["rows"] if x["impl"] == "ped" and x["name"] == n), None)
                secs.append(None if row is None else row.get("seconds"))
            if None in secs:
                continue
            out.append(
                f"| `{n}` | {' | '.join(_fmt(t) for t in secs)} | {secs[0] / secs[-1]:.2f}x |"
            )
        out.append("")
    return out


#: The official implementations as measured in issue 6 on this kind of machine (CIFAR-100
#: size, float64 Gram floor 2.6 s in the same run): facts quoted from the issue, seconds.
ISSUE6_OFFICIAL = {
    "floor": 2.6,
    "logme": 16.2,
    "sfda": 49.1,
    "ped+logme": 32.1,
    "ped+sfda": 47.8,
    "parc": 117.0,
}

#: Ratio targets (issue 17, stated with default threads; stricter than issue 6's SFDA <= 4,
#: PARC <= 5 with <= 4 GB, PED <= 1.1 x base): score -> maximum seconds / floor.
RATIO_TARGETS = {"logme": 2.0, "hscore": 2.0, "gbc": 2.0, "sfda": 3.0, "parc": 4.0}
#: PARC's peak memory target (GB) and PED's overhead target (ped+<base> / <base>).
PARC_PEAK_GB = 2.0
PED_OVERHEAD = 1.05
#: Official-like references that ped must merely match in speed (the same algorithm).
MATCH_SPEED = ("nleep", "transrate")


def _targets(res, ours, offi):
    """Issue-6 target checks for one size, from the measured rows."""
    floor = res["floor_seconds"]
    out = ["", "| target (issues 6, 17) | measured | holds |", "|---|---:|:---:|"]
    for n, lim in RATIO_TARGETS.items():
        if n in ours:
            r = ours[n]["seconds"] / floor
            out.append(f"| `{n}` <= {lim:g} x floor | {r:.2f} | {'yes' if r <= lim else 'no'} |")
    if "parc" in ours:
        g = ours["parc"]["peak_bytes"] / 1e9
        out.append(
            f"| `parc` peak <= {PARC_PEAK_GB:g} GB | {g:.2f} GB | "
            f"{'yes' if g <= PARC_PEAK_GB else 'no'} |"
        )
    paired = {p["name"]: p["ratio"] for p in res.get("ped_pairs") or []}
    for n in ours:
        if n.startswith("ped+") and n[4:] in ours:
            # The paired timing when the run has it (same window for both), else the table's.
            r = paired.get(n, ours[n]["seconds"] / ours[n[4:]]["seconds"])
            how = "paired" if n in paired else "table"
            out.append(
                f"| `{n}` <= {PED_OVERHEAD:g} x `{n[4:]}` ({how}) | {r:.2f} | "
                f"{'yes' if r <= PED_OVERHEAD else 'no'} |"
            )
    if res["size"] == "cifar100":
        # Across runs, compare costs in floors: the issue's official time over its floor
        # against ours over the floor of this run.
        f0 = ISSUE6_OFFICIAL["floor"]
        for n, sec in ISSUE6_OFFICIAL.items():
            if n != "floor" and n in ours:
                sp = (sec / f0) / (ours[n]["seconds"] / floor)
                out.append(
                    f"| `{n}` >= 3x faster than the official code of issue 6 "
                    f"({sec:g} s = {sec / f0:.1f} floors) | {sp:.1f}x | {'yes' if sp >= 3 else 'no'} |"
                )
    for n, r in ours.items():
        o = offi.get(n)
        if o and "seconds" in o:
            sp = o["seconds"] / r["seconds"]
            lim = 1.0 if n.removeprefix("ped+") in MATCH_SPEED else 3.0
            out.append(
                f"| `{n}` >= {lim:g}x faster than official-like | {sp:.1f}x | "
                f"{'yes' if sp >= lim else 'no'} |"
            )
            if isinstance(o.get("value"), float) and isinstance(r.get("value"), float):
                rel = abs(o["value"] - r["value"]) / max(abs(o["value"]), 1e-300)
                out.append(f"| `{n}` same value as official-like (rel. diff) | {rel:.1e} | |")
    return out


def render_gpu(doc: dict, name: str) -> str:
    """Markdown of a `bench_gpu.py` result: scores on the device against numpy, extraction."""
    m = doc.get("machine", {})
    lines = [
        f"### `{name}`",
        "",
        f"- command: `{doc.get('command', '?')}`",
        f"- machine: {m.get('gpu', doc.get('device'))} (CUDA {m.get('cuda')}), "
        f"{m.get('cpu_model')}, {m.get('cores')} cores; torch {m.get('torch')}, "
        f"numpy {m.get('numpy')}",
        f"- run at {m.get('time')}; whole run {doc.get('total_seconds', 0) / 60:.1f} min; "
        "numpy: one run with the machine's BLAS threads; device: the fastest of the timed runs "
        "after one untimed warm-up call",
        "",
        f"| score | size | numpy s | {doc.get('device')} s | speed-up | first call s "
        "| rel. diff | agrees |",
        "|---|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in doc.get("scores", []):
        lines.append(
            f"| `{r['name']}` | {r['size']} | {_fmt(r['cpu_seconds'])} | "
            f"{_fmt(r['device_seconds'])} | {r['cpu_seconds'] / r['device_seconds']:.1f}x | "
            f"{_fmt(r['device_first_call_seconds'])} | {r['rel_diff']:.1e} | "
            f"{'yes' if r['agrees'] else 'no'} |"
        )
    ext = doc.get("extraction", [])
    if ext:
        lines += [
            "",
            f"| extraction ({doc.get('device')}) | images | batch | seconds | images/s |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in ext:
            if "skipped" in r:
                lines.append(f"| `{r['model']}` | skipped: {r['skipped']} | | | |")
            else:
                lines.append(
                    f"| `{r['model']}` | {r['n_images']:,} | {r['batch_size']} | "
                    f"{_fmt(r['seconds'])} | {r['images_per_second']:.0f} |"
                )
    lines.append("")
    return "\n".join(lines)


def render_newer(doc: dict, name: str) -> str:
    """Markdown of a `bench_newer.py` result: each score's time and its ratio to LogME's and
    PARC's on the same features."""
    shape = doc["shape"]
    load = tuple(round(v, 2) for v in doc["machine"].get("load_average_at_end") or ())
    lines = [
        f"### `{name}`",
        "",
        f"- command: `{doc['command']}`; N={shape['n_samples']:,}, D={shape['n_features']:,}, "
        f"C={shape['n_classes']}, float32; {doc['machine'].get('cpus')} cores, default threads; "
        f"best of {doc['repeat']} runs; load average (1/5/15 min) at the end {load}",
        "",
        "| score | seconds | x LogME | x PARC |",
        "|---|---:|---:|---:|",
    ]
    for score, r in doc["results"].items():
        lines.append(
            f"| `{score}` | {r['seconds']:.3g} | {r['ratio_to_logme']:.2f} | "
            f"{r['ratio_to_parc']:.2f} |"
        )
    return "\n".join(lines + [""])


def render_startup(doc: dict, name: str) -> str:
    """Markdown of a `bench_startup.py` result: each command's wall time in a fresh process."""
    load = tuple(round(v, 2) for v in doc.get("load_average") or ())
    lines = [
        f"### `{name}`",
        "",
        f"- command: `python benchmarks/bench_startup.py --repeats {doc['repeats']}` (a new "
        f"Python process per run, after one untimed run); Python {doc['python']}, "
        f"{doc['cpus']} cores; load average (1/5/15 min) at the end {load}",
        "",
        "| command | median s | min s | max s | median minus bare Python s | under 1 s "
        "| heavy libraries loaded |",
        "|---|---:|---:|---:|---:|:---:|---|",
    ]
    for cmd, r in doc["commands"].items():
        heavy = r.get("imports", {}).get("heavy_loaded", [])
        target = "yes" if r["median_s"] < 1.0 else "no"
        lines.append(
            f"| `{cmd}` | {_fmt(r['median_s'], 3)} | {_fmt(r['min_s'], 3)} | "
            f"{_fmt(r['max_s'], 3)} | {_fmt(r['median_minus_python_s'], 3)} | "
            f"{target if cmd.startswith('ped ') else ''} | {', '.join(heavy) or 'none'} |"
        )
    lines.append("")
    return "\n".join(lines)


BEGIN, END = "<!-- BEGIN GENERATED -->", "<!-- END GENERATED -->"


def main(argv=None):
    args = list(argv if argv is not None else sys.argv[1:])
    target = None
    if args[:1] == ["--update"]:
        target = Path(args[1])
        args = args[2:]
    paths = [Path(p) for p in args]
    if not paths:
        raise SystemExit(__doc__)
    docs = []
    for p in paths:
        if not p.is_file():
            print(f"render.py: {p} does not exist; skipped", file=sys.stderr)
            continue
        doc = json.loads(p.read_text())
        if doc.get("benchmark") == "gpu":
            docs.append(render_gpu(doc, p.name))
            continue
        if doc.get("benchmark") == "newer":
            docs.append(render_newer(doc, p.name))
            continue
        if "commands" in doc and "repeats" in doc:  # bench_startup.py
            docs.append(render_startup(doc, p.name))
            continue
        if not isinstance(doc.get("machine"), dict) or "floor" not in doc:
            # Another benchmark's results (bench_extract.py), matched by a glob.
            print(f"render.py: {p} is not a bench_scores.py result; skipped", file=sys.stderr)
            continue
        docs.append(render(doc, p.name))
    text = "\n".join(docs)
    if target is None:
        print(text)
        return
    doc = target.read_text()
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    target.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


if __name__ == "__main__":
    main()
