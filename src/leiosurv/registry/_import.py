"""Bulk import from CSV and Excel: validated row by row, applied in one transaction.

Kinds (a CSV file's kind is ``kind=`` or its name, e.g. ``events.csv``; an Excel
workbook has one sheet per kind, named as below):

==============  ===================================================================================
kind            columns (* required)
==============  ===================================================================================
patients        patient*, sex, name, birth_date, synthetic, note
tumours         patient*, tumour*, diagnosis_date*, site, depth, age, margins, necrosis, mitoses_count,
                perineural_invasion, intravascular_invasion, atypia, pleomorphism, fnclcc_grade,
                distant_lesion, size_mm, confirmed_diagnosis, findings (a JSON object with any other
                finding, as in a case file), track_from
treatments      patient*, kind*, date*, tumour, end_date, margin_status, agent, note
events          patient*, kind*, date*, tumour, site, cause, note
observations    patient*, observation*, description*, first_seen*, max_interval_days*, site, tumour
encounters      patient*, date*, modality_class, kind, status, tumour, observation, plan_item, modality,
                provider, findings
==============  ===================================================================================

The import runs in two passes over its input, never holding all of it in memory:

1. **Check** (streamed): CSV files are read in chunks of ``CHUNK`` rows, each
   column converted once per distinct cell, every problem collected, naming the
   kind, the row (1-based data row; the header is not a row) and the column.
   The checked rows go to SQLite's own temporary database (:class:`_Spill`: a
   file SQLite unlinks as soon as it has opened it, so nothing is left behind,
   even by a process killed mid-way); what the checks across rows need stays in
   memory (the pseudonyms: a
   patient row given twice is refused).  Any problem: every one is reported at
   once (the first 50) and nothing is written.
2. **Apply** (streamed): patient by patient (those of the patients rows first,
   in row order, then the others in the order first named), its patient row,
   its tumours (each assessed once by the clinical core) and its dated records
   in date order are read back from the spill file and applied to the
   patient's chart through the same transitions as the single-record commands
   (``_service.add_tumour``, ``add_event``, ... on ``_plan``); the charts of
   ``BATCH`` patients are saved together (``_save.save``: one multi-row
   statement per table), all in **one transaction**
   (:func:`~leiosurv.registry._db.import_transaction`; on SQLite in
   rollback-journal mode, which needs the registry to itself).  A rule refusing
   a record names its row; a refusal by the database (a trigger or constraint)
   rolls the batch back to its savepoint and replays it record by record to name
   the row; either way the transaction is rolled back and nothing is imported.
   A process killed mid-way leaves the database as it was (the transaction
   never committed).

An Excel workbook is read whole (pandas); a large import is best given as CSV.
"""

from __future__ import annotations

import datetime as _dt
import gc
import json
import pickle
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from leiosurv.exceptions import FieldIssue, ImportValidationError, LeiosurvError, NotFoundError, RegistryError
from leiosurv.registry import _save, _values
from leiosurv.registry import _tables as T
from leiosurv.registry._db import import_transaction
from leiosurv.registry._plan import Chart
from leiosurv.registry._service import (
    Registry,
    add_encounter,
    add_event,
    add_observation,
    add_treatment,
    add_tumour,
    new_patient,
)

__all__ = ["KINDS", "ImportReport", "import_files"]

KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "patients": (("patient",), ("sex", "name", "birth_date", "synthetic", "note")),
    "tumours": (("patient", "tumour", "diagnosis_date"),
                ("site", "depth", "age", "margins", "necrosis", "mitoses_count", "perineural_invasion",
                 "intravascular_invasion", "atypia", "pleomorphism", "fnclcc_grade", "distant_lesion", "size_mm",
                 "confirmed_diagnosis", "findings", "track_from")),
    "treatments": (("patient", "kind", "date"), ("tumour", "end_date", "margin_status", "agent", "note")),
    "events": (("patient", "kind", "date"), ("tumour", "site", "cause", "note")),
    "observations": (("patient", "observation", "description", "first_seen", "max_interval_days"),
                     ("site", "tumour")),
    "encounters": (("patient", "date"), ("modality_class", "kind", "status", "tumour", "observation", "plan_item",
                                         "modality", "provider", "findings")),
}
_DATES = {"birth_date", "diagnosis_date", "date", "end_date", "first_seen", "track_from"}
_ENUMS = {
    ("patients", "sex"): T.SEXES, ("tumours", "depth"): T.DEPTHS, ("treatments", "kind"): T.TREATMENT_KINDS,
    ("treatments", "margin_status"): T.MARGIN_STATUSES, ("events", "kind"): T.EVENT_KINDS,
    ("events", "site"): T.METASTASIS_SITES, ("encounters", "modality_class"): T.MODALITY_CLASSES,
    ("encounters", "status"): ("done", "missed", "cancelled"), ("patients", "synthetic"): ("true", "false", "1", "0"),
}
# each text column's field in ``_values.MAX_CHARS`` (its maximum length, whether it may hold line breaks)
_TEXTS = {
    ("patients", "patient"): "patient.pseudonym", ("patients", "name"): "patient_identity.name",
    ("patients", "note"): "patient.note",
    ("tumours", "tumour"): "tumour.label", ("tumours", "site"): "tumour.site",
    ("tumours", "confirmed_diagnosis"): "tumour.confirmed_diagnosis",
    ("treatments", "agent"): "treatment.agent", ("treatments", "note"): "treatment.note",
    ("events", "cause"): "event.cause", ("events", "note"): "event.note",
    ("observations", "observation"): "observation.label", ("observations", "description"): "observation.description",
    ("observations", "site"): "observation.site",
    ("encounters", "kind"): "encounter.kind", ("encounters", "modality"): "encounter.modality",
    ("encounters", "provider"): "encounter.provider", ("encounters", "findings"): "encounter.findings",
    ("encounters", "plan_item"): "encounter.plan_item",
}
# a column that names a patient, tumour or observation holds what the key column of that record holds
for _k in KINDS:
    _TEXTS.setdefault((_k, "patient"), "patient.pseudonym")
    _TEXTS.setdefault((_k, "tumour"), "tumour.label")
    _TEXTS.setdefault((_k, "observation"), "observation.label")
_FINDING_COLS = {"site": "site", "depth": "depth", "margins": "margins", "necrosis": "necrosis",
                 "perineural_invasion": "perineural_invasion", "intravascular_invasion": "intravascular_invasion",
                 "atypia": "atypia", "pleomorphism": "pleomorphism", "fnclcc_grade": "fnclcc_grade",
                 "distant_lesion": "distant_lesion"}
CHUNK = 200_000  # CSV rows read and validated at a time
BATCH = 1000  # patients saved together
_ORDER = {"treatments": 0, "observations": 1, "encounters": 2, "events": 3}


@dataclass
class ImportReport:
    """What was imported: rows per kind."""

    rows: dict[str, int] = field(default_factory=dict)
    #: assessments the clinical core ran (the bulk path assesses each distinct input once)
    assessed: int = 0

    def __str__(self) -> str:
        return "imported " + ", ".join(f"{n} {k}" for k, n in self.rows.items()) if self.rows else "nothing to import"


