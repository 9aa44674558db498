"""The bulk path of :func:`leiosurv.registry.import_files`: the same rows as the service calls, written in batches.

What :meth:`Registry.add_patient` / :meth:`Registry.add_tumour` /
:meth:`Registry.record_encounter` would store row by row is computed here for a
whole file and written with one multi-row statement per batch (``executemany``;
``COPY`` on PostgreSQL), ids assigned in bulk, inside the import's single
transaction, every trigger and constraint active:

* **patients** (and their identity rows);
* **tumours**: each assessed by the clinical core, once per distinct input (the
  findings with their dates, the confirmed diagnosis, the day of the import: the
  assessment is a function of these), its assessment stored with its
  content-addressed result (``_repo.split_result``) and its plan's encounters;
* **encounters** of a planned item (``plan_item``) of a patient new in this import, up to that
  patient's first treatment, event or observation (in the import's date order):
  applied to the plan rows before they are written (done, missed or cancelled),
  exactly as the service's update would.

Everything else (treatments, events, observations, ad hoc encounters, records
of patients already in the registry, and every later record of a patient once
one of its records took that path) goes through the service calls in date
order afterwards (``_import``).  A batch the database refuses is rolled back to
its savepoint and replayed row by row to name the row (then the import stops).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections import defaultdict
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leiosurv.exceptions import FieldIssue, ImportValidationError, InputError, LeiosurvError, NotFoundError
from leiosurv.registry import _repo
from leiosurv.registry import _tables as T
from leiosurv.registry._clinical_adapter import StoredAssessment, run_assessment

__all__ = ["BulkWriter"]

BATCH = 2000

_COLS = {
    "patient": ("id", "pseudonym", "sex", "synthetic", "note"),
    "patient_identity": ("patient_id", "name", "birth_date"),
    "tumour": ("id", "patient_id", "label", "diagnosis_date", "site", "depth", "age_at_diagnosis", "findings",
               "confirmed_diagnosis", "necrosis", "mitotic_grade", "invasion", "margins"),
    "assessment": ("id", "tumour_id", "seq", "assessed_on", "reason", "ruleset_version", "ruleset_hash",
                   "risk_group", "top_diagnosis", "plan_basis", "plan_start", "imaging_interval_days",
                   "imaging_until", "current", "content", "dates"),
    "encounter": ("id", "patient_id", "tumour_id", "assessment_id", "plan_item", "origin", "status",
                  "modality_class", "kind", "modality", "provider", "due", "window_start", "window_end", "done_on",
                  "findings", "status_reason"),
}
_ENC = {c: i for i, c in enumerate(_COLS["encounter"])}

Where = tuple[str, str]  # (the import row, e.g. "tumours row 3"; what the service would name, e.g. "plan")


def _fail(where: Where, exc: LeiosurvError) -> ImportValidationError:
    return ImportValidationError([FieldIssue(where[0], str(exc))])


class BulkWriter:
    """Writes patients, tumours (assessed, planned) and planned encounters of one import on *conn*."""

    def __init__(self, conn: Connection, as_of: _dt.date, progress: Callable[[int], None] | None) -> None:
        self.c = conn
        self.pg = conn.dialect.name == "postgresql"
        self.as_of = as_of
        self.progress = progress
        self.done = 0
        self.memo: dict[str, tuple[StoredAssessment, str, str, str] | LeiosurvError] = {}
        self.stored: set[str] = set()
        self.assessed = 0
        if not self.pg:  # take SQLite's write lock now: the ids below are max(id) + k
            conn.exec_driver_sql("UPDATE patient SET id = id WHERE 0")

    # --- low level ------------------------------------------------------------------------------------

    def _val(self, v):
        if isinstance(v, dict | list):
            return json.dumps(v)
        if not self.pg:
            if isinstance(v, _dt.date):
                return v.isoformat()
            if isinstance(v, bool):
                return int(v)
        return v

    def ids(self, table: str, n: int) -> list[int]:
        """*n* new ids of *table* (PostgreSQL: from its sequence; SQLite: after the largest, under the write lock)."""
        if n == 0:
            return []
        if self.pg:
            return list(self.c.exec_driver_sql(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, {n})").scalars())
        top = self.c.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar()
        return list(range(top + 1, top + n + 1))

    def insert(self, table: str, rows: Sequence[tuple], wheres: Sequence[Where]) -> None:
        """Insert *rows* (tuples in ``_COLS[table]`` order); a refusal names the row's *wheres* entry."""
        if not rows:
            return
        cols = _COLS[table]
        names = ", ".join(f'"{c}"' for c in cols)
        rows = [tuple(self._val(v) for v in r) for r in rows]
        sp = self.c.begin_nested()
        try:
            if self.pg:
                with self.c.connection.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as cp:
                    for r in rows:
                        cp.write_row(r)
            else:
                self.c.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(cols))})", rows)
        except sa.exc.DBAPIError:
            sp.rollback()
        except Exception as exc:  # psycopg's own errors from COPY
            sp.rollback()
            if not self.pg or not type(exc).__module__.startswith("psycopg"):
                raise
        else:
            sp.commit()
            return
        ph = ", ".join(["%s" if self.pg else "?"] * len(cols))
        for r, w in zip(rows, wheres, strict=True):  # the row the database refuses
            try:
                with _repo.translate_errors(w[1]):
                    self.c.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({ph})", r)
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

    def _assess(self, findings: dict, confirmed: str | None) -> tuple[StoredAssessment, str, str, str]:
        key = json.dumps([findings, confirmed], sort_keys=True, default=str)
        hit = self.memo.get(key)
        if hit is None:
            try:
                s = run_assessment(findings, as_of=self.as_of, confirmed_diagnosis=confirmed)
                hit = (s, *_repo.split_result(dict(s.result)))
            except LeiosurvError as exc:
                hit = exc
            self.memo[key] = hit
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

    def tumours(self, rows: list[tuple[int, dict]], findings_of: Callable[[dict], dict],
                new: dict[str, tuple[int, _dt.date | None]], pending: dict[tuple[str, str], list],
                first: dict[str, str]) -> list:
        """Insert the tumours, their assessments and plans, with the *pending* encounters applied.

        *pending* maps ``(patient, tumour label)`` to its encounter records ``(key, kind, n, row)`` in date
        order (patients new in this import only; *first* names each one's first-diagnosed tumour). Returns the
        encounter records that could not be applied here (for the service path).
        """
        known = self._known({r["patient"] for _n, r in rows} - set(new))
        left: list = []
        for i in range(0, len(rows), BATCH):
            chunk = rows[i:i + BATCH]
            tids = self.ids("tumour", len(chunk))
            aids = self.ids("assessment", len(chunk))
            tum, tw, ass, aw, plan, pw = [], [], [], [], [], []
            bodies: dict[str, str] = {}
            applied = 0
            for tid, aid, (n, r) in zip(tids, aids, chunk, strict=True):
                p, label = r["patient"], r["tumour"]
                where = f"tumours row {n}"
                if p in new:
                    pid, bd = new[p]
                    death = None
                elif p in known:
                    pid, bd, death = known[p]
                else:
                    raise _fail((where, ""), NotFoundError(f"patient {p!r}: no such patient in the registry"))
                try:
                    s, sha, body, dates = self._assess(findings_of(r), r.get("confirmed_diagnosis"))
                    dx = _dt.date.fromisoformat(s.findings["excision_date"])
                except (LeiosurvError, ValueError) as exc:
                    raise _fail((where, ""), exc if isinstance(exc, LeiosurvError) else InputError(
                        f"findings.excision_date: not a date YYYY-MM-DD ({exc})")) from None
                age = s.findings.get("patient", {}).get("age_years")
                if age is None and bd is not None:
                    age = dx.year - bd.year - ((dx.month, dx.day) < (bd.month, bd.day))
                f = s.factors
                tum.append((tid, pid, label, dx, s.findings.get("site"), s.findings.get("depth", "unknown"), age,
                            s.findings, s.findings.get("confirmed_diagnosis"), f["necrosis"], f["mitotic_grade"],
                            f["invasion"], f["margins"]))
                tw.append((where, f"tumour {label!r} of patient {p!r}"))
                if sha not in self.stored:
                    bodies[sha] = body
                ass.append((aid, tid, 1, self.as_of, "registration", s.ruleset_version, s.ruleset_hash, s.risk_group,
                            s.top_diagnosis, s.plan_basis, s.plan_start, s.imaging_interval_days, s.imaging_until,
                            True, sha, dates))
                aw.append((where, "assessment"))
                cutoff = r.get("track_from")
                items = [[None, pid, tid, aid, it.id, "planned", "planned", it.modality_class, it.kind, it.modality,
                          it.provider, it.due, it.window_start, it.window_end, None, None, None]
                         for it in s.plan if (cutoff is None or it.window_end >= cutoff)
                         and (death is None or it.due <= death)]
                wheres = [(where, "plan")] * len(items)
                todo = pending.pop((p, label), [])
                if first.get(p) == label:
                    todo = sorted(todo + pending.pop((p, ""), []), key=lambda x: x[0])
                for rec in todo:
                    if _apply(items, wheres, rec, self.as_of):
                        applied += 1
                    else:
                        left.append(rec)
                plan += items
                pw += wheres
            eids = self.ids("encounter", len(plan))
            for e, row in zip(eids, plan, strict=True):
                row[0] = e
            self.insert("tumour", tum, tw)
            _repo.store_contents(self.c, bodies)
            self.stored.update(bodies)
            self.insert("assessment", ass, aw)
            for k in range(0, len(plan), 4 * BATCH):
                self.insert("encounter", plan[k:k + 4 * BATCH], pw[k:k + 4 * BATCH])
            self._advance(len(chunk) + applied)
        for recs in pending.values():  # named a tumour not in this import: the service path says what is wrong
            left += recs
        return left


