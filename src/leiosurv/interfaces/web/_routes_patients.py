"""Patients: the list with search, one patient's course, new tumours, encounters and events, downloads.

Clinicians only (identified records); every read and write is audited with the
patient's pseudonym.  All data comes from :class:`leiosurv.registry.Registry`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import io
import json
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from leiosurv.clinical import Assessment
from leiosurv.exceptions import InputError, LeiosurvError, NotFoundError
from leiosurv.interfaces.web._app import page_context, templates
from leiosurv.interfaces.web._deps import ClinicianDep, RegistryDep, api_csrf, audit, check_csrf
from leiosurv.interfaces.web._forms import errors_by_field
from leiosurv.interfaces.web._routes_assess import assess_form, form_context
from leiosurv.interfaces.web._schemas import (
    CreatedOut,
    EncounterCreate,
    EventCreate,
    PatientCreate,
    PatientListOut,
    TumourCreate,
)
from leiosurv.registry import PatientRecord, Timeline, live_assessment

router = APIRouter()
PseudonymPath = Annotated[str, Path(min_length=1, max_length=64)]
LabelPath = Annotated[str, Path(min_length=1, max_length=64)]
_PLOT_LOCK = threading.Lock()
PAGE = 50
DONE_TEXT = {"patient": "Patient registered.", "tumour": "Tumour registered: assessed and planned.",
             "encounter": "Encounter recorded.", "event": "Event recorded; the plan was re-made where it applies."}


@contextlib.contextmanager
def audited(request: Request, user, action: str, resource: str, patient: str | None):
    """Audit the outcome of the block: ok, not_found, invalid or failed."""
    try:
        yield
    except NotFoundError:
        audit(request, user, action, resource, patient=patient, outcome="not_found")
        raise
    except InputError:
        audit(request, user, action, resource, patient=patient, outcome="invalid")
        raise
    except Exception:
        audit(request, user, action, resource, patient=patient, outcome="failed")
        raise
    audit(request, user, action, resource, patient=patient)


def _field_of(exc: Exception) -> str:
    """The form field an error is about: the registry names it (``RegistryError.field``); else the form."""
    return getattr(exc, "field", None) or "_form"


# --- the list -------------------------------------------------------------------------------------------

def _list(reg, q: str, offset: int, synthetic: bool | None) -> PatientListOut:
    total, rows = reg.find_patients(q, limit=PAGE, offset=offset, identified=True, synthetic=synthetic)
    return PatientListOut(total=total, offset=offset, patients=rows)


Q = Query("", max_length=64, description="Part of a pseudonym, name or ISO birth date (1958, 1958-04-12).")
Offset = Query(0, ge=0, le=10**9)
Synthetic = Query(None, description="Only synthetic (true) or only real (false) patients.")


@router.get("/patients", include_in_schema=False)
def patients_page(request: Request, user: ClinicianDep, reg: RegistryDep, q: str = Q, offset: int = Offset,
                  synthetic: bool | None = Synthetic):
    data = _list(reg, q, offset, synthetic)
    audit(request, user, "read", "patient list" + (" (search)" if q else ""),
          patients=[r.pseudonym for r in data.patients])
    return templates.TemplateResponse(request, "patients.html", {
        "d": data, "q": q, "page": PAGE, "errors": {}, "values": {}, **_pages(data), **page_context(request)})


def _pages(d: PatientListOut) -> dict:
    """Page numbers of the list: the first, the last and two either side of the current one (None: a gap)."""
    pages = max(1, -(-d.total // PAGE))
    current = min(d.offset // PAGE + 1, pages)
    keep = sorted({1, pages, *range(max(1, current - 2), min(pages, current + 2) + 1)})
    numbers: list[int | None] = []
    for n in keep:
        if numbers and n - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(n)
    return {"pages": pages, "current": current, "page_numbers": numbers}


@router.post("/patients", include_in_schema=False)
async def patients_create(request: Request, user: ClinicianDep, reg: RegistryDep):
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    p = values.get("pseudonym", "").strip()
    try:
        with audited(request, user, "write", "patient", p[:64] or None):
            PatientCreate(pseudonym=p, sex=values.get("sex") or "unknown", name=values.get("name") or None,
                          birth_date=values.get("birth_date") or None)
            reg.add_patient(p, sex=values.get("sex") or "unknown", name=values.get("name") or None,
                            birth_date=values.get("birth_date") or None)
    except (LeiosurvError, ValueError) as exc:
        errors = _validation_errors(exc)
        data = _list(reg, "", 0, None)
        audit(request, user, "read", "patient list", patients=[r.pseudonym for r in data.patients])
        return templates.TemplateResponse(request, "patients.html", {
            "d": data, "q": "", "page": PAGE, "errors": errors, "values": values, **_pages(data),
            **page_context(request)}, status_code=422)
    return RedirectResponse(f"/patients/{p}?done=patient", status_code=303)


def _validation_errors(exc: Exception) -> dict[str, str]:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return {".".join(str(x) for x in e["loc"]) or "_form": e["msg"].removeprefix("Value error, ")
                for e in exc.errors()}
    if hasattr(exc, "errors") and isinstance(exc.errors, list):
        return errors_by_field(exc)  # type: ignore[arg-type]
    return {_field_of(exc): str(exc)}


@router.get("/api/v1/patients", response_model=PatientListOut, tags=["patients"])
def api_patients(request: Request, user: ClinicianDep, reg: RegistryDep, q: str = Q, offset: int = Offset,
                 synthetic: bool | None = Synthetic) -> PatientListOut:
    """Patients (identified: name and birth date) whose pseudonym or name contains ``q``, 50 at a time."""
    data = _list(reg, q, offset, synthetic)
    audit(request, user, "read", "patient list" + (" (search)" if q else ""),
          patients=[r.pseudonym for r in data.patients])
    return data


@router.post("/api/v1/patients", response_model=CreatedOut, status_code=201, tags=["patients"],
             dependencies=[Depends(api_csrf)])
def api_create_patient(request: Request, body: PatientCreate, user: ClinicianDep, reg: RegistryDep):
    """Register a patient under a pseudonym (name and birth date are kept apart, shown to clinicians only)."""
    with audited(request, user, "write", "patient", body.pseudonym):
        reg.add_patient(body.pseudonym, sex=body.sex, name=body.name, birth_date=body.birth_date)
    return CreatedOut(id=body.pseudonym, message="patient registered")


# --- one patient ----------------------------------------------------------------------------------------

def _encounter_state(e: dict, today: _dt.date) -> str:
    if e["status"] != "planned":
        return e["status"]
    if e.get("window_end") and e["window_end"] < today.isoformat():
        return "overdue"
    if e.get("window_start") and e["window_start"] <= today.isoformat():
        return "due"
    return "upcoming"


def death_of(rec: dict) -> dict | None:
    """The patient's recorded death (the event), or None."""
    return next((e for e in rec["events"] if e["kind"] == "death"), None)