def _chunks(path: Path, reader: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    it = iter(reader)
    while True:
        try:
            df = next(it)
        except StopIteration:
            return
        except (OSError, ValueError) as exc:
            raise ImportValidationError([FieldIssue(f"{path.name}", f"cannot be read: "
                                                    f"{str(exc).splitlines()[0][:120]}")]) from None
        yield df


def _read(path: Path, kind: str | None) -> dict[str, Iterable[pd.DataFrame]]:
    """The kinds in *path*, each as its frames (a CSV file in chunks of ``CHUNK`` rows, read as they are used)."""
    name = path.name.lower()
    try:
        if name.endswith((".xlsx", ".xlsm")):
            sheets = _read_excel(path)
            unknown = [s for s in sheets if s not in KINDS]
            if unknown:
                raise ImportValidationError([FieldIssue(f"{path.name}", f"sheet {unknown[0]!r} is not one of "
                                                        f"{', '.join(KINDS)}")])
            return {k: [df] for k, df in sheets.items()}
        if name.endswith((".csv", ".csv.gz", ".tsv")):
            k = kind or name.split(".")[0]
            if k not in KINDS:
                raise ImportValidationError([FieldIssue(path.name, "name the kind with --kind or the file name: "
                                                        f"one of {', '.join(KINDS)}")])
            _refuse_nul(path)
            return {k: _chunks(path, pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=CHUNK,
                                                 sep="\t" if name.endswith(".tsv") else ","))}
    except (OSError, ValueError) as exc:
        if isinstance(exc, ImportValidationError):
            raise
        raise ImportValidationError([FieldIssue(path.name, f"cannot be read: {str(exc).splitlines()[0][:120]}")]) \
            from None
    raise ImportValidationError([FieldIssue(path.name, "not a .csv, .tsv or .xlsx file")])


