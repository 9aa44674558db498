"""Charts from the database and back: load patients' charts, write what transitions changed, in batches.

The only writer of clinical rows (:mod:`leiosurv.registry._plan` decides what
they are).  :func:`load` reads the charts of some patients; :func:`save`
writes, for a list of ``(before, after)`` chart pairs, every row added (one
multi-row ``INSERT ... RETURNING`` per table, which gives the new ids in
order), changed (one ``executemany`` ``UPDATE`` per table) or voided (moved to
the history: a voided assessment's entry is its stored row whole, result
included), and the new history entries.  Nothing leaves the record without its
history entry: a row the new chart leaves out without an entry in its history,
and a delete that would cascade to a row not voided with it
(``_nothing_else_goes``), are refused.  A single-record command saves one
pair; the import saves a batch of pairs at a time.  Database refusals (a
constraint or trigger) become one-line :class:`~leiosurv.exceptions.IntegrityError`
messages (``_repo.translate_errors``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leiosurv.exceptions import RegistryError
from leiosurv.registry import _repo
from leiosurv.registry import _tables as T
from leiosurv.registry._db import natural_key
from leiosurv.registry._plan import (
    Assessment,
    Chart,
    Encounter,
    Event,
    Key,
    New,
    Observation,
    Patient,
    Treatment,
    Tumour,
)

__all__ = ["load", "load_one", "save", "record_json"]

_CHUNK = 500  # patients per IN (...) when loading


def _ids(rows: Iterable[Any]) -> list[int]:
    return [r.id for r in rows]


def load(conn: Connection, pseudonyms: Sequence[str], *, lock: bool = False,
         every_assessment: bool = False) -> dict[str, Chart]:
    """The charts of the registered patients among *pseudonyms* (others are left out).

    *lock*: on PostgreSQL, lock the patients' rows until the transaction ends (a concurrent writer of the same
    patient waits instead of overwriting).  *every_assessment*: the charts hold every assessment of each
    tumour, the earlier ones too (a tumour voided takes them all to the history), not only the current one.
    """
    out: dict[str, Chart] = {}
    for k in range(0, len(pseudonyms), _CHUNK):
        out.update(_load(conn, list(pseudonyms[k:k + _CHUNK]), lock, every_assessment))
    return out


def load_one(conn: Connection, pseudonym: str, *, lock: bool = True, every_assessment: bool = False) -> Chart:
    """The chart of *pseudonym* (NotFoundError if not registered)."""
    chart = load(conn, [pseudonym], lock=lock, every_assessment=every_assessment).get(pseudonym)
    if chart is None:
        _repo.patient_id(conn, pseudonym)  # raises NotFoundError
        raise AssertionError("unreachable")  # pragma: no cover
    return chart


def _load(conn: Connection, names: list[str], lock: bool, every_assessment: bool) -> dict[str, Chart]:
    p, pi, tu, a, tr, ev, ob, en = (T.patient, T.patient_identity, T.tumour, T.assessment, T.treatment, T.event,
                                    T.observation, T.encounter)
    q = sa.select(p).where(p.c.pseudonym.in_(names))
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    pats = {r.id: r for r in conn.execute(q)}
    if not pats:
        return {}
    pids = list(pats)
    by: dict[int, dict[str, list]] = {pid: {k: [] for k in ("t", "a", "tr", "ev", "ob", "en")} for pid in pids}
    bd = {r.patient_id: (r.name, r.birth_date) for r in conn.execute(
        sa.select(pi.c.patient_id, sa.null().label("name"), pi.c.birth_date).where(pi.c.patient_id.in_(pids)))}
    for r in conn.execute(sa.select(tu).where(tu.c.patient_id.in_(pids)).order_by(tu.c.id)):
        by[r.patient_id]["t"].append(Tumour(r.id, r.label, r.diagnosis_date, r.findings, r.site, r.depth,
                                            r.age_at_diagnosis, r.confirmed_diagnosis, r.necrosis, r.mitotic_grade,
                                            r.invasion, r.margins))
    qa = (sa.select(a.c.id, a.c.tumour_id, a.c.seq, a.c.assessed_on, a.c.reason, a.c.plan_basis, a.c.plan_start,
                    a.c.current, tu.c.patient_id).join_from(a, tu, tu.c.id == a.c.tumour_id)
          .where(tu.c.patient_id.in_(pids)).order_by(a.c.id))
    for r in conn.execute(qa if every_assessment else qa.where(a.c.current)):
        by[r.patient_id]["a"].append(Assessment(r.id, r.tumour_id, r.seq, r.assessed_on, r.reason, r.plan_basis,
                                                r.plan_start, bool(r.current)))
    for r in conn.execute(sa.select(tr).where(tr.c.patient_id.in_(pids)).order_by(tr.c.id)):
        by[r.patient_id]["tr"].append(Treatment(r.id, r.tumour_id, r.kind, r.date, r.end_date, r.margin_status,
                                                r.agent, r.note))
    for r in conn.execute(sa.select(ev).where(ev.c.patient_id.in_(pids)).order_by(ev.c.id)):
        by[r.patient_id]["ev"].append(Event(r.id, r.tumour_id, r.kind, r.date, r.site, r.cause, r.note))
    for r in conn.execute(sa.select(ob).where(ob.c.patient_id.in_(pids)).order_by(ob.c.id)):
        by[r.patient_id]["ob"].append(Observation(r.id, r.tumour_id, r.label, r.description, r.first_seen,
                                                  r.max_interval_days, r.site, r.status, r.closed_on))
    for r in conn.execute(sa.select(en).where(en.c.patient_id.in_(pids)).order_by(en.c.id)):
        by[r.patient_id]["en"].append(Encounter(
            r.id, r.tumour_id, r.origin, r.status, r.modality_class, r.kind, r.observation_id, r.assessment_id,
            r.plan_item, r.modality, r.provider, r.due, r.window_start, r.window_end, r.done_on, r.findings,
            r.status_reason))
    out = {}
    for pid, r in pats.items():
        b = by[pid]
        _name, birth = bd.get(pid, (None, None))
        out[r.pseudonym] = Chart(Patient(r.id, r.pseudonym, r.sex, bool(r.synthetic), r.note), None, birth,
                                 tuple(b["t"]), tuple(b["a"]), tuple(b["tr"]), tuple(b["ev"]), tuple(b["ob"]),
                                 tuple(b["en"]))
    return out


# --- writing -------------------------------------------------------------------------------------------------


class _Ids:
    """The database id of each key (a :class:`New` key gets one when its row is inserted)."""

    def __init__(self) -> None:
        self.new: dict[New, int] = {}

    def __call__(self, k: Key | None) -> int | None:
        if k is None or isinstance(k, int):
            return k
        return self.new[k]


def _values(row: Any, pid: int, ids: _Ids) -> dict:
    if isinstance(row, Tumour):
        return dict(patient_id=pid, label=row.label, diagnosis_date=row.diagnosis_date, site=row.site,
                    depth=row.depth, age_at_diagnosis=row.age_at_diagnosis, findings=row.findings,
                    confirmed_diagnosis=row.confirmed_diagnosis, necrosis=row.necrosis,
                    mitotic_grade=row.mitotic_grade, invasion=row.invasion, margins=row.margins)
    if isinstance(row, Assessment):
        out = dict(tumour_id=ids(row.tumour), seq=row.seq, assessed_on=row.assessed_on, reason=row.reason,
                   plan_basis=row.plan_basis, plan_start=row.plan_start, current=row.current)
        s = row.stored
        if s is not None:
            out.update(ruleset_version=s.ruleset_version, ruleset_hash=s.ruleset_hash, risk_group=s.risk_group,
                       top_diagnosis=s.top_diagnosis, imaging_interval_days=s.imaging_interval_days,
                       imaging_until=s.imaging_until,
                       result=s.result_json if row.result is None else json.dumps(row.result, ensure_ascii=False,
                                                                                   separators=(",", ":")))
        return out
    if isinstance(row, Treatment):
        return dict(patient_id=pid, tumour_id=ids(row.tumour), kind=row.kind, date=row.date, end_date=row.end_date,
                    margin_status=row.margin_status, agent=row.agent, note=row.note)
    if isinstance(row, Event):
        return dict(patient_id=pid, tumour_id=ids(row.tumour), kind=row.kind, date=row.date, site=row.site,
                    cause=row.cause, note=row.note)
    if isinstance(row, Observation):
        return dict(patient_id=pid, tumour_id=ids(row.tumour), label=row.label, description=row.description,
                    site=row.site, first_seen=row.first_seen, max_interval_days=row.max_interval_days,
                    status=row.status, closed_on=row.closed_on)
    assert isinstance(row, Encounter)
    return dict(patient_id=pid, tumour_id=ids(row.tumour), observation_id=ids(row.observation),
                assessment_id=ids(row.assessment), plan_item=row.plan_item, origin=row.origin, status=row.status,
                modality_class=row.modality_class, kind=row.kind, modality=row.modality, provider=row.provider,
                due=row.due, window_start=row.window_start, window_end=row.window_end, done_on=row.done_on,
                findings=row.findings, status_reason=row.status_reason)


_SLOTS = (("tumours", T.tumour), ("assessments", T.assessment), ("observations", T.observation),
          ("treatments", T.treatment), ("events", T.event), ("encounters", T.encounter))


def record_json(row: Any, ids: Any = None) -> dict:
    """A record as JSON-ready data (ISO dates, database ids) for the history."""
    out = {}
    for f in dataclasses.fields(row):
        if f.name in ("stored", "result"):
            continue
        v = getattr(row, f.name)
        if isinstance(v, New):
            v = ids(v) if ids is not None else None
        out[f.name] = v.isoformat() if isinstance(v, _dt.date) else v
    return out


def save(conn: Connection, pairs: Sequence[tuple[Chart | None, Chart]], *, where: str = "") -> _Ids:
    """Write what changed from each *before* chart (None: a new patient) to its *after* chart; returns the
    ids given to the new rows (call it with a row's key).  Tables in the order their keys need: patients,
    identities, voided rows (children first), tumours, assessments, observations, treatments, events,
    encounters, history."""
    ids = _Ids()
    new_p = [after for before, after in pairs if isinstance(after.patient.id, New)]
    if new_p:
        got = _insert(conn, T.patient, [dict(pseudonym=c.patient.pseudonym, sort_key=natural_key(c.patient.pseudonym),
                                             sex=c.patient.sex, synthetic=c.patient.synthetic, note=c.patient.note)
                                        for c in new_p],
                      where or f"patient {new_p[0].patient.pseudonym!r}")
        for c, i in zip(new_p, got, strict=True):
            ids.new[c.patient.id] = i  # type: ignore[index]
        ident = [dict(patient_id=ids(c.patient.id), name=c.name, birth_date=c.birth_date) for c in new_p
                 if c.name is not None or c.birth_date is not None]
        if ident:
            with _repo.translate_errors(where or "patient identity"):
                conn.execute(sa.insert(T.patient_identity), ident)
    pid_of = {id(after): ids(after.patient.id) for _b, after in pairs}
    # the sort key is written with the pseudonym, here and at the insert above: nowhere else
    changed_p = [dict(b_id=after.patient.id, pseudonym=after.patient.pseudonym,
                      sort_key=natural_key(after.patient.pseudonym), sex=after.patient.sex,
                      synthetic=after.patient.synthetic, note=after.patient.note)
                 for before, after in pairs if before is not None and before.patient is not after.patient]
    if changed_p:
        with _repo.translate_errors(where or "patient"):
            conn.execute(sa.update(T.patient).where(T.patient.c.id == sa.bindparam("b_id")), changed_p)
    # voided rows: children first
    gone: dict[str, list[int]] = {}
    for before, after in pairs:
        if before is None:
            continue
        kept = {(h.table, h.record) for h in after.history}
        for slot, table in _SLOTS:
            keep = {r.id for r in getattr(after, slot) if not isinstance(r.id, New)}
            left = [r.id for r in getattr(before, slot) if r.id not in keep]
            lost = [i for i in left if (table.name, i) not in kept]
            if lost:
                raise RegistryError(f"{where}: would remove {table.name} {lost[0]} without its history entry; "
                                    "nothing written")
            gone.setdefault(slot, []).extend(left)
    stored = _stored_assessments(conn, gone.get("assessments", []))
    _nothing_else_goes(conn, gone, where)
    for slot, table in reversed(_SLOTS):
        if gone.get(slot):
            with _repo.translate_errors(where):
                conn.execute(sa.delete(table).where(table.c.id.in_(gone[slot])))
    for slot, table in _SLOTS:
        new_rows, new_vals, upd = [], [], []
        for before, after in pairs:
            pid = pid_of[id(after)]
            old = {} if before is None else {r.id: r for r in getattr(before, slot)}
            for r in getattr(after, slot):
                if isinstance(r.id, New):
                    new_rows.append(r)
                    new_vals.append(_values(r, pid, ids))
                elif old.get(r.id) is not r:
                    upd.append({"b_id": r.id, **_values(r, pid, ids)})
        if upd:
            with _repo.translate_errors(where or table.name):
                conn.execute(sa.update(table).where(table.c.id == sa.bindparam("b_id")), upd)
        if new_rows:
            got = _insert(conn, table, new_vals, where or table.name)
            for r, i in zip(new_rows, got, strict=True):
                ids.new[r.id] = i
    hist, ident_hist = [], []
    at = _dt.datetime.now(_dt.UTC)
    for before, after in pairs:
        if not after.history:
            continue
        pid = pid_of[id(after)]
        for h in after.history:
            if h.table == "patient_identity":
                assert before is not None
                ident_hist.append(dict(patient_id=pid, name=_identity_name(conn, pid), birth_date=before.birth_date,
                                       reason=h.reason, by_user=h.by, at=at))
                continue
            previous = stored[h.record] if h.table == "assessment" else record_json(h.previous, ids)
            hist.append(dict(patient_id=pid, table_name=h.table, record_id=ids(h.record), action=h.action,
                             reason=h.reason, by_user=h.by, at=at, entered_on=h.on, previous=previous))
    if ident_hist:
        conn.execute(sa.insert(T.identity_history), ident_hist)
        for _before, after in pairs:
            if any(h.table == "patient_identity" for h in after.history):
                _set_identity(conn, pid_of[id(after)], after.name, after.birth_date)
    if hist:
        conn.execute(sa.insert(T.record_history), hist)
    return ids


def _stored_assessments(conn: Connection, ids: list[int]) -> dict[int, dict]:
    """The stored rows of the assessments *ids* as JSON-ready data for the history: every column, the clinical
    core's result included (``tumour`` names the tumour's id, as in the other records' previous versions)."""
    if not ids:
        return {}
    out = {}
    for r in conn.execute(sa.select(T.assessment).where(T.assessment.c.id.in_(ids))).mappings():
        d = {("tumour" if k == "tumour_id" else k): (v.isoformat() if isinstance(v, _dt.date) else v)
             for k, v in r.items()}
        d["current"] = bool(d["current"])
        d["result"] = json.loads(r["result"])
        out[r["id"]] = d
    return out


#: the rows a delete would take with it (``ON DELETE CASCADE``): (child slot, child table, its key column, parent)
_CASCADES = (("assessments", T.assessment, "tumour_id", "tumours"),
             ("treatments", T.treatment, "tumour_id", "tumours"),
             ("events", T.event, "tumour_id", "tumours"),
             ("observations", T.observation, "tumour_id", "tumours"),
             ("encounters", T.encounter, "tumour_id", "tumours"),
             ("encounters", T.encounter, "observation_id", "observations"),
             ("encounters", T.encounter, "assessment_id", "assessments"))


def _nothing_else_goes(conn: Connection, gone: dict[str, list[int]], where: str) -> None:
    """Refuse a delete that would cascade to a row not voided with it: every row that leaves the record has its
    history entry, none vanishes through a foreign key."""
    for slot, table, col, parent in _CASCADES:
        if not gone.get(parent):
            continue
        q = sa.select(sa.func.count()).select_from(table).where(table.c[col].in_(gone[parent]))
        if gone.get(slot):
            q = q.where(table.c.id.not_in(gone[slot]))
        n = conn.execute(q).scalar_one()
        if n:
            raise RegistryError(f"{where}: would remove {n} {table.name} record{'s' if n != 1 else ''} that the "
                                "history does not keep; nothing written")


def _identity_name(conn: Connection, pid: int) -> str | None:
    return conn.execute(sa.select(T.patient_identity.c.name).where(T.patient_identity.c.patient_id == pid)).scalar()


def _set_identity(conn: Connection, pid: int, name: str | None, birth_date: _dt.date | None) -> None:
    conn.execute(sa.delete(T.patient_identity).where(T.patient_identity.c.patient_id == pid))
    if name is not None or birth_date is not None:
        conn.execute(sa.insert(T.patient_identity).values(patient_id=pid, name=name, birth_date=birth_date))


def _insert(conn: Connection, table: sa.Table, rows: list[dict], where: str) -> list[int]:
    """Insert *rows* with new ids (one ``executemany``); their ids in order.

    The ids are drawn before the insert: PostgreSQL from the table's id sequence, SQLite after the table's
    largest id (the writer holds the write lock from the start of its transaction, ``_db.write_transaction``;
    a writer that did not would fail on a concurrent insert, never write a row twice).  Measured: a multi-row
    ``INSERT ... RETURNING`` in parameter order runs row by row on SQLite, 3-4 times slower for the import.
    """
    n = len(rows)
    if conn.dialect.name == "postgresql":
        ids = list(conn.execute(sa.text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                                {"t": table.name, "n": n}).scalars())
    else:
        top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
        ids = list(range(top + 1, top + n + 1))
    for r, i in zip(rows, ids, strict=True):
        r["id"] = i
    with _repo.translate_errors(where):
        conn.execute(sa.insert(table), rows)
    return ids
