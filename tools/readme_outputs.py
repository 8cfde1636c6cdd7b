"""Regenerate, or check, the command outputs README.md shows, from real runs.

README.md marks each ``text`` block of ``$ ped ...`` commands with an HTML comment on the
line before its fence (GitHub does not show it):

``<!-- output: checked -->``
    This script runs the block's commands and rewrites the output under each;
    ``tests/product/test_readme.py`` runs them too and fails when one no longer prints what
    the README shows (numbers within the rounding shown).
``<!-- output: checked; ignore: seconds -->``
    The same, except the numbers of a table column or JSON key ``seconds``, which vary from
    run to run.
``<!-- output: not checked: REASON -->``
    Too slow or not reproducible here (an extraction, a Ctrl-C); left as it is, unless
    ``--also N`` asks for block N.

A ``python`` block after ``<!-- setup: FILE -->`` is written to FILE in the work folder and
run there before the commands after it (it writes the files they read).

Every checked block runs in one temporary work folder with one temporary ``PED_HOME``, in
README order; paths under them are written as ``/tmp/readme-home``. Commands run through
``bash`` with this checkout's ``src`` first on ``PYTHONPATH`` and this Python's ``ped``
first on ``PATH``; stdout and stderr are shown together, at 120 columns.

Usage::

    python tools/readme_outputs.py             # rewrite the checked blocks of README.md
    python tools/readme_outputs.py --check     # list differences, exit 1 if any
    python tools/readme_outputs.py --list      # number and kind of every block
    python tools/readme_outputs.py --also 7    # rewrite unchecked block 7 as well (slow)
    python tools/readme_outputs.py --in-checkout 18   # block 18, run in this checkout's root
                                               # (commands that read the committed files)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: What the temporary PED_HOME is called in the README.
SHOWN_HOME = "/tmp/readme-home"
MARK = re.compile(
    r"^<!-- output: (checked(?:; ignore: (?P<ignore>[\w, +-]+))?|not checked: .+) -->$"
)
SETUP = re.compile(r"^<!-- setup: (?P<file>[\w.-]+) -->$")
#: A number standing alone (not the digits of a name such as ``model-3`` or a hex key).
NUMBER = re.compile(r"(?<![\w.+-])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")


@dataclass
class Block:
    """A fenced block of README.md: ``text`` with commands, or a ``python`` setup."""

    index: int
    start: int  # line of the opening fence
    end: int  # line of the closing fence
    kind: str  # "checked", "unchecked", "setup", "unmarked"
    lines: list[str]
    ignore: list[str] = field(default_factory=list)
    setup_file: str = ""

    def commands(self) -> list[tuple[str, str]]:
        """``(command, output shown)`` pairs, the command without its ``$ ``."""
        pairs: list[tuple[str, list[str]]] = []
        for line in self.lines:
            if line.startswith("$ "):
                pairs.append((line[2:], []))
            elif pairs:
                pairs[-1][1].append(line)
        return [(c, "\n".join(out).rstrip("\n").rstrip()) for c, out in pairs]


def parse(text: str) -> list[Block]:
    """The fenced blocks of a README that matter here: marked ones and ``$`` blocks."""
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("```"):
            i += 1
            continue
        j = i + 1
        while not lines[j].startswith("```"):
            j += 1
        body = lines[i + 1 : j]
        before = lines[i - 1] if i else ""
        mark, setup = MARK.match(before), SETUP.match(before)
        block = Block(len(blocks), i, j, "unmarked", body)
        if setup:
            block.kind, block.setup_file = "setup", setup["file"]
        elif mark:
            block.kind = "checked" if mark[1].startswith("checked") else "unchecked"
            block.ignore = [w.strip() for w in (mark["ignore"] or "").split(",") if w.strip()]
        if block.kind != "unmarked" or any(x.startswith("$ ped") for x in body):
            blocks.append(block)
        i = j + 1
    return blocks


class Runner:
    """Runs README commands in one work folder and one PED_HOME, both temporary."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="ped-readme-")
        self.home = Path(self._tmp.name) / "home"
        self.work = self.home / "work"
        self.work.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if k not in ("PED_DEBUG", "COLUMNS")}
        env["PED_HOME"] = str(self.home)
        env.pop("PED_DATA", None)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        self.env = env

    def setup(self, block: Block) -> None:
        path = self.work / block.setup_file
        path.write_text("\n".join(block.lines) + "\n")
        subprocess.run(
            [sys.executable, str(path)], cwd=self.work, env=self.env, check=True, timeout=600
        )

    def run(self, command: str, cwd: Path | None = None) -> str:
        res = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd or self.work,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=1800,
        )
        out = res.stdout.replace(str(self.home), SHOWN_HOME)
        return "\n".join(line.rstrip() for line in out.rstrip("\n").split("\n"))

    def close(self) -> None:
        self._tmp.cleanup()


