"""Who may use the registry, and the record of every look at it.

* users of the web app (username, argon2 hash computed by the caller, role, active);
* the append-only audit trail: one row per read or write of patient data, login,
  export or administrative act (who, what, when in UTC, from where, outcome, and the
  pseudonyms a list showed).  The database refuses UPDATE and DELETE on it
  (triggers of migration 0003); each row holds the SHA-256 of the row before it and
  of its own canonical content (:func:`audit_row_hash`), and a trigger (migration
  0010) refuses a row that does not take the next id, the last hash and the current
  time, so :func:`verify_audit` finds any row rewritten, removed, reordered or
  back-dated by someone who went around the triggers;
* sign-in throttling counters (:func:`login_failure`), shared by every server process;
* :func:`find_patients` — the patient list with search, for the clinic's screens.

Passwords never reach this module: it stores the hash it is given.  Identifying
data (name, birth date) is returned only by :func:`find_patients` with
``identified=True``; the caller decides who may see it and audits the read.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leiosurv.exceptions import InputError, NotFoundError
from leiosurv.registry import _repo
from leiosurv.registry import _tables as T
from leiosurv.registry._records import OUT

__all__ = ["User", "AuditEvent", "AuditCheck", "PatientSummary", "add_user", "get_user", "list_users", "set_user",
           "append_audit", "audit_events", "audit_row_hash", "verify_audit", "last_write", "login_failures",
           "login_failure", "login_clear", "find_patients", "patient_exists", "MissedEncounter",
           "missed_encounters", "GENESIS"]

GENESIS = "0" * 64  # the "previous hash" of the first row of the audit trail


@dataclass(frozen=True)
class User:
    """A user of the web app (the hash stays in the database layer's callers)."""

    username: str
    role: str
    active: bool
    created: _dt.datetime
    password_hash: str
    session_epoch: int = 0  # a session names the epoch it was issued in; bumping it ends the older ones


@dataclass(frozen=True)
class AuditEvent:
    """One row of the audit trail."""

    __pydantic_config__ = OUT  # as the web API's schema: every field in every answer
    id: int
    at: _dt.datetime
    username: str | None
    role: str | None
    action: str
    resource: str
    patient: str | None
    remote_addr: str | None
    outcome: str
    patients: list[str] = field(default_factory=list)
    row_hash: str | None = None


@dataclass(frozen=True)
class AuditCheck:
    """The result of :func:`verify_audit`: how many rows, the hash of the last one, what is wrong."""

    rows: int
    head: str
    problems: list[str]

    @property
    def intact(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class PatientSummary:
    """One line of the patient list (identity only when asked for)."""

    __pydantic_config__ = OUT  # as the web API's schema: every field in every answer
    pseudonym: str
    sex: str
    synthetic: bool
    n_tumours: int
    first_diagnosis: _dt.date | None
    deceased: bool
    name: str | None = None
    birth_date: _dt.date | None = None


def _aware(t: _dt.datetime) -> _dt.datetime:
    """*t* as a UTC-aware time (SQLite gives back naive UTC times)."""
    return t.replace(tzinfo=_dt.UTC) if t.tzinfo is None else t


def _user(r) -> User:
    return User(r.username, r.role, bool(r.active), _aware(r.created), r.password_hash, int(r.session_epoch))


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
             role: str | None = None, end_sessions: bool = False) -> User:
    """Change a user's active flag, password hash or role; returns the user as changed.

    Deactivation, a new role, a new password and *end_sessions* (sign-out) bump the
    user's session epoch: every session issued before ends, and stays ended when the
    account is re-enabled or given its old role back.
    """
    if role is not None and role not in T.ROLES:
        raise InputError(f"role: must be one of {', '.join(T.ROLES)} (got {str(role)[:40]!r})")
    u = get_user(conn, username)
    if u is None:
        raise NotFoundError(f"user {username!r}: does not exist")
    vals: dict = {}
    if active is not None:
        vals["active"] = bool(active)
    if password_hash is not None:
        vals["password_hash"] = password_hash
    if role is not None:
        vals["role"] = role
    if end_sessions or active is False or password_hash is not None or (role is not None and role != u.role):
        vals["session_epoch"] = T.app_user.c.session_epoch + 1
    if vals:
        with _repo.translate_errors(f"user {username!r}"):
            conn.execute(sa.update(T.app_user).where(T.app_user.c.username == username).values(**vals))
    return get_user(conn, username)  # type: ignore[return-value]


def _at(t: _dt.datetime) -> str:
    return _aware(t).astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def audit_row_hash(prev: str, r) -> str:
    """SHA-256 of the previous row's hash and the canonical content of row *r* (every column but the hashes).

    The canonical content is the JSON list of id, time (UTC, microseconds, ``Z``), username, role,
    action, resource, patient, patients, remote address and outcome.  Migration 0010 holds a frozen
    copy of this function (it sealed the rows that existed then): change both or neither.
    """
    content = json.dumps([r.id, _at(r.at), r.username, r.role, r.action, r.resource, r.patient, r.patients,
                          r.remote_addr, r.outcome], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev + "\n" + content).encode()).hexdigest()


