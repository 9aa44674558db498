"""The cohort study on the registry (researchers and clinicians): tables, forest plot, curves, the report.

Researchers see only aggregates and the de-identified cohort: no names, birth
dates, pseudonyms or calendar dates.
"""

from __future__ import annotations

import datetime as _dt
import threading
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from leiosurv.interfaces.web._app import page_context, templates
from leiosurv.interfaces.web._deps import RegistryDep, ResearcherDep, api_csrf, audit, check_csrf
from leiosurv.interfaces.web._schemas import CohortOut, StudyIn, StudyRunOut
from leiosurv.study import StudyResult

router = APIRouter()
_LOCK = threading.Lock()


@dataclass(frozen=True)
class StudyRun:
    files: dict[str, bytes]
    tables: dict[str, object]
    result: StudyResult
    at: _dt.datetime
    horizon: str
    synthetic: bool
    n: int


def run(request: Request, reg, horizon: str) -> StudyRun:
    from leiosurv.study import parse_horizon, render_report, result_tables, run_study

    days = parse_horizon(horizon)
    with _LOCK:
        cohort = reg.cohort()
        result = run_study(cohort.study_cohort(), horizon_days=days, progress=None)
        files = render_report(result)
    tables = {name: df for name, df in result_tables(result).items()}
    s = StudyRun(files, tables, result, _dt.datetime.now(_dt.UTC), horizon, bool(result.synthetic),
                 len(cohort.frame))
    request.app.state.study = s
    return s


@router.get("/study", include_in_schema=False)
def study_page(request: Request, user: ResearcherDep):
    s: StudyRun | None = request.app.state.study
    figures = sorted((n for n in (s.files if s else {}) if n.endswith(".svg")),
                     key=lambda n: (n != "forest_plot.svg", n))
    audit(request, user, "read", "study page")
    return templates.TemplateResponse(request, "study.html", {"s": s, "figures": figures, "error": None,
                                                               **page_context(request)})


@router.post("/study/run", include_in_schema=False)
async def study_run(request: Request, user: ResearcherDep, reg: RegistryDep):
    from starlette.concurrency import run_in_threadpool

    from leiosurv.exceptions import LeiosurvError

    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
    horizon = str(form.get("horizon") or "5y")[:16]
    try:
        await run_in_threadpool(run, request, reg, horizon)
    except LeiosurvError as exc:
        audit(request, user, "read", "cohort study run", outcome="invalid")
        return templates.TemplateResponse(request, "study.html", {"s": request.app.state.study, "figures": [],
                                                                   "error": str(exc), **page_context(request)},
                                          status_code=422)
    audit(request, user, "read", "cohort study run (de-identified cohort)")
    return RedirectResponse("/study", status_code=303)


_MEDIA = {".html": "text/html", ".csv": "text/csv", ".json": "application/json", ".svg": "image/svg+xml",
          ".png": "image/png"}


@router.get("/study/files/{name}", include_in_schema=False)
def study_file(request: Request, user: ResearcherDep, name: str = Path(max_length=80)):
    s: StudyRun | None = request.app.state.study
    if s is None or name not in s.files:
        from starlette.exceptions import HTTPException

        raise HTTPException(404, "no such study file: run the study first")
    ext = name[name.rfind("."):]
    headers = {} if ext in (".svg", ".png") else {"Content-Disposition": f'attachment; filename="{name}"'}
    if ext == ".svg":  # figures are shown in <img>; the SVG itself may not run anything
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return Response(s.files[name], media_type=_MEDIA.get(ext, "application/octet-stream"), headers=headers)


@router.post("/api/v1/study", tags=["study"], response_model=StudyRunOut, dependencies=[Depends(api_csrf)])
def api_study(request: Request, body: StudyIn, user: ResearcherDep, reg: RegistryDep) -> StudyRunOut:
    """Run the cohort study of seed 001 on the registry; returns the results (no patient-level data)."""
    s = run(request, reg, body.horizon)
    audit(request, user, "read", "cohort study run (de-identified cohort)")
    return StudyRunOut(synthetic=s.synthetic, n=s.n, study=s.result)


@router.get("/api/v1/cohort", response_model=CohortOut, tags=["study"])
def api_cohort(request: Request, user: ResearcherDep, reg: RegistryDep) -> CohortOut:
    """The de-identified cohort (ids T<n>, days since diagnosis; no names, birth dates, pseudonyms, dates)."""
    import json

    df = reg.research_export()["cohort"]
    audit(request, user, "export", "de-identified cohort")
    rows = json.loads(df.to_json(orient="records", date_format="iso"))
    return CohortOut(n=len(df), columns=[str(c) for c in df.columns], rows=rows)
