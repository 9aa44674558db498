"""Who may use the registry, and the record of every look at it.

* users of the web app (username, argon2 hash computed by the caller, role, active);
* the append-only audit trail: one row per read or write of patient data, login,
  export or administrative act (who, what, when, from where, outcome).  The
  database refuses UPDATE and DELETE on it (triggers of migration 0003);
* :func:`find_patients` — the patient list with search, for the clinic's screens.

Passwords never reach this module: it stores the hash it is given.  Identifying
data (name, birth date) is returned only by :func:`find_patients` with
``identified=True``; the caller decides who may see it and audits the read.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leiosurv.exceptions import InputError, NotFoundError
from leiosurv.registry import _repo
from leiosurv.registry import _tables as T

__all__ = ["User", "AuditEvent", "PatientSummary", "add_user", "get_user", "list_users", "set_user",
           "append_audit", "audit_events", "find_patients", "patient_exists", "MissedEncounter",
           "missed_encounters"]


@dataclass(frozen=True)
class User:
    """A user of the web app (the hash stays in the database layer's callers)."""

    username: str
    role: str
    active: bool
    created: _dt.datetime
    password_hash: str
    sessions_after: _dt.datetime | None = None  # sessions issued before this (UTC) are void (sign-out)


@dataclass(frozen=True)
class AuditEvent:
    """One row of the audit trail."""

    id: int
    at: _dt.datetime
    username: str | None
    role: str | None
    action: str
    resource: str
    patient: str | None
    remote_addr: str | None
    outcome: str


@dataclass(frozen=True)
class PatientSummary:
    """One line of the patient list (identity only when asked for)."""

    pseudonym: str
    sex: str
    synthetic: bool
    n_tumours: int
    first_diagnosis: _dt.date | None
    deceased: bool
    name: str | None = None
    birth_date: _dt.date | None = None


def _utc(t: _dt.datetime | None) -> _dt.datetime | None:
    return t.replace(tzinfo=_dt.UTC) if t is not None and t.tzinfo is None else t


def _user(r) -> User:
    return User(r.username, r.role, bool(r.active), _utc(r.created), r.password_hash, _utc(r.sessions_after))


def add_user(conn: Connection, username: str, password_hash: str, role: str) -> User:
    """Create a user; the username must be new."""
    if not isinstance(username, str) or not username.strip() or len(username) > 64:
        raise InputError("username: 1 to 64 characters")
    if role not in T.ROLES:
        raise InputError(f"role: must be one of {', '.join(T.ROLES)} (got {str(role)[:40]!r})")
    now = _dt.datetime.now(_dt.UTC)
    _repo.insert(conn, T.app_user, f"user {username!r}", username=username, password_hash=password_hash,
                 role=role, active=True, created=now)
    return User(username, role, True, now, password_hash)


def get_user(conn: Connection, username: str) -> User | None:
    """The user *username*, or None."""
    r = conn.execute(sa.select(T.app_user).where(T.app_user.c.username == username)).first()
    return _user(r) if r else None


def list_users(conn: Connection) -> list[User]:
    """Every user, by name."""
    return [_user(r) for r in conn.execute(sa.select(T.app_user).order_by(T.app_user.c.username))]


def set_user(conn: Connection, username: str, *, active: bool | None = None, password_hash: str | None = None,
             role: str | None = None, sessions_after: _dt.datetime | None = None) -> None:
    """Change a user's active flag, password hash, role, or void the sessions issued before *sessions_after*."""
    vals: dict = {}
    if sessions_after is not None:
        vals["sessions_after"] = sessions_after
    if active is not None:
        vals["active"] = bool(active)
    if password_hash is not None:
        vals["password_hash"] = password_hash
    if role is not None:
        if role not in T.ROLES:
            raise InputError(f"role: must be one of {', '.join(T.ROLES)} (got {str(role)[:40]!r})")
        vals["role"] = role
    if not vals:
        if get_user(conn, username) is None:
            raise NotFoundError(f"user {username!r}: does not exist")
        return
    with _repo.translate_errors(f"user {username!r}"):
        n = conn.execute(sa.update(T.app_user).where(T.app_user.c.username == username).values(**vals)).rowcount
    if not n:
        raise NotFoundError(f"user {username!r}: does not exist")


def append_audit(conn: Connection, *, username: str | None, role: str | None, action: str, resource: str,
                 patient: str | None = None, remote_addr: str | None = None, outcome: str = "ok") -> None:
    """Append one row to the audit trail (the only write the trail accepts)."""
    conn.execute(sa.insert(T.audit_event).values(
        at=_dt.datetime.now(_dt.UTC), username=username, role=role, action=action, resource=resource[:500],
        patient=patient, remote_addr=(remote_addr or "")[:64] or None, outcome=outcome))


def audit_events(conn: Connection, *, limit: int = 200, offset: int = 0, patient: str | None = None,
                 username: str | None = None) -> list[AuditEvent]:
    """The audit trail, newest first."""
    a = T.audit_event
    q = sa.select(a).order_by(a.c.id.desc()).limit(limit).offset(offset)
    if patient is not None:
        q = q.where(a.c.patient == patient)
    if username is not None:
        q = q.where(a.c.username == username)
    return [AuditEvent(r.id, r.at, r.username, r.role, r.action, r.resource, r.patient, r.remote_addr, r.outcome)
            for r in conn.execute(q)]


def natural_order(conn: Connection, col):
    """SQL text whose order is the natural order of *col* (runs of digits compared as numbers).

    SQLite: the function ``leiosurv_natural`` (``registry._db.natural_text``, registered on every
    connection); PostgreSQL: the same padding with ``regexp_replace`` (each run of digits prefixed with
    zeros, then cut to its last ``NATURAL_DIGITS`` digits unless it was longer).
    """
    from leiosurv.registry._db import NATURAL_DIGITS

    if conn.dialect.name == "sqlite":
        return sa.func.leiosurv_natural(col)
    padded = sa.func.regexp_replace(col, r"(\d+)", "0" * NATURAL_DIGITS + r"\1", "g")
    return sa.func.regexp_replace(padded, rf"0*(\d{{{NATURAL_DIGITS}}})", r"\1", "g")


def find_patients(conn: Connection, query: str = "", *, limit: int = 50, offset: int = 0,
                  identified: bool = False, synthetic: bool | None = None) -> tuple[int, list[PatientSummary]]:
    """Patients whose pseudonym (or, with *identified*, name or birth date) contains *query*; (total, page).

    Published and other real cases first, then synthetic ones, each in natural order of
    pseudonym (:func:`natural_order`: ``SYN-1-2`` before ``SYN-1-10``).
    """
    p, i, t, e = T.patient, T.patient_identity, T.tumour, T.event
    q = (query or "").strip().lower()[:64]
    esc = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = "%" + esc + "%"
    cond = [sa.func.lower(p.c.pseudonym).like(like, escape="\\")]
    if identified:
        cond.append(sa.func.lower(sa.func.coalesce(i.c.name, "")).like(like, escape="\\"))
        cond.append(sa.cast(i.c.birth_date, sa.String).like(like, escape="\\"))  # ISO: 1958, 1958-04, 1958-04-12
    base = p.outerjoin(i, i.c.patient_id == p.c.id)
    where = [sa.or_(*cond)] if q else []
    if synthetic is not None:
        where.append(p.c.synthetic == synthetic)
    total = conn.execute(sa.select(sa.func.count()).select_from(base).where(*where)).scalar_one()
    key = natural_order(conn, sa.func.lower(p.c.pseudonym))
    ids = (sa.select(p.c.id, p.c.pseudonym, p.c.sex, p.c.synthetic, i.c.name, i.c.birth_date, key.label("k"))
           .select_from(base).where(*where).order_by(p.c.synthetic, key, p.c.pseudonym).limit(limit).offset(offset)
           .subquery())
    ntum = sa.select(sa.func.count()).where(t.c.patient_id == ids.c.id).scalar_subquery()
    first = sa.select(sa.func.min(t.c.diagnosis_date)).where(t.c.patient_id == ids.c.id).scalar_subquery()
    dead = sa.exists().where(e.c.patient_id == ids.c.id, e.c.kind == "death")
    rows = conn.execute(sa.select(ids, ntum.label("n"), first.label("first"), dead.label("dead"))
                        .order_by(ids.c.synthetic, ids.c.k, ids.c.pseudonym)).all()
    return total, [PatientSummary(r.pseudonym, r.sex, bool(r.synthetic), r.n, r.first, bool(r.dead),
                                  r.name if identified else None, r.birth_date if identified else None)
                   for r in rows]


def identities(conn: Connection, pseudonyms: list[str]) -> dict[str, tuple[str | None, _dt.date | None]]:
    """Name and birth date of each registered pseudonym of *pseudonyms* (for clinicians' lists)."""
    p, i = T.patient, T.patient_identity
    out: dict[str, tuple[str | None, _dt.date | None]] = {}
    wanted = sorted(set(pseudonyms))
    for k in range(0, len(wanted), 500):
        q = (sa.select(p.c.pseudonym, i.c.name, i.c.birth_date).select_from(p.outerjoin(i, i.c.patient_id == p.c.id))
             .where(p.c.pseudonym.in_(wanted[k:k + 500])))
        out.update({r.pseudonym: (r.name, r.birth_date) for r in conn.execute(q)})
    return out


def patient_exists(conn: Connection, pseudonym: str) -> bool:
    """Whether *pseudonym* is registered."""
    try:
        _repo.patient_id(conn, pseudonym)
    except NotFoundError:
        return False
    return True


@dataclass(frozen=True)
class MissedEncounter:
    """A planned encounter recorded as missed."""

    patient: str
    tumour: str | None
    plan_item: str | None
    kind: str
    due: _dt.date | None
    reason: str | None
    synthetic: bool


def missed_encounters(conn: Connection, since: _dt.date, *, limit: int = 100) -> list[MissedEncounter]:
    """Planned encounters marked missed whose due date is on or after *since*, latest first."""
    e, p, t = T.encounter, T.patient, T.tumour
    q = (sa.select(p.c.pseudonym, t.c.label, e.c.plan_item, e.c.kind, e.c.due, e.c.status_reason, p.c.synthetic)
         .select_from(e.join(p, p.c.id == e.c.patient_id).outerjoin(t, t.c.id == e.c.tumour_id))
         .where(e.c.status == "missed", e.c.due >= since).order_by(e.c.due.desc(), p.c.pseudonym).limit(limit))
    return [MissedEncounter(r.pseudonym, r.label, r.plan_item, r.kind, r.due, r.status_reason, bool(r.synthetic))
            for r in conn.execute(q)]
