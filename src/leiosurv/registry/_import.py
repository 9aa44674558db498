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

Every row is checked first and every problem is reported at once, naming the
kind, the row (1-based data row; the header is not a row) and the column.  Then,
patient by patient, its patient row, its tumours (each assessed once by the
clinical core) and its dated records in date order are applied to the patient's
chart through the same transitions as the single-record commands
(``_service.add_tumour``, ``add_event``, ... on ``_plan``); the charts of
``BATCH`` patients are saved together (``_save.save``: one multi-row statement
per table), all in **one transaction**.  A refusal by the database (a trigger or
constraint) rolls the batch back to its savepoint and replays it record by
record to name the row; nothing is imported.  A process killed mid-way leaves
the database as it was (the transaction never committed).

Validation keeps memory small without giving up the complete report: CSV files
are read in chunks (``CHUNK`` rows), each column converted once per distinct
cell, and the validated rows kept as compact tuples (:class:`_Row`) whose equal
values are one object.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from leiosurv.exceptions import FieldIssue, ImportValidationError, LeiosurvError, NotFoundError, RegistryError
from leiosurv.registry import _save, _values
from leiosurv.registry import _tables as T
from leiosurv.registry._db import write_transaction
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


class _Row:
    """One validated import row: its values in a tuple, read like a dict (``r["patient"]``, ``r.get("site")``).

    Compact (a tuple and one slot, values shared between rows) so that a large import's validated rows fit in
    memory; ``_row_class`` makes a subclass per kind and column order.
    """

    __slots__ = ("v",)
    ix: dict[str, int] = {}

    def __init__(self, v: tuple) -> None:
        self.v = v

    def get(self, c: str, default: Any = None) -> Any:
        i = self.ix.get(c)
        return default if i is None else self.v[i]

    def __getitem__(self, c: str) -> Any:
        return self.v[self.ix[c]]


_ROW_CLASSES: dict[tuple[str, ...], type[_Row]] = {}


def _row_class(cols: tuple[str, ...]) -> type[_Row]:
    cls = _ROW_CLASSES.get(cols)
    if cls is None:
        cls = _ROW_CLASSES[cols] = type("_Row", (_Row,), {"__slots__": (), "ix": {c: i for i, c in enumerate(cols)}})
    return cls


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


