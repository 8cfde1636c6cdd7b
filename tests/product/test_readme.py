"""The README's command outputs are what the commands print now (issue 14 item 10).

`tools/readme_outputs.py` writes them from real runs; this test runs every block marked
``<!-- output: checked -->`` the same way and fails when a command no longer prints what the
README shows, numbers included (within one unit of the last digit shown).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location(
        "readme_outputs", ROOT / "tools/readme_outputs.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["readme_outputs"] = module
    spec.loader.exec_module(module)
    return module


tool = _tool()


def test_every_command_block_says_whether_it_is_checked():
    blocks = tool.parse((ROOT / "README.md").read_text())
    unmarked = [b.start + 1 for b in blocks if b.kind == "unmarked"]
    assert not unmarked, f"README lines {unmarked}: a `$ ped` block without an output marker"
    kinds = [b.kind for b in blocks]
    assert kinds.count("checked") >= 5 and "setup" in kinds


def test_differences_allow_rounding_only():
    shown = "│ logme │ -0.577052 │ 0.02 │\nbest: model-3 (97.67)"
    assert tool.differences(shown, "│ logme │ -0.5770521 │ 0.02 │\nbest: model-3 (97.67)") == []
    assert tool.differences(shown, "│ logme │ -0.577053 │ 0.02 │\nbest: model-3 (97.67)") == []
    assert tool.differences(shown, "│ logme │ -0.577072 │ 0.02 │\nbest: model-3 (97.67)") == [
        "README shows -0.577052, the command now prints -0.577072"
    ]
    assert tool.differences(shown, "│ logme │ -0.577052 │ 0.02 │\nbest: model-2 (97.67)")
    table = "┃ score ┃ value ┃ seconds ┃\n│ gbc   │ -3.49 │    0.01 │"
    now = "┃ score ┃ value ┃ seconds ┃\n│ gbc   │ -3.49 │   12.50 │"
    assert tool.differences(table, now) != []
    assert tool.differences(table, now, ["seconds"]) == []
    assert tool.differences('"seconds": 0.02,', '"seconds": 3.1,', ["seconds"]) == []
    assert tool.differences("4.3589 ped+logme", "4.2198 ped+logme") != []  # the stale example


def test_rewrite_puts_each_output_under_its_command():
    text = "x\n<!-- output: checked -->\n```text\n$ ped a\nold\n\n$ ped b\nold\n```\ny"
    blocks = tool.parse(text)
    out = tool.rewrite(text, blocks, {0: [("ped a", "new a"), ("ped b", "new b\nline")]})
    assert (
        out
        == "x\n<!-- output: checked -->\n```text\n$ ped a\nnew a\n\n$ ped b\nnew b\nline\n```\ny"
    )


def test_a_block_can_run_in_the_checkout():
    text = "<!-- output: not checked: x -->\n```text\n$ pwd\nold\n```\n" * 2
    blocks = tool.parse(text)
    out = tool.run_blocks(blocks, {0, 1}, in_checkout={1})
    assert out[1] == [("pwd", str(ROOT))]
    assert out[0][0][1] != str(ROOT) and out[0][0][1].endswith("/work")


@pytest.mark.slow
def test_readme_commands_print_what_the_readme_shows():
    blocks = tool.parse((ROOT / "README.md").read_text())
    wanted = {b.index for b in blocks if b.kind == "checked"}
    outputs = tool.run_blocks(blocks, wanted)
    stale = []
    for b in blocks:
        for (command, shown), (_, now) in zip(b.commands(), outputs.get(b.index, [])):
            stale += [f"$ {command}: {line}" for line in tool.differences(shown, now, b.ignore)]
    assert not stale, "README is stale (python tools/readme_outputs.py rewrites it):\n" + "\n".join(
        stale
    )
