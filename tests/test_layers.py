"""Layers point one way, and the core imports without the interface libraries.

interfaces -> study -> clinical, stats; clinical and stats never import each
other, the study layer, or the interfaces; the clinical core does no I/O.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "leiosurv"

FORBIDDEN = {
    "clinical": ("leiosurv.stats", "leiosurv.study", "leiosurv.interfaces", "duckdb", "pyspark", "click", "icalendar", "fhir"),
    "stats": ("leiosurv.clinical", "leiosurv.study", "leiosurv.interfaces", "click", "icalendar", "fhir"),
    "study": ("leiosurv.interfaces", "click", "icalendar", "fhir"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_one_way(layer):
    bad = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(SRC)} imports {name}")
    assert not bad, "\n".join(bad)


# The one read the core makes: the evidence package loads its own versioned data files
# (package resources shipped with leiosurv, not user data) once, at import.
PACKAGE_DATA_READERS = {Path("clinical/evidence/__init__.py")}


def test_clinical_core_does_no_io():
    bad = []
    for path in sorted((SRC / "clinical").rglob("*.py")):
        if path.relative_to(SRC) in PACKAGE_DATA_READERS:
            assert "resources.files(__package__)" in path.read_text()
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                fn = node.func
                name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
                if name in {"open", "read_text", "write_text", "read_bytes", "write_bytes"}:
                    bad.append(f"{path.relative_to(SRC)}:{node.lineno} calls {name}()")
    assert not bad, "\n".join(bad)


def test_core_imports_without_interface_libraries():
    code = (
        "import sys\n"
        "for m in ('click', 'icalendar', 'fhir', 'fhir.resources', 'sqlalchemy', 'fastapi'):\n"
        "    sys.modules[m] = None\n"
        "import leiosurv.clinical, leiosurv.stats\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
