"""Security of the web app (issue 22, item 5): each test pins one finding of the review.

Bounded dates (4xx, never 5xx); security headers on 500s and a connection that survives
them; the body size limit before authentication; sessions ended by deactivation, role
change, password change and reset; sign-in throttling per user-and-address and per
address; trusted proxies; the audit trail's gaps; registry files 0600.
"""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest
from webutil import PASSWORD, client_for, csrf_of


def _client(app, addr: str = "testclient", role: str | None = None):
    from fastapi.testclient import TestClient

    c = TestClient(app, base_url="https://testserver", follow_redirects=False, client=(addr, 50000))
    if role is not None:
        r = c.post("/api/v1/session", json={"username": f"demo-{role}", "password": PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


# --- dates and horizons ----------------------------------------------------------------------------------

@pytest.mark.parametrize("as_of, status", [("9999-12-31", 422), ("0001-01-01", 422), ("1899-12-31", 422),
                                           ("2200-01-01", 422), ("1900-01-01", 200), ("2199-12-31", 200)])
def test_dashboard_days_are_bounded(sqlite_app, as_of, status):
    c = client_for(sqlite_app, "clinician")
    r = c.get("/api/v1/dashboard", params={"as_of": as_of})
    assert r.status_code == status, r.text
    if status == 422:
        assert r.json()["field"] == "as_of"
    assert c.get("/dashboard", params={"as_of": as_of}).status_code == status


@pytest.mark.parametrize("as_of, status", [("9999-12-31", 422), ("2200-01-01", 422), ("1899-12-31", 422),
                                           ("2199-12-31", 200), ("1900-01-01", 200)])
def test_assessment_day_is_bounded(sqlite_app, as_of, status):
    c = client_for(sqlite_app, "clinician")
    findings = {"excision_date": "1900-01-01", "depth": "dermal"}
    r = c.post("/api/v1/assessments", json={"findings": findings, "as_of": as_of})
    assert r.status_code == status, r.text


def test_study_horizon_of_a_thousand_years_is_refused(sqlite_app):
    c = client_for(sqlite_app, "researcher")
    r = c.post("/api/v1/study", json={"horizon": "1000y"})
    assert r.status_code == 422 and r.json()["field"] == "horizon"
    r = c.post("/study/run", data={"csrf_token": c.headers["X-CSRF-Token"], "horizon": "1000y"})
    assert r.status_code == 422 and "horizon" in r.text


# --- 500s ------------------------------------------------------------------------------------------------

def _with_failing_routes(app):
    def boom():
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/boom", boom, include_in_schema=False)
    app.add_api_route("/boom", boom, include_in_schema=False)
    app.middleware_stack = None  # rebuilt with the new routes
    return app


def test_a_500_carries_the_security_headers(sqlite_app):
    from fastapi.testclient import TestClient

    _with_failing_routes(sqlite_app)
    c = TestClient(sqlite_app, base_url="https://testserver", raise_server_exceptions=False)
    for path, kind in (("/api/v1/boom", "application/json"), ("/boom", "text/html")):
        r = c.get(path)
        assert r.status_code == 500 and r.headers["content-type"].startswith(kind)
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store" and "RuntimeError" not in r.text and "a bug" not in r.text


def test_keep_alive_survives_a_500(sqlite_app):
    """On a real server (uvicorn): the 500 and the next request travel on the same connection."""
    import http.client
    import socket
    import threading
    import time

    import uvicorn

    _with_failing_routes(sqlite_app)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(sqlite_app, host="127.0.0.1", port=port, log_level="critical",
                                           lifespan="off", ws="none"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/v1/boom")
        r = conn.getresponse()
        r.read()
        assert r.status == 500 and r.getheader("x-frame-options") == "DENY"
        sock = conn.sock
        assert sock is not None and (r.getheader("connection") or "").lower() != "close"
        conn.request("GET", "/health")
        r = conn.getresponse()
        assert r.status == 200 and r.read() == b'{"status":"ok"}'
        assert conn.sock is sock  # the same connection
        conn.close()
    finally:
        server.should_exit = True
        t.join(10)


# --- the body size limit -------------------------------------------------------------------------------

def _asgi(app, method: str, path: str, headers: list, chunks):
    """Call the app directly; returns (status, bytes of body the app read)."""
    import asyncio

    read = {"bytes": 0, "calls": 0}
    out = {}

    async def receive():
        read["calls"] += 1
        chunk, more = next(chunks, (b"", False))
        read["bytes"] += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": more}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            out["headers"] = dict(message["headers"])

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "https", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 5000),
             "server": ("testserver", 443)}
    asyncio.run(app(scope, receive, send))
    return out["status"], read["bytes"], out["headers"]


def test_a_large_declared_body_is_refused_before_authentication_unread(sqlite_app):
    def forever():
        while True:
            yield b"x" * 65536, True

    status, read, headers = _asgi(sqlite_app, "POST", "/api/v1/patients",
                                  [(b"content-type", b"application/json"), (b"content-length", b"104857600")],
                                  forever())
    assert status == 413 and read == 0 and headers[b"x-frame-options"] == b"DENY"
    status, read, headers = _asgi(sqlite_app, "POST", "/patients/DEMO-001/events",  # a page: an error page
                                  [(b"content-type", b"application/x-www-form-urlencoded"),
                                   (b"content-length", b"104857600")], forever())
    assert status == 413 and read == 0 and headers[b"content-type"].startswith(b"text/html")
    assert b"frame-ancestors 'none'" in headers[b"content-security-policy"]


def test_a_large_streamed_body_is_cut_at_the_limit(sqlite_app):
    limit = sqlite_app.state.settings.max_body_bytes

    def stream():  # chunked: no length announced; 100 MB if read to the end
        for _ in range(1600):
            yield b"x" * 65536, True
        yield b"", False

    status, read, _ = _asgi(sqlite_app, "POST", "/api/v1/patients",
                            [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")], stream())
    assert status == 413 and read <= limit + 65536


def test_a_body_at_the_limit_is_accepted(sqlite_app):
    """Exactly max_body_bytes passes the edge (then the usual 401); one byte more is a 413."""
    limit = sqlite_app.state.settings.max_body_bytes
    c = client_for(sqlite_app, None)
    body = b"{" + b" " * (limit - 2) + b"}"
    assert len(body) == limit
    assert c.post("/api/v1/patients", content=body, headers={"content-type": "application/json"}).status_code == 401
    assert c.post("/api/v1/patients", content=body + b" ",
                  headers={"content-type": "application/json"}).status_code == 413


# --- sessions ended --------------------------------------------------------------------------------------

def _add_user(admin, name: str, role: str = "clinician", password: str = "first-password"):
    assert admin.post("/api/v1/users", json={"username": name, "password": password, "role": role}).status_code == 201


def _signed_in(app, name: str, password: str = "first-password"):
    c = _client(app)
    r = c.post("/api/v1/session", json={"username": name, "password": password})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


@pytest.mark.parametrize("change, back", [({"active": False}, {"active": True}),
                                          ({"role": "researcher"}, {"role": "clinician"})])
def test_a_cookie_from_before_deactivation_or_demotion_never_works_again(app, change, back):
    admin = client_for(app, "admin")
    _add_user(admin, "nurse")
    n = _signed_in(app, "nurse")
    assert n.get("/api/v1/patients").status_code == 200
    assert admin.patch("/api/v1/users/nurse", json=change).status_code == 200
    assert n.get("/api/v1/session").status_code == 401
    assert admin.patch("/api/v1/users/nurse", json=back).status_code == 200
    assert n.get("/api/v1/session").status_code == 401  # re-enabled, old role back: the old cookie stays void
    assert n.get("/patients").status_code == 303
    assert _signed_in(app, "nurse").get("/api/v1/patients").status_code == 200  # a new sign-in works


def test_password_change_ends_the_other_sessions_and_keeps_this_one(app):
    admin = client_for(app, "admin")
    _add_user(admin, "nurse")
    here, there = _signed_in(app, "nurse"), _signed_in(app, "nurse")
    r = here.post("/api/v1/session/password", json={"current_password": "wrong-one", "new_password": "second-pw!"})
    assert r.status_code == 422 and r.json()["field"] == "current_password"
    r = here.post("/api/v1/session/password", json={"current_password": "first-password", "new_password": "short"})
    assert r.status_code == 422 and r.json()["field"] == "new_password"
    r = here.post("/api/v1/session/password", json={"current_password": "first-password",
                                                    "new_password": "second-password"})
    assert r.status_code == 200
    here.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    assert here.get("/api/v1/patients").status_code == 200
    assert there.get("/api/v1/session").status_code == 401
    assert _client(app).post("/api/v1/session", json={"username": "nurse", "password": "first-password"}
                             ).status_code == 401
    _signed_in(app, "nurse", "second-password")
    assert [e.resource for e in app.state.registry.audit_events(username="nurse") if e.action == "admin"][:2] == [
        "own password changed", "own password change"]


def test_password_change_page(sqlite_app):
    admin = client_for(sqlite_app, "admin")
    _add_user(admin, "nurse")
    c = _signed_in(sqlite_app, "nurse")
    tok = csrf_of(c.get("/account/password").text)
    form = {"csrf_token": tok, "current_password": "first-password", "new_password": "second-password",
            "repeat_password": "second-passwort"}
    r = c.post("/account/password", data=form)
    assert r.status_code == 422 and "the two new passwords differ" in r.text
    r = c.post("/account/password", data={**form, "repeat_password": "second-password"})
    assert r.status_code == 200 and 'id="password-done"' in r.text
    assert c.get("/patients").status_code == 200  # this session goes on


def test_admin_reset_ends_the_users_sessions(app):
    admin = client_for(app, "admin")
    _add_user(admin, "nurse")
    n = _signed_in(app, "nurse")
    assert admin.patch("/api/v1/users/nurse", json={"password": "short"}).json()["field"] == "password"
    assert admin.patch("/api/v1/users/nurse", json={"password": "reset-by-admin"}).status_code == 200
    assert n.get("/api/v1/session").status_code == 401
    _signed_in(app, "nurse", "reset-by-admin")
    tok = csrf_of(admin.get("/admin/users").text)
    r = admin.post("/admin/users/nurse/password", data={"csrf_token": tok, "password": "reset-on-the-page"})
    assert r.status_code == 303
    _signed_in(app, "nurse", "reset-on-the-page")


# --- sign-in throttling ----------------------------------------------------------------------------------

def test_backoff_edges():
    from leiosurv.interfaces.web import _security as S

    assert [S.backoff_s(n) for n in range(S.FREE_FAILURES)] == [0.0] * S.FREE_FAILURES
    assert S.backoff_s(S.FREE_FAILURES) == S.BACKOFF_FIRST_S
    assert S.backoff_s(S.FREE_FAILURES + 1) == 2 * S.BACKOFF_FIRST_S
    assert S.backoff_s(S.FREE_FAILURES + 40) == S.BACKOFF_MAX_S
    t = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    keys = S.throttle_keys("Alice", "10.0.0.1")
    assert keys == ("user|alice|10.0.0.1", "addr|10.0.0.1")
    counts = {keys[0]: (S.FREE_FAILURES, t, t)}
    assert S.sign_in_wait(counts, keys, t) == S.BACKOFF_FIRST_S
    assert S.sign_in_wait(counts, keys, t + dt.timedelta(seconds=S.BACKOFF_FIRST_S)) == 0.0
    counts = {keys[1]: (S.ADDRESS_MAX_FAILURES - 1, t, t)}
    assert S.sign_in_wait(counts, keys, t) == 0.0
    counts = {keys[1]: (S.ADDRESS_MAX_FAILURES, t, t)}
    assert S.sign_in_wait(counts, keys, t + S.ADDRESS_WINDOW - dt.timedelta(seconds=1)) == 1.0
    assert S.sign_in_wait(counts, keys, t + S.ADDRESS_WINDOW) == 0.0


class _Clock:
    def __init__(self, monkeypatch):
        from leiosurv.interfaces.web import _security

        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        monkeypatch.setattr(_security, "utcnow", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def _login(c, user: str, password: str) -> int:
    return c.post("/api/v1/session", json={"username": user, "password": password}).status_code


def test_backoff_slows_one_address_and_never_locks_the_user_out(sqlite_app, monkeypatch):
    from leiosurv.interfaces.web import _security as S

    clock = _Clock(monkeypatch)
    attacker, user = _client(sqlite_app, "10.0.0.66"), _client(sqlite_app, "10.0.0.7")
    for _ in range(S.FREE_FAILURES):
        assert _login(attacker, "demo-clinician", "wrong-password") == 401
    r = attacker.post("/api/v1/session", json={"username": "demo-clinician", "password": PASSWORD})
    assert r.status_code == 429 and r.headers["retry-after"] == "2"  # 1 s, rounded up
    assert _login(user, "demo-clinician", PASSWORD) == 200  # the right password from elsewhere
    clock.advance(S.BACKOFF_FIRST_S - 0.001)
    assert _login(attacker, "demo-clinician", "wrong-password") == 429
    clock.advance(0.001)
    assert _login(attacker, "demo-clinician", "wrong-password") == 401  # allowed again: one more failure
    assert _login(attacker, "demo-clinician", PASSWORD) == 429  # now 2 s
    clock.advance(2 * S.BACKOFF_FIRST_S)
    assert _login(attacker, "demo-clinician", PASSWORD) == 200  # success clears the count
    assert _login(attacker, "demo-clinician", "wrong-password") == 401
    outcomes = [e.outcome for e in sqlite_app.state.registry.audit_events() if e.action == "login"]
    assert outcomes[:4] == ["failed", "ok", "denied", "failed"]


def test_one_address_trying_many_users_is_limited(sqlite_app, monkeypatch):
    from leiosurv.interfaces.web import _security as S

    clock = _Clock(monkeypatch)
    monkeypatch.setattr(S, "ADDRESS_MAX_FAILURES", 8)  # the policy, at a size a test can afford
    spray = _client(sqlite_app, "10.0.0.99")
    for i in range(8):
        assert _login(spray, f"user{i}", "wrong-password") == 401
    assert _login(spray, "demo-clinician", PASSWORD) == 429  # the address waits, whichever user
    assert _login(_client(sqlite_app, "10.0.0.7"), "demo-clinician", PASSWORD) == 200
    clock.advance(S.ADDRESS_WINDOW.total_seconds() - 1)
    assert _login(spray, "demo-clinician", PASSWORD) == 429
    clock.advance(1)
    assert _login(spray, "demo-clinician", PASSWORD) == 200


def test_trusted_proxy_gives_each_user_their_address(tmp_path):
    from webutil import make_app

    from leiosurv.interfaces.web import Settings, create_app

    base = make_app(str(tmp_path / "p.sqlite"), n_synthetic=0)
    app = create_app(Settings(db=str(tmp_path / "p.sqlite"), secret_key="s" * 40, forwarded_allow_ips="10.0.0.1"),
                     registry=base.state.registry)
    via_proxy = _client(app, "10.0.0.1")
    via_proxy.headers["X-Forwarded-For"] = "203.0.113.7"
    assert _login(via_proxy, "demo-clinician", "wrong-password") == 401
    spoof = _client(app, "10.0.0.2")  # not a trusted proxy: its header is ignored
    spoof.headers["X-Forwarded-For"] = "198.51.100.1"
    assert _login(spoof, "demo-clinician", "wrong-password") == 401
    assert [e.remote_addr for e in app.state.registry.audit_events(limit=2)] == ["10.0.0.2", "203.0.113.7"]
    base.state.registry.close()


def test_serve_offers_workers_and_forwarded_allow_ips():
    from click.testing import CliRunner

    from leiosurv.interfaces.cli._web import serve

    out = CliRunner().invoke(serve, ["--help"]).output
    assert "--workers" in out and "--forwarded-allow-ips" in out


# --- the audit trail's gaps ------------------------------------------------------------------------------

def test_lists_audit_the_patients_they_show(app):
    c = client_for(app, "clinician")
    reg = app.state.registry
    shown = [p["pseudonym"] for p in c.get("/api/v1/patients").json()["patients"]]
    assert len(shown) > 10 and reg.audit_events(limit=1)[0].patients == shown
    c.get("/patients", params={"q": "demo"})
    ev = reg.audit_events(limit=1)[0]
    assert ev.resource == "patient list (search)" and ev.patients and all("DEMO" in p for p in ev.patients)
    assert "demo" not in ev.resource.lower().replace("patient list (search)", "")  # the query is not logged
    d = c.get("/api/v1/dashboard").json()
    listed = {a["patient"] for k in ("overdue", "due", "gaps", "lost", "missed") for a in d[k]}
    ev = reg.audit_events(limit=1)[0]
    assert ev.resource == "dashboard" and listed and set(ev.patients) == listed
    c.get("/dashboard")
    assert set(reg.audit_events(limit=1)[0].patients) == listed


def test_unauthenticated_attempts_on_patient_urls_are_audited(sqlite_app, monkeypatch):
    """The first request without a session per address, minute and action is audited at once (patient, route,
    address); a second read in the same minute only raises the count; a write and another address are firsts."""
    clock = _Clock(monkeypatch)
    clock.now = clock.now.replace(second=0)
    reg = sqlite_app.state.registry
    c = _client(sqlite_app, "10.0.0.5")
    assert c.get("/api/v1/patients/DEMO-001").status_code == 401
    assert c.get("/patients/DEMO-002").status_code == 303  # the same minute: counted, not a row of its own
    assert c.post("/api/v1/patients/DEMO-003/events", json={}).status_code == 401  # a write: its own first
    assert _client(sqlite_app, "10.0.0.6").get("/patients/DEMO-004").status_code == 303
    ev = reg.audit_events(limit=3)
    assert [(e.patient, e.username, e.action, e.outcome, e.remote_addr) for e in ev] == [
        ("DEMO-004", None, "read", "denied", "10.0.0.6"), ("DEMO-003", None, "write", "denied", "10.0.0.5"),
        ("DEMO-001", None, "read", "denied", "10.0.0.5")]
    assert ev[2].resource == "GET /api/v1/patients/{pseudonym}"


def test_anonymous_requests_make_a_bounded_number_of_audit_rows_with_their_count(app, monkeypatch):
    """60 requests without a session from one address in one minute: one audit row at once, and one with the
    other 59 once the minute is over (written by the next such request, or when an admin reads the trail).
    The window's edges: 59.999999 s after its start is inside, 60 s is the next window.  The chain verifies
    (``leiosurv users verify-audit`` exit 0)."""
    from leiosurv.interfaces.cli import main

    clock = _Clock(monkeypatch)
    clock.now = clock.now.replace(second=0)
    start = clock.now
    reg = app.state.registry
    c = _client(app, "10.0.0.9")
    first = next((e.id for e in reg.audit_events(limit=1)), 0)
    for k in range(60):
        assert c.get(f"/api/v1/patients/DEMO-{k % 5 + 1:03d}").status_code == 401
        if k == 58:
            clock.now = start + dt.timedelta(seconds=59, microseconds=999999)
    new = [e for e in reg.audit_events(limit=100) if e.id > first]
    assert [(e.patient, e.remote_addr, e.outcome) for e in new] == [("DEMO-001", "10.0.0.9", "denied")]
    clock.now = start + dt.timedelta(seconds=60)
    assert c.get("/patients/DEMO-002").status_code == 303
    new = [e for e in reg.audit_events(limit=100) if e.id > first]
    assert len(new) == 3
    summary = new[1]
    assert (summary.username, summary.action, summary.outcome, summary.remote_addr, summary.patient) == (
        None, "read", "denied", "10.0.0.9", None)
    stamp = f"{start:%Y-%m-%dT%H:%M:%S}Z to {start + dt.timedelta(seconds=60):%Y-%m-%dT%H:%M:%S}Z"
    assert summary.resource == f"59 more requests without a session on patient URLs (60 in all) in the window {stamp}"
    assert (new[0].patient, new[0].remote_addr) == ("DEMO-002", "10.0.0.9")  # the new minute's first
    # five more; the minute ends with no further anonymous request: the admin's read of the trail closes it
    for _ in range(5):
        c.get("/patients/DEMO-003")
    clock.now += dt.timedelta(seconds=60)
    rows = _client(app, role="admin").get("/api/v1/audit", params={"limit": 5}).json()
    assert rows[0]["resource"].startswith("5 more requests without a session on patient URLs (6 in all)")
    assert reg.verify_audit().problems == []
    assert main(["users", "--db", reg.url, "verify-audit"]) == 0
def test_admin_reads_of_the_audit_trail_and_users_are_audited(sqlite_app):
    c = client_for(sqlite_app, "admin")
    reg = sqlite_app.state.registry
    for path, what in (("/api/v1/audit", "audit trail read"), ("/admin/audit", "audit trail read"),
                       ("/api/v1/users", "user list read"), ("/admin/users", "user list read")):
        assert c.get(path).status_code == 200
        ev = reg.audit_events(limit=1)[0]
        assert (ev.username, ev.action, ev.resource) == ("demo-admin", "admin", what), path


def test_csrf_refusals_and_denied_posts_are_audited_as_writes(sqlite_app):
    reg = sqlite_app.state.registry
    c = client_for(sqlite_app, "clinician")
    r = c.post("/api/v1/patients/DEMO-001/events", json={"kind": "death", "date": "2026-11-01"},
               headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    ev = reg.audit_events(limit=1)[0]
    assert (ev.username, ev.action, ev.outcome, ev.patient) == ("demo-clinician", "write", "denied", "DEMO-001")
    r = c.post("/patients/DEMO-001/events", data={"csrf_token": "forged", "kind": "death", "date": "2026-11-01"})
    assert r.status_code == 403 and reg.audit_events(limit=1)[0].action == "write"
    res = client_for(sqlite_app, "researcher")
    assert res.post("/api/v1/patients/DEMO-001/events", json={"kind": "death", "date": "2026-11-01"}
                    ).status_code == 403
    ev = reg.audit_events(limit=1)[0]
    assert (ev.username, ev.action, ev.outcome) == ("demo-researcher", "write", "denied")


def test_audit_times_are_utc_with_zone(sqlite_app):
    c = client_for(sqlite_app, "admin")
    at = c.get("/api/v1/audit").json()[0]["at"]
    parsed = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    assert parsed.utcoffset() == dt.timedelta(0) and (at.endswith("Z") or at.endswith("+00:00"))
    assert "UTC" in c.get("/admin/audit").text


def test_the_web_apps_audit_rows_keep_the_chain(app):
    c = client_for(app, "clinician")
    c.get("/api/v1/patients")
    c.get("/api/v1/dashboard")
    check = app.state.registry.verify_audit()
    assert check.intact and check.rows >= 3


# --- files -----------------------------------------------------------------------------------------------

def test_registry_files_are_created_owner_only(tmp_path):
    from leiosurv.registry import Registry

    path = tmp_path / "new.sqlite"
    old = os.umask(0o022)
    try:
        reg = Registry(path, create=True)
        reg.add_patient("P-1", name="Somebody")
    finally:
        os.umask(old)
    for p in (path, tmp_path / "new.sqlite-wal", tmp_path / "new.sqlite-shm"):
        if p.exists():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert (tmp_path / "new.sqlite-wal").exists()
    reg.close()