def patient_context(request: Request, reg, p: str, *, errors: dict | None = None, values: dict | None = None,
                    form: str | None = None) -> dict:
    rec = reg.patient_record(p).to_dict()
    today = request.app.state.settings.as_of()
    for e in rec["encounters"]:
        e["state"] = _encounter_state(e, today)
    current = {}
    for t in rec["tumours"]:
        cur = next((a for a in t["assessments"] if a["current"]), None)
        current[t["label"]] = cur["result"] if cur else None
    open_items = sorted((e for e in rec["encounters"] if e["status"] == "planned" and e.get("plan_item")),
                        key=lambda e: (e.get("due") or "", e.get("tumour") or ""))
    # the encounter form starts on the item due now (the longest overdue first), not on "ad hoc"
    due_now = next((e for e in open_items if e["state"] in ("overdue", "due")), None)
    open_by_tumour = {t["label"]: [e for e in open_items if e.get("tumour") == t["label"]] for t in rec["tumours"]}
    labels = {t["label"] for t in rec["tumours"]}
    other = [e for e in rec["encounters"] if e.get("tumour") not in labels]
    def line(r: dict, *keys: str) -> dict:
        return {**r, "what": r["kind"], "detail": "; ".join(str(r[k]) for k in keys if r.get(k))}

    course = sorted([line(e, "site", "cause", "note") for e in rec["events"]]
                    + [line(r, "margin_status", "agent", "note") for r in rec["treatments"]], key=lambda x: x["date"])
    return {"rec": rec, "p": p, "current": current, "open_items": open_items, "today": today, "other": other,
            "course": course, "death": death_of(rec), "open_by_tumour": open_by_tumour,
            "default_item": f"{due_now['tumour']}|{due_now['plan_item']}" if due_now else "",
            "errors": errors or {}, "values": values or {}, "form": form,
            "done": DONE_TEXT.get(request.query_params.get("done", "")), **page_context(request)}


