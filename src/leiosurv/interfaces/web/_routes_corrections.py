"""Corrections: edit a record with a reason, mark it entered in error, undo a death; the history of the records.

Clinicians only; the named user is the signed-in user.  Every change goes through
a confirmation step that says what will change before it is applied: the web
asks the registry for the record as the change would leave it
(:meth:`leiosurv.registry.Registry.preview`, the same rules and plan state
machine, rolled back) and lists the difference; it then applies the change with
:meth:`~leiosurv.registry.Registry.correct` or :meth:`~leiosurv.registry.Registry.void`.
Errors are the registry's (``RegistryError.field`` names the form field).  Every
read and write is audited with the patient's pseudonym.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from leiosurv.exceptions import LeiosurvError, NotFoundError, RegistryError
from leiosurv.interfaces.web._app import page_context, templates
from leiosurv.interfaces.web._deps import ClinicianDep, RegistryDep, api_csrf, check_csrf
from leiosurv.interfaces.web._routes_patients import audited
from leiosurv.interfaces.web._schemas import PSEUDONYM_PATTERN
from leiosurv.registry import CORRECTABLE, EncounterRecord, HistoryEntry, Identity, PatientRecord, Registry

router = APIRouter()
PseudonymPath = Annotated[str, Path(min_length=1, max_length=64)]
Table = Literal["identity", "patient", "tumour", "treatment", "event", "observation", "encounter"]
TableQuery = Annotated[Table, Query(description="The kind of record.")]
VoidTable = Literal["tumour", "treatment", "event", "observation", "encounter"]
VoidTableQuery = Annotated[VoidTable, Query(description="The kind of record.")]
RecordQuery = Query(None, ge=1, le=2**62, description="The record's id (not for patient and identity).")
_SLOTS = {"tumour": "tumours", "treatment": "treatments", "event": "events", "observation": "observations",
          "encounter": "encounters"}
_MAX_REASON = 500


# --- schemas --------------------------------------------------------------------------------------------

class CorrectionIn(BaseModel):
    """A correction of one record: the changed fields, why; ``dry_run`` only says what would change."""

    model_config = ConfigDict(extra="forbid")
    table: Table
    record: int | None = Field(None, ge=1, le=2**62, description="The record's id (not for patient and identity).")
    changes: dict[str, str | int | None] = Field(description="Field name to corrected value (dates as YYYY-MM-DD).")
    reason: str = Field(min_length=1, max_length=_MAX_REASON, description="Why the record is corrected.")
    dry_run: bool = False


class VoidIn(BaseModel):
    """Mark one record entered in error, with the reason; ``dry_run`` only says what would change."""

    model_config = ConfigDict(extra="forbid")
    table: VoidTable
    record: int = Field(ge=1, le=2**62)
    reason: str = Field(min_length=1, max_length=_MAX_REASON, description="Why the record is entered in error.")
    dry_run: bool = False


class ChangeOut(BaseModel):
    applied: bool
    message: str
    changes: list[str] = Field(description="What the change does to the patient's record and plan.")


# --- what a change does (the difference of two records, as the registry gives them) --------------------

def _day(d) -> str:
    return d.isoformat() if d is not None else ""


def _enc_text(e: EncounterRecord) -> str:
    what = e.plan_item or "ad hoc"
    tumour = f" ({e.tumour})" if e.tumour else ""
    return f"{what}{tumour}: {e.kind or ''}, {_day(e.done_on or e.due)}".strip()


def _rec_text(table: str, r) -> str:
    if table == "encounter":
        return f"encounter {r.id}, {_enc_text(r)}"
    if table == "tumour":
        return f"tumour {r.label}"
    if table == "observation":
        return f"observation {r.label} (first seen {_day(r.first_seen)})"
    return f"{table} {r.id}: {str(r.kind).replace('_', ' ')} on {_day(r.date)}"


def _death(rec: PatientRecord) -> str | None:
    return next((_day(e.date) for e in rec.events if e.kind == "death"), None)


def _shown(v) -> str:
    return "(none)" if v is None or v == "" else str(v)


def describe(before: PatientRecord, after: PatientRecord) -> list[str]:
    """The differences between the patient's record *before* and *after* a change, in plain words."""
    out: list[str] = []
    d0, d1 = _death(before), _death(after)
    if d0 and not d1:
        out.append(f"The death recorded on {d0} is undone: the patient is no longer recorded as deceased.")
    elif d1 and not d0:
        out.append(f"The patient will be recorded as deceased on {d1}.")
    elif d0 != d1:
        out.append(f"The date of death changes from {d0} to {d1}.")
    if before.identity != after.identity:
        i0, i1 = before.identity or Identity(), after.identity or Identity()
        for k in ("name", "birth_date"):
            a, b = getattr(i0, k), getattr(i1, k)
            if a != b:
                out.append(f"Identity: {k.replace('_', ' ')} {_shown(a)} becomes {_shown(b)}.")
    for k in ("pseudonym", "sex", "note"):
        a, b = getattr(before.patient, k), getattr(after.patient, k)
        if a != b:
            out.append(f"Patient: {k} {_shown(a)} becomes {_shown(b)}.")
    for table, slot in _SLOTS.items():
        old = {r.id: r for r in getattr(before, slot)}
        new = {r.id: r for r in getattr(after, slot)}
        if table == "encounter":
            reopened = [e for i, e in old.items() if i in new and e.status != "planned"
                        and new[i].status == "planned"]
            closed = [e for i, e in old.items() if i in new and e.status == "planned"
                      and new[i].status != "planned"]
            if reopened:
                out.append(f"Re-opens {len(reopened)} planned visit{'s' if len(reopened) != 1 else ''}: "
                           + "; ".join(_enc_text(new[e.id]) for e in reopened) + ".")
            if closed:
                out.append(f"Closes {len(closed)} planned visit{'s' if len(closed) != 1 else ''}: "
                           + "; ".join(f"{_enc_text(e)} ({new[e.id].status})" for e in closed) + ".")
            planned = [e for i, e in new.items() if i not in old and e.status == "planned"]
            if planned:
                out.append(f"Plans {len(planned)} new visit{'s' if len(planned) != 1 else ''}: "
                           + "; ".join(_enc_text(e) for e in planned) + ".")
            gone = [e for i, e in old.items() if i not in new]
            # planned items replaced by a new plan are counted once, as removed
            if gone:
                out.append(f"Removes {len(gone)} encounter{'s' if len(gone) != 1 else ''} from the record "
                           "(kept in the history): " + "; ".join(_rec_text(table, e) for e in gone) + ".")
            moved = {e.id for e in reopened + closed}
            changed = [(e, new[i]) for i, e in old.items() if i in new and e != new[i] and i not in moved]
        else:
            for i, r in old.items():
                if i not in new:
                    out.append(f"Removes {_rec_text(table, r)} from the record (kept in the history).")
                    if table == "tumour" and r.assessments:
                        n = len(r.assessments)
                        out.append(f"Removes its {n} assessment{'s' if n != 1 else ''} from the record (kept in "
                                   "the history with their results): "
                                   + "; ".join(f"{a.seq}, {a.reason.replace('_', ' ')} on {_day(a.assessed_on)}, "
                                               f"risk {a.risk_group}" for a in r.assessments) + ".")
            changed = [(r, new[i]) for i, r in old.items() if i in new and r != new[i]]
        for a, b in changed:
            va, vb = a.model_dump(mode="json", exclude={"assessments"}), b.model_dump(mode="json",
                                                                                     exclude={"assessments"})
            fields = [k for k in va if va[k] != vb.get(k)]
            if fields:
                text = _rec_text(table, a)
                out.append(f"{text[0].upper()}{text[1:]}: "
                           + ", ".join(f"{k.replace('_', ' ')} {_shown(va[k])} becomes {_shown(vb.get(k))}"
                                       for k in fields) + ".")
        if table == "tumour":
            for i, r in old.items():
                if i in new and len(new[i].assessments) > len(r.assessments):
                    out.append(f"Tumour {new[i].label} is re-assessed and its plan re-made.")
    return out or ["Nothing else in the record or the plan changes."]


