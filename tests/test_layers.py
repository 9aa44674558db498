"""Layers point one way, and the core imports without the interface libraries.

interfaces -> study, registry -> clinical, stats; clinical and stats never import
each other, the services (study, registry), or the interfaces; the registry never
imports the interfaces or an interface library; the clinical core does no I/O;
no module imports another package's private (``_``-prefixed) module.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "leiosurv"

FORBIDDEN = {
    "clinical": ("leiosurv.stats", "leiosurv.study", "leiosurv.registry", "leiosurv.interfaces", "duckdb", "pyspark", "click", "icalendar", "fhir"),
    "stats": ("leiosurv.clinical", "leiosurv.study", "leiosurv.registry", "leiosurv.interfaces", "click", "icalendar", "fhir"),
    "study": ("leiosurv.interfaces", "leiosurv.registry", "click", "icalendar", "fhir"),
    "registry": ("leiosurv.interfaces", "click", "fastapi", "icalendar", "fhir"),
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


def test_clinical_core_does_no_io():
    bad = []
    for path in sorted((SRC / "clinical").rglob("*.py")):
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


def test_registry_calls_the_clinical_core_only_through_its_adapter():
    bad = []
    for path in sorted((SRC / "registry").rglob("*.py")):
        if path.name == "_clinical_adapter.py":
            continue
        for name in _imports(path):
            if name == "leiosurv.clinical" or name.startswith("leiosurv.clinical."):
                bad.append(f"{path.relative_to(SRC)} imports {name}")
    assert not bad, "\n".join(bad)


# Older imports of private modules, predating this check; their owners should re-export the
# names publicly and remove them from this list.
KNOWN_PRIVATE_IMPORTS = {
    "interfaces/cli/_synth.py imports leiosurv.study._synth",
    "interfaces/cli/_synth.py imports leiosurv.study._synth.synthesize_cohort",
    "study/_analysis.py imports leiosurv.stats._engines",
    "study/_analysis.py imports leiosurv.stats._engines.count_events",
}


def test_no_private_imports_across_packages():
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        pkg = path.relative_to(SRC).parts[0]
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            mods = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                mods = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            for m in mods:
                parts = m.split(".")
                if parts[0] != "leiosurv" or len(parts) < 3:
                    continue
                target = parts[1]
                if target != pkg and any(p.startswith("_") and not p.startswith("__") for p in parts[2:]):
                    msg = f"{path.relative_to(SRC)} imports {m}"
                    if msg not in KNOWN_PRIVATE_IMPORTS:
                        bad.append(msg)
    assert not bad, "\n".join(bad)
