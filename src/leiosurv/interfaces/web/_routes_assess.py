"""Assessment: findings in, diagnosis candidates, applicability, risk group and dated plan out (nothing stored).

The page re-renders on every change of a finding (``static/app.js`` posts the
form to ``/assess/preview`` and swaps in the result); without JavaScript the
"Assess" button does the same with a full page.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from leiosurv.clinical import Assessment, assess, parse_findings
from leiosurv.exceptions import FindingsError
from leiosurv.interfaces.web._app import page_context, templates
from leiosurv.interfaces.web._deps import ClinicianDep, api_csrf, audit, check_csrf
from leiosurv.interfaces.web._forms import (
    CATEGORY_CHOICES,
    FINDINGS_SECTIONS,
    errors_by_field,
    findings_from_form,
)
from leiosurv.interfaces.web._schemas import AssessIn

router = APIRouter()


def assess_form(request: Request, form) -> tuple[dict, dict[str, str], Assessment | None]:
    """(entered values, errors by field, the assessment or None) for a posted findings form."""
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    data = findings_from_form(form)
    if "excision_date" not in data:
        return values, {"excision_date": "needed: the date of the excision (or biopsy)"}, None
    try:
        f = parse_findings(data, today=request.app.state.settings.as_of())
    except FindingsError as exc:
        return values, errors_by_field(exc), None
    return values, {}, assess(f, as_of=request.app.state.settings.as_of())


def form_context(request: Request, values: dict, errors: dict, result: Assessment | None, **extra) -> dict:
    return {"sections": FINDINGS_SECTIONS, "categories": CATEGORY_CHOICES, "values": values, "errors": errors,
            "a": result, "as_of": request.app.state.settings.as_of(), **page_context(request), **extra}


@router.get("/assess", include_in_schema=False)
def assess_page(request: Request, user: ClinicianDep):
    return templates.TemplateResponse(request, "assess.html", form_context(request, {}, {}, None))


@router.post("/assess", include_in_schema=False)
async def assess_post(request: Request, user: ClinicianDep):
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
    values, errors, a = assess_form(request, form)
    return templates.TemplateResponse(request, "assess.html", form_context(request, values, errors, a),
                                      status_code=422 if errors else 200)


@router.post("/assess/preview", include_in_schema=False)
async def assess_preview(request: Request, user: ClinicianDep):
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
    values, errors, a = assess_form(request, form)
    return templates.TemplateResponse(request, "_result.html", form_context(request, values, errors, a))


@router.post("/api/v1/assessments", response_model=Assessment, tags=["assessment"],
             dependencies=[Depends(api_csrf)],
             responses={422: {"description": "invalid findings: message and field"}})
async def api_assess(request: Request, body: AssessIn, user: ClinicianDep):
    """Assess findings: ranked diagnosis candidates, pathway, dermal-LMS risk group with its evidence, dated plan.

    Nothing is stored and no patient is named, so it is not audited as a patient record.
    (Computed on the event loop: one assessment takes well under a millisecond; the
    result is serialised once, without FastAPI validating the core's own model again.)
    """
    a = assess(body.findings, as_of=body.as_of or request.app.state.settings.as_of(),
               mitotic_definition=body.mitotic_definition)
    return Response(a.model_dump_json(), media_type="application/json")


__all__ = ["router", "assess_form", "form_context", "audit"]