def _preview(request: Request, reg: Registry, user, p: str, action: str, table: str, record: int | None,
             reason: str, changes: dict) -> list[str]:
    as_of = request.app.state.settings.as_of()
    with audited(request, user, "read", f"{action} preview", p):
        _check_pseudonym(table, changes)  # a refusal is audited as invalid, as the registry's are
        before = reg.patient_record(p)
        after = reg.preview(p, action, table, record, reason=reason, by=user.username, as_of=as_of, **changes)
    return describe(before, after)


def _check_pseudonym(table: str, changes: dict) -> None:
    """A corrected pseudonym keeps the shape the app registers (it is part of every patient URL)."""
    if table == "patient" and "pseudonym" in changes and not re.fullmatch(PSEUDONYM_PATTERN,
                                                                           str(changes["pseudonym"] or "")):
        raise RegistryError("pseudonym: letters, digits, '.', '_' and '-' (starting with a letter or digit), "
                            "at most 64 characters", field="pseudonym")


def renamed(p: str, table: str, changes: dict) -> str:
    """The patient's pseudonym after a correction of *changes* to *table*."""
    return str(changes["pseudonym"]) if table == "patient" and changes.get("pseudonym") else p


def _apply(request: Request, reg: Registry, user, p: str, action: str, table: str, record: int | None,
           reason: str, changes: dict) -> list[str]:
    """Apply the change; what it did, as its preview said (computed in the same request, just before)."""
    as_of = request.app.state.settings.as_of()
    before = reg.patient_record(p)
    with audited(request, user, "write", "correction" if action == "correct" else "void", p):
        _check_pseudonym(table, changes)
        if action == "correct":
            reg.correct(p, table, record, reason=reason, by=user.username, as_of=as_of, **changes)
        else:
            assert record is not None
            reg.void(p, table, record, reason=reason, by=user.username, as_of=as_of)
    return describe(before, reg.patient_record(renamed(p, table, changes)))


