"""The cohort study on the registry (researchers and clinicians): tables, forest plot, curves, the report.

Researchers see only aggregates and the de-identified cohort: no names, birth
dates, pseudonyms or calendar dates.  Every run is stored in the registry with
its date, parameters, rule-set version and report files (``Registry.add_study_run``),
so runs survive a restart and are listed on the page.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from leiosurv.interfaces.web._app import page_context, templates
from leiosurv.interfaces.web._deps import RegistryDep, ResearcherDep, api_csrf, audit, check_csrf
from leiosurv.interfaces.web._schemas import StudyIn, StudyRunOut
from leiosurv.registry import ResearchCohort, StudyRunInfo
from leiosurv.study import StudyResult

router = APIRouter()
_LOCK = threading.Lock()


@dataclass(frozen=True)
class StudyRun:
    """A stored run: the registry's record of it (``info``) and its result rebuilt for the page."""

    info: StudyRunInfo
    result: StudyResult

    @property
    def years(self) -> float:
        from leiosurv.study import DAYS_PER_YEAR

        return self.result.horizon_days / DAYS_PER_YEAR

    @property
    def level(self) -> int:
        return int(round(100 * float(self.result.provenance.get("level", 0.95))))


def _stored(info: StudyRunInfo) -> StudyRun:
    return StudyRun(info, StudyResult.from_json(info.result))


def run(request: Request, reg, horizon: str, username: str | None) -> StudyRun:
    """Run the study on the registry's de-identified cohort and store the run with its report files."""
    from leiosurv.clinical import evidence
    from leiosurv.study import parse_horizon, render_report, run_study

    days = parse_horizon(horizon)
    with _LOCK:
        cohort = reg.cohort()
        result = run_study(cohort.study_cohort(), horizon_days=days, progress=None)
        files = render_report(result)
    prov = result.provenance
    parameters = {"horizon_days": days, **{k: prov[k] for k in ("level", "variance", "ci_method", "thresholds",
                                                                  "factors", "rule_id") if k in prov}}
    rid = reg.add_study_run(at=_dt.datetime.now(_dt.UTC), username=username, horizon=horizon,
                            parameters=json.loads(json.dumps(parameters, default=str)),
                            ruleset_version=evidence.RULESET.version, n=len(cohort.frame),
                            synthetic=bool(result.synthetic), result=result.to_json(), files=files)
    return _stored(reg.study_run(rid))


RunQ = Query(None, ge=1, le=2**31 - 1, description="A stored run (default: the latest).")


@router.get("/study", include_in_schema=False)
def study_page(request: Request, user: ResearcherDep, reg: RegistryDep, run: int | None = RunQ):
    info = reg.study_run(run)
    s = _stored(info) if info is not None else None
    audit(request, user, "read", "study page")
    return templates.TemplateResponse(request, "study.html", _context(request, reg, s, None))


def _context(request: Request, reg, s: StudyRun | None, error: str | None) -> dict:
    figures = sorted((n for n in (s.info.files if s else ()) if n.endswith(".svg")),
                     key=lambda n: (n != "forest_plot.svg", n))
    return {"s": s, "figures": figures, "error": error, "runs": reg.study_runs(limit=50), **page_context(request)}


@router.post("/study/run", include_in_schema=False)
async def study_run(request: Request, user: ResearcherDep, reg: RegistryDep):
    from starlette.concurrency import run_in_threadpool

    from leiosurv.exceptions import LeiosurvError

    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
    horizon = str(form.get("horizon") or "5y")[:16]
    try:
        s = await run_in_threadpool(run, request, reg, horizon, user.username)
    except LeiosurvError as exc:
        audit(request, user, "read", "cohort study run", outcome="invalid")
        info = reg.study_run()
        return templates.TemplateResponse(request, "study.html", _context(
            request, reg, _stored(info) if info else None, str(exc)), status_code=422)
    audit(request, user, "read", "cohort study run (de-identified cohort)")
    return RedirectResponse(f"/study?run={s.info.id}", status_code=303)


_MEDIA = {".html": "text/html", ".csv": "text/csv", ".json": "application/json", ".svg": "image/svg+xml",
          ".png": "image/png"}


def _file(reg, run_id: int | None, name: str, *, view: bool = False) -> Response:
    from starlette.exceptions import HTTPException

    from leiosurv.exceptions import NotFoundError

    info = reg.study_run(run_id) if run_id is not None else reg.study_run()
    if info is None or name not in info.files:
        raise HTTPException(404, "no such study file: run the study first")
    try:
        body = reg.study_run_file(info.id, name)
    except NotFoundError:
        raise HTTPException(404, "no such study file") from None
    ext = name[name.rfind("."):]
    shown = ext in (".svg", ".png") or (view and ext == ".html")
    headers = {} if shown else {"Content-Disposition": f'attachment; filename="run{info.id}-{name}"'}
    if ext in (".svg", ".html"):  # shown in the browser: the file itself may not run anything
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return Response(body, media_type=_MEDIA.get(ext, "application/octet-stream"), headers=headers)


@router.get("/study/files/{name}", include_in_schema=False)
def study_file(request: Request, user: ResearcherDep, reg: RegistryDep, name: str = Path(max_length=80)):
    """A file of the latest run."""
    return _file(reg, None, name)


@router.get("/study/runs/{run_id}/files/{name}", include_in_schema=False)
def study_run_file(request: Request, user: ResearcherDep, reg: RegistryDep,
                   run_id: int = Path(ge=1, le=2**31 - 1), name: str = Path(max_length=80),
                   view: bool = Query(False, description="Show an HTML report in the browser.")):
    """A file of a stored run (figures open full size; the report opens with ``view=true``)."""
    return _file(reg, run_id, name, view=view)


@router.post("/api/v1/study", tags=["study"], response_model=StudyRunOut, dependencies=[Depends(api_csrf)])
def api_study(request: Request, body: StudyIn, user: ResearcherDep, reg: RegistryDep) -> StudyRunOut:
    """Run the cohort study of seed 001 on the registry; returns the results (no patient-level data)."""
    s = run(request, reg, body.horizon, user.username)
    audit(request, user, "read", "cohort study run (de-identified cohort)")
    return StudyRunOut(synthetic=s.info.synthetic, n=s.info.n, study=s.result)


@router.get("/api/v1/cohort", response_model=ResearchCohort, tags=["study"])
def api_cohort(request: Request, user: ResearcherDep, reg: RegistryDep) -> ResearchCohort:
    """The de-identified cohort (ids T<n>, days since diagnosis; no names, birth dates, pseudonyms, dates)."""
    cohort = reg.research_cohort()
    audit(request, user, "export", "de-identified cohort")
    return cohort
