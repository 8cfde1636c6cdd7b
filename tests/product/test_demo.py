"""`ped demo` end to end on a tiny slice of the real zoo (the full demo is `make demo`)."""

from __future__ import annotations

import pytest

from ped.cli import main
from ped.models import list_zoo

pytestmark = pytest.mark.slow  # product end-to-end: the full `make test` tier

MODELS = ["zoo:efficientnet-lite0@s8", "zoo:mobilenetv2@s8", "zoo:ppocr-cls"]
HAS = all(m in {e.spec for e in list_zoo() if e.installed} for m in MODELS)


@pytest.mark.skipif(not HAS, reason="the offline zoo is not installed")
def test_demo_quick_slice_prints_taus_stages_and_writes_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PED_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "160")
    out = tmp_path / "report"
    argv = ["demo", "--quick", "--limit", "40", "--out", str(out), "-q", "--format", "md"]
    rc = main([*argv, *[a for m in MODELS for a in ("-m", m)]])
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    text = printed.out
    assert "weighted τ against the linear-probe ground truth" in text
    assert "time per stage" in text and "mnist5k: ground truth" in text and "total" in text
    assert "best by ground truth" in text
    assert (out / "report.md").is_file() and list(out.glob("*.png"))
    # a second run reads the stored ground truth back instead of fitting it again
    rc = main([*argv, *[a for m in MODELS for a in ("-m", m)]])
    assert rc == 0


def test_demo_with_one_model_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PED_HOME", str(tmp_path))
    rc = main(["demo", "--quick", "-m", "zoo:raw-pixels", "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: The demo needs at least 2") and err.count("\n") == 1