# --- the API --------------------------------------------------------------------------------------------

@router.post("/api/v1/patients/{pseudonym}/corrections", response_model=ChangeOut, tags=["corrections"],
             dependencies=[Depends(api_csrf)],
             responses={404: {"description": "No such patient or record"},
                        422: {"description": "Refused: the message names the field"}})
def api_correct(request: Request, body: CorrectionIn, user: ClinicianDep, reg: RegistryDep,
                pseudonym: PseudonymPath) -> ChangeOut:
    """Correct one record with a reason (the signed-in user is named); the previous version is kept in the
    history.  ``dry_run`` returns what the correction would change without applying it."""
    if body.dry_run:
        ch = _preview(request, reg, user, pseudonym, "correct", body.table, body.record, body.reason, body.changes)
        return ChangeOut(applied=False, message="not applied (dry run)", changes=ch)
    ch = _apply(request, reg, user, pseudonym, "correct", body.table, body.record, body.reason, body.changes)
    return ChangeOut(applied=True, message="corrected", changes=ch)


@router.post("/api/v1/patients/{pseudonym}/void", response_model=ChangeOut, tags=["corrections"],
             dependencies=[Depends(api_csrf)],
             responses={404: {"description": "No such patient or record"},
                        422: {"description": "Refused: the message names the field"}})
def api_void(request: Request, body: VoidIn, user: ClinicianDep, reg: RegistryDep,
             pseudonym: PseudonymPath) -> ChangeOut:
    """Mark one record entered in error with a reason (a voided death is a death undone: the plan items it
    closed re-open).  ``dry_run`` returns what voiding would change without applying it."""
    if body.dry_run:
        ch = _preview(request, reg, user, pseudonym, "void", body.table, body.record, body.reason, {})
        return ChangeOut(applied=False, message="not applied (dry run)", changes=ch)
    ch = _apply(request, reg, user, pseudonym, "void", body.table, body.record, body.reason, {})
    return ChangeOut(applied=True, message="entered in error: removed from the record, kept in the history",
                     changes=ch)


@router.get("/api/v1/patients/{pseudonym}/history", response_model=list[HistoryEntry], tags=["corrections"],
            responses={404: {"description": "No such patient"}})
def api_history(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath) -> list:
    """Every correction and void of the patient's records, oldest first: previous version, who, when, why."""
    with audited(request, user, "read", "record history", pseudonym):
        return reg.history_of(pseudonym)


# --- the pages ------------------------------------------------------------------------------------------

def _record_of(rec: PatientRecord, table: str, record: int | None, p: str) -> dict:
    """The current version of the record (as the registry's patient record holds it), as the form shows it."""
    if table == "identity":
        return (rec.identity or Identity()).model_dump(mode="json")
    if table == "patient":
        return rec.patient.model_dump(mode="json")
    for r in getattr(rec, _SLOTS[table]):
        if r.id == record:
            out: dict = r.model_dump(mode="json")
            if table == "encounter":
                out["date"] = out.get("done_on")
            return out
    raise NotFoundError(f"{table} {record} of patient {p!r}: no such record", field="record", patient=p)


def _text(v) -> str:
    return "" if v is None else str(v)


def _form_changes(form, current: dict, table: str) -> dict:
    """The fields the user changed (an emptied field is cleared)."""
    out: dict = {}
    for k in CORRECTABLE[table]:
        if f"f_{k}" not in form:
            continue
        v = str(form.get(f"f_{k}")).strip()
        if v != _text(current.get(k)):
            out[k] = v or None
    return out


def _ctx(request: Request, p: str, table: str, record: int | None, current: dict, **kw) -> dict:
    return {"p": p, "table": table, "record": record, "current": current, "fields": CORRECTABLE.get(table, ()),
            "errors": {}, "values": {}, "changes": {}, "consequences": [], "reason": "",
            **kw, **page_context(request)}


