"""Requests without a session on patient URLs: counted in the database, audited bounded and honestly.

``Registry.anonymous_attempt`` audits the first request per address, minute and
action at once and counts the rest in ``anonymous_attempt`` (migration 0014);
``close_anonymous_windows`` moves each finished minute's count to the audit trail
as one row saying how many.  Two registries on one database (two server
processes) share the counts; concurrent requests never audit a minute's first twice.
"""

from __future__ import annotations

import datetime as dt
import re
import threading

import sqlalchemy as sa

from leiosurv.registry import Registry
from leiosurv.registry import _tables as T
from leiosurv.registry._access import ANONYMOUS_WINDOW, window_start

T0 = dt.datetime(2026, 12, 4, 18, 31, 0, tzinfo=dt.UTC)


def _try(reg: Registry, now: dt.datetime, addr: str = "10.0.0.1", action: str = "read", patient: str = "P-1") -> int:
    return reg.anonymous_attempt(address=addr, action=action, resource="GET /patients/{pseudonym}",
                                 patient=patient, now=now)


def _rows(reg: Registry) -> list:
    return list(reversed(reg.audit_events(limit=1000)))


def _counted(reg: Registry) -> list[tuple]:
    with reg.engine.connect() as c:
        t = T.anonymous_attempt
        return [(r.address, r.action, r.attempts) for r in c.execute(sa.select(t).order_by(t.c.address, t.c.action))]


def test_window_edges():
    assert window_start(T0) == T0
    assert window_start(T0 + dt.timedelta(seconds=59, microseconds=999999)) == T0
    assert window_start(T0 + dt.timedelta(seconds=60)) == T0 + ANONYMOUS_WINDOW
    assert window_start(T0 - dt.timedelta(microseconds=1)) == T0 - ANONYMOUS_WINDOW
    assert ANONYMOUS_WINDOW == dt.timedelta(minutes=1)


def test_first_audited_the_rest_counted_then_one_row_with_the_count(reg):
    assert [_try(reg, T0 + dt.timedelta(seconds=s)) for s in (0, 1, 30, 59)] == [1, 2, 3, 4]
    assert _try(reg, T0 + dt.timedelta(seconds=59, microseconds=999999), patient="P-2") == 5
    assert _try(reg, T0 + dt.timedelta(seconds=5), action="write") == 1  # a write is counted apart
    assert _try(reg, T0 + dt.timedelta(seconds=5), addr="10.0.0.2") == 1  # and another address
    rows = _rows(reg)
    assert [(r.patient, r.action, r.remote_addr, r.outcome, r.username) for r in rows] == [
        ("P-1", "read", "10.0.0.1", "denied", None), ("P-1", "write", "10.0.0.1", "denied", None),
        ("P-1", "read", "10.0.0.2", "denied", None)]
    assert _counted(reg) == [("10.0.0.1", "read", 5), ("10.0.0.1", "write", 1), ("10.0.0.2", "read", 1)]
    # the minute is not over one microsecond before its end: nothing to close
    assert reg.close_anonymous_windows(T0 + dt.timedelta(seconds=59, microseconds=999999)) == 0
    # the next minute's first request closes the last: one row for the 4 that followed the first
    assert _try(reg, T0 + dt.timedelta(seconds=60)) == 1
    rows = _rows(reg)
    assert len(rows) == 5
    assert rows[3].resource == ("4 more requests without a session on patient URLs (5 in all) in the window "
                                "2026-12-04T18:31:00Z to 2026-12-04T18:32:00Z")
    assert (rows[3].action, rows[3].remote_addr, rows[3].outcome, rows[3].patient) == (
        "read", "10.0.0.1", "denied", None)
    assert rows[4].patient == "P-1" and rows[4].resource == "GET /patients/{pseudonym}"
    assert _counted(reg) == [("10.0.0.1", "read", 1)]  # the closed minute's counts are gone, written
    assert reg.close_anonymous_windows(T0 + dt.timedelta(minutes=5)) == 0  # only firsts: nothing more to say
    assert reg.close_anonymous_windows(T0 + dt.timedelta(minutes=5)) == 0
    assert _counted(reg) == [] and len(_rows(reg)) == 5
    assert reg.verify_audit().problems == []


def test_two_registries_on_one_database_share_the_count_and_never_audit_twice(db_url):
    """Two Registry objects (as two server processes) and 4 threads: 80 requests in one minute make one audit
    row, then one row saying 79 more."""
    a, b = Registry(db_url, create=True), Registry(db_url)
    got: list[int] = []
    lock = threading.Lock()

    def run(reg: Registry) -> None:
        for k in range(20):
            n = _try(reg, T0 + dt.timedelta(seconds=k))
            with lock:
                got.append(n)

    threads = [threading.Thread(target=run, args=(r,)) for r in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 81))
    assert len(_rows(a)) == 1
    assert a.close_anonymous_windows(T0 + ANONYMOUS_WINDOW) == 1
    assert b.close_anonymous_windows(T0 + ANONYMOUS_WINDOW) == 0
    rows = _rows(b)
    assert len(rows) == 2 and re.match(r"79 more requests .* \(80 in all\)", rows[1].resource)
    assert b.verify_audit().problems == []
    a.close()
    b.close()
