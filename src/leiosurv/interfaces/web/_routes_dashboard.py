"""The morning list: overdue encounters, encounters coming due, surveillance gaps and recent misses.

The list for a day is computed by the registry and kept for :data:`CACHE_S`
seconds, or until the next write through this app (every write is audited,
which bumps ``app.state.generation``); writes from elsewhere (the CLI, another
server process) show within :data:`CACHE_S` seconds.  Every request is still
audited.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from leiosurv.interfaces.web._app import page_context, templates
from leiosurv.interfaces.web._deps import ClinicianDep, RegistryDep, audit
from leiosurv.interfaces.web._schemas import AlertOut, DashboardOut, MissedOut

router = APIRouter()
MISSED_DAYS = 365
CACHE_S = 5.0
_LOCK = threading.Lock()


def dashboard_data(request: Request, reg, as_of: _dt.date | None, due_within: int) -> tuple[DashboardOut, bytes]:
    """The dashboard for a day and its JSON, from the cache when still fresh."""
    day = as_of or request.app.state.settings.as_of()
    state = request.app.state
    key = (day, due_within)

    def fresh():
        hit = state.dashboard_cache.get(key)
        if hit is not None and hit[0] == state.generation and time.monotonic() - hit[1] < CACHE_S:
            return hit
        return None

    hit = fresh()
    if hit is None:
        with _LOCK:  # one computation at a time; the requests waiting for it reuse its result
            hit = fresh()
            if hit is None:
                gen, now = state.generation, time.monotonic()
                d = _compute(reg, day, due_within)
                if len(state.dashboard_cache) > 64:
                    state.dashboard_cache.clear()
                hit = state.dashboard_cache[key] = (gen, now, d, d.model_dump_json().encode())
    return hit[2], hit[3]


def _compute(reg, day: _dt.date, due_within: int) -> DashboardOut:
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
    d, _ = dashboard_data(request, reg, as_of, due_within)
    audit(request, user, "read", "dashboard")
    return templates.TemplateResponse(request, "dashboard.html", {"d": d, "due_within": due_within,
                                                                   **page_context(request)})


@router.get("/api/v1/dashboard", response_model=DashboardOut, tags=["dashboard"])
def api_dashboard(request: Request, user: ClinicianDep, reg: RegistryDep, as_of: _dt.date | None = AsOf,
                  due_within: int = DueWithin):
    """Overdue, due-soon and surveillance-gap alerts as of a day, and encounters recorded as missed."""
    _, body = dashboard_data(request, reg, as_of, due_within)
    audit(request, user, "read", "dashboard")
    return Response(body, media_type="application/json")
