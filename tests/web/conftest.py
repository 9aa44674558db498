"""Web fixtures: an app on a demo registry (SQLite, and PostgreSQL like the registry tests), signed-in clients."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")


def _registry_conftest():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "registry" / "conftest.py"
    spec = importlib.util.spec_from_file_location("leiosurv_registry_conftest", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# the registry tests' database fixtures: an empty database per kind (SQLite, and PostgreSQL: skip / fail in CI alike)
_registry = _registry_conftest()
pg_url, db_url = _registry.pg_url, _registry.db_url

from webutil import make_app  # noqa: E402


@pytest.fixture
def app(db_url):
    a = make_app(db_url)
    yield a
    a.state.registry.close()


@pytest.fixture
def sqlite_app(tmp_path):
    a = make_app(str(tmp_path / "web.sqlite"))
    yield a
    a.state.registry.close()
