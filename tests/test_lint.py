"""ruff (configured in pyproject.toml: E, F, W, I, B, UP; 120 columns) finds nothing.

Two checks:

* the clinical core, the study, the interfaces, ``leiosurv.files`` and
  ``leiosurv.casefile`` and their tests are clean;
* the whole of ``src/`` is clean except the files in :data:`NOT_YET_CLEAN`,
  which other packages' owners are cleaning up.  The list only shrinks: a file
  on it that has become clean fails the test until it is taken off, and a file
  not on it that gains a finding fails at once.
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

NOT_YET_CLEAN = {
    "src/leiosurv/stats/_aalen_johansen.py",
    "src/leiosurv/stats/_ci.py",
    "src/leiosurv/stats/_counts.py",
    "src/leiosurv/stats/_engine_checks.py",
    "src/leiosurv/stats/_engine_frames.py",
    "src/leiosurv/stats/_engine_numpy.py",
    "src/leiosurv/stats/_engines.py",
    "src/leiosurv/stats/_gray.py",
    "src/leiosurv/stats/_kaplan_meier.py",
    "src/leiosurv/stats/_kernels.py",
    "src/leiosurv/stats/_plot.py",
    "src/leiosurv/stats/_results.py",
    "src/leiosurv/stats/_risk_difference.py",
    "src/leiosurv/stats/_steps.py",
}
"""Files of other packages with findings when the ruff configuration was added (issue 14)."""


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


def test_src_is_clean_outside_the_shrinking_list():
    found = _findings(["src"])
    dirty = {Path(f["filename"]).relative_to(ROOT).as_posix() for f in found}
    new = [f for f in found if Path(f["filename"]).relative_to(ROOT).as_posix() not in NOT_YET_CLEAN]
    assert not new, "new ruff findings in src/:\n" + _show(new)
    cleaned = sorted(NOT_YET_CLEAN - dirty)
    assert not cleaned, f"now clean, take them off NOT_YET_CLEAN in tests/test_lint.py: {cleaned}"
