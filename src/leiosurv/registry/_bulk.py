"""The bulk path of :func:`leiosurv.registry.import_files`: the same rows as the service calls, written in batches.

What :meth:`Registry.add_patient`, :meth:`Registry.add_tumour`,
:meth:`Registry.record_encounter` and :meth:`Registry.record_event` would store
row by row is computed here in memory and written with one multi-row statement
per batch (``executemany`` on SQLite, ``COPY`` on PostgreSQL), ids assigned in
bulk, inside the import's single transaction, every constraint active, and
every trigger and index too unless the import runs in fast load mode (below):

* **patients** (and their identity rows);
* **tumours**: each assessed by the clinical core, once per distinct input (the
  findings with their dates, the confirmed diagnosis, the day of the import: the
  assessment is a function of these), its assessment stored with its
  content-addressed result (``_results.split_result``) and its plan's encounters;
* for each patient new in this import, in the import's date order and up to its
  first record of another kind: **encounters of a planned item** (done, missed or
  cancelled) and **events** (local recurrence, new primary, metastasis with its
  re-plan on the metastatic pathway, death closing the open plan items), applied
  to the plan rows before they are written, exactly as the service calls would.

Everything else (treatments, observations, ad hoc encounters, records of
patients already in the registry, and every later record of a patient once one
of its records took that path) goes through the service calls in date order
afterwards (``_import``).  Surrogate ids of assessments, encounters and events
may be numbered in another order than the service path's (patient by patient).
A batch the database refuses is rolled back to its savepoint and replayed row
by row to name the row; then the import stops and nothing is written.

**Fast load mode** (:class:`FastLoad`), used when the import is large next to what
the loaded tables already hold (``fast_wanted``): before the bulk rows are
written, the secondary indexes of those tables (not primary keys, not the
indexes of UNIQUE constraints) and their per-row rule triggers on insert
(``trg_*``: the cross-table rules of migration 0001, the assessment-content
rule of migration 0004) are read from the database catalog, their DDL text kept
as the database stores it, and dropped, inside the import's transaction (DDL is
transactional on both databases).  After the bulk rows: the unique indexes are
re-created first (a duplicate, e.g. a second death, names its row), then the
others; then each dropped trigger's own condition, taken from its stored
definition (SQLite: the ``WHEN`` clause; PostgreSQL: the ``IF`` of its
function's body), is evaluated set-wise on the rows of this import (ids above
the table's largest id before it), and a row it holds for is refused with the
trigger's message, naming the import row; then the triggers are re-created from
their DDL.  The bulk part only inserts and every rule still holds for a refused
row once more rows are added, so this refuses the same imports as the triggers
would row by row; when one import breaks several rules, the row named may be
another than the row-by-row path names.  The service calls after the bulk part
run with every index and trigger in place.  SQLite checks each foreign key of each
inserted row (about 20 % of writing the encounters, measured), and its
``foreign_keys`` pragma takes effect only outside a transaction: so the
decision for fast load mode is made when the writer is made, before the
import's transaction begins, and in fast load mode the import's connection runs
with foreign keys off; before the commit, ``PRAGMA foreign_key_check`` checks
every key of every table at once (:meth:`BulkWriter.check_foreign_keys`, which
names a refused bulk row by its import row), and after the transaction ends,
committed or not, the keys go back on for that connection
(:meth:`BulkWriter.release`; a connection where that fails is discarded).
PostgreSQL checks a foreign key
row by row with a query each (measured: 8.3 s for the 580,000 encounters of
100,000 patients), so there fast mode also drops the foreign keys of the loaded
tables with ids and adds them back after the indexes, each validated over its
table in one pass (0.5 s for those rows); a row whose key finds nothing is
named as the row-by-row check would name it.

On PostgreSQL, ``DROP INDEX``, ``DROP TRIGGER`` and ``DROP CONSTRAINT`` take an ACCESS EXCLUSIVE lock
on the table until the import commits or rolls back: while a fast-mode import
runs, even readers of tumours, assessments, encounters and events wait (without
fast mode they read the registry as it was before the import).  Fast mode also
locks the id sequences of patients, tumours, assessments, encounters and events
(an ``ALTER SEQUENCE`` that changes nothing): no other session draws an id from
them until the import ends, and the import takes its ids a block at a time.

Measured on an import of 100,000 synthetic patients (``benchmarks/registry_scale.py``
cohort, 949,005 rows) into an empty registry, time spent writing rows: SQLite
29.8 s with the triggers and indexes in place, 9.7 s in fast mode plus 3.3 s to
rebuild, check and restore; PostgreSQL (``COPY``) 26.6 s, 15-17 s plus 3.7-4.0 s.
Fast mode is used on both.  To name a refused row it keeps the ``where`` of
each row written to a checked table until the check (about 200 bytes a row,
measured at that size).
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as _dt
import json
import re
from array import array
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leiosurv.exceptions import (
    FieldIssue,
    ImportValidationError,
    InputError,
    IntegrityError,
    LeiosurvError,
    NotFoundError,
)
from leiosurv.registry import _repo, _results
from leiosurv.registry import _tables as T
from leiosurv.registry._clinical_adapter import StoredAssessment, is_metastatic_pathway, run_assessment
from leiosurv.registry._service import _not_future

__all__ = ["BulkWriter", "FastLoad"]

BATCH = 2000
#: distinct inputs whose assessment is kept for reuse (the oldest goes first): with real diagnosis dates almost
#: every tumour is its own input, and an unbounded memo held ~10 KB a tumour (measured at 10^5)
MEMO_MAX = 100_000
#: fast load mode when the import's tumours are at least this share of the tumours already stored
FAST_SHARE = 0.25
#: the tables the bulk writer loads, in the order it writes them
LOADED = ("patient", "patient_identity", "tumour", "assessment_content", "assessment", "encounter", "event")
_ID_TABLES = ("patient", "tumour", "assessment", "encounter", "event")  # those with an ``id`` key

_COLS = {
    "patient": ("id", "pseudonym", "sex", "synthetic", "note"),
    "patient_identity": ("patient_id", "name", "birth_date"),
    "tumour": ("id", "patient_id", "label", "diagnosis_date", "site", "depth", "age_at_diagnosis", "findings",
               "confirmed_diagnosis", "necrosis", "mitotic_grade", "invasion", "margins"),
    "assessment": ("id", "tumour_id", "seq", "assessed_on", "reason", "ruleset_version", "ruleset_hash",
                   "risk_group", "top_diagnosis", "plan_basis", "plan_start", "imaging_interval_days",
                   "imaging_until", "current", "content", "dates"),
    "event": ("id", "patient_id", "tumour_id", "kind", "date", "site", "cause", "note"),
    "encounter": ("id", "patient_id", "tumour_id", "assessment_id", "plan_item", "origin", "status",
                  "modality_class", "kind", "modality", "provider", "due", "window_start", "window_end", "done_on",
                  "findings", "status_reason"),
}
_JSON_COLS = {"findings"}
_DATE_COLS = {"birth_date", "diagnosis_date", "assessed_on", "plan_start", "imaging_until", "date", "due",
              "window_start", "window_end", "done_on"}
_BOOL_COLS = {"synthetic", "current"}
_ENC = {c: i for i, c in enumerate(_COLS["encounter"])}
_ASS = {c: i for i, c in enumerate(_COLS["assessment"])}

_DANGLING = "the record names a patient, tumour or observation that does not exist or belongs to another patient"

Where = tuple[str, str]  # (the import row, e.g. "tumours row 3"; what the service would name, e.g. "plan")


def _fail(where: Where, exc: LeiosurvError) -> ImportValidationError:
    return ImportValidationError([FieldIssue(where[0], str(exc))])


class BulkWriter:
    """Writes patients, tumours (assessed, planned) and planned encounters of one import on *conn*.

    ``FAST`` forces fast load mode on (True) or off (False); None: :meth:`fast_wanted` decides.
    """

    FAST: bool | None = None

    def __init__(self, conn: Connection, as_of: _dt.date, progress: Callable[[int], None] | None,
                 tumours: int | None = None) -> None:
        self.c = conn
        self.fast: FastLoad | None = None
        self.named: FastLoad | None = None  # the fast load mode that wrote the bulk rows (to name a row)
        self.pg = conn.dialect.name == "postgresql"
        self.want: bool | None = None
        if tumours is not None:  # decide fast load mode now: SQLite's foreign keys go off only before a transaction
            self.want = self.fast_wanted(tumours)
        self.foreign_keys_off = False
        if not self.pg and self.want:
            self.foreign_keys_off = _sqlite_foreign_keys(conn, on=False)
        self.as_of = as_of
        self.progress = progress
        self.done = 0
        # distinct input -> (the assessment without its result JSON, result sha256, dates, findings JSON) or error
        self.memo: dict[Any, tuple[StoredAssessment, str, str, str] | LeiosurvError] = {}
        self.stored: set[str] = set()
        self.fresh: dict[str, str] = {}  # result bodies of this batch's new assessments, not stored yet
        self.iso: dict[Any, Any] = {None: None}  # a date's ISO text (SQLite), once per distinct date
        self.assessed = 0
        if not self.pg:  # take SQLite's write lock now: the ids below are max(id) + k
            conn.exec_driver_sql("UPDATE patient SET id = id WHERE 0")
            # a page cache of up to 256 MiB for this import (the indexes of a large registry; SQLite's default is
            # 2 MiB); the connection's own value comes back in close()
            self._cache = int(conn.exec_driver_sql("PRAGMA cache_size").scalar() or -2000)
            conn.exec_driver_sql("PRAGMA cache_size = -262144")

    def close(self) -> None:
        """Give the connection back its own page cache size (SQLite)."""
        if not self.pg:
            self.c.exec_driver_sql(f"PRAGMA cache_size = {self._cache}")

    def check_foreign_keys(self) -> None:
        """Before the commit of an import that ran with SQLite's foreign keys off: check every foreign key of
        every table at once (``PRAGMA foreign_key_check``); a row whose key finds nothing is refused, named by
        its import row when the bulk part wrote it."""
        if not self.foreign_keys_off:
            return
        bad = self.c.exec_driver_sql("PRAGMA foreign_key_check").first()
        if bad is None:
            return
        table, rid = bad[0], bad[1]
        w = self.named.import_row(table, rid) if self.named is not None else None
        if w is None:  # written by the service calls after the bulk part
            w = (f"{table} row id {rid}", "")
        raise _fail(w, IntegrityError(f"{w[1]}: {_DANGLING}" if w[1] else _DANGLING))

    def release(self) -> None:
        """After the import's transaction ended (committed or rolled back): SQLite's foreign keys back on for
        this connection; a connection where that fails is discarded, never given back to the pool."""
        if self.foreign_keys_off and not _sqlite_foreign_keys(self.c, on=True):
            self.c.invalidate()  # pragma: no cover - the transaction has ended, so the pragma takes effect
        self.foreign_keys_off = False

    # --- fast load mode ---------------------------------------------------------------------------------

    def fast_wanted(self, tumours: int) -> bool:
        """Whether an import of *tumours* tumours uses fast load mode (``FAST`` unless None).

        Yes when the tumours are at least ``FAST_SHARE`` of those already stored (or the registry has none):
        the dropped indexes are rebuilt over the whole table, which a small import would not pay back.
        """
        if self.FAST is not None:
            return self.FAST
        if self.want is not None:  # decided when the writer was made, before the transaction began
            return self.want
        if tumours == 0:
            return False
        have = int(self.c.exec_driver_sql("SELECT count(*) FROM tumour").scalar() or 0)
        return tumours >= FAST_SHARE * have

    def start(self, tumours: int) -> None:
        """Before the bulk rows: enter fast load mode if :meth:`fast_wanted` (drop indexes and rule triggers)."""
        if self.fast_wanted(tumours):
            fast = FastLoad(self.c)
            if not fast.supported:  # a trigger it cannot read: the triggers stay
                if self.FAST:
                    odd = [r.name for r in fast.rules if r.cond is None or r.table not in _ID_TABLES]
                    raise RuntimeError(f"fast load mode: rule triggers not in a form it can check: {', '.join(odd)}")
                return
            if self.foreign_keys_off:  # name a row whose foreign key check_foreign_keys refuses
                fast.checked |= {"tumour", "assessment", "encounter", "event"}  # those with foreign keys
            fast.drop()
            self.fast = self.named = fast

    def finish(self) -> None:
        """After the bulk rows: in fast load mode, check the new rows and restore the indexes and triggers."""
        if self.fast is not None:
            self.fast.restore()
            self.fast = None

    # --- low level ------------------------------------------------------------------------------------

    def _values(self, table: str, rows: Sequence[Sequence]) -> list[tuple]:
        """*rows* as the driver takes them, converted column by column (JSON text; SQLite: ISO dates, 0/1)."""
        cols = list(zip(*rows, strict=True))
        iso = self.iso
        for j, name in enumerate(_COLS[table]):
            col = cols[j]
            if name in _JSON_COLS:
                cols[j] = tuple(json.dumps(v) if isinstance(v, dict | list) else v for v in col)
            elif self.pg:
                continue
            elif name in _DATE_COLS:
                cols[j] = tuple(iso[v] if v in iso else iso.setdefault(v, v.isoformat()) for v in col)
            elif name in _BOOL_COLS:
                cols[j] = tuple(None if v is None else int(v) for v in col)
        return list(zip(*cols, strict=True))

    def ids(self, table: str, n: int) -> list[int]:
        """*n* new ids of *table* (PostgreSQL: from its sequence; SQLite: after the largest, under the write lock)."""
        if n == 0:
            return []
        if self.pg:
            seq = self.fast.sequences.get(table) if self.fast is not None else None
            if seq is not None:  # fast load mode holds the sequence's lock: take a block of n at once
                last, called = self.c.exec_driver_sql(f"SELECT last_value, is_called FROM {seq}").one()
                first = last + 1 if called else last
                self.c.exec_driver_sql(f"SELECT setval('{seq}', {first + n - 1}, true)")
                return list(range(first, first + n))
            return list(self.c.exec_driver_sql(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, {n})").scalars())
        top = int(self.c.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar() or 0)
        return list(range(top + 1, top + n + 1))

    def insert(self, table: str, rows: Sequence[Sequence], wheres: Sequence[Where]) -> None:
        """Insert *rows* (tuples in ``_COLS[table]`` order); a refusal names the row's *wheres* entry."""
        if not rows:
            return
        cols = _COLS[table]
        names = ", ".join(f'"{c}"' for c in cols)
        vals = self._values(table, rows)
        sp = self.c.begin_nested()
        try:
            if self.pg:
                cursor: Any = self.c.connection.cursor()  # psycopg's, with COPY
                with cursor as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as cp:
                    for v in vals:
                        cp.write_row(v)
            else:
                self.c.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(cols))})", vals)
        except sa.exc.DBAPIError:
            sp.rollback()
        except Exception as exc:  # psycopg's own errors from COPY
            sp.rollback()
            if not self.pg or not type(exc).__module__.startswith("psycopg"):
                raise
        else:
            sp.commit()
            if self.fast is not None and cols[0] == "id":
                self.fast.written(table, [r[0] for r in rows], wheres)
            return
        ph = ", ".join(["%s" if self.pg else "?"] * len(cols))
        for v, w in zip(vals, wheres, strict=True):  # the row the database refuses
            try:
                with _repo.translate_errors(w[1]):
                    self.c.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({ph})", v)
            except LeiosurvError as exc:
                raise _fail(w, exc) from None
        raise RuntimeError(f"{table}: the database refused a batch but none of its rows")  # pragma: no cover

    def _advance(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done)

    # --- patients ---------------------------------------------------------------------------------------

    def patients(self, rows: list[tuple[int, dict]]) -> dict[str, tuple[int, _dt.date | None]]:
        """Insert the patients; returns ``{pseudonym: (id, birth_date)}``."""
        out: dict[str, tuple[int, _dt.date | None]] = {}
        for i in range(0, len(rows), BATCH):
            chunk = rows[i:i + BATCH]
            ids = self.ids("patient", len(chunk))
            pat, ident, pw, iw = [], [], [], []
            for pid, (n, r) in zip(ids, chunk, strict=True):
                p = r["patient"]
                w = (f"patients row {n}", f"patient {p!r}")
                if len(p) > 64:
                    raise _fail(w, InputError("patient: the pseudonym must have at most 64 characters"))
                pat.append((pid, p, r.get("sex") or "unknown", (r.get("synthetic") or "false").lower() in ("true", "1"),
                            r.get("note")))
                pw.append(w)
                if r.get("name") is not None or r.get("birth_date") is not None:
                    ident.append((pid, r.get("name"), r.get("birth_date")))
                    iw.append(w)
                out.setdefault(p, (pid, r.get("birth_date")))
            self.insert("patient", pat, pw)
            self.insert("patient_identity", ident, iw)
            self._advance(len(chunk))
        return out

    # --- tumours ------------------------------------------------------------------------------------------

    def _assess(self, key: Any, findings: Callable[[], dict], confirmed: str | None, *, metastatic: bool = False
                ) -> tuple[StoredAssessment, str, str, str]:
        """The assessment of ``findings()`` (memoised under *key*, which determines the findings, with
        *confirmed* and *metastatic*): ``(assessment without result JSON, sha256, dates, findings JSON)``.

        The result body goes to ``self.fresh`` until :meth:`_flush` stores it; the memo keeps no result JSON.
        """
        key = (key, confirmed, metastatic)
        hit = self.memo.get(key)
        if hit is None:
            try:
                s = run_assessment(findings(), as_of=self.as_of, confirmed_diagnosis=confirmed,
                                   metastatic=metastatic)
                sha, body, dates = _results.split_result(s.result_json)
                if sha not in self.stored:
                    self.fresh[sha] = body
                hit = (dataclasses.replace(s, result_json=""), sha, dates, json.dumps(s.findings))
            except LeiosurvError as exc:
                hit = exc
            self.memo[key] = hit
            if len(self.memo) > MEMO_MAX:
                del self.memo[next(iter(self.memo))]
            self.assessed += 1
        if isinstance(hit, LeiosurvError):
            raise hit
        return hit

    def _known(self, pseudonyms: set[str]) -> dict[str, tuple[int, _dt.date | None, _dt.date | None]]:
        """Patients already in the registry: ``{pseudonym: (id, birth_date, death_date)}``."""
        out = {}
        p, i, e = T.patient, T.patient_identity, T.event
        names = sorted(pseudonyms)
        for k in range(0, len(names), 500):
            q = (sa.select(p.c.pseudonym, p.c.id, i.c.birth_date, e.c.date)
                 .outerjoin(i, i.c.patient_id == p.c.id)
                 .outerjoin(e, sa.and_(e.c.patient_id == p.c.id, e.c.kind == "death"))
                 .where(p.c.pseudonym.in_(names[k:k + 500])))
            out.update({r[0]: (r[1], r[2], r[3]) for r in self.c.execute(q)})
        return out

    def tumours(self, rows: list[tuple[int, Any]], findings_of: Callable[[Any], dict], key_of: Callable[[Any], Any],
                new: dict[str, tuple[int, _dt.date | None]], pending: dict[str, list], first: dict[str, str]) -> list:
        """Insert the tumours, their assessments and plans, with each patient's *pending* records applied.

        *pending* maps a patient new in this import to its records ``(key, kind, n, row)`` in date order
        (encounters of planned items and events; *first* names each one's first-diagnosed tumour).  Returns the
        records that could not be applied here, for the service path.
        """
        known = self._known({r["patient"] for _n, r in rows} - set(new))
        tids = self.ids("tumour", len(rows))  # in row order, as the service path numbers them
        by_patient: dict[str, list[int]] = {}
        for i, (_n, r) in enumerate(rows):
            by_patient.setdefault(r["patient"], []).append(i)
        left: list = []
        buf = _Batch()
        for p, idxs in by_patient.items():
            if p in new:
                pid, bd = new[p]
                death = None
            elif p in known:
                pid, bd, death = known[p]
            else:
                n = rows[idxs[0]][0]
                raise _fail((f"tumours row {n}", ""), NotFoundError(f"patient {p!r}: no such patient in the registry"))
            tumours = {}
            for i in idxs:
                n, r = rows[i]
                tumours[r["tumour"]] = t = self._tumour(buf, tids[i], pid, bd, death, n, r, findings_of,
                                                        key_of)
                buf.tumours.append(t)
            recs = pending.pop(p, [])
            for j, rec in enumerate(recs):
                if not self._record(buf, p, pid, tumours, first.get(p), rec):
                    left += recs[j:]
                    break
            if len(buf.tumours) >= BATCH:
                self._flush(buf)
                buf = _Batch()
        self._flush(buf)
        for recs in pending.values():  # patients without a tumour in this import: the service path
            left += recs
        return left

    def _tumour(self, buf: _Batch, tid: int, pid: int, bd, death, n: int, r: Any,
                findings_of: Callable[[Any], dict], key_of: Callable[[Any], Any]) -> _Tumour:
        """What ``add_tumour`` stores for import row *n* (``r``), in memory."""
        p, label = r["patient"], r["tumour"]
        where = f"tumours row {n}"
        try:
            s, sha, dates, fjson = self._assess(key_of(r), lambda: findings_of(r),
                                                r.get("confirmed_diagnosis"))
            dx = _dt.date.fromisoformat(s.findings["excision_date"])
        except (LeiosurvError, ValueError) as exc:
            raise _fail((where, ""), exc if isinstance(exc, LeiosurvError) else InputError(
                f"findings.excision_date: not a date YYYY-MM-DD ({exc})")) from None
        age = s.findings.get("patient", {}).get("age_years")
        if age is None and bd is not None:
            age = dx.year - bd.year - ((dx.month, dx.day) < (bd.month, bd.day))
        f = s.factors
        t = _Tumour(tid, pid, s.findings, fjson, death,
                    (tid, pid, label, dx, s.findings.get("site"), s.findings.get("depth", "unknown"), age,
                     fjson, s.findings.get("confirmed_diagnosis"), f["necrosis"], f["mitotic_grade"],
                     f["invasion"], f["margins"]), (where, f"tumour {label!r} of patient {p!r}"))
        self._plan(t, s, sha, dates, "registration", self.as_of, where, r.get("track_from"), first=True)
        return t

    def _plan(self, t: _Tumour, s: StoredAssessment, sha: str, dates: str, reason: str,
              on: _dt.date, where: str, cutoff: _dt.date | None, *, first: bool = False) -> None:
        """``_service._store`` in memory: *s* becomes the tumour's current assessment, its plan stored."""
        if t.assessments:
            t.assessments[-1][_ASS["current"]] = False
            why = f"replaced: {reason.replace('_', ' ')} on {on.isoformat()}"
            for it in t.items:
                if it[_ENC["status"]] == "planned" and (cutoff is None or it[_ENC["due"]] >= cutoff):
                    it[_ENC["status"]], it[_ENC["status_reason"]] = "cancelled", why
        a = [None, t.tid, len(t.assessments) + 1, on, reason, s.ruleset_version, s.ruleset_hash, s.risk_group,
             s.top_diagnosis, s.plan_basis, s.plan_start, s.imaging_interval_days, s.imaging_until, True, sha, dates]
        t.assessments.append(a)
        t.awheres.append((where, "assessment"))
        pw = (where, "plan")  # one object for the plan's rows (fast load mode keeps the rows' wheres)
        for pi in s.plan:
            if (cutoff is None or (pi.window_end >= cutoff if first else pi.due >= cutoff)) \
                    and (t.death is None or pi.due <= t.death):
                t.items.append([None, t.pid, t.tid, a, pi.id, "planned", "planned", pi.modality_class, pi.kind,
                                pi.modality, pi.provider, pi.due, pi.window_start, pi.window_end, None, None, None])
                t.iwheres.append(pw)

    def _record(self, buf: _Batch, p: str, pid: int, tumours: dict[str, _Tumour], first: str | None,
                rec: tuple) -> bool:
        """Apply one planned-encounter or event record of a new patient in memory; False: not here."""
        _key, kind, n, r = rec
        label = r.get("tumour") or first
        if kind == "encounters":
            t = tumours.get(label) if label else None
            if t is None or not _apply(t.items, t.iwheres, rec, self.as_of):
                return False
            buf.applied += 1
            return True
        ek, d = r["kind"], r["date"]
        w = f"events row {n}"
        try:
            _not_future(d, self.as_of, "date")
        except LeiosurvError as exc:
            raise _fail((w, ""), exc) from None
        t = None
        if ek not in ("death", "new_primary") or r.get("tumour") is not None:
            t = tumours.get(label) if label else None
            if t is None:
                return False
        buf.events.append((None, pid, t.tid if t else None, ek, d, r.get("site"), r.get("cause"), r.get("note")))
        buf.ewheres.append((w, f"{ek.replace('_', ' ')} of patient {p!r}"))
        if ek == "metastasis" and t is not None and not is_metastatic_pathway(t.assessments[-1][_ASS["plan_basis"]]):
            try:
                s, sha, dates, _f = self._assess(t.key, lambda: t.findings, None,
                                                    metastatic=True)
            except LeiosurvError as exc:
                raise _fail((w, ""), exc) from None
            self._plan(t, s, sha, dates, "replan_metastasis", d, w, d)
        if ek == "death":
            for u in tumours.values():
                u.death = d
                for it in u.items:
                    if it[_ENC["status"]] == "planned":
                        closed = it[_ENC["window_end"]] < d
                        it[_ENC["status"]] = "missed" if closed else "cancelled"
                        it[_ENC["status_reason"]] = "window closed before death" if closed else "patient died"
        buf.applied += 1
        return True

    def _flush(self, buf: _Batch) -> None:
        ass = [a for t in buf.tumours for a in t.assessments]
        for a, i in zip(ass, self.ids("assessment", len(ass)), strict=True):
            a[0] = i
        items = [it for t in buf.tumours for it in t.items]
        for it, i in zip(items, self.ids("encounter", len(items)), strict=True):
            it[0] = i
            it[_ENC["assessment_id"]] = it[_ENC["assessment_id"]][0]
        self.insert("tumour", [t.row for t in buf.tumours], [t.where for t in buf.tumours])
        _repo.store_contents(self.c, self.fresh)
        self.stored.update(self.fresh)
        self.fresh.clear()
        self.insert("assessment", ass, [w for t in buf.tumours for w in t.awheres])
        iw = [w for t in buf.tumours for w in t.iwheres]
        for k in range(0, len(items), 4 * BATCH):
            self.insert("encounter", items[k:k + 4 * BATCH], iw[k:k + 4 * BATCH])
        self.insert("event", [(i, *e[1:]) for i, e in zip(self.ids("event", len(buf.events)), buf.events,
                                                           strict=True)], buf.ewheres)
        self._advance(len(buf.tumours) + buf.applied)


