"""Web fixtures: an app on a demo registry (SQLite, and PostgreSQL like the registry tests), signed-in clients."""

from __future__ import annotations

import datetime as dt
import re

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

TODAY = dt.date(2026, 11, 29)
PASSWORD = "demo-password"


def make_app(db: str, *, n_synthetic: int = 40):
    from leiosurv.interfaces.web import Settings, create_app, load_demo
    from leiosurv.registry import Registry

    reg = Registry(db, create=True)
    load_demo(reg, today=TODAY, n_synthetic=n_synthetic)
    return create_app(Settings(db=db, secret_key="test-secret-" + "x" * 32, today=TODAY), registry=reg)


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


def client_for(app, role: str | None):
    """A TestClient (https, so the Secure cookie is kept), signed in as the demo user of *role*."""
    from fastapi.testclient import TestClient

    c = TestClient(app, base_url="https://testserver", follow_redirects=False)
    if role is not None:
        r = c.post("/api/v1/session", json={"username": f"demo-{role}", "password": PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)
