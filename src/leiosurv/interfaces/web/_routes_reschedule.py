"""Rescheduling a planned encounter: from its row of the work list, and through the API.

Clinicians only; the named user is the signed-in user.  As every plan-changing
act, a reschedule is confirmed first: the row's form (new date, reason) leads to
a page that says what will change, computed by the registry
(:meth:`leiosurv.registry.Registry.preview` with ``"reschedule"``: the same
rules and plan state machine, rolled back); its button applies it with
:meth:`~leiosurv.registry.Registry.reschedule` and returns to the same work
list.  Refusals are the registry's one-line messages (a deceased patient, an
item no longer planned, a date before the diagnosis or outside the registry's
bounds).  Every read and write is audited with the patient's pseudonym.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leiosurv.exceptions import LeiosurvError
from leiosurv.interfaces.web._app import page_context, templates
from leiosurv.interfaces.web._deps import ClinicianDep, RegistryDep, api_csrf, audit
from leiosurv.interfaces.web._routes_corrections import ChangeOut, describe
from leiosurv.interfaces.web._routes_dashboard import row_form
from leiosurv.interfaces.web._routes_patients import audited
from leiosurv.registry import PatientRecord, Registry

router = APIRouter()
PseudonymPath = Annotated[str, Path(min_length=1, max_length=64)]
_MAX_REASON = 500


class RescheduleIn(BaseModel):
    """A new due date for a still-planned plan item, and why; ``dry_run`` only says what would change."""

    model_config = ConfigDict(extra="forbid")
    plan_item: str = Field(min_length=1, max_length=32, description="The plan item, e.g. visit-m012.")
    tumour: str | None = Field(None, min_length=1, max_length=64,
                               description="The tumour's label (default the first diagnosed).")
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="The new due date, YYYY-MM-DD.")
    reason: str = Field(min_length=1, max_length=_MAX_REASON, description="Why the item is rescheduled.")
    dry_run: bool = False


def _changes(body: RescheduleIn) -> dict:
    return {"plan_item": body.plan_item, "date": body.date, **({"tumour": body.tumour} if body.tumour else {})}


def _preview(request: Request, reg: Registry, user, p: str, body: RescheduleIn) -> tuple[PatientRecord, PatientRecord]:
    """The patient's record now and as the reschedule would leave it (nothing written)."""
    as_of = request.app.state.settings.as_of()
    with audited(request, user, "read", "reschedule preview", p):
        before = reg.patient_record(p)
        after = reg.preview(p, "reschedule", "encounter", reason=body.reason, by=user.username, as_of=as_of,
                            **_changes(body))
    return before, after


def _apply(request: Request, reg: Registry, user, p: str, body: RescheduleIn) -> tuple[PatientRecord, PatientRecord]:
    """Reschedule; the record before and after."""
    as_of = request.app.state.settings.as_of()
    before = reg.patient_record(p)
    with audited(request, user, "write", "reschedule", p):
        reg.reschedule(p, body.plan_item, body.date, tumour=body.tumour, reason=body.reason, by=user.username,
                       as_of=as_of)
    return before, reg.patient_record(p)


def _moved(before: PatientRecord, after: PatientRecord) -> tuple[dict, dict]:
    """The encounter the reschedule moved: its version before and after (as the templates read them)."""
    old = {e["id"]: e for e in before.to_dict()["encounters"]}
    new = next(e for e in after.to_dict()["encounters"] if e["id"] in old and old[e["id"]] != e)
    return old[new["id"]], new


# --- the API --------------------------------------------------------------------------------------------

@router.post("/api/v1/patients/{pseudonym}/reschedule", response_model=ChangeOut, tags=["corrections"],
             dependencies=[Depends(api_csrf)],
             responses={404: {"description": "No such patient, tumour or plan item"},
                        422: {"description": "Refused (a deceased patient, an item not planned, a date before the "
                                             "diagnosis or outside 1900-01-01..2199-12-31): the message names the "
                                             "field"}})
def api_reschedule(request: Request, body: RescheduleIn, user: ClinicianDep, reg: RegistryDep,
                   pseudonym: PseudonymPath) -> ChangeOut:
    """Give a still-planned plan item a new due date (its window follows, as the plan makes windows); the
    previous version is kept in the history with the reason and the signed-in user.  ``dry_run`` returns what
    the reschedule would change without applying it."""
    if body.dry_run:
        before, after = _preview(request, reg, user, pseudonym, body)
        return ChangeOut(applied=False, message="not applied (dry run)", changes=describe(before, after))
    before, after = _apply(request, reg, user, pseudonym, body)
    _, e = _moved(before, after)
    return ChangeOut(applied=True, message=f"rescheduled to {e['due']} (window {e['window_start']} to "
                                           f"{e['window_end']})", changes=describe(before, after))


# --- the work list's action -----------------------------------------------------------------------------

@router.post("/dashboard/reschedule", include_in_schema=False)
async def dashboard_reschedule(request: Request, user: ClinicianDep, reg: RegistryDep):
    """Step ``review`` (the row's form): the confirmation page; step ``apply``: reschedule, back to the list."""
    v, back, sep, patient = await row_form(request)
    item = v.get("plan_item", "")
    try:
        body = RescheduleIn(plan_item=item, tumour=v.get("tumour") or None, date=v.get("date", ""),
                            reason=v.get("reason", "")[:_MAX_REASON])
    except ValidationError as exc:
        audit(request, user, "write" if v.get("step") == "apply" else "read",
              "reschedule" if v.get("step") == "apply" else "reschedule preview", patient=patient or None,
              outcome="invalid")
        field = str(exc.errors()[0]["loc"][0])
        msg = {"date": "date: the new due date is YYYY-MM-DD", "reason": "reason: a reschedule needs its reason",
               "plan_item": "plan_item: which plan item"}.get(field, f"{field}: not accepted")
        return RedirectResponse(f"{back}{sep}{urlencode({'error': f'{patient} {item}: {msg}'})}", status_code=303)
    try:
        if v.get("step") == "apply":
            _, e = _moved(*_apply(request, reg, user, patient, body))
            done = (f"{patient} {e['tumour']} {item}: rescheduled to {e['due']} "
                    f"(window {e['window_start']} to {e['window_end']})")
            return RedirectResponse(f"{back}{sep}{urlencode({'done': done})}", status_code=303)
        before, after = _preview(request, reg, user, patient, body)
    except LeiosurvError as exc:
        msg = str(exc).splitlines()[0][:300]
        return RedirectResponse(f"{back}{sep}{urlencode({'error': f'{patient} {item}: {msg}'})}", status_code=303)
    old, new = _moved(before, after)
    ident = before.to_dict().get("identity") or {}
    return templates.TemplateResponse(request, "reschedule.html", {
        "p": patient, "ident": ident, "old": old, "new": new, "body": body, "back": back,
        "consequences": describe(before, after), **page_context(request)})


__all__ = ["router", "RescheduleIn"]