@router.get("/patients/{pseudonym}", include_in_schema=False)
def patient_page(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath):
    with audited(request, user, "read", "patient record", pseudonym):
        ctx = patient_context(request, reg, pseudonym)
    return templates.TemplateResponse(request, "patient.html", ctx)


@router.get("/patients/{pseudonym}/timeline.png", include_in_schema=False)
def patient_timeline_png(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath):
    with audited(request, user, "read", "patient timeline figure", pseudonym):
        tl = reg.timeline(pseudonym)
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    with _PLOT_LOCK:
        fig = tl.plot()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
    return Response(buf.getvalue(), media_type="image/png")


@router.get("/api/v1/patients/{pseudonym}", tags=["patients"], response_model=PatientRecord)
def api_patient(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath) -> PatientRecord:
    """Everything the registry holds on one patient (identified), every assessment with its rule-set version."""
    with audited(request, user, "read", "patient record", pseudonym):
        return reg.patient_record(pseudonym)


@router.get("/api/v1/patients/{pseudonym}/timeline", tags=["patients"], response_model=Timeline)
def api_timeline(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath) -> Timeline:
    """The patient's course in date order with latencies from the primary."""
    with audited(request, user, "read", "patient timeline", pseudonym):
        return reg.timeline(pseudonym)


@router.get("/api/v1/patients/{pseudonym}/fhir", tags=["patients"], response_model=dict)
def api_patient_fhir(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath,
                     identify: bool = Query(False, description="Include name and birth date.")) -> dict:
    """The patient as a FHIR R4 Bundle (Patient, Conditions, CarePlans, ...)."""
    from leiosurv.interfaces.registry_fhir import patient_bundle

    with audited(request, user, "export", "patient FHIR" + (" (identified)" if identify else ""), pseudonym):
        return patient_bundle(reg.patient_record(pseudonym).to_dict(), identify=identify)


@router.get("/patients/{pseudonym}/fhir.json", include_in_schema=False)
def patient_fhir_download(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath):
    b = api_patient_fhir(request, user, reg, pseudonym, identify=False)
    return _download(json.dumps(b, indent=1).encode(), "application/fhir+json", f"{pseudonym}.fhir.json")


# --- tumours --------------------------------------------------------------------------------------------

class DeceasedError(InputError):
    """A form or letter meant for the living, asked for a deceased patient."""


def _living(reg, p: str) -> dict:
    """The patient's record; refused (422, naming the death) when the patient is recorded as deceased."""
    rec = reg.patient_record(p).to_dict()
    death = death_of(rec)
    if death is not None:
        raise DeceasedError(f"patient: {p} is recorded as deceased ({death['date']}); "
                            "this is offered for the living only")
    return rec


@router.get("/patients/{pseudonym}/tumours/{label}/assessment", include_in_schema=False)
def assessment_page(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath,
                    label: LabelPath):
    """The tumour's current assessment in full (printable): candidates, pathway, group, warnings, plan."""
    with audited(request, user, "read", "assessment", pseudonym):
        rec = reg.patient_record(pseudonym).to_dict()
        a = _stored(reg, pseudonym, label)
    tumour = next(t for t in rec["tumours"] if t["label"] == label)
    meta = next((x for x in tumour["assessments"] if x["current"]), None)
    return templates.TemplateResponse(request, "assessment.html", {
        "p": pseudonym, "rec": rec, "t": tumour, "meta": meta, "a": a, "errors": {}, "death": death_of(rec),
        "saved": True, **page_context(request)})


def _stored(reg, p: str, label: str) -> Assessment:
    result = dict(reg.assessment_result(p, label))
    result.pop("registry", None)
    return Assessment.model_validate(result)


@router.get("/patients/{pseudonym}/tumours/new", include_in_schema=False)
def tumour_form(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath):
    with audited(request, user, "read", "new tumour form", pseudonym):
        _living(reg, pseudonym)
    return templates.TemplateResponse(request, "assess.html", form_context(request, {}, {}, None, patient=pseudonym))


