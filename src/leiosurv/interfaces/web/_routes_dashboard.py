"""The morning list: overdue encounters, encounters coming due, surveillance gaps and recent misses."""

from __future__ import annotations

import datetime as _dt

from fastapi import APIRouter, Query, Request

from leiosurv.interfaces.web._app import page_context, templates
from leiosurv.interfaces.web._deps import ClinicianDep, RegistryDep, audit
from leiosurv.interfaces.web._schemas import AlertOut, DashboardOut, MissedOut

router = APIRouter()
MISSED_DAYS = 365


def dashboard_data(request: Request, reg, as_of: _dt.date | None, due_within: int) -> DashboardOut:
    day = as_of or request.app.state.settings.as_of()
    items = reg.alerts(day, due_within=due_within)
    by = {k: [AlertOut(**a.__dict__) for a in items if a.kind == k] for k in ("overdue", "due", "gap", "lost")}
    missed = [MissedOut(**m.__dict__) for m in reg.missed(day - _dt.timedelta(days=MISSED_DAYS))]
    return DashboardOut(as_of=day, overdue=by["overdue"], due=by["due"], gaps=by["gap"], lost=by["lost"],
                        missed=missed)


AsOf = Query(None, description="Day the list refers to (default today).")
DueWithin = Query(30, ge=0, le=3650, description="Days ahead counted as due soon.")


@router.get("/dashboard", include_in_schema=False)
def dashboard_page(request: Request, user: ClinicianDep, reg: RegistryDep, as_of: _dt.date | None = AsOf,
                   due_within: int = DueWithin):
    d = dashboard_data(request, reg, as_of, due_within)
    audit(request, user, "read", "dashboard")
    return templates.TemplateResponse(request, "dashboard.html", {"d": d, "due_within": due_within,
                                                                   **page_context(request)})


@router.get("/api/v1/dashboard", response_model=DashboardOut, tags=["dashboard"])
def api_dashboard(request: Request, user: ClinicianDep, reg: RegistryDep, as_of: _dt.date | None = AsOf,
                  due_within: int = DueWithin) -> DashboardOut:
    """Overdue, due-soon and surveillance-gap alerts as of a day, and encounters recorded as missed."""
    d = dashboard_data(request, reg, as_of, due_within)
    audit(request, user, "read", "dashboard")
    return d
