"""The repository layer: lookups and writes on one connection, no business rules.

Services (:mod:`leiosurv.registry._service`) decide *what* to write; this
module knows *how*: SQL through SQLAlchemy Core, and the translation of database
refusals into one-line :class:`~leiosurv.exceptions.IntegrityError` messages that
name the rule (never the row's values, which may hold identifying data).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leiosurv.exceptions import IntegrityError, NotFoundError
from leiosurv.registry import _tables as T

__all__ = ["translate_errors", "patient_id", "tumour_row", "insert"]

_CONSTRAINT_TEXT = {
    "ck_event_metastasis_needs_site":
        "a metastasis needs its site (lung, liver, skin, bone_spine, adrenal, kidney, other)",
    "ck_event_site_only_metastasis": "a site is recorded only for a metastasis",
    "ck_event_cause_only_death": "a cause is recorded only for a death",
    "ck_event_tumour_needed": "the event needs its tumour (only death and new primary may omit it)",
    "ck_treatment_systemic_needs_agent": "systemic therapy needs its agent (e.g. gemcitabine)",
    "ck_treatment_agent_only_systemic": "an agent is recorded only for systemic therapy",
    "ck_treatment_margin_only_surgery": "a margin status is recorded only for excision, re-excision or Mohs surgery",
    "ck_encounter_done_iff_date": "an encounter is done exactly when it has a done date",
    "uq_event_one_death": "the patient already has a death recorded",
    "uq_patient_pseudonym": "a patient with this pseudonym already exists",
    "uq_tumour_patient_id_label": "the patient already has a tumour with this label",
    "uq_observation_patient_id_label": "the patient already has an observation with this label",
}


def _message(orig: BaseException) -> str:
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    m = re.search(r"leiosurv: (.*)", text)
    if m:
        return m.group(1).strip()
    for name, msg in _CONSTRAINT_TEXT.items():
        if name in text:
            return msg
    if "UNIQUE constraint failed: event.patient_id" in text:
        return _CONSTRAINT_TEXT["uq_event_one_death"]
    if "UNIQUE constraint failed: patient.pseudonym" in text:  # SQLite names the column, not the constraint
        return _CONSTRAINT_TEXT["uq_patient_pseudonym"]
    m = re.search(r"(ck_\w+)", text)
    if m:
        return f"check constraint {m.group(1)} failed"
    if "FOREIGN KEY" in text.upper():
        return "the record names a patient, tumour or observation that does not exist or belongs to another patient"
    if "UNIQUE" in text.upper() or "duplicate key" in text:
        return "a record with this identifier already exists"
    return text[:200]


#: the field a refused rule is about (``IntegrityError.field``), by a word of its message
_FIELD_OF = (("pseudonym", "patient"), ("tumour with this label", "label"), ("observation with this label", "label"),
             ("its site", "site"), ("a site", "site"), ("cause", "cause"), ("agent", "agent"),
             ("margin", "margin_status"), ("done date", "done_on"), ("dated", "date"), ("diagnosed", "date"),
             ("first seen", "first_seen"), ("done after", "date"), ("on a date", "date"), ("death", "date"),
             ("needs its tumour", "tumour"))


def _refused(where: str, orig: BaseException) -> IntegrityError:
    msg = _message(orig)
    field = next((f for word, f in _FIELD_OF if word in msg), None)
    return IntegrityError(f"{where}: {msg}" if where else msg, field=field)


@contextlib.contextmanager
def translate_errors(where: str = "") -> Iterator[None]:
    """Turn a database refusal into :class:`IntegrityError` (one line, the rule, no row values; ``field``
    names the field the rule is about, where one is)."""
    try:
        yield
    except sa.exc.IntegrityError as exc:
        raise _refused(where, exc.orig) from None
    except sa.exc.DBAPIError as exc:
        if "leiosurv:" in str(exc.orig):
            raise _refused(where, exc.orig) from None
        raise


def patient_id(conn: Connection, pseudonym: str) -> int:
    """The database id of the patient *pseudonym*."""
    pid = conn.execute(sa.select(T.patient.c.id).where(T.patient.c.pseudonym == pseudonym)).scalar()
    if pid is None:
        raise NotFoundError(f"patient {pseudonym!r}: no such patient in the registry", field="patient",
                            patient=pseudonym)
    return pid


def tumour_row(conn: Connection, pid: int, label: str | None, pseudonym: str = "") -> sa.Row:
    """The tumour *label* of patient *pid* (``None``: the patient's only or first-diagnosed tumour)."""
    q = sa.select(T.tumour).where(T.tumour.c.patient_id == pid)
    if label is not None:
        row = conn.execute(q.where(T.tumour.c.label == label)).first()
        if row is None:
            raise NotFoundError(f"tumour {label!r} of patient {pseudonym!r}: no such tumour", field="tumour",
                                patient=pseudonym)
        return row
    row = conn.execute(q.order_by(T.tumour.c.diagnosis_date, T.tumour.c.id)).first()
    if row is None:
        raise NotFoundError(f"patient {pseudonym!r} has no tumour registered", field="tumour", patient=pseudonym)
    return row


def insert(conn: Connection, table: sa.Table, where: str = "", **values) -> int:
    """Insert one row and return its id, translating database refusals."""
    with translate_errors(where):
        res = conn.execute(sa.insert(table).values(**values).returning(table.c[table.primary_key.columns.keys()[0]]))
        return res.scalar_one()

