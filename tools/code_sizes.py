"""Lines per module and per function of a source tree, largest first, with the limits flagged.

Usage: ``python tools/code_sizes.py [src/ped] [--module-limit 600] [--function-limit 100]``.
A function's length counts from its ``def`` line (decorators included) to its last line, less
its docstring (the numpydoc docstrings of the scores carry formulas and references by design;
the limit is about code). A module that holds only a data table says so with the comment
``# code-sizes: data table`` and is exempt from the module limit. Exits 1 when a module or a
function is over its limit; ``tests/test_code_sizes.py`` runs it.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path


def function_lengths(path: Path) -> list[tuple[int, str, int]]:
    """``(lines, qualified name, first line)`` of every function and method in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out: list[tuple[int, str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                n = child.end_lineno - first + 1
                body = child.body
                if (
                    body
                    and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)
                ):
                    if isinstance(body[0].value.value, str):
                        n -= body[0].end_lineno - body[0].lineno + 1
                out.append((n, prefix + child.name, first))
                visit(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")

    visit(tree, "")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="src/ped")
    parser.add_argument("--module-limit", type=int, default=600)
    parser.add_argument("--function-limit", type=int, default=100)
    parser.add_argument("--top", type=int, default=15, help="Rows of each table to show.")
    args = parser.parse_args(argv)
    files = sorted(Path(args.root).rglob("*.py"))
    modules = sorted(
        (len(f.read_text().splitlines()), str(f))
        for f in files
        if "# code-sizes: data table" not in f.read_text()
    )
    modules.reverse()
    functions = sorted(
        ((n, f"{f}:{line} {name}") for f in files for n, name, line in function_lengths(f)),
        reverse=True,
    )
    print(f"modules (limit {args.module_limit} lines):")
    for n, name in modules[: args.top]:
        print(f"  {n:5d}  {name}{'  OVER' if n > args.module_limit else ''}")
    print(f"functions (limit {args.function_limit} lines):")
    for n, name in functions[: args.top]:
        print(f"  {n:5d}  {name}{'  OVER' if n > args.function_limit else ''}")
    over = [m for m in modules if m[0] > args.module_limit]
    over += [f for f in functions if f[0] > args.function_limit]
    print(f"{len(over)} over the limits.")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