@router.post("/patients/{pseudonym}/tumours/new", include_in_schema=False)
async def tumour_create(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath):
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
    values, errors, a = assess_form(request, form)
    if form.get("action") != "save":  # Enter in a field, or "Assess": only look at the result; nothing is stored
        return templates.TemplateResponse(request, "assess.html", form_context(
            request, values, errors, a, patient=pseudonym), status_code=422 if errors else 200)
    label = str(form.get("label", "")).strip()
    if not label:
        errors["label"] = "needed: a label for the tumour, unique for the patient (e.g. T1)"
    if errors or a is None:
        return templates.TemplateResponse(request, "assess.html", form_context(
            request, values, errors, a, patient=pseudonym), status_code=422)
    from leiosurv.interfaces.web._forms import findings_from_form

    data = findings_from_form(form)
    try:
        with audited(request, user, "write", "tumour", pseudonym):
            _living(reg, pseudonym)
            reg.add_tumour(pseudonym, label[:64], data, confirmed_diagnosis=data.pop("confirmed_diagnosis", None),
                           as_of=request.app.state.settings.as_of())
    except LeiosurvError as exc:
        errs = {"_form": str(exc)} if isinstance(exc, DeceasedError) else _validation_errors(exc)
        if "tumour" in errs:  # the registry's field for the tumour is the form's label
            errs = {"label": errs.pop("tumour"), **errs}
        return templates.TemplateResponse(request, "assess.html", form_context(
            request, values, errs, a, patient=pseudonym), status_code=422)
    return RedirectResponse(f"/patients/{pseudonym}?done=tumour", status_code=303)


@router.post("/api/v1/patients/{pseudonym}/tumours", response_model=Assessment, status_code=201, tags=["patients"],
             dependencies=[Depends(api_csrf)])
def api_add_tumour(request: Request, body: TumourCreate, user: ClinicianDep, reg: RegistryDep,
                   pseudonym: PseudonymPath) -> Assessment:
    """Register a tumour: its findings are assessed, the assessment and its dated plan stored."""
    findings = body.findings.model_dump(mode="json", exclude_none=True)
    confirmed = body.confirmed_diagnosis or findings.pop("confirmed_diagnosis", None)
    with audited(request, user, "write", "tumour", pseudonym):
        reg.add_tumour(pseudonym, body.label, findings, confirmed_diagnosis=confirmed,
                       as_of=request.app.state.settings.as_of())
        return _stored(reg, pseudonym, body.label)


@router.get("/api/v1/patients/{pseudonym}/tumours/{label}/assessment", response_model=Assessment,
            tags=["patients"])
def api_tumour_assessment(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath,
                          label: LabelPath) -> Assessment:
    """The tumour's current assessment (the core's result, with its rule-set version)."""
    with audited(request, user, "read", "assessment", pseudonym):
        return _stored(reg, pseudonym, label)


# --- downloads ------------------------------------------------------------------------------------------

def _download(content: bytes, media: str, filename: str) -> Response:
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in filename)
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{safe}"'})


def _live(reg, p: str, label: str) -> Assessment:
    return live_assessment(reg.assessment_result(p, label))


@router.get("/api/v1/patients/{pseudonym}/tumours/{label}/plan.ics", tags=["downloads"],
            response_class=Response, responses={200: {"content": {"text/calendar": {}}}})
def plan_ics(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath, label: LabelPath):
    """The tumour's surveillance plan as an iCalendar file."""
    from leiosurv.interfaces.ics import plan_to_ics

    with audited(request, user, "export", "plan iCalendar", pseudonym):
        body = plan_to_ics(_live(reg, pseudonym, label), label=f"{pseudonym} {label}")
    return _download(body, "text/calendar", f"{pseudonym}-{label}-plan.ics")


@router.get("/api/v1/patients/{pseudonym}/tumours/{label}/plan.fhir.json", tags=["downloads"], response_model=dict)
def plan_fhir(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath, label: LabelPath):
    """The tumour's assessment as a FHIR R4 Bundle (Condition, RiskAssessment, CarePlan)."""
    from leiosurv.interfaces.fhir import assessment_to_fhir

    with audited(request, user, "export", "plan FHIR", pseudonym):
        body = assessment_to_fhir(_live(reg, pseudonym, label))
    return _download(json.dumps(body, indent=1).encode(), "application/fhir+json", f"{pseudonym}-{label}.fhir.json")


