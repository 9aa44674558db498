"""Every Python snippet of the README and docs/*.md runs as printed.

Each ```python block is executed in a fresh namespace, in a temporary working
directory that holds what the snippets name: ``cohort.parquet`` (the
calibrated synthetic cohort, 381 patients) and ``../shared`` (the R reference
data beside the checkout).  A snippet that needs data it does not build gets
it from ``GIVEN`` (named there, so a new snippet without it fails loudly).
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pytest

from leiosurv.study import synthesize_cohort

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
GIVEN = {"docs/engines.md": {"data": "../shared/reference/melanoma.csv"}}


def _snippets():
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        for i, m in enumerate(re.finditer(r"```python\n(.*?)```", text, re.S)):
            yield pytest.param(path, m.group(1), id=f"{path.relative_to(ROOT)}#{i + 1}")


SNIPPETS = list(_snippets())


def test_there_are_snippets():
    names = {p.values[0].name for p in SNIPPETS}
    assert {"README.md", "study.md", "engines.md"} <= names


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    base = tmp_path_factory.mktemp("snippets")
    (base / "shared").symlink_to(SHARED, target_is_directory=True)
    work = base / "work"
    work.mkdir()
    synthesize_cohort(381, seed=1).to_parquet(work / "cohort.parquet")
    return work


@pytest.mark.parametrize("path, code", SNIPPETS)
def test_snippet_runs(path, code, workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    namespace = dict(GIVEN.get(str(path.relative_to(ROOT)), {}))
    exec(compile(code, str(path), "exec"), namespace)  # noqa: S102 - the documentation's own code
    printed = capsys.readouterr().out
    assert "..." not in printed  # what the snippets print is shown in full
