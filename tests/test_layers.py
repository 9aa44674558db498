"""Layers point one way, and the core imports without the interface libraries.

interfaces -> study, registry -> clinical, stats; clinical and stats never import
each other, the services (study, registry), or the interfaces; the registry never
imports the interfaces or an interface library; the clinical core does no I/O.

Private names stay in their package: a module may import ``leiosurv.X._y`` or a
``_name`` only when ``leiosurv.X`` is its own package (``leiosurv.study._io`` may
use ``leiosurv.study._validate``; ``leiosurv.study`` may not use
``leiosurv.stats._engines``, and the CLI may not use ``leiosurv.study._synth``).
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "leiosurv"

FORBIDDEN = {
    "clinical": ("leiosurv.stats", "leiosurv.study", "leiosurv.registry", "leiosurv.interfaces", "duckdb", "pyspark",
                 "click", "icalendar", "fhir"),
    "stats": ("leiosurv.clinical", "leiosurv.study", "leiosurv.registry", "leiosurv.interfaces", "click", "icalendar",
              "fhir"),
    "registry": ("leiosurv.interfaces", "click", "fastapi", "icalendar", "fhir"),
    # the web layer holds no business logic and no SQL: patients through the Registry, rules through the core
    "interfaces/web": ("sqlalchemy", "alembic", "psycopg", "leiosurv.stats", "click"),
    # nothing but the web package and the CLI's ``serve`` needs the web libraries
    "study": ("leiosurv.interfaces", "leiosurv.registry", "click", "icalendar", "fhir", "fastapi", "uvicorn"),
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
    assert (SRC / layer).is_dir(), layer
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


def _run_without(modules: tuple[str, ...], code: str) -> subprocess.CompletedProcess:
    """Run *code* in a fresh interpreter in which importing any of *modules* fails."""
    block = f"import sys\nfor m in {modules!r}:\n    sys.modules[m] = None\n"
    return subprocess.run([sys.executable, "-c", block + code], capture_output=True, text=True)


WEB_LIBRARIES = ("fastapi", "uvicorn", "starlette", "argon2", "fpdf", "itsdangerous")


def test_core_imports_without_interface_libraries():
    proc = _run_without(("click", "icalendar", "fhir", "fhir.resources", "sqlalchemy", *WEB_LIBRARIES),
                        "import leiosurv.clinical, leiosurv.stats\n")
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------
# private names stay in their package
# ---------------------------------------------------------------------------
def _own_package(path: Path) -> str:
    """Dotted package of a source file: ``leiosurv.study`` for study/_io.py and for study/__init__.py."""
    parts = ("leiosurv", *path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1])


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _owner(dotted: str) -> str | None:
    """The package that owns a private dotted name (the prefix before its first private part), else None."""
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if _private(part):
            return ".".join(parts[:i])
    return None


def private_imports_across_packages(source: str, package: str) -> list[str]:
    """Imports in *source* (a module of *package*) of private names that belong to another leiosurv package."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([module] if module else []))
            targets = [f"{module}.{a.name}" for a in node.names if a.name != "*"]
        for target in targets:
            if not (target == "leiosurv" or target.startswith("leiosurv.")):
                continue
            owner = _owner(target)
            # a package's own sub-packages (e.g. registry/migrations) are part of it
            inside = owner not in (None, "leiosurv") and package.startswith(f"{owner}.")
            if owner is not None and owner != package and not inside:
                bad.append(f"line {node.lineno}: {target} (private to {owner})")
    return bad


def test_private_imports_checker_catches_what_it_should():
    assert private_imports_across_packages("from leiosurv.stats._engines import count_events", "leiosurv.study")
    assert private_imports_across_packages("from leiosurv.study import _synth", "leiosurv.interfaces.cli")
    assert private_imports_across_packages("from leiosurv.study._schema import X", "leiosurv.interfaces.cli")
    assert private_imports_across_packages("import leiosurv.stats._ci", "leiosurv.study")
    assert private_imports_across_packages("from leiosurv.stats import _q", "leiosurv.study")
    assert private_imports_across_packages("from .._ci import x", "leiosurv.study")  # relative, to leiosurv._ci
    for ok in ("from leiosurv.study._validate import Sql", "from leiosurv.study import _io",
               "from leiosurv import __version__", "from leiosurv.stats import count_events",
               "from leiosurv.clinical.evidence import DLMS_COHORT", "from ._io import Cohort"):
        assert not private_imports_across_packages(ok, "leiosurv.study"), ok
    assert not private_imports_across_packages("from leiosurv.registry._tables import metadata",
                                               "leiosurv.registry.migrations")
    assert private_imports_across_packages("from leiosurv.registry._tables import metadata", "leiosurv.registrar")


def test_no_private_import_across_packages():
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        for problem in private_imports_across_packages(path.read_text(), _own_package(path)):
            bad.append(f"{path.relative_to(SRC)} {problem}")
    assert not bad, "\n".join(bad)


def test_web_routers_use_no_sql_and_the_cli_runs_without_the_web_libraries():
    for path in sorted((SRC / "interfaces" / "web").rglob("*.py")):
        text = path.read_text()
        for word in ("SELECT ", "INSERT ", "UPDATE ", "DELETE FROM", "exec_driver_sql", ".engine"):
            assert word not in text, f"{path.relative_to(SRC)} holds SQL or uses the engine ({word.strip()})"
    proc = _run_without(WEB_LIBRARIES, "from leiosurv.interfaces.cli import main\nsys.exit(main(['--version']))\n")
    assert proc.returncode == 0, proc.stderr