def _refuse_nul(path: Path) -> None:
    """Refuse a text file holding a NUL byte, naming its line (pandas' reader would cut the cell at it:
    ``Ann\\x00Smith`` read as ``Ann``)."""
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    line = 1
    with opener(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            at = chunk.find(b"\x00")
            if at >= 0:
                line += chunk.count(b"\n", 0, at)
                raise ImportValidationError([FieldIssue(f"{path.name} line {line}",
                                                        "holds a NUL character; nothing was imported")])
            line += chunk.count(b"\n")


def _read_excel(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet of a workbook; any failure to read it (not a zip, not a workbook, ...) is one line."""
    try:
        return pd.read_excel(path, sheet_name=None, dtype=object, keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 - whatever a broken workbook raises, the file is what is wrong
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ImportValidationError([FieldIssue(path.name, f"cannot be read as an Excel workbook "
                                                           f"({first[:100]})")]) from None


def _cell(raw: Any) -> Any:
    """A cell as the reader sees it: text stripped; an Excel number as its digits; a date cell as a date."""
    if isinstance(raw, str):
        return raw.strip()
    if raw is None or isinstance(raw, (_dt.date, _dt.datetime)):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float):
        return "" if raw != raw else str(int(raw)) if raw.is_integer() else repr(raw)  # NaN: an empty cell
    return str(raw)


def _value(kind: str, c: str, raw: Any) -> tuple[Any, tuple[str, ...] | None]:
    """One cell's value and its problem ``(message, shown value)`` or None (an identifying value is never shown).

    Dates and texts are checked by :mod:`leiosurv.registry._values`, as the registry's own methods check them.
    """
    v = _cell(raw)
    if v == "" or v is None:
        return None, None
    identifying = c in _values.IDENTIFYING
    shown: tuple[str, ...] = () if identifying else (str(v)[:40],)
    if c in _DATES:
        d, problem = _values.problem_with_date(v, c)
        if d is not None and c == "birth_date" and d > _dt.date.today():  # as Registry.add_patient
            return v, ("is in the future",)
        return (d, None) if problem is None else (v, (problem, *shown))
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v, ("a date cell where a text or number is expected", *shown)
    if (kind, c) in _TEXTS:
        problem = _values.problem_with_text(v, _TEXTS[(kind, c)])
        if problem is not None:
            return v, (problem,)
    try:
        if (kind, c) in _ENUMS:
            if (v.lower() if c == "synthetic" else v) not in _ENUMS[(kind, c)]:
                return v, (f"must be one of {', '.join(_ENUMS[(kind, c)])}", v[:40])
            return v, None
        if c in ("max_interval_days", "age"):
            i = int(v)
            if i < (1 if c == "max_interval_days" else 0):
                raise ValueError
            return i, None
        if c in ("mitoses_count", "size_mm"):
            return float(v), None
        if c == "findings" and kind == "tumours":
            f = json.loads(v)
            if not isinstance(f, dict):
                raise ValueError
            return f, None
    except ValueError:
        if c in ("max_interval_days", "age"):
            return v, ("must be a positive whole number", v[:40])
        if c in ("mitoses_count", "size_mm"):
            return v, ("must be a number", v[:40])
        return v, ("must be a JSON object",)
    return v, None


def _check(kind: str, frames: Iterable[pd.DataFrame], issues: list[FieldIssue], shared: dict,
           spill: _Spill) -> int:
    """Validate the rows of *kind* from its frames (chunks of one file) and put them in *spill*; problems go to
    *issues*; returns the number of rows.

    Each column is converted once per distinct cell (*shared* maps a cell to its value across the import's
    files); each row goes to *spill* as the tuple of its values.
    """
    req, opt = KINDS[kind]
    start = 1
    for df in frames:
        df.columns = [str(c).strip() for c in df.columns]
        if start == 1:
            for c in req:
                if c not in df.columns:
                    issues.append(FieldIssue(f"{kind}", f"missing column {c!r} (columns found: "
                                                        f"{', '.join(df.columns)})"))
            for c in df.columns:
                if c not in req and c not in opt:
                    issues.append(FieldIssue(f"{kind}", f"unknown column {c!r}"))
            if any(i.path == kind for i in issues):
                return 0
        cols = tuple(df.columns)
        found: list[tuple[int, int, int, FieldIssue]] = []  # (row, 0 required / 1 value, column, issue)
        values = []
        for j, c in enumerate(cols):
            # a cell's value depends on its column's rule: an enumeration of this kind, a text field, or the column
            memo = shared.setdefault((kind, c) if (kind, c) in _ENUMS else _TEXTS.get((kind, c), c), {})
            out = []
            for k, raw in enumerate(df[c].tolist()):
                hit = memo.get(raw) if c != "findings" else None
                if hit is None:
                    hit = _value(kind, c, raw)
                    if c != "findings" and isinstance(raw, str):
                        memo[raw] = hit
                v, problem = hit
                if v is None:
                    if c in req:
                        found.append((k, 0, req.index(c), FieldIssue(f"{kind} row {start + k}.{c}", "required")))
                elif problem is not None:
                    found.append((k, 1, j, FieldIssue(f"{kind} row {start + k}.{c}", *problem)))
                out.append(v)
            values.append(out)
        found.sort(key=lambda x: x[:3])
        issues += [f[3] for f in found]
        spill.add(kind, cols, list(zip(range(start, start + len(df)), zip(*values, strict=True))), issues)
        start += len(df)
    return start - 1


Record = tuple[str, int, dict[str, Any]]  # (kind, row number, {column: value})


class _Spill:
    """The validated rows, kept on disk until they are applied: the import never holds a whole input in memory.

    SQLite's temporary database (``sqlite3.connect("")``: a file in the system's temporary directory that SQLite
    unlinks as soon as it has opened it, so that no other process can open it and nothing is left behind, even
    by a process killed mid-way) holds each row
    pickled with its patient and its place in the patient's order (:func:`_steps`): the patient row, the
    tumours in file order, the dated records by date, kind, row.  What the checks across rows need stays in
    memory: the patients of the patients rows (a duplicate is refused naming its row) and every patient named,
    in the order first named (the import applies patients in that order, those of the patients rows first).
    """

    def __init__(self) -> None:
        self.db = sqlite3.connect("", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=OFF")  # scratch: nothing to recover after a crash
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE r (p TEXT, stage INTEGER, key INTEGER, seq INTEGER, kind TEXT, cols INTEGER,"
                        " n INTEGER, v BLOB)")
        self.db.execute("BEGIN")
        self.cols: list[tuple[str, ...]] = []
        self.patients: dict[str, int] = {}  # pseudonym of a patients row -> its row
        self.named: dict[str, None] = {}  # every other pseudonym named, first named first
        self.seq = 0

    def add(self, kind: str, cols: tuple[str, ...], rows: list[tuple[int, tuple]], issues: list[FieldIssue]) -> None:
        """Keep the rows ``(row number, values)`` of *kind*, whose columns are *cols*."""
        if cols not in self.cols:
            self.cols.append(cols)
        ci = self.cols.index(cols)
        ix = {c: i for i, c in enumerate(cols)}
        at_date = ix.get("date", ix.get("first_seen"))
        out = []
        for n, v in rows:
            p = v[ix["patient"]]
            self.seq += 1
            if kind == "patients":
                stage, key = 0, 0
                if p in self.patients:
                    issues.append(FieldIssue(f"patients row {n}", f"patient {p!r}: a patient with this pseudonym "
                                                                  "already exists"))
                elif isinstance(p, str):
                    self.patients[p] = n
            elif kind == "tumours":
                stage, key = 1, 0
            else:
                d = v[at_date] if at_date is not None else None
                # date, then kind (_ORDER), then row (then the order read)
                stage, key = 2, ((d.toordinal() << 40) | (_ORDER[kind] << 36) | n
                                 if isinstance(d, _dt.date) else 0)
            if kind != "patients" and isinstance(p, str):
                self.named.setdefault(p)
            out.append((p, stage, key, self.seq, kind, ci, n, pickle.dumps(v, pickle.HIGHEST_PROTOCOL)))
        self.db.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?, ?)", out)

    def order(self) -> list[str]:
        """Every patient in the order applied: those of the patients rows (row order), then the others."""
        return list(self.patients) + [p for p in self.named if p not in self.patients]

    def index(self) -> None:
        self.db.execute("COMMIT")
        self.db.execute("CREATE INDEX r_order ON r (p, stage, key, seq)")

    def records(self, batch: list[str]) -> dict[str, list[Record]]:
        """The records ``(kind, row, {column: value})`` of each patient of *batch*, in the order they apply."""
        out: dict[str, list[Record]] = {p: [] for p in batch}
        for i in range(0, len(batch), 500):
            part = batch[i:i + 500]
            for p, kind, ci, n, v in self.db.execute(
                    f"SELECT p, kind, cols, n, v FROM r WHERE p IN ({', '.join('?' * len(part))}) "
                    "ORDER BY p, stage, key, seq", part):
                out[p].append((kind, n, dict(zip(self.cols[ci], pickle.loads(v)))))
        return out

    def first_row(self, p: str) -> tuple[str, int]:
        """The kind and row of *p*'s first record in the order applied."""
        kind, n = self.db.execute("SELECT kind, n FROM r WHERE p = ? ORDER BY stage, key, seq LIMIT 1",
                                  (p,)).fetchone()
        return kind, n

    def close(self) -> None:
        self.db.close()


def _findings(row: Any) -> dict:
    f = dict(row.get("findings") or {})
    f["excision_date"] = row["diagnosis_date"].isoformat()
    for col, key in _FINDING_COLS.items():
        if row.get(col) is not None:
            f[key] = row[col]
    if row.get("mitoses_count") is not None:
        f["mitoses"] = {**f.get("mitoses", {}), "count": row["mitoses_count"]}
    if row.get("size_mm") is not None:
        f["size_mm"] = row["size_mm"]
    if row.get("age") is not None:
        f["patient"] = {**f.get("patient", {}), "age_years": row["age"]}
    return f


def import_files(reg: Registry, paths: Sequence[str | Path], *, kind: str | None = None,
                 as_of: _dt.date | None = None, progress: Callable[[int], Any] | None = None,
                 on_read: Callable[[int], Any] | None = None) -> ImportReport:
    """Import CSV/Excel files into *reg*: all rows or none (see the module docstring).

    Parameters
    ----------
    reg : Registry
        The registry.
    paths : sequence of path
        CSV files (kind from *kind* or the file name) and Excel workbooks.
    kind : str, optional
        The kind of every CSV file given.
    as_of : datetime.date, optional
        The day of the import (default today): nothing may be dated after it.
    progress : callable, optional
        Called with the number of rows applied so far (after each batch of patients).
    on_read : callable, optional
        Called with the number of rows read and checked so far (after each chunk of a file).

    Raises
    ------
    ImportValidationError
        Every problem found, each naming kind, row and column; nothing was imported.
    """
    as_of = as_of or _dt.date.today()
    if kind is not None and kind not in KINDS:
        raise ImportValidationError([FieldIssue("--kind", f"must be one of {', '.join(KINDS)}", kind)])
    for p in paths:
        if not Path(p).is_file():
            raise ImportValidationError([FieldIssue(str(p), "no such file")])
    spill = _Spill()
    try:
        with _no_cycle_collection():
            report = _validate(spill, paths, kind, on_read)
            with import_transaction(reg.engine) as c:
                _write(c, spill, as_of, progress, report)
    finally:
        spill.close()
    return report


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cyclic garbage collector paused while the import runs (as it was before, after).

    The import allocates millions of objects that reference counting frees (rows, charts, the core's models) and
    creates no reference cycles: a collection at the end of an import of 2*10^4 patients finds nothing to free.
    Left on, the collector would still run some 4,000 times, 25 of them over every object of the process, for
    about a tenth of the import's CPU (benchmarks/results/registry_scale_sqlite_spread_notes.txt).  Reference
    counting still frees everything as usual; only a cycle would wait for the collector, which runs again once
    the import returns or raises.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _validate(spill: _Spill, paths: Sequence[str | Path], kind: str | None,
              on_read: Callable[[int], Any] | None) -> ImportReport:
    """The first pass: every row of every file read, checked and put in *spill*; every problem raised at once."""
    counts: dict[str, int] = {}
    issues: list[FieldIssue] = []
    shared: dict = {}
    read = 0
    for p in paths:
        for k, frames in _read(Path(p), kind).items():
            def counted(frames: Iterable[pd.DataFrame] = frames) -> Iterator[pd.DataFrame]:
                nonlocal read
                for df in frames:
                    yield df
                    read += len(df)
                    if on_read is not None:
                        on_read(read)
            counts[k] = counts.get(k, 0) + _check(k, counted(), issues, shared, spill)
    if issues:
        raise ImportValidationError(issues[:50] + ([FieldIssue("...", f"and {len(issues) - 50} more problems")]
                                                   if len(issues) > 50 else []))
    spill.index()
    return ImportReport({k: counts[k] for k in KINDS if counts.get(k)})


def _fail(kind: str, n: int, exc: LeiosurvError) -> ImportValidationError:
    return ImportValidationError([FieldIssue(f"{kind} row {n}", str(exc))])


def _steps(records: list[Record], as_of: _dt.date) -> list[tuple[str, int, Callable[[Chart | None], Chart]]]:
    """One patient's records (in the order they apply: its patient row, its tumours in file order, then its
    dated records by date, then kind: treatments, observations, encounters, events; then row) as transitions."""
    out: list[tuple[str, int, Callable[[Chart | None], Chart]]] = []
    for k, n, r in records:
        if k == "patients":
            fn = lambda _c, r=r: new_patient(  # noqa: E731
                r["patient"], sex=r.get("sex") or "unknown", name=r.get("name"), birth_date=r.get("birth_date"),
                synthetic=(r.get("synthetic") or "false").lower() in ("true", "1"), note=r.get("note"))
        elif k == "tumours":
            fn = lambda c, r=r: add_tumour(  # noqa: E731
                c, r["tumour"], _findings(r), confirmed_diagnosis=r.get("confirmed_diagnosis"), as_of=as_of,
                track_from=r.get("track_from"))
        elif k == "treatments":
            fn = lambda c, r=r: add_treatment(  # noqa: E731
                c, r["kind"], r["date"], tumour=r.get("tumour"), margin_status=r.get("margin_status"),
                agent=r.get("agent"), end_date=r.get("end_date"), note=r.get("note"), as_of=as_of)
        elif k == "events":
            fn = lambda c, r=r: add_event(  # noqa: E731
                c, r["kind"], r["date"], tumour=r.get("tumour"), site=r.get("site"), cause=r.get("cause"),
                note=r.get("note"), as_of=as_of)
        elif k == "observations":
            fn = lambda c, r=r: add_observation(  # noqa: E731
                c, r["observation"], r["description"], r["first_seen"], r["max_interval_days"], site=r.get("site"),
                tumour=r.get("tumour"), as_of=as_of)
        else:
            fn = lambda c, r=r: add_encounter(  # noqa: E731
                c, date=r["date"], modality_class=r.get("modality_class") or "clinical", kind=r.get("kind"),
                status=r.get("status") or "done", tumour=r.get("tumour"), observation=r.get("observation"),
                plan_item=r.get("plan_item"), modality=r.get("modality"), provider=r.get("provider"),
                findings=r.get("findings"), as_of=as_of)
        out.append((k, n, fn))
    return out


def _write(c: Any, spill: _Spill, as_of: _dt.date, progress: Any, report: ImportReport) -> None:
    """The second pass: apply the records patient by patient (the registry's transitions), saved in batches."""
    names = spill.order()
    others = [p for p in names if p not in spill.patients]
    registered: set[str] = set()
    for i in range(0, len(others), 500):
        registered.update(c.execute(sa.select(T.patient.c.pseudonym).where(
            T.patient.c.pseudonym.in_(others[i:i + 500]))).scalars())
    for p in others:  # a record of an unknown patient, named before anything is applied
        if p not in registered:
            kind_, n = spill.first_row(p)
            raise _fail(kind_, n, NotFoundError(f"patient {p!r}: no such patient in the registry",
                                                field="patient", patient=p))
    del registered, others
    done = 0
    for b in range(0, len(names), BATCH):
        batch = names[b:b + BATCH]
        records = spill.records(batch)
        known = _save.load(c, [p for p in batch if p not in spill.patients])
        pairs: list[tuple[Chart | None, Chart]] = []
        for p in batch:
            before = known.get(p)
            chart = before
            for kind_, n, fn in _steps(records[p], as_of):
                try:
                    chart = fn(chart)
                except LeiosurvError as exc:
                    raise _fail(kind_, n, exc) from None
                done += 1
            assert chart is not None
            pairs.append((before, chart))
        sp = c.begin_nested()
        try:
            _save.save(c, pairs)
        except LeiosurvError:
            sp.rollback()
            _locate(c, batch, records, as_of)
            raise  # pragma: no cover - _locate names the row the database refuses
        sp.commit()
        report.assessed += sum(k == "tumours" for p in batch for k, _n, _r in records[p])
        if progress is not None:
            progress(done)
    # every row read was applied: none is left behind in the spill file (else nothing is committed)
    if done != sum(report.rows.values()):  # pragma: no cover - an invariant of _Spill
        raise RegistryError(f"import: {done} rows applied of {sum(report.rows.values())} read; nothing was imported")


def _where(kind: str, p: str, r: dict[str, Any]) -> str:
    """What a database refusal of the record *r* of *kind* names, as the single-record commands name it."""
    return {"patients": f"patient {p!r}", "tumours": f"tumour {r.get('tumour')!r} of patient {p!r}",
            "treatments": f"{r.get('kind')} of patient {p!r}",
            "events": f"{str(r.get('kind')).replace('_', ' ')} of patient {p!r}",
            "observations": f"observation {r.get('observation')!r} of patient {p!r}",
            "encounters": f"encounter of patient {p!r}"}[kind]


def _locate(c: Any, batch: list[str], records: dict[str, list[Record]], as_of: _dt.date) -> None:
    """A batch the database refused: apply it again record by record, each saved on its own (as the
    single-record commands do), to name the row refused."""
    for p in batch:
        sp = c.begin_nested()
        try:
            for (kind_, n, fn), (_k, _n, r) in zip(_steps(records[p], as_of), records[p], strict=True):
                before = None if (kind_ == "patients") else _save.load_one(c, p)
                try:
                    _save.save(c, [(before, fn(before))], where=_where(kind_, p, r))
                except LeiosurvError as exc:
                    raise _fail(kind_, n, exc) from None
        finally:
            sp.rollback()