def _errors(exc: Exception, fields: tuple[str, ...] = ()) -> dict[str, str]:
    """The error next to its form field, or above the form when it names no field of the form."""
    field = getattr(exc, "field", None)
    return {field if field in (*fields, "reason") else "_form": str(exc)}


@router.get("/patients/{pseudonym}/correct", include_in_schema=False)
def correct_form(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath,
                 table: TableQuery, record: int | None = RecordQuery):
    with audited(request, user, "read", "correction form", pseudonym):
        current = _record_of(reg.patient_record(pseudonym), table, record, pseudonym)
    return templates.TemplateResponse(request, "correct.html", _ctx(request, pseudonym, table, record, current,
                                                                    step="edit"))


@router.post("/patients/{pseudonym}/correct", include_in_schema=False)
async def correct_post(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath,
                       table: TableQuery, record: int | None = RecordQuery):
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
    with audited(request, user, "read", "correction form", pseudonym):
        current = _record_of(reg.patient_record(pseudonym), table, record, pseudonym)
    values = {k: str(form.get(f"f_{k}", "")) for k in CORRECTABLE[table]}
    reason = str(form.get("reason", "")).strip()[:_MAX_REASON]
    changes = _form_changes(form, current, table)
    ctx = _ctx(request, pseudonym, table, record, current, values=values, reason=reason, changes=changes)
    if form.get("step") == "edit":  # back from the confirmation to the form, as the user left it
        return templates.TemplateResponse(request, "correct.html", {**ctx, "step": "edit"})
    try:
        if not changes:
            raise LeiosurvError("nothing changed: change at least one field")
        if form.get("step") == "apply":
            _apply(request, reg, user, pseudonym, "correct", table, record, reason, changes)
            return RedirectResponse(f"/patients/{renamed(pseudonym, table, changes)}/history?done=corrected",
                                    status_code=303)
        consequences = _preview(request, reg, user, pseudonym, "correct", table, record, reason, changes)
    except NotFoundError:
        raise
    except LeiosurvError as exc:
        return templates.TemplateResponse(request, "correct.html", {**ctx, "step": "edit",
                                                                    "errors": _errors(exc, CORRECTABLE[table])},
                                          status_code=422)
    return templates.TemplateResponse(request, "correct.html", {**ctx, "step": "confirm",
                                                                "consequences": consequences})


@router.get("/patients/{pseudonym}/void", include_in_schema=False)
def void_form(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath,
              table: VoidTableQuery, record: int = Query(ge=1, le=2**62)):
    with audited(request, user, "read", "void form", pseudonym):
        current = _record_of(reg.patient_record(pseudonym), table, record, pseudonym)
    # what voiding would change does not depend on the reason; the preview needs one, the user gives the real one
    consequences = _preview(request, reg, user, pseudonym, "void", table, record, "(preview)", {})
    return templates.TemplateResponse(request, "void.html", _ctx(request, pseudonym, table, record, current,
                                                                 consequences=consequences))


@router.post("/patients/{pseudonym}/void", include_in_schema=False)
async def void_post(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath,
                    table: VoidTableQuery, record: int = Query(ge=1, le=2**62)):
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
    reason = str(form.get("reason", "")).strip()[:_MAX_REASON]
    try:
        _apply(request, reg, user, pseudonym, "void", table, record, reason, {})
    except NotFoundError:
        raise
    except LeiosurvError as exc:
        with audited(request, user, "read", "void form", pseudonym):
            current = _record_of(reg.patient_record(pseudonym), table, record, pseudonym)
        consequences = _preview(request, reg, user, pseudonym, "void", table, record, "(preview)", {})
        return templates.TemplateResponse(request, "void.html", _ctx(
            request, pseudonym, table, record, current, consequences=consequences, reason=reason,
            errors=_errors(exc)), status_code=422)
    return RedirectResponse(f"/patients/{pseudonym}/history?done=voided", status_code=303)


_DONE = {"corrected": "Correction applied; the previous version is below.",
         "voided": "Record marked entered in error; its last version is below."}


@router.get("/patients/{pseudonym}/history", include_in_schema=False)
def history_page(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath):
    with audited(request, user, "read", "record history", pseudonym):
        entries = list(reversed(reg.history_of(pseudonym)))
    return templates.TemplateResponse(request, "history.html", {
        "p": pseudonym, "entries": entries, "done": _DONE.get(request.query_params.get("done", "")),
        **page_context(request)})


__all__ = ["router", "describe"]
