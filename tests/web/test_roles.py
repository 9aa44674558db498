"""Role isolation, enumerated from the app itself: a new endpoint cannot escape these tests.

Every operation of the OpenAPI document and every page route is tried without a
session and with the researcher and admin roles.  What each role may reach is
listed here explicitly; anything not listed must be refused (401/303 without a
session, 403 with the wrong role).
"""

from __future__ import annotations

import re

import pytest
from webutil import client_for

# (method, path) reachable without a session
OPEN = {("POST", "/api/v1/session"), ("GET", "/login"), ("POST", "/login"), ("GET", "/health"), ("GET", "/")}
# reachable by researchers (besides OPEN): the de-identified cohort, the study, their own session
SIGNED_IN = {("GET", "/api/v1/openapi.json"),  # the API's description, for any signed-in user
             ("GET", "/account/password"), ("POST", "/account/password"),  # one's own password
             ("POST", "/api/v1/session/password")}
RESEARCHER = SIGNED_IN | {("GET", "/api/v1/session"), ("DELETE", "/api/v1/session"), ("POST", "/api/v1/study"),
              ("GET", "/api/v1/cohort"), ("GET", "/study"), ("POST", "/study/run"), ("GET", "/study/files/{name}"),
              ("GET", "/study/runs/{run_id}/files/{name}"), ("POST", "/logout")}
# reachable by admins (besides OPEN): users and the audit trail, their own session; never patient data
ADMIN = SIGNED_IN | {("GET", "/api/v1/session"), ("DELETE", "/api/v1/session"), ("GET", "/api/v1/users"),
         ("POST", "/api/v1/users"), ("PATCH", "/api/v1/users/{username}"), ("GET", "/api/v1/audit"),
         ("GET", "/admin/users"), ("POST", "/admin/users"), ("POST", "/admin/users/{username}/active"),
         ("POST", "/admin/users/{username}/password"),
         ("GET", "/admin/audit"), ("POST", "/logout")}
PARAMS = {"pseudonym": "DEMO-001", "label": "T1", "audience": "patient", "username": "demo-clinician",
          "name": "report.html", "run_id": "1"}


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], path).replace("letter-patient", "letter-patient")


def operations(app) -> list[tuple[str, str]]:
    """Every (method, path) the app serves: the OpenAPI document's operations and the page routes."""
    ops = {(m.upper(), p) for p, item in app.openapi()["paths"].items() for m in item
           if m in ("get", "post", "put", "patch", "delete")}
    for r in _routes(app.routes):
        path = getattr(r, "path", "")
        for m in getattr(r, "methods", None) or ():
            if m != "HEAD" and not path.startswith("/static"):
                ops.add((m, path))
    return sorted(ops)


def _routes(routes):
    """Routes, looking inside included routers (FastAPI keeps them wrapped)."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            assert not getattr(inner, "prefix", ""), "a prefixed router: add its prefix here"
            yield from _routes(inner.routes)
        else:
            yield r


def _call(c, method: str, path: str):
    url = _fill(path).replace("letter-{audience}", "letter-patient")
    if path.startswith("/api/"):
        return c.request(method, url, json={})
    return c.request(method, url, data={"csrf_token": c.headers.get("X-CSRF-Token", "")})


def test_the_enumeration_sees_every_endpoint(sqlite_app):
    ops = operations(sqlite_app)
    assert len(ops) >= 40
    assert ("POST", "/api/v1/assessments") in ops and ("GET", "/patients/{pseudonym}") in ops
    assert ("GET", "/api/v1/openapi.json") in ops
    for allowed in (RESEARCHER | ADMIN | OPEN):
        assert allowed in ops, f"{allowed} is allowed here but not served any more"


def test_nothing_is_reachable_without_a_session(sqlite_app):
    c = client_for(sqlite_app, None)
    bad = []
    for method, path in operations(sqlite_app):
        if (method, path) in OPEN:
            continue
        r = _call(c, method, path)
        ok = (r.status_code == 401 and r.json()["message"].startswith("not signed in")) if path.startswith("/api/") \
            else (r.status_code == 303 and r.headers["location"].startswith("/login"))
        if not ok:
            bad.append(f"{method} {path}: {r.status_code}")
    assert not bad, "reachable without a session:\n" + "\n".join(bad)


@pytest.mark.parametrize("role, allowed", [("researcher", RESEARCHER), ("admin", ADMIN)])
def test_roles_reach_only_what_they_may(sqlite_app, role, allowed):
    c = client_for(sqlite_app, role)
    tok = c.headers["X-CSRF-Token"]
    bad = []
    for method, path in operations(sqlite_app):
        if (method, path) in OPEN or (method, path) in allowed:
            continue
        r = _call(c, method, path)
        if r.status_code != 403:
            bad.append(f"{method} {path}: {r.status_code}")
        elif "DEMO-001" in r.text or "Demo Patient" in r.text:
            bad.append(f"{method} {path}: patient data in the refusal")
    assert not bad, f"reachable by a {role}:\n" + "\n".join(bad)
    assert c.headers["X-CSRF-Token"] == tok
    if role == "researcher":
        denied = [e for e in sqlite_app.state.registry.audit_events(patient="DEMO-001") if e.outcome == "denied"]
        assert denied and all(e.username == "demo-researcher" for e in denied)


def test_researcher_pages_hold_no_identifying_data(sqlite_app):
    c = client_for(sqlite_app, "researcher")
    c.post("/api/v1/study", json={})
    page = c.get("/study").text
    for secret in ("DEMO-001", "SEED-000", "Demo Patient", "SYN-1-", "1958-04-12"):
        assert secret not in page
    assert c.get("/study/files/report.html").status_code == 200