# --- fast load mode ------------------------------------------------------------------------------------------

# a rule trigger as migrations 0001 and 0004 store it; the condition and message are taken from the stored text
_SQLITE_INSERT_TRIGGER = re.compile(r"\s*CREATE\s+TRIGGER\s+\S+\s+BEFORE\s+INSERT\s+ON\s", re.I)
_SQLITE_RULE = re.compile(
    r"\s*CREATE\s+TRIGGER\s+\S+\s+BEFORE\s+INSERT\s+ON\s+\S+\s+FOR\s+EACH\s+ROW\s+WHEN\s+(?P<cond>.+?)\s+"
    r"BEGIN\s+SELECT\s+RAISE\s*\(\s*ABORT\s*,\s*'(?P<msg>(?:[^']|'')*)'\s*\)\s*;\s*END\s*", re.I | re.S)
_PG_RULE = re.compile(
    r"\s*BEGIN\s+IF\s+(?P<cond>.+?)\s+THEN\s+RAISE\s+EXCEPTION\s+USING\s+ERRCODE\s*=\s*'\w+'\s*,\s*"
    r"MESSAGE\s*=\s*'(?P<msg>(?:[^']|'')*)'\s*;\s*END\s+IF\s*;\s*RETURN\s+NEW\s*;\s*END\s*;?\s*", re.I | re.S)
