"""`ped.features` and the results database import where `fcntl` does not exist (Windows)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def test_feature_store_imports_and_locks_without_fcntl(tmp_path):
    code = (
        "import sys; sys.modules['fcntl'] = None\n"
        "import ped.features, ped.store\n"
        "from ped.features import FeatureStore\n"
        f"s = FeatureStore({str(tmp_path)!r})\n"
        "with s.lock('0' * 32) as held: assert held\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"  # and torch is not imported by the store
