"""The import graph of src/ped follows the layer table of docs/architecture.md.

The table is READ from the document (the section "## Layers"), so the document and the test
cannot disagree. Every import of every module (module level and inside functions) is mapped
to a layer; the test fails on an import that points up, and on an import of another
package's private name. A failure lists every offending import, so all can be fixed at once.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "ped"
DOC = ROOT / "docs" / "architecture.md"
#: Modules exempt from "ped-internal imports at module level": the faces load the library
#: where a command or attribute is used, so `ped --help` and `import ped` stay fast.
LAZY_FACES = ("ped", "ped.__main__", "ped.cli")
#: A package whose import loads torch: it may be imported inside the function that opens a
#: model (docs/architecture.md, "Layers").
HEAVY = "ped.models"


def layer_table(text: str) -> list[tuple[int, str]]:
    """``[(layer, module pattern)]`` from the markdown table under ``## Layers``.

    A row reads ``| 2 data path | `ped.data.*`, `ped.finetune.*` except `ped.finetune.sweep` |``:
    the number opening the first cell is the layer; every back-quoted name in the second
    cell before the word "except" is a pattern (``.*`` for a package and its modules).
    """
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not re.match(r"^\d+\b", cells[0]):
            continue
        layer = int(re.match(r"^(\d+)", cells[0]).group(1))
        for part in re.split(r"\bexcept\b", cells[1]):
            rows += [(layer, name) for name in re.findall(r"`(ped[\w.*]*)`", part)]
            break  # names after "except" belong to another row
    return rows


TABLE = layer_table(DOC.read_text())


def layer_of(module: str) -> int | None:
    """The layer of a ped module: the most specific matching pattern wins."""
    best: tuple[int, int] | None = None  # (specificity, layer)
    for layer, pattern in TABLE:
        if pattern.endswith(".*"):
            base = pattern[:-2]
            ok = module == base or module.startswith(base + ".")
        else:
            ok = module == pattern
        if ok:  # an exact name beats a package pattern of the same name
            spec = len(pattern[:-2]) if pattern.endswith(".*") else len(pattern) + 1
            if best is None or spec > best[0]:
                best = (spec, layer)
    return None if best is None else best[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path) -> list[tuple[str, str, int, bool]]:
    """``[(imported module, imported name or "", line, at module level)]`` of ped imports."""
    module = module_name(path)
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(n) for n in tree.body}
    for n in tree.body:  # `if TYPE_CHECKING:` and try/except blocks at module level count too
        if isinstance(n, (ast.If, ast.Try)):
            top |= {id(c) for c in ast.walk(n)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "ped":
                    out.append((alias.name, "", node.lineno, id(node) in top))
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path.name == "__init__.py", node)
            if target.split(".")[0] != "ped":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                is_module = (SRC.parent / sub.replace(".", "/")).with_suffix(".py").is_file() or (
                    SRC.parent / sub.replace(".", "/") / "__init__.py"
                ).is_file()
                if is_module:
                    out.append((sub, "", node.lineno, id(node) in top))
                else:
                    out.append((target, alias.name, node.lineno, id(node) in top))
    return out


def _is_package(module: str) -> bool:
    return (SRC.parent / module.replace(".", "/") / "__init__.py").is_file()


def _inside(importer: str, unit: str) -> bool:
    return importer == unit or importer.startswith(unit + ".")


def _private_outside(importer: str, target: str, name: str) -> str | None:
    """The private part an import reaches from outside the unit that owns it, if any.

    A private module (``ped.models._zoo``) belongs to its package (``ped.models``); the
    private modules at the top (``ped._stats``) serve all of ped. A private name (``_select``)
    belongs to its module's package, and a module directly under ``ped`` (``ped.features``)
    is a unit of its own, so ``ped.cli`` may not take ``ped.features._as_store``.
    """
    parts = target.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            owner = ".".join(parts[:i])
            if not _inside(importer, owner):
                return ".".join(parts[: i + 1])
            break
    if name.startswith("_") and not name.startswith("__"):
        if _is_package(target) or target.count(".") == 1:
            owner = target
        else:
            owner = target.rpartition(".")[0]
        if not _inside(importer, owner):
            return f"{target}.{name}"
    return None


def check(src: Path = SRC) -> dict[str, list[str]]:
    """Every violation of the layer rules under ``src``, by kind."""
    found: dict[str, list[str]] = {"upward": [], "private": [], "unmapped": [], "in function": []}
    for path in sorted(src.rglob("*.py")):
        module = module_name(path)
        own = layer_of(module)
        if own is None:
            found["unmapped"].append(f"{module} (no row of the layer table names it)")
            continue
        for target, name, line, top in imports_of(path):
            where = f"{module}:{line}"
            theirs = layer_of(target)
            if theirs is not None and theirs > own:
                found["upward"].append(
                    f"{where} -> {target}{'.' + name if name else ''} "
                    f"(layer {own} imports layer {theirs})"
                )
            private = _private_outside(module, target, name)
            if private is not None:
                found["private"].append(f"{where} -> {private} (private to another package)")
            lazy_face = any(module == f or module.startswith(f + ".") for f in LAZY_FACES[2:])
            heavy = target == HEAVY or target.startswith(HEAVY + ".")
            own_package = module.startswith(target + ".")  # a cycle through the package
            if (
                not top
                and not lazy_face
                and module not in LAZY_FACES[:2]
                and not heavy
                and not (own_package)
            ):
                found["in function"].append(f"{where} -> {target} (import inside a function)")
    return found


def _report(lines: list[str], what: str) -> str:
    lines = list(dict.fromkeys(lines))  # one line per import statement and target
    return f"{len(lines)} {what}:\n  " + "\n  ".join(lines)


def test_the_table_is_read_from_the_document():
    layers = dict((p, layer) for layer, p in TABLE)
    assert layers["ped.errors"] == 0 and layers["ped.scoring"] == 1
    assert layers["ped.features.*"] == 2 and layers["ped.pipeline.*"] == 3
    assert layer_of("ped.finetune.sweep") == 3 and layer_of("ped.finetune.splits") == 2
    assert layer_of("ped.cli.rank_commands") == 4 and layer_of("ped") == 4


def test_every_module_has_a_layer():
    found = check()
    assert not found["unmapped"], _report(found["unmapped"], "modules without a layer")


def test_no_import_points_up():
    found = check()
    assert not found["upward"], _report(found["upward"], "upward imports")


def test_no_private_name_of_another_package():
    found = check()
    assert not found["private"], _report(found["private"], "imports of private names")


def test_ped_imports_at_module_level():
    """Outside the faces, ped-internal imports sit at module level (the real graph)."""
    found = check()
    assert not found["in function"], _report(found["in function"], "imports inside functions")


@pytest.mark.parametrize(
    "module, line, kind",
    [
        ("scores/fake_upward.py", "from ..pipeline import rank\n", "upward"),
        ("cli/fake_private.py", "from ..models._zoo import ZooEntry\n", "private"),
        ("scores/fake_lazy.py", "def f():\n    from .. import _stats\n", "in function"),
    ],
)
def test_the_check_fails_on_a_planted_violation(tmp_path, module, line, kind):
    """Plant a bad import in a copy of src/ped: the check names it."""
    import shutil

    copy = tmp_path / "ped"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / module).write_text('"""A planted import."""\n\n' + line)
    found = _check_in(copy)
    planted = module.replace("/", ".").removesuffix(".py")
    assert any(f"ped.{planted}:" in entry for entry in found[kind]), found[kind]


def _check_in(root: Path) -> dict[str, list[str]]:
    """`check` on a copy of the package at ``root`` (a folder named ``ped``)."""
    global SRC
    saved = SRC
    SRC = root
    try:
        return check(root)
    finally:
        SRC = saved
