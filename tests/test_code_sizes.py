"""No module of src/ped over 600 lines (data tables excepted), no function over 100 lines of
code (issue 15), measured by tools/code_sizes.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("code_sizes", ROOT / "tools" / "code_sizes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sizes_within_limits(capsys):
    assert _tool().main([str(ROOT / "src" / "ped")]) == 0, capsys.readouterr().out


def test_the_checker_flags_a_long_function(tmp_path, capsys):
    body = "\n".join(f"    x{i} = {i}" for i in range(101))
    (tmp_path / "m.py").write_text(f'def f():\n    """Doc."""\n{body}\n')
    assert _tool().main([str(tmp_path)]) == 1
    (tmp_path / "m.py").write_text('def f():\n    """' + "doc\n" * 200 + '"""\n    return 1\n')
    assert _tool().main([str(tmp_path)]) == 0  # a long docstring is documentation, not code
