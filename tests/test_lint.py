"""ruff (configured in pyproject.toml: E, F, W, I, B, UP; 120 columns) finds nothing.

Two checks:

* the clinical core, the study, the interfaces, ``leiosurv.files`` and
  ``leiosurv.casefile`` and their tests are clean;
* the whole of ``src/`` is clean.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHECKED = [
    "src/leiosurv/files.py",
    "src/leiosurv/study/__init__.py",
    "src/leiosurv/study/_io.py",
    "src/leiosurv/study/_sources.py",
    "src/leiosurv/study/_schema.py",
    "src/leiosurv/study/_synth.py",
    "src/leiosurv/interfaces/cli/__init__.py",
    "src/leiosurv/interfaces/cli/_study.py",
    "src/leiosurv/interfaces/cli/_synth.py",
    "tests/study/test_io.py",
    "tests/study/test_schema.py",
    "tests/study/test_synth.py",
    "tests/study/test_cli_study.py",
    "tests/study/test_bad_input.py",
    "tests/test_layers.py",
    "tests/test_cli_shell.py",
    "tests/test_lint.py",
    "src/leiosurv/clinical",
    "src/leiosurv/casefile.py",
    "src/leiosurv/interfaces",
    "src/leiosurv/study",
    "tests/clinical",
    "tests/interfaces",
    "tests/study",
    "tests/web",
    "src/leiosurv/registry/_access.py",
    "tests/registry/test_registry_access.py",
    "tests/test_casefile.py",
    "tests/test_files.py",
    "tests/test_exceptions.py",
]

def _ruff() -> list[str]:
    exe = Path(sys.executable).parent / "ruff"
    if exe.exists():
        return [str(exe)]
    if shutil.which("ruff"):
        return ["ruff"]
    pytest.fail("ruff is not installed: it is part of the test extra (pip install -e '.[test]')")


def _findings(paths: list[str]) -> list[dict]:
    proc = subprocess.run([*_ruff(), "check", "--output-format", "json", *paths], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout or "[]")


def _show(findings: list[dict]) -> str:
    return "\n".join(f"{Path(f['filename']).relative_to(ROOT)}:{f['location']['row']}: {f['code']} {f['message']}"
                     for f in findings)


def test_checked_files_are_clean():
    found = _findings(CHECKED)
    assert not found, _show(found)


def test_src_is_clean():
    found = _findings(["src"])
    assert not found, "ruff findings in src/:\n" + _show(found)