# ---------------------------------------------------------------- comparison within rounding
def _mask(text: str, names: list[str]) -> str:
    """Replace the numbers of table columns and JSON keys named in `names` by ``#``."""
    if not names:
        return text
    out = []
    columns: list[int] = []
    for line in text.split("\n"):
        for name in names:
            line = re.sub(rf'("{re.escape(name)}": )[-+\d.e]+', r"\1#", line)
        sep = "┃" if "┃" in line else "│" if "│" in line else None
        if sep:
            cells = line.split(sep)
            if sep == "┃" and any(c.strip() in names for c in cells):
                columns = [k for k, c in enumerate(cells) if c.strip() in names]
            elif sep == "│" and columns and len(cells) > max(columns):
                for k in columns:
                    cells[k] = " # "
                line = sep.join(cells)
        out.append(line)
    return "\n".join(out)


def _shape(text: str) -> str:
    """The text without its numbers, spaces and box runs, for an exact comparison."""
    text = NUMBER.sub("0", text)
    text = re.sub(r"([━─═])\1+", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def differences(shown: str, actual: str, ignore: list[str] = ()) -> list[str]:
    """Where `actual` output departs from what the README `shows`; empty if it agrees.

    The words must agree exactly (spaces and table rules may differ in length); every number
    must agree within one unit of the last decimal the README shows (an integer exactly).
    """
    a, b = _mask(shown, list(ignore)), _mask(actual, list(ignore))
    if _shape(a) != _shape(b):
        la, lb = a.split("\n"), b.split("\n")
        for x, y in zip(la + [""] * len(lb), lb + [""] * len(la)):
            if _shape(x) != _shape(y):
                return [f"README: {x.strip()!r}", f"now:    {y.strip()!r}"]
    problems = []
    for x, y in zip(NUMBER.findall(a), NUMBER.findall(b)):
        digits = len(x.split("e")[0].split(".")[1]) if "." in x.split("e")[0] else 0
        exp = int(x.lower().split("e")[1]) if "e" in x.lower() else 0
        tol = 1.01 * 10.0 ** (exp - digits) if ("." in x or "e" in x.lower()) else 0.0
        if abs(float(x) - float(y)) > tol + 1e-12 * abs(float(x)):
            problems.append(f"README shows {x}, the command now prints {y}")
    return problems


# ---------------------------------------------------------------- the two uses
def run_blocks(
    blocks: list[Block], wanted: set[int], in_checkout: set[int] = frozenset()
) -> dict[int, list[tuple[str, str]]]:
    """Run the setup blocks and the wanted command blocks in order: ``{index: [(cmd, out)]}``.
    The blocks of ``in_checkout`` run in this checkout's root instead of the work folder."""
    runner = Runner()
    outputs: dict[int, list[tuple[str, str]]] = {}
    try:
        for block in blocks:
            if block.kind == "setup":
                runner.setup(block)
            elif block.index in wanted:
                cwd = ROOT if block.index in in_checkout else None
                outputs[block.index] = [(c, runner.run(c, cwd)) for c, _ in block.commands()]
    finally:
        runner.close()
    return outputs


def rewrite(text: str, blocks: list[Block], outputs: dict[int, list[tuple[str, str]]]) -> str:
    """README text with the output under each command of `outputs` replaced."""
    lines = text.split("\n")
    for block in sorted(blocks, key=lambda b: -b.start):
        if block.index not in outputs:
            continue
        body: list[str] = []
        for command, out in outputs[block.index]:
            if body:
                body.append("")
            body.append(f"$ {command}")
            body += out.split("\n") if out else []
        lines[block.start + 1 : block.end] = body
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="Compare only; exit 1 if stale.")
    parser.add_argument("--list", action="store_true", help="List the blocks and their kind.")
    parser.add_argument("--also", type=int, action="append", default=[], help="Block number.")
    parser.add_argument(
        "--in-checkout",
        type=int,
        action="append",
        default=[],
        help="Block number to rewrite, run in this checkout's root (it reads committed files).",
    )
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    text = args.readme.read_text()
    blocks = parse(text)
    if args.list:
        for b in blocks:
            first = next((x for x in b.lines if x.startswith("$ ")), b.setup_file)
            print(f"{b.index:3d}  {b.kind:9s}  line {b.start + 1}: {first[:70]}")
        return 0
    unmarked = [b for b in blocks if b.kind == "unmarked"]
    if unmarked:
        print(f"unmarked command block at line {unmarked[0].start + 1}: add an output marker")
        return 1
    wanted = {b.index for b in blocks if b.kind == "checked"} | set(args.also)
    outputs = run_blocks(blocks, wanted | set(args.in_checkout), set(args.in_checkout))
    if args.check:
        stale = 0
        for b in blocks:
            for (command, shown), (_, now) in zip(b.commands(), outputs.get(b.index, [])):
                for line in differences(shown, now, b.ignore):
                    stale += 1
                    print(f"$ {command}\n    {line}")
        return 1 if stale else 0
    args.readme.write_text(rewrite(text, blocks, outputs))
    print(f"rewrote {len(outputs)} blocks of {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
