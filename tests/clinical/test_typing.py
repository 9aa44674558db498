"""mypy --strict on the clinical core and its input/output edges (a failing type check fails the suite)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "leiosurv"


def test_mypy_strict_clinical():
    if shutil.which("mypy", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("mypy is not installed in this environment (it is part of the 'test' extra)")
    targets = [SRC / "clinical", SRC / "casefile.py", SRC / "files.py"]
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *map(str, targets)],
                          capture_output=True, text=True, cwd=SRC.parents[1])
    assert proc.returncode == 0, proc.stdout + proc.stderr
