"""leiosurv.stats type-checks under ``mypy --strict`` (issue 14): a test that can fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_stats_passes_mypy_strict():
    pytest.importorskip("mypy", reason="mypy is in the test extra: pip install -e '.[test]'")
    cmd = [sys.executable, "-m", "mypy", "--strict", "--config-file", str(ROOT / "pyproject.toml"),
           "--no-incremental", "-p", "leiosurv.stats"]
    proc = subprocess.run(cmd, cwd=ROOT / "src", capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"mypy --strict found problems:\n{proc.stdout}{proc.stderr}"
    assert "Success" in proc.stdout
