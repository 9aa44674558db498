"""Schemathesis against the OpenAPI document: generated requests to every operation never get a server error
nor a status code the document does not list.

Signed in (the clinician for patient operations, the admin for users and the
audit trail), with the session's CSRF token, so requests reach the handlers and
not only the login check.
"""

from __future__ import annotations

import tempfile

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error, status_code_conformance  # noqa: E402
from webutil import make_app  # noqa: E402

APP = make_app(tempfile.mkdtemp(prefix="leiosurv-schemathesis-") + "/web.sqlite", n_synthetic=40)
SCHEMA = schemathesis.openapi.from_dict(APP.openapi())
SCHEMA.app = APP


def _session(role: str) -> dict[str, str]:
    from fastapi.testclient import TestClient

    with TestClient(APP, base_url="https://testserver") as c:
        r = c.post("/api/v1/session", json={"username": f"demo-{role}", "password": "demo-password"})
        assert r.status_code == 200, r.text
        return {"Cookie": f"leiosurv_session={c.cookies['leiosurv_session']}", "X-CSRF-Token": r.json()["csrf_token"]}


AUTH = {role: _session(role) for role in ("clinician", "admin")}


@SCHEMA.exclude(path="/api/v1/session", method="DELETE").parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_error(case):
    role = "admin" if case.path.startswith(("/api/v1/users", "/api/v1/audit")) else "clinician"
    response = case.call(headers=AUTH[role], timeout=300)  # a study run on a busy machine takes a while
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