def _lock_audit(conn: Connection) -> None:
    """Take the audit trail's write lock for this transaction, so two writers never chain onto the same row."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('leiosurv.audit_event'))"))
    elif not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # SQLite: the write lock before reading the last row


def append_audit(conn: Connection, *, username: str | None, role: str | None, action: str, resource: str,
                 patient: str | None = None, remote_addr: str | None = None, outcome: str = "ok",
                 patients: list[str] | None = None) -> None:
    """Append one row to the audit trail (the only write the trail accepts), chained onto the last row."""
    a = T.audit_event
    _lock_audit(conn)
    last = conn.execute(sa.select(a.c.id, a.c.row_hash, a.c.at).order_by(a.c.id.desc()).limit(1)).first()
    now = _dt.datetime.now(_dt.UTC)
    if last is not None and _aware(last.at) > now:  # never before the last row (a clock stepped back)
        now = _aware(last.at)
    row = dict(id=(last.id if last else 0) + 1, at=now, username=username, role=role, action=action,
               resource=resource[:500], patient=patient, patients=",".join(patients) if patients is not None else None,
               remote_addr=(remote_addr or "")[:64] or None, outcome=outcome)
    prev = (last.row_hash or GENESIS) if last else GENESIS
    conn.execute(sa.insert(a).values(**row, prev_hash=prev, row_hash=audit_row_hash(prev, SimpleNamespace(**row))))


def _event(r) -> AuditEvent:
    return AuditEvent(r.id, _aware(r.at), r.username, r.role, r.action, r.resource, r.patient,
                      r.remote_addr, r.outcome, r.patients.split(",") if r.patients else [], r.row_hash)


def verify_audit(conn: Connection, *, batch: int = 5000) -> AuditCheck:
    """Walk the audit trail in id order and check every link of the hash chain.

    A problem is reported for a row whose content no longer gives its stored hash
    (rewritten, or its time or id changed: back-dated, reordered), a row that does not
    name the hash of the row before it (a row removed or inserted before it, or rows
    reordered), and a row whose time is before the previous row's.  Removing rows from
    the end leaves a shorter intact chain: compare the number of rows and the head hash
    with a value kept elsewhere (``leiosurv users verify-audit`` prints them).
    """
    a = T.audit_event
    problems: list[str] = []
    prev, prev_at, n, after = GENESIS, None, 0, None
    while True:
        q = sa.select(a).order_by(a.c.id).limit(batch)
        if after is not None:
            q = q.where(a.c.id > after)
        rows = conn.execute(q).all()
        if not rows:
            break
        for r in rows:
            n += 1
            at = _aware(r.at)
            if r.prev_hash != prev:
                problems.append(f"row {r.id}: does not follow the row before it (a row removed, inserted or "
                                "moved before it)")
            if r.row_hash != audit_row_hash(r.prev_hash or GENESIS, r):
                problems.append(f"row {r.id}: its content does not give its hash (changed after it was written)")
            if prev_at is not None and at < prev_at:
                problems.append(f"row {r.id}: dated before the row before it (back-dated)")
            prev, prev_at, after = r.row_hash or "", at, r.id
    return AuditCheck(n, prev, problems)


def last_write(conn: Connection) -> int:
    """The id of the newest audited write (0: none): changes whenever any server process writes."""
    a = T.audit_event
    return conn.execute(sa.select(sa.func.coalesce(sa.func.max(a.c.id), 0)).where(a.c.action == "write")).scalar_one()


def login_failures(conn: Connection, keys: list[str]) -> dict[str, tuple[int, _dt.datetime, _dt.datetime]]:
    """The failed sign-ins recorded under *keys*: ``{key: (failures, first, last)}`` (UTC)."""
    t = T.login_throttle
    return {r.key: (r.failures, _aware(r.first_at), _aware(r.last_at))
            for r in conn.execute(sa.select(t).where(t.c.key.in_(keys)))}


def login_failure(conn: Connection, keys: list[str], *, now: _dt.datetime, window: _dt.timedelta,
                  forget: _dt.timedelta) -> None:
    """Count one failed sign-in under each of *keys* (a count older than *window* starts again at 1);
    counts idle for longer than *forget* are removed."""
    t = T.login_throttle
    from sqlalchemy.dialects import postgresql, sqlite

    insert: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    ts = sa.DateTime(timezone=True)
    stale = t.c.first_at < sa.literal(now - window, ts)
    for key in keys:
        ins = insert(t).values(key=key[:200], failures=1, first_at=now, last_at=now)
        conn.execute(ins.on_conflict_do_update(index_elements=[t.c.key], set_={
            "failures": sa.case((stale, 1), else_=t.c.failures + 1),
            "first_at": sa.case((stale, sa.literal(now, ts)), else_=t.c.first_at),
            "last_at": now}))
    conn.execute(sa.delete(t).where(t.c.last_at < now - forget))


#: the window in which requests without a session from one address are counted, not audited one by one
ANONYMOUS_WINDOW = _dt.timedelta(minutes=1)
_EPOCH = _dt.datetime(2000, 1, 1, tzinfo=_dt.UTC)


def window_start(now: _dt.datetime, window: _dt.timedelta = ANONYMOUS_WINDOW) -> _dt.datetime:
    """The start of the window holding *now* (UTC; windows follow each other from 2000-01-01 00:00)."""
    t = _aware(now)
    return t - (t - _EPOCH) % window


def anonymous_attempt(conn: Connection, *, address: str | None, action: str, resource: str, patient: str | None,
                      now: _dt.datetime, window: _dt.timedelta = ANONYMOUS_WINDOW) -> int:
    """Count one request without a session on a patient URL; audit it if it is the first of its window.

    Per client address, window (:func:`window_start`) and *action*, the first request is audited at once (who:
    nobody; *resource*, *patient*, address, outcome ``denied``), the others only raise the count in
    ``anonymous_attempt``.  Windows that are over are closed first (:func:`close_anonymous_windows`), all in
    this transaction.  Returns the request's number in its window (1: audited one by one).
    """
    from sqlalchemy.dialects import postgresql, sqlite

    t = T.anonymous_attempt
    start = window_start(now, window)
    if conn.dialect.name == "sqlite":
        _lock_audit(conn)  # SQLite: the write lock first, as every audit writer takes it
    close_anonymous_windows(conn, now=now, window=window)
    insert: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    ins = insert(t).values(address=(address or "")[:64], window_start=start, action=action, attempts=1)
    n = conn.execute(ins.on_conflict_do_update(index_elements=[t.c.address, t.c.window_start, t.c.action],
                                               set_={"attempts": t.c.attempts + 1}).returning(t.c.attempts)
                     ).scalar_one()
    if n == 1:
        append_audit(conn, username=None, role=None, action=action, resource=resource, patient=patient,
                     remote_addr=address, outcome="denied")
    return int(n)


def close_anonymous_windows(conn: Connection, *, now: _dt.datetime,
                            window: _dt.timedelta = ANONYMOUS_WINDOW) -> int:
    """Move the counts of windows that are over to the audit trail: one row per address, window and action
    whose count is above 1, saying how many requests followed the one audited; the counts are removed in the
    same transaction (taken with ``DELETE ... RETURNING``, so two server processes never write one twice).
    Returns the number of audit rows written."""
    t = T.anonymous_attempt
    if conn.dialect.name == "sqlite":
        _lock_audit(conn)
    done = conn.execute(sa.delete(t).where(t.c.window_start < window_start(now, window))
                        .returning(t.c.address, t.c.window_start, t.c.action, t.c.attempts)).all()
    rows = sorted((r for r in done if r.attempts > 1), key=lambda r: (_aware(r.window_start), r.address, r.action))
    for r in rows:
        start = _aware(r.window_start)
        more = r.attempts - 1
        append_audit(conn, username=None, role=None, action=r.action,
                     resource=(f"{more} more request{'s' if more != 1 else ''} without a session on patient URLs "
                               f"({r.attempts} in all) in the window {start:%Y-%m-%dT%H:%M:%S}Z to "
                               f"{start + window:%Y-%m-%dT%H:%M:%S}Z"),
                     remote_addr=r.address or None, outcome="denied")
    return len(rows)


def login_clear(conn: Connection, keys: list[str]) -> None:
    """Forget the failed sign-ins under *keys* (after a successful sign-in)."""
    conn.execute(sa.delete(T.login_throttle).where(T.login_throttle.c.key.in_(keys)))


def audit_events(conn: Connection, *, limit: int = 200, offset: int = 0, patient: str | None = None,
                 username: str | None = None) -> list[AuditEvent]:
    """The audit trail, newest first."""
    a = T.audit_event
    q = sa.select(a).order_by(a.c.id.desc()).limit(limit).offset(offset)
    if patient is not None:
        q = q.where(a.c.patient == patient)
    if username is not None:
        q = q.where(a.c.username == username)
    return [_event(r) for r in conn.execute(q)]


def find_patients(conn: Connection, query: str = "", *, limit: int = 50, offset: int = 0,
                  identified: bool = False, synthetic: bool | None = None) -> tuple[int, list[PatientSummary]]:
    """Patients whose pseudonym (or, with *identified*, name or birth date) contains *query*; (total, page).

    Published and other real cases first, then synthetic ones, each in natural order of
    pseudonym (``SYN-1-2`` before ``SYN-1-10``): the stored key ``patient.sort_key``
    (:func:`leiosurv.registry._db.natural_key`), read in the order of the index ``ix_patient_sort``.
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
    key = p.c.sort_key
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