def _check(kind: str, frames: Iterable[pd.DataFrame], issues: list[FieldIssue], shared: dict) -> list[tuple]:
    """The validated rows ``(n, row)`` of *kind* from its frames (chunks of one file); problems go to *issues*.

    Each column is converted once per distinct cell (*shared* maps a cell to its value across the import's
    files, so equal values are one object); the rows are :class:`_Row` tuples.
    """
    req, opt = KINDS[kind]
    rows: list[tuple] = []
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
                return []
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
        cls = _row_class(cols)
        rows += [(start + k, cls(v)) for k, v in enumerate(zip(*values, strict=True))]
        start += len(df)
    return rows


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
                 as_of: _dt.date | None = None, progress=None) -> ImportReport:
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

    Raises
    ------
    ImportValidationError
        Every problem found, each naming kind, row and column; nothing was imported.
    """
    as_of = as_of or _dt.date.today()
    if kind is not None and kind not in KINDS:
        raise ImportValidationError([FieldIssue("--kind", f"must be one of {', '.join(KINDS)}", kind)])
    tables: dict[str, list] = {k: [] for k in KINDS}
    issues: list[FieldIssue] = []
    shared: dict = {}
    for p in paths:
        p = Path(p)
        if not p.is_file():
            raise ImportValidationError([FieldIssue(str(p), "no such file")])
        for k, frames in _read(p, kind).items():
            tables[k] += _check(k, frames, issues, shared)
    del shared
    if issues:
        raise ImportValidationError(issues[:50] + ([FieldIssue("...", f"and {len(issues) - 50} more problems")]
                                                   if len(issues) > 50 else []))
    report = ImportReport({k: len(v) for k, v in tables.items() if v})
    with write_transaction(reg.engine) as c:
        _write(c, tables, as_of, progress, report)
    return report


def _fail(kind: str, n: int, exc: LeiosurvError) -> ImportValidationError:
    return ImportValidationError([FieldIssue(f"{kind} row {n}", str(exc))])


def _steps(p: str, tables: dict[str, list], tumours: dict[str, list], dated: dict[str, list],
           patients: dict[str, tuple], as_of: _dt.date) -> list[tuple[str, int, Callable[[Chart | None], Chart]]]:
    """Patient *p*'s records as transitions, in the order they apply: its patient row, its tumours (file
    order), then its dated records (date, then kind: treatments, observations, encounters, events; then row)."""
    out: list[tuple[str, int, Callable[[Chart | None], Chart]]] = []
    if p in patients:
        n, r = patients[p]
        out.append(("patients", n, lambda _c, r=r: new_patient(
            r["patient"], sex=r.get("sex") or "unknown", name=r.get("name"), birth_date=r.get("birth_date"),
            synthetic=(r.get("synthetic") or "false").lower() in ("true", "1"), note=r.get("note"))))
    for n, r in tumours.get(p, ()):
        out.append(("tumours", n, lambda c, r=r: add_tumour(
            c, r["tumour"], _findings(r), confirmed_diagnosis=r.get("confirmed_diagnosis"), as_of=as_of,
            track_from=r.get("track_from"))))
    for _key, k, n, r in sorted(dated.get(p, ()), key=lambda x: x[0]):
        if k == "treatments":
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


def _write(c: Any, tables: dict[str, list], as_of: _dt.date, progress: Any, report: ImportReport) -> None:
    """Apply the validated rows patient by patient (the registry's transitions) and save them in batches."""
    patients: dict[str, tuple] = {}
    for n, r in tables["patients"]:
        if r["patient"] in patients:
            raise _fail("patients", n, RegistryError(f"patient {r['patient']!r}: a patient with this pseudonym "
                                                     "already exists", field="patient", patient=r["patient"]))
        patients[r["patient"]] = (n, r)
    order: dict[str, None] = dict.fromkeys(patients)
    tumours: dict[str, list] = {}
    for n, r in tables["tumours"]:
        tumours.setdefault(r["patient"], []).append((n, r))
        order.setdefault(r["patient"])
    dated: dict[str, list] = {}
    for k in ("treatments", "observations", "encounters", "events"):
        kind_order = _ORDER[k] << 36
        for n, r in tables[k]:
            # date, then kind (_ORDER), then row, as one int a record
            key = ((r.get("date") or r.get("first_seen")).toordinal() << 40) | kind_order | n
            dated.setdefault(r["patient"], []).append((key, k, n, r))
            order.setdefault(r["patient"])
    names = list(order)
    others = [p for p in names if p not in patients]
    registered: set[str] = set()
    for i in range(0, len(others), 500):
        registered.update(c.execute(sa.select(T.patient.c.pseudonym).where(
            T.patient.c.pseudonym.in_(others[i:i + 500]))).scalars())
    for p in others:  # a record of an unknown patient, named before anything is applied
        if p not in registered:
            kind_, n = _first_row(p, tumours, dated)
            raise _fail(kind_, n, NotFoundError(f"patient {p!r}: no such patient in the registry",
                                                field="patient", patient=p))
    done = 0
    for b in range(0, len(names), BATCH):
        batch = names[b:b + BATCH]
        known = _save.load(c, [p for p in batch if p not in patients])
        pairs: list[tuple[Chart | None, Chart]] = []
        for p in batch:
            before = known.get(p)
            chart = before
            for kind_, n, fn in _steps(p, tables, tumours, dated, patients, as_of):
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
            _locate(c, batch, tables, tumours, dated, patients, as_of)
            raise  # pragma: no cover - _locate names the row the database refuses
        sp.commit()
        report.assessed += sum(len(tumours.get(p, ())) for p in batch)
        if progress is not None:
            progress(done)


def _where(kind: str, n: int, p: str, tables: dict) -> str:
    """What a database refusal of row *n* of *kind* names, as the single-record commands name it."""
    r = next(r for m, r in tables[kind] if m == n)
    return {"patients": f"patient {p!r}", "tumours": f"tumour {r.get('tumour')!r} of patient {p!r}",
            "treatments": f"{r.get('kind')} of patient {p!r}",
            "events": f"{str(r.get('kind')).replace('_', ' ')} of patient {p!r}",
            "observations": f"observation {r.get('observation')!r} of patient {p!r}",
            "encounters": f"encounter of patient {p!r}"}[kind]


def _first_row(p: str, tumours: dict, dated: dict) -> tuple[str, int]:
    if p in tumours:
        return "tumours", tumours[p][0][0]
    _key, k, n, _r = min(dated[p], key=lambda x: x[0])
    return k, n


def _locate(c: Any, batch: list[str], tables: dict, tumours: dict, dated: dict, patients: dict,
            as_of: _dt.date) -> None:
    """A batch the database refused: apply it again record by record, each saved on its own (as the
    single-record commands do), to name the row refused."""
    for p in batch:
        sp = c.begin_nested()
        try:
            for kind_, n, fn in _steps(p, tables, tumours, dated, patients, as_of):
                before = None if (kind_ == "patients") else _save.load_one(c, p)
                try:
                    _save.save(c, [(before, fn(before))], where=_where(kind_, n, p, tables))
                except LeiosurvError as exc:
                    raise _fail(kind_, n, exc) from None
        finally:
            sp.rollback()
