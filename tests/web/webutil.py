"""Helpers of the web tests (imported by name: ``conftest`` modules share one module name)."""

from __future__ import annotations

import datetime as dt
import re

TODAY = dt.date(2026, 11, 29)
PASSWORD = "demo-password"


def make_app(db: str, *, n_synthetic: int = 40):
    from leiosurv.interfaces.web import Settings, create_app, load_demo
    from leiosurv.registry import Registry

    reg = Registry(db, create=True)
    load_demo(reg, today=TODAY, n_synthetic=n_synthetic)
    return create_app(Settings(db=db, secret_key="test-secret-" + "x" * 32, today=TODAY), registry=reg)


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
