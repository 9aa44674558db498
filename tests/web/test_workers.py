"""A team on one database (issue 22, item 6): two server processes on one PostgreSQL behave as one server.

Two real uvicorn processes (what ``leiosurv serve --workers 2`` starts behind one port, here
on a port each so the test can choose the process) serve one PostgreSQL registry.  A sign-out
in one is honoured by the other at once, sign-in failures counted by one slow the other, and
a write through one shows on the other's dashboard at once (no process-local state decides).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow
TODAY = "2026-11-29"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(db: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "LEIOSURV_WEB_DB": db, "LEIOSURV_SECRET_KEY": "shared-" + "k" * 40}
    return subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory",
                             "leiosurv.interfaces.web:app_from_environment", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait(httpx, base: str, proc) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server process ended: {proc.stderr.read()[-2000:]}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("the server did not answer /health")


@pytest.fixture
def two_servers(pg_url):
    httpx = pytest.importorskip("httpx")
    import datetime as dt

    from leiosurv.interfaces.web import load_demo
    from leiosurv.registry import Registry

    reg = Registry(pg_url, create=True)
    load_demo(reg, today=dt.date.fromisoformat(TODAY), n_synthetic=20)
    reg.close()
    ports = [_port(), _port()]
    procs = [_start(pg_url, p) for p in ports]
    try:
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for b, p in zip(bases, procs):
            _wait(httpx, b, p)
        yield httpx, bases, pg_url
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def _sign_in(httpx, base: str, user: str = "demo-clinician", password: str = "demo-password"):
    """A client signed in on *base* (the cookie is Secure, which browsers send to http://127.0.0.1 and
    httpx does not: it is carried by hand)."""
    c = httpx.Client(base_url=base, timeout=30)
    r = c.post("/api/v1/session", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"].split(";", 1)[0]
    c.cookies.clear()
    c.headers.update({"X-CSRF-Token": r.json()["csrf_token"], "Cookie": cookie})
    return c


def _copy(httpx, c, base: str):
    """A client on *base* holding the cookie and CSRF token of *c* (the same browser, another process)."""
    return httpx.Client(base_url=base, timeout=30, headers={k: c.headers[k] for k in ("X-CSRF-Token", "Cookie")})


def test_sign_out_in_one_process_is_honoured_by_the_other(two_servers):
    httpx, (a, b), _ = two_servers
    on_a = _sign_in(httpx, a)
    on_b = _copy(httpx, on_a, b)
    assert on_b.get("/api/v1/session").json()["username"] == "demo-clinician"
    assert on_b.get("/api/v1/patients").status_code == 200
    assert on_a.delete("/api/v1/session").status_code == 204
    assert on_b.get("/api/v1/session").status_code == 401  # at once: nothing cached in process b
    assert on_b.get("/api/v1/patients").status_code == 401


def test_deactivation_through_one_process_ends_the_session_on_the_other(two_servers):
    httpx, (a, b), _ = two_servers
    admin = _sign_in(httpx, a, "demo-admin")
    assert admin.post("/api/v1/users", json={"username": "nurse", "password": "first-password",
                                             "role": "clinician"}).status_code == 201
    nurse = _sign_in(httpx, b, "nurse", "first-password")
    assert nurse.get("/api/v1/patients").status_code == 200
    assert admin.patch("/api/v1/users/nurse", json={"active": False}).status_code == 200
    assert nurse.get("/api/v1/session").status_code == 401


def test_sign_in_failures_count_across_processes(two_servers):
    """Failures made through both processes land in one count; a count past the free failures (seeded
    with a wait long enough that the test's own timing cannot matter) stops both processes."""
    import datetime as dt

    from leiosurv.interfaces.web import _security as S
    from leiosurv.registry import Registry

    httpx, (a, b), db = two_servers
    for i in range(S.FREE_FAILURES):
        r = httpx.post((a, b)[i % 2] + "/api/v1/session", json={"username": "demo-clinician",
                                                                 "password": "wrong-password"})
        assert r.status_code == 401
    keys = S.throttle_keys("demo-clinician", "127.0.0.1")
    reg = Registry(db)
    assert reg.login_failures(list(keys))[keys[0]][0] == S.FREE_FAILURES
    for _ in range(5):  # five more: 32 s to wait
        reg.login_failure([keys[0]], now=dt.datetime.now(dt.UTC), window=S.USER_WINDOW, forget=S.FORGET)
    reg.close()
    for base in (a, b):
        r = httpx.post(base + "/api/v1/session", json={"username": "demo-clinician", "password": "demo-password"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 20


def test_a_write_through_one_process_shows_on_the_others_dashboard_at_once(two_servers):
    httpx, (a, b), _ = two_servers
    on_a, on_b = _sign_in(httpx, a), _sign_in(httpx, b)
    before = on_b.get("/api/v1/dashboard", params={"as_of": TODAY}).json()
    listed = [x["patient"] for k in ("overdue", "due", "gaps") for x in before[k]]
    assert listed, before["totals"]
    p = listed[0]
    r = on_a.post(f"/api/v1/patients/{p}/events", json={"kind": "death", "date": TODAY})
    assert r.status_code in (200, 201), r.text
    after = on_b.get("/api/v1/dashboard", params={"as_of": TODAY}).json()  # within the cache's 5 s
    assert p not in [x["patient"] for k in ("overdue", "due", "gaps") for x in after[k]]


def test_anonymous_requests_through_both_processes_share_one_count(two_servers):
    """Requests without a session on patient URLs, alternately through both processes within one minute: one
    audit row at once (the first), and, when the minute is closed, one row with the other 19: the count is in
    the database, not in a process."""
    import datetime as dt

    from leiosurv.registry import Registry

    httpx, (a, b), db = two_servers
    if dt.datetime.now(dt.UTC).second >= 45:  # all 20 requests inside one minute
        time.sleep(61 - dt.datetime.now(dt.UTC).second)
    reg = Registry(db)
    last = next((e.id for e in reg.audit_events(limit=1)), 0)
    for i in range(20):
        assert httpx.get((a, b)[i % 2] + f"/api/v1/patients/DEMO-00{i % 3 + 1}", timeout=30).status_code == 401
    new = [e for e in reg.audit_events(limit=50) if e.id > last]
    assert [(e.username, e.patient, e.outcome) for e in new] == [(None, "DEMO-001", "denied")]
    assert reg.close_anonymous_windows(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)) == 1
    summary = reg.audit_events(limit=1)[0]
    assert summary.resource.startswith("19 more requests without a session on patient URLs (20 in all)")
    assert reg.verify_audit().problems == []
    reg.close()