@router.get("/api/v1/patients/{pseudonym}/tumours/{label}/letter-{audience}.pdf", tags=["downloads"],
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def letter(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath, label: LabelPath,
           audience: Annotated[str, Path(pattern="^(patient|gp)$")]):
    """A printable letter about the plan: for the patient, or for the general practitioner."""
    from leiosurv.interfaces.web._letters import letter_pdf

    with audited(request, user, "export", f"{audience} letter", pseudonym):
        rec = _living(reg, pseudonym) if audience == "patient" else reg.patient_record(pseudonym).to_dict()
        a = _live(reg, pseudonym, label)
        pdf = letter_pdf(audience, a, rec, label, today=request.app.state.settings.as_of())
    return _download(pdf, "application/pdf", f"{pseudonym}-{label}-letter-{audience}.pdf")


# --- encounters and events ------------------------------------------------------------------------------

def _form_values(form) -> dict[str, str]:
    return {k: str(v).strip() for k, v in form.items() if k != "csrf_token"}


def _opt(v: str | None) -> str | None:
    return v if v else None


async def _record_page(request: Request, user, reg, pseudonym: str, kind: str, model, call):
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
    values = _form_values(form)
    if kind == "encounter" and "item" in values:  # the page's one select: "<tumour>|<plan item>" or "" (ad hoc)
        tumour, _, item = values["item"].partition("|")
        if item:
            values.update(tumour=tumour, plan_item=item, modality="", modality_class="")
    if kind == "event" and values.get("kind") == "death" and values.get("confirm") != "yes":
        rec = reg.patient_record(pseudonym).to_dict()  # not stored yet: ask first, showing what recording it closes
        audit(request, user, "read", "death confirmation", patient=pseudonym)
        return templates.TemplateResponse(request, "confirm_death.html", {
            "p": pseudonym, "rec": rec, "values": values, "open_items": [
                e for e in rec["encounters"] if e["status"] == "planned"], **page_context(request)})
    try:
        body = model(**{k: v for k, v in values.items() if v != "" and k in model.model_fields})
        with audited(request, user, "write", kind, pseudonym):
            if kind == "encounter":
                _living(reg, pseudonym)
            call(body)
    except (LeiosurvError, ValueError) as exc:
        if isinstance(exc, NotFoundError) and not reg.has_patient(pseudonym):
            raise
        ctx = patient_context(request, reg, pseudonym, errors=_validation_errors(exc), values=values, form=kind)
        return templates.TemplateResponse(request, "patient.html", ctx, status_code=422)
    return RedirectResponse(f"/patients/{pseudonym}?done={kind}#{kind}s", status_code=303)


def record_encounter(reg, request, p: str, b: EncounterCreate) -> int:
    """Record an encounter (page, API and the dashboard's rows); the registry refuses a modality that
    contradicts a planned item's."""
    return reg.record_encounter(p, date=b.date, status=b.status, tumour=b.tumour, plan_item=b.plan_item,
                                modality_class=b.modality_class, kind=b.kind, modality=b.modality,
                                findings=b.findings, as_of=request.app.state.settings.as_of())


def _event(reg, request, p: str, b: EventCreate) -> int:
    return reg.record_event(p, b.kind, b.date, tumour=b.tumour, site=b.site, cause=b.cause, note=b.note,
                            as_of=request.app.state.settings.as_of())


@router.post("/patients/{pseudonym}/encounters", include_in_schema=False)
async def encounter_post(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath):
    return await _record_page(request, user, reg, pseudonym, "encounter", EncounterCreate,
                              lambda b: record_encounter(reg, request, pseudonym, b))


@router.post("/patients/{pseudonym}/events", include_in_schema=False)
async def event_post(request: Request, user: ClinicianDep, reg: RegistryDep, pseudonym: PseudonymPath):
    return await _record_page(request, user, reg, pseudonym, "event", EventCreate,
                              lambda b: _event(reg, request, pseudonym, b))


@router.post("/api/v1/patients/{pseudonym}/encounters", response_model=CreatedOut, status_code=201,
             tags=["patients"], dependencies=[Depends(api_csrf)])
def api_encounter(request: Request, body: EncounterCreate, user: ClinicianDep, reg: RegistryDep,
                  pseudonym: PseudonymPath) -> CreatedOut:
    """Record an encounter: a planned one done or missed (``plan_item``), or an ad hoc one."""
    with audited(request, user, "write", "encounter", pseudonym):
        eid = record_encounter(reg, request, pseudonym, body)
    return CreatedOut(id=eid, message="encounter recorded")


@router.post("/api/v1/patients/{pseudonym}/events", response_model=CreatedOut, status_code=201, tags=["patients"],
             dependencies=[Depends(api_csrf)])
def api_event(request: Request, body: EventCreate, user: ClinicianDep, reg: RegistryDep,
              pseudonym: PseudonymPath) -> CreatedOut:
    """Record a local recurrence, metastasis, new primary or death; the plan is re-made where it applies."""
    with audited(request, user, "write", "event", pseudonym):
        eid = _event(reg, request, pseudonym, body)
    return CreatedOut(id=eid, message="event recorded")


# page links to the downloads use the API paths (same session); keep JSONResponse importable for callers
__all__ = ["router", "JSONResponse"]
