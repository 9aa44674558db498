"""The audit trail is a hash chain: the database refuses rows that do not extend it (REPLACE, a taken id,
a back-dated or future-dated row, a wrong previous hash), and ``verify_audit`` finds every row rewritten,
removed, reordered or back-dated by someone who went around the triggers.  SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from leiosurv.registry import Registry

N = 6


def _fill(reg, n: int = N) -> None:
    for i in range(n):
        reg.audit(username=f"u{i}", role="clinician", action="read", resource=f"GET /patients/{{pseudonym}} {i}",
                  patient=f"P{i}", remote_addr="10.0.0.1", patients=[f"P{i}", "P9"] if i % 2 else None)


def _raw(reg, sql: str, **params) -> None:
    with reg.engine.begin() as c:
        c.execute(sa.text(sql), params)


def _last(reg):
    from leiosurv.registry import _tables as T

    a = T.audit_event
    with reg.engine.connect() as c:
        r = c.execute(sa.select(a.c.id, a.c.row_hash, a.c.at).order_by(a.c.id.desc()).limit(1)).one()
    return SimpleNamespace(id=r.id, row_hash=r.row_hash, at=r.at if r.at.tzinfo else r.at.replace(tzinfo=dt.UTC))


def _bypass(reg):
    """A connection on which the append-only triggers do not fire (what an attacker with the database does)."""
    c = reg.engine.connect()
    if reg.dialect == "sqlite":
        for t in ("no_update", "no_delete", "chain"):
            c.exec_driver_sql(f"DROP TRIGGER trg_audit_event_{t}")
    else:
        c.exec_driver_sql("SET session_replication_role = replica")
    return c


def test_the_chain_holds_and_times_are_utc(reg):
    _fill(reg)
    check = reg.verify_audit()
    assert check.intact and check.rows == N and check.head == _last(reg).row_hash
    ev = reg.audit_events()
    assert [e.id for e in ev] == list(range(N, 0, -1))
    assert all(e.at.tzinfo is not None and e.at.utcoffset() == dt.timedelta(0) for e in ev)
    assert ev[0].patients == ["P5", "P9"] and ev[1].patients == []


def test_an_empty_trail_verifies(reg):
    check = reg.verify_audit()
    assert check.intact and check.rows == 0 and check.head == "0" * 64


@pytest.mark.parametrize("how", ["replace_row_1", "taken_id", "auto_id", "wrong_prev", "back_dated", "before_last",
                                 "future"])
def test_the_database_refuses_rows_that_do_not_extend_the_chain(reg, how):
    _fill(reg)
    last = _last(reg)
    now = dt.datetime.now(dt.UTC)
    at = {"back_dated": now - dt.timedelta(days=1), "future": now + dt.timedelta(hours=1),
          "before_last": last.at - dt.timedelta(microseconds=1)}.get(how, now)
    params = {"id": last.id + 1, "at": at, "prev": last.row_hash, "h": "f" * 64}
    if how in ("replace_row_1", "taken_id"):
        params["id"] = 1
    if how == "wrong_prev":
        params["prev"] = "0" * 64
    cols = "at, action, resource, outcome, prev_hash, row_hash"
    vals = ":at, 'read', 'forged', 'ok', :prev, :h"
    if how == "auto_id":
        sql = f"INSERT INTO audit_event ({cols}) VALUES ({vals})"
    elif how == "replace_row_1":
        sql = (f"REPLACE INTO audit_event (id, {cols}) VALUES (:id, {vals})" if reg.dialect == "sqlite" else
               f"INSERT INTO audit_event (id, {cols}) VALUES (:id, {vals}) ON CONFLICT (id) DO UPDATE "
               "SET resource = excluded.resource")
    else:
        sql = f"INSERT INTO audit_event (id, {cols}) VALUES (:id, {vals})"
    if reg.dialect == "sqlite":  # SQLite stores times as text; SQLAlchemy writes them this way
        params["at"] = params["at"].astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        _raw(reg, sql, **params)
    check = reg.verify_audit()
    assert check.intact and check.rows == N
    assert reg.audit_events(limit=N)[-1].resource.endswith(" 0")  # row 1 is still the first row written


def test_a_row_that_extends_the_chain_is_accepted_by_hand_too(reg):
    """The trigger is not a blanket refusal: the next id, the last hash and the current time pass."""
    from leiosurv.registry._access import audit_row_hash

    _fill(reg, 2)
    last = _last(reg)
    row = dict(id=last.id + 1, at=dt.datetime.now(dt.UTC), username=None, role=None, action="admin",
               resource="by hand", patient=None, patients=None, remote_addr=None, outcome="ok")
    h = audit_row_hash(last.row_hash, SimpleNamespace(**row))
    from leiosurv.registry import _tables as T

    with reg.engine.begin() as c:
        c.execute(sa.insert(T.audit_event).values(**row, prev_hash=last.row_hash, row_hash=h))
    assert reg.verify_audit().intact and reg.verify_audit().rows == 3


def _rewrite(c, dialect):
    c.exec_driver_sql("UPDATE audit_event SET username = 'mallory' WHERE id = 3")


def _delete(c, dialect):
    c.exec_driver_sql("DELETE FROM audit_event WHERE id = 3")


def _reorder(c, dialect):
    for a, b in ((3, 1000), (4, 3), (1000, 4)):
        c.exec_driver_sql(f"UPDATE audit_event SET id = {b} WHERE id = {a}")


def _back_date(c, dialect):
    shift = ("at = datetime(at, '-1 day')" if dialect == "sqlite" else "at = at - interval '1 day'")
    c.exec_driver_sql(f"UPDATE audit_event SET {shift} WHERE id = 3")


def _back_date_and_rehash(c, dialect):
    """The attacker knows the hash and recomputes the chain from the row they back-dated."""
    from leiosurv.registry import _tables as T
    from leiosurv.registry._access import GENESIS, audit_row_hash

    _back_date(c, dialect)
    prev = GENESIS
    for r in c.execute(sa.select(T.audit_event).order_by(T.audit_event.c.id)).all():
        h = audit_row_hash(prev, r)
        c.execute(sa.update(T.audit_event).where(T.audit_event.c.id == r.id).values(prev_hash=prev, row_hash=h))
        prev = h


TAMPER = {
    "rewrite": (_rewrite, r"row 3: its content does not give its hash"),
    "delete": (_delete, r"row 4: does not follow the row before it"),
    "reorder": (_reorder, r"row 3: does not follow the row before it|row 3: its content does not give its hash"),
    "back_date": (_back_date, r"row 3: its content does not give its hash"),
    "back_date_and_rehash": (_back_date_and_rehash, r"row 3: dated before the row before it"),
}


@pytest.mark.parametrize("tamper", list(TAMPER))
def test_verify_finds_every_tampering(reg, tamper):
    _fill(reg)
    assert reg.verify_audit().intact
    fn, message = TAMPER[tamper]
    c = _bypass(reg)
    try:
        fn(c, reg.dialect)
        c.commit()
    finally:
        c.close()
    reg.engine.dispose()  # the bypassing connection's settings never reach another test step
    check = reg.verify_audit()
    assert not check.intact
    assert any(re.match(message, p) for p in check.problems), check.problems


def test_removing_the_newest_rows_shows_in_the_count_and_head(reg):
    """The chain cannot tell a truncated trail from a shorter one: the count and head printed by
    ``verify-audit`` are what a copy kept elsewhere is compared with."""
    _fill(reg)
    before = reg.verify_audit()
    c = _bypass(reg)
    c.exec_driver_sql(f"DELETE FROM audit_event WHERE id = {N}")
    c.commit()
    c.close()
    reg.engine.dispose()
    after = reg.verify_audit()
    assert after.intact and (after.rows, after.head) != (before.rows, before.head)


def test_migration_0010_seals_existing_rows_and_goes_back(db_url):
    from alembic import command

    from leiosurv.registry import make_engine, upgrade
    from leiosurv.registry._db import _alembic_config

    eng = make_engine(db_url)
    upgrade(eng, "0006")
    with eng.begin() as c:
        for i in range(3):
            c.execute(sa.text("INSERT INTO audit_event (at, username, action, resource, outcome) "
                              "VALUES (:at, :u, 'read', 'old', 'ok')"),
                      {"at": dt.datetime(2026, 11, 30, 12, 0, i, 5, tzinfo=dt.UTC), "u": f"old{i}"})
        c.execute(sa.text("INSERT INTO app_user (username, password_hash, role, active, created) "
                          "VALUES ('alice', '$argon2id$x', 'admin', true, :at)"), {"at": dt.datetime.now(dt.UTC)})
    upgrade(eng)
    reg = Registry(db_url)
    check = reg.verify_audit()
    assert check.intact and check.rows == 3
    reg.audit(username="new", role=None, action="login", resource="login")
    assert reg.verify_audit().intact and reg.verify_audit().rows == 4
    assert reg.get_user("alice").session_epoch == 0
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        _raw(reg, "UPDATE audit_event SET username = 'x' WHERE id = 1")  # still append-only after the seal
    reg.close()
    with eng.begin() as c:
        command.downgrade(_alembic_config(c), "0006")
    insp = sa.inspect(eng)
    assert {c["name"] for c in insp.get_columns("audit_event")} >= {"id", "at", "username"}
    assert "row_hash" not in {c["name"] for c in insp.get_columns("audit_event")}
    assert "session_epoch" not in {c["name"] for c in insp.get_columns("app_user")}
    assert "login_throttle" not in insp.get_table_names()
    with eng.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one() == 4
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), eng.begin() as c:
        c.execute(sa.text("DELETE FROM audit_event"))
    upgrade(eng)  # and up again: the four rows are sealed anew
    reg = Registry(db_url)
    assert reg.verify_audit().intact and reg.verify_audit().rows == 4
    reg.close()
    eng.dispose()


def test_session_epoch_is_bumped_by_deactivation_role_password_and_sign_out(reg):
    h = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
    reg.add_user("alice", h, "clinician")
    assert reg.get_user("alice").session_epoch == 0
    assert reg.set_user("alice", active=True).session_epoch == 0  # nothing that ends sessions
    assert reg.set_user("alice", role="clinician").session_epoch == 0  # the same role
    assert reg.set_user("alice", active=False).session_epoch == 1
    assert reg.set_user("alice", active=True).session_epoch == 1  # re-enabling does not revive old sessions
    assert reg.set_user("alice", role="researcher").session_epoch == 2
    assert reg.set_user("alice", password_hash=h).session_epoch == 3
    assert reg.set_user("alice", end_sessions=True).session_epoch == 4


def test_login_failures_count_in_a_window_and_clear(reg):
    t0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    w, forget = dt.timedelta(minutes=15), dt.timedelta(days=1)
    for i in range(3):
        reg.login_failure(["a", "b"], now=t0 + dt.timedelta(seconds=i), window=w, forget=forget)
    f = reg.login_failures(["a", "b", "c"])
    assert set(f) == {"a", "b"} and f["a"][0] == 3 and f["a"][1] == t0 and f["a"][2] == t0 + dt.timedelta(seconds=2)
    # one second inside the window: counted on; one microsecond past it: starts again
    reg.login_failure(["a"], now=t0 + w, window=w, forget=forget)
    assert reg.login_failures(["a"])["a"][0] == 4
    reg.login_failure(["b"], now=t0 + w + dt.timedelta(microseconds=1), window=w, forget=forget)
    assert reg.login_failures(["b"])["b"][:2] == (1, t0 + w + dt.timedelta(microseconds=1))
    reg.login_clear(["a"])
    assert set(reg.login_failures(["a", "b"])) == {"b"}
    reg.login_failure(["c"], now=t0 + 2 * forget, window=w, forget=forget)  # idle counts are forgotten
    assert set(reg.login_failures(["a", "b", "c"])) == {"c"}