def _apply(items: list[list], wheres: list[Where], rec: tuple, as_of: _dt.date) -> bool:
    """Apply one planned-encounter record to the tumour's plan rows as ``record_encounter`` would."""
    _key, _kind, n, r = rec
    status = r.get("status") or "done"
    d = r["date"]
    pos = [k for k, it in enumerate(items) if it[_ENC["plan_item"]] == r["plan_item"]
           and it[_ENC["status"]] == "planned"]
    if not pos:
        return False
    w = f"encounters row {n}"
    if status == "done" and d > as_of:
        raise _fail((w, ""), InputError(f"date: {d.isoformat()} is in the future (today is {as_of.isoformat()})"))
    it = items[pos[-1]]
    it[_ENC["status"]] = status
    it[_ENC["done_on"]] = d if status == "done" else None
    it[_ENC["findings"]] = r.get("findings")
    it[_ENC["status_reason"]] = None if status == "done" else f"{status} on {d.isoformat()}"
    if r.get("modality"):
        it[_ENC["modality"]] = r["modality"]
    wheres[pos[-1]] = (w, f"encounter of patient {r['patient']!r} on {d.isoformat()}")
    return True


def plan_pending(dated: list[tuple], new: set[str], first: dict[str, str]) -> tuple[dict, list]:
    """Split the sorted dated records into encounters for the bulk path and the rest (service path).

    Returns ``({(patient, tumour label or ""): [record]}, [record])``; a record is ``(key, kind, n, row)``.
    """
    pending: dict[tuple[str, str], list] = defaultdict(list)
    rest: list = []
    slow: set[str] = set()
    for key, kind, n, r in dated:
        p = r["patient"]
        if (p in slow or p not in new or kind != "encounters" or not r.get("plan_item") or r.get("observation")
                or r.get("findings") is not None or (r.get("tumour") is None and p not in first)):
            slow.add(p)
            rest.append((key, kind, n, r))
        else:
            pending[(p, r.get("tumour") or "")].append((key, kind, n, r))
    return pending, rest