# a foreign key as pg_get_constraintdef writes it
_FOREIGN_KEY = re.compile(r"FOREIGN KEY \((?P<cols>[\w, ]+)\) REFERENCES (?P<ref>\w+)\((?P<refcols>[\w, ]+)\)(?: .*)?",
                          re.S)
# the key columns and row condition of a unique index's DDL (both databases' text)
_UNIQUE_KEY = re.compile(r"\((?P<cols>[^()]*)\)(?:\s+WHERE\s+(?P<where>.+))?\s*", re.I | re.S)


@dataclasses.dataclass
class _Rule:
    """A dropped rule trigger: its DDL, and what it refuses (a condition on ``NEW``, its message)."""

    table: str
    name: str
    ddl: str
    cond: str | None
    message: str | None


def _sqlite_foreign_keys(conn: Connection, *, on: bool) -> bool:
    """Turn SQLite's foreign key enforcement on or off for *conn*; True if it is now so.

    SQLite ignores the pragma inside a transaction, so it is set only when none is open (the driver begins one
    at the first write).
    """
    dbapi: Any = conn.connection.dbapi_connection
    if dbapi is None or dbapi.in_transaction:
        return False
    dbapi.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    return bool(dbapi.execute("PRAGMA foreign_keys").fetchone()[0]) == on


