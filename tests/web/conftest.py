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


pg_url = _registry_conftest().pg_url  # the PostgreSQL fixture of the registry tests (skip / fail in CI alike)

from webutil import make_app  # noqa: E402


@pytest.fixture(params=["sqlite", "postgresql"])
def web_db(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "web.sqlite")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def app(web_db):
    a = make_app(web_db)
    yield a
    a.state.registry.close()


@pytest.fixture
def sqlite_app(tmp_path):
    a = make_app(str(tmp_path / "web.sqlite"))
    yield a
    a.state.registry.close()
