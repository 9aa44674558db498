"""Users, the append-only audit trail and patient search, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from leiosurv.exceptions import InputError, IntegrityError

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


def test_users_are_unique_and_roles_checked(reg):
    u = reg.add_user("alice", HASH, "clinician")
    assert (u.username, u.role, u.active) == ("alice", "clinician", True)
    with pytest.raises(IntegrityError, match="already exists"):
        reg.add_user("alice", HASH, "admin")
    with pytest.raises(InputError, match="role: must be one of clinician, researcher, admin"):
        reg.add_user("bob", HASH, "superuser")
    reg.set_user("alice", active=False)
    assert reg.get_user("alice").active is False
    assert reg.get_user("nobody") is None
    with reg.engine.begin() as c, pytest.raises(sa.exc.IntegrityError):  # only argon2 hashes, never a password
        c.exec_driver_sql("INSERT INTO app_user (username, password_hash, role, active, created) "
                          "VALUES ('eve', 'plain-password', 'admin', true, CURRENT_TIMESTAMP)")


def test_audit_trail_is_append_only_in_the_database(reg):
    reg.audit(username="alice", role="clinician", action="read", resource="GET /patients/{pseudonym}",
              patient="P1", remote_addr="127.0.0.1")
    reg.audit(username=None, role=None, action="login", resource="POST /login", outcome="failed")
    ev = reg.audit_events()
    assert [e.action for e in ev] == ["login", "read"]
    assert ev[1].patient == "P1" and ev[1].remote_addr == "127.0.0.1" and ev[1].outcome == "ok"
    for sql in ("UPDATE audit_event SET username = 'mallory'", "DELETE FROM audit_event"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with reg.engine.begin() as c:
                c.exec_driver_sql(sql)
    if reg.dialect == "postgresql":
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with reg.engine.begin() as c:
                c.exec_driver_sql("TRUNCATE audit_event")
    assert len(reg.audit_events()) == 2
    assert [e.patient for e in reg.audit_events(patient="P1")] == ["P1"]


def test_find_patients_searches_pseudonym_and_identity_only_when_asked(reg):
    reg.add_patient("P-0001", sex="female", name="Karen Jensen", birth_date="1950-02-03")
    reg.add_patient("P-0002", sex="male")
    reg.add_patient("SYN-1-1", synthetic=True)
    reg.add_tumour("P-0001", "T1", {"excision_date": "2024-01-15", "depth": "dermal"}, as_of=dt.date(2024, 2, 1))
    total, rows = reg.find_patients("")
    assert total == 3 and [r.pseudonym for r in rows] == ["P-0001", "P-0002", "SYN-1-1"]
    assert rows[0].n_tumours == 1 and rows[0].first_diagnosis == dt.date(2024, 1, 15) and rows[0].name is None
    assert reg.find_patients("jensen")[0] == 0  # names are not searched without identified=True
    total, rows = reg.find_patients("jensen", identified=True)
    assert total == 1 and rows[0].name == "Karen Jensen" and rows[0].birth_date == dt.date(1950, 2, 3)
    assert reg.find_patients("%")[0] == 0  # LIKE wildcards are literal
    assert reg.find_patients("", synthetic=True)[0] == 1
    assert [r.pseudonym for r in reg.find_patients("", limit=1, offset=1)[1]] == ["P-0002"]


def test_changing_a_missing_user_is_not_found(reg):
    from leiosurv.exceptions import NotFoundError

    for kwargs in ({}, {"active": False}):
        with pytest.raises(NotFoundError, match="user 'ghost': does not exist"):
            reg.set_user("ghost", **kwargs)