def _table_of(index_ddl: str) -> str | None:
    """The loaded table an index's DDL is on (None: another table)."""
    return next((t for t in LOADED if re.search(rf"\sON\s+(\w+\.)?\"?{t}\"?\s", index_ddl)), None)


def _rule(table: str, name: str, ddl: str, m: re.Match[str] | None) -> _Rule:
    return _Rule(table, name, ddl, m["cond"] if m else None, m["msg"].replace("''", "'") if m else None)


class FastLoad:
    """Fast load mode of one import on *conn*: indexes and rule triggers of the loaded tables dropped and
    restored, the dropped rules checked set-wise on the new rows (see the module docstring)."""

    def __init__(self, conn: Connection) -> None:
        self.c = conn
        self.pg = conn.dialect.name == "postgresql"
        self.indexes: list[tuple[str, str, bool]] = []  # (name, DDL, unique)
        self.rules: list[_Rule] = []
        self.fkeys: list[tuple[str, str, str]] = []  # PostgreSQL: (table, name, definition) of the foreign keys
        self.sequences: dict[str, str] = {}  # PostgreSQL: table -> its id sequence, locked by drop()
        self.low: dict[str, int] = {}  # each loaded table's largest id before the import
        # per table, per insert: (its place in the import's order of inserts, the ids, the wheres)
        self.placed: dict[str, list[tuple[int, array, Sequence[Where]]]] = defaultdict(list)
        self.inserts = 0
        self._catalog()
        self.supported = all(r.cond is not None and r.table in _ID_TABLES for r in self.rules)
        # the tables whose rows the check may refuse (a rule trigger or a unique index on them)
        self.checked: set[str | None] = {r.table for r in self.rules}
        self.checked |= {_table_of(ddl) for _n, ddl, u in self.indexes if u}
        self.checked |= {t for t, _n, _d in self.fkeys}

    def _catalog(self) -> None:
        """The secondary indexes and rule triggers of the loaded tables, as the catalog stores them: ``trg_*``
        triggers for each row on insert (PostgreSQL ``tgtype``: 1 row, 4 insert)."""
        if self.pg:
            idx = self.c.exec_driver_sql(
                "SELECT i.relname, pg_get_indexdef(i.oid), x.indisunique FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                "WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%(t)s) "
                "AND NOT x.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint k "
                "WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x')) "
                "ORDER BY t.relname, i.relname", {"t": list(LOADED)})
            self.indexes = [(n, ddl, bool(u)) for n, ddl, u in idx]
            trg = self.c.exec_driver_sql(
                "SELECT t.relname, g.tgname, pg_get_triggerdef(g.oid), p.prosrc FROM pg_trigger g "
                "JOIN pg_class t ON t.oid = g.tgrelid JOIN pg_proc p ON p.oid = g.tgfoid "
                "WHERE NOT g.tgisinternal AND t.relnamespace = current_schema()::regnamespace "
                "AND t.relname = ANY(%(t)s) AND g.tgname LIKE 'trg\\_%%' AND (g.tgtype & 5) = 5 "
                "ORDER BY t.relname, g.tgname", {"t": list(LOADED)})
            for table, name, ddl, body in trg:
                self.rules.append(_rule(table, name, ddl, _PG_RULE.fullmatch(body)))
            # PostgreSQL checks a foreign key row by row with a query per key (~14 us a row, measured: 8.3 s for
            # the 580,000 encounters of 100,000 patients, 0.5 s to validate them at once when the key is added)
            fks = self.c.exec_driver_sql(
                "SELECT t.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
                "JOIN pg_class t ON t.oid = k.conrelid WHERE k.contype = 'f' "
                "AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%(t)s) "
                "ORDER BY t.relname, k.conname", {"t": list(_ID_TABLES)})
            self.fkeys = [(t, n, d) for t, n, d in fks if _FOREIGN_KEY.fullmatch(d)]
        else:
            names = ", ".join(f"'{t}'" for t in LOADED)
            rows = self.c.exec_driver_sql(
                f"SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name IN ({names}) "
                "AND sql IS NOT NULL AND (type = 'index' OR (type = 'trigger' AND name LIKE 'trg\\_%' ESCAPE '\\')) "
                "ORDER BY tbl_name, name").all()
            for kind, name, table, ddl in rows:
                if kind == "index":
                    self.indexes.append((name, ddl, bool(re.match(r"\s*CREATE\s+UNIQUE\s", ddl, re.I))))
                elif _SQLITE_INSERT_TRIGGER.match(ddl):
                    self.rules.append(_rule(table, name, ddl, _SQLITE_RULE.fullmatch(ddl)))
        order = {t: i for i, t in enumerate(LOADED)}
        self.rules.sort(key=lambda r: (order[r.table], r.name))

    def drop(self) -> None:
        """Drop the indexes and rule triggers (PostgreSQL: also the foreign keys, and lock the id sequences);
        note each table's largest id."""
        for r in self.rules:
            self.c.exec_driver_sql(f'DROP TRIGGER "{r.name}" ON "{r.table}"' if self.pg else f'DROP TRIGGER "{r.name}"')
        for name, _ddl, _u in self.indexes:
            self.c.exec_driver_sql(f'DROP INDEX "{name}"')
        for table, name, _d in self.fkeys:
            self.c.exec_driver_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        if self.pg:
            # nextval per id took 45 s of a 10^6-patient import.  ALTER SEQUENCE (here one that changes nothing)
            # blocks every other session's nextval until this transaction ends, so the writer may take a block of
            # ids at once with setval (BulkWriter.ids); sequences counting by other than 1 keep nextval
            for t in _ID_TABLES:
                seq, step = self.c.exec_driver_sql(
                    f"SELECT s.seqrelid::regclass::text, s.seqincrement FROM pg_sequence s "
                    f"WHERE s.seqrelid = pg_get_serial_sequence('{t}', 'id')::regclass").one()
                if step == 1:
                    self.c.exec_driver_sql(f"ALTER SEQUENCE {seq} INCREMENT BY 1")
                    self.sequences[t] = seq
        for t in _ID_TABLES:
            self.low[t] = int(self.c.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {t}").scalar() or 0)

    def written(self, table: str, ids: list[int], wheres: Sequence[Where]) -> None:
        """Note the import rows of rows *ids* written to *table* (to name a row the check refuses)."""
        if table in self.checked:
            self.placed[table].append((self.inserts, array("q", ids), wheres))
        self.inserts += 1

    def import_row(self, table: str, rid: int) -> Where | None:
        """The import row that wrote row *rid* of *table* in the bulk part (None: another path wrote it)."""
        if table not in self.checked:
            return None
        try:
            return self._where(table, rid)[1]
        except RuntimeError:
            return None

    def _where(self, table: str, rid: int) -> tuple[tuple[int, int], Where]:
        """Where row *rid* of *table* was written: (its place in the import's order of inserts, its where)."""
        for seq, ids, wheres in self.placed[table]:
            if ids[0] <= rid <= ids[-1]:
                k = bisect.bisect_left(ids, rid)
                if k < len(ids) and ids[k] == rid:
                    return (seq, k), wheres[k]
        raise RuntimeError(f"{table} row {rid}: not written by this import")  # pragma: no cover

    def restore(self) -> None:
        """Re-create the indexes (unique ones first), check the new rows against the dropped rules, re-create
        the triggers; a refused row raises :class:`ImportValidationError` naming its import row."""
        for name, ddl, unique in sorted(self.indexes, key=lambda x: not x[2]):
            if not unique:
                self.c.exec_driver_sql(ddl)
                continue
            sp = self.c.begin_nested()
            try:
                self.c.exec_driver_sql(ddl)
            except sa.exc.IntegrityError as exc:
                sp.rollback()
                raise self._duplicate(name, ddl, exc) from None
            sp.commit()
        for table, name, definition in self.fkeys:  # validated over the table at once
            sp = self.c.begin_nested()
            try:
                self.c.exec_driver_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            except sa.exc.IntegrityError as exc:
                sp.rollback()
                raise self._dangling(table, definition, exc) from None
            sp.commit()
        alias = '"new"' if self.pg else '"NEW"'  # PostgreSQL folds the conditions' NEW to new
        refused = []
        for r in self.rules:
            bad = self.c.exec_driver_sql(
                f"SELECT {alias}.id FROM {r.table} AS {alias} WHERE {alias}.id > {self.low[r.table]} "
                f"AND ({r.cond}) ORDER BY {alias}.id LIMIT 1").scalar()
            if bad is not None:
                refused.append((*self._where(r.table, bad), r.message or ""))
        if refused:
            # of two rows that break a rule together (a death and a record after it), the trigger refuses the
            # one written second: name the refused row written last
            _at, w, message = max(refused, key=lambda x: x[0])
            message = message.removeprefix("leiosurv:").strip()
            raise _fail(w, IntegrityError(f"{w[1]}: {message}" if w[1] else message))
        for r in self.rules:
            self.c.exec_driver_sql(r.ddl)

    def _refused(self, table: str, rid: int, exc: sa.exc.IntegrityError) -> ImportValidationError:
        """The database's refusal *exc* of row *rid* of *table*, named by its import row as the row-by-row
        path names it."""
        _at, w = self._where(table, rid)
        try:
            with _repo.translate_errors(w[1]):
                raise exc
        except LeiosurvError as e:
            return _fail(w, e)
        raise AssertionError("translate_errors lets an IntegrityError through")  # pragma: no cover

    def _dangling(self, table: str, definition: str, exc: sa.exc.IntegrityError) -> ImportValidationError:
        """The import row of the first new row of *table* whose foreign key (*definition*) finds no row."""
        m = _FOREIGN_KEY.fullmatch(definition)
        assert m is not None  # only such keys are dropped
        cols = [c.strip() for c in m["cols"].split(",")]
        refs = [c.strip() for c in m["refcols"].split(",")]
        given = " AND ".join(f"n.{c} IS NOT NULL" for c in cols)  # MATCH SIMPLE: a key with a null is not checked
        found = " AND ".join(f"r.{x} = n.{c}" for c, x in zip(cols, refs, strict=True))
        rid = self.c.exec_driver_sql(
            f"SELECT n.id FROM {table} n WHERE n.id > {self.low[table]} AND {given} "
            f"AND NOT EXISTS (SELECT 1 FROM {m['ref']} r WHERE {found}) ORDER BY n.id LIMIT 1").scalar()
        if rid is None:  # pragma: no cover - the key failed on a row of this import
            raise exc
        return self._refused(table, rid, exc)

    def _duplicate(self, name: str, ddl: str, exc: sa.exc.IntegrityError) -> ImportValidationError:
        """The import row of a new row that the unique index *name* refuses (the second of its key)."""
        table = _table_of(ddl)
        m = _UNIQUE_KEY.search(ddl)
        if table is None or m is None:  # pragma: no cover - the registry's unique indexes have this form
            raise exc
        cols, where = m["cols"], m["where"] or "TRUE"
        key = self.c.exec_driver_sql(f"SELECT {cols} FROM {table} WHERE ({where}) GROUP BY {cols} "
                                     f"HAVING count(*) > 1 AND max(id) > {self.low[table]} LIMIT 1").first()
        if key is None:  # pragma: no cover
            raise exc
        ph = "%s" if self.pg else "?"
        match = " AND ".join(f"{c.strip()} = {ph}" for c in cols.split(","))
        rid = self.c.exec_driver_sql(f"SELECT id FROM {table} WHERE ({where}) AND {match} ORDER BY id "
                                     "LIMIT 1 OFFSET 1", tuple(key)).scalar_one()
        return self._refused(table, rid, exc)


class _Tumour:
    """One tumour of the import in memory: its row, assessments and plan rows (lists, changed in place)."""

    def __init__(self, tid: int, pid: int, findings: dict, fjson: str, death: _dt.date | None, row: tuple,
                 where: Where):
        self.tid, self.pid, self.findings, self.death, self.row, self.where = tid, pid, findings, death, row, where
        self.key = ("findings", fjson)  # the memo key of its re-assessments (the findings determine them)
        self.assessments: list[list] = []
        self.awheres: list[Where] = []
        self.items: list[list] = []
        self.iwheres: list[Where] = []


class _Batch:
    """The rows of the tumours (and their patients' records) written together."""

    def __init__(self) -> None:
        self.tumours: list[_Tumour] = []
        self.events: list[tuple] = []
        self.ewheres: list[Where] = []
        self.applied = 0


_PLAN_ITEM, _STATUS, _DONE_ON, _FINDINGS, _REASON, _MODALITY = (
    _ENC[c] for c in ("plan_item", "status", "done_on", "findings", "status_reason", "modality"))


def _apply(items: list[list], wheres: list[Where], rec: tuple, as_of: _dt.date) -> bool:
    """Apply one planned-encounter record to the tumour's plan rows as ``record_encounter`` would."""
    _key, _kind, n, r = rec
    item = r["plan_item"]
    for k in range(len(items) - 1, -1, -1):  # the last still-planned row of the item
        it = items[k]
        if it[_PLAN_ITEM] == item and it[_STATUS] == "planned":
            break
    else:
        return False
    status = r.get("status") or "done"
    d = r["date"]
    if status == "done" and d > as_of:
        try:
            _not_future(d, as_of, "date")
        except LeiosurvError as exc:
            raise _fail((f"encounters row {n}", ""), exc) from None
    iso = d.isoformat()
    it[_STATUS] = status
    if status == "done":
        it[_DONE_ON] = d
        it[_REASON] = None
    else:
        it[_DONE_ON] = None
        it[_REASON] = f"{status} on {iso}"
    it[_FINDINGS] = r.get("findings")
    modality = r.get("modality")
    if modality:
        it[_MODALITY] = modality
    wheres[k] = (f"encounters row {n}", f"encounter of patient {r['patient']!r} on {iso}")
    return True


def plan_pending(dated: list[tuple], new: set[str]) -> tuple[dict, list]:
    """Split the sorted dated records into those of the bulk path and the rest (the service path).

    The bulk path takes, for each patient new in this import, its planned-encounter records and events up to
    its first other record (treatment, observation, ad hoc encounter, ...).  Returns
    ``({patient: [record]}, [record])``; a record is ``(key, kind, n, row)``.
    """
    pending: dict[str, list] = defaultdict(list)
    rest: list = []
    slow: set[str] = set()
    for rec in dated:
        _key, kind, _n, r = rec
        p = r["patient"]
        bulk = p not in slow and p in new and (
            (kind == "encounters" and r.get("plan_item") and not r.get("observation") and r.get("findings") is None)
            or (kind == "events" and r["kind"] in ("local_recurrence", "new_primary", "metastasis", "death")))
        if bulk:
            pending[p].append(rec)
        else:
            slow.add(p)
            rest.append(rec)
    return pending, rest
