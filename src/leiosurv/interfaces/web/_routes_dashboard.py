"""The morning list: overdue encounters, encounters coming due, surveillance gaps and recent misses.

The list for a day is computed by the registry and kept for :data:`CACHE_S`
seconds, or until the next write through the app in any server process: every
write is audited, and the id of the newest audited write (read from the database
on every request, one index lookup) is part of the cache key.  Writes from outside
the app (the CLI) show within :data:`CACHE_S` seconds (plus one computation: while
an expired list is recomputed, other requests get the previous one).  After a
write, every request waits for the fresh list.  Every request is still audited,
with the pseudonyms of the patients it shows.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from leiosurv.interfaces.web._app import page_context, templates
from leiosurv.interfaces.web._deps import ClinicianDep, RegistryDep, audit
from leiosurv.interfaces.web._schemas import FIRST_DAY, LAST_DAY, AlertOut, DashboardOut

router = APIRouter()
MISSED_DAYS = 365
CACHE_S = 5.0
_LOCK = threading.Lock()


def dashboard_data(request: Request, reg, as_of: _dt.date | None, due_within: int,
                   limit: int = 100) -> tuple[DashboardOut, bytes, list[str]]:
    """The dashboard for a day, its JSON and the pseudonyms it shows, from the cache when still fresh."""
    day = as_of or request.app.state.settings.as_of()
    state = request.app.state
    key = (day, due_within, limit)
    generation = reg.last_write()

    def fresh():
        hit = state.dashboard_cache.get(key)
        if hit is not None and hit[0] == generation and time.monotonic() - hit[1] < CACHE_S:
            return hit
        return None

    hit = fresh()
    if hit is None:
        old = state.dashboard_cache.get(key)
        if old is not None and old[0] == generation:
            # only the time limit has passed (no write through this app since): while one request
            # recomputes, the others get the previous list (a few seconds old) instead of waiting
            if not _LOCK.acquire(blocking=False):
                return old[2], old[3], old[4]
        else:
            _LOCK.acquire()
        try:  # one computation at a time; the requests waiting for it reuse its result
            hit = fresh()
            if hit is None:
                now = time.monotonic()
                d = _compute(reg, day, due_within, limit)
                if len(state.dashboard_cache) > 64:
                    state.dashboard_cache.clear()
                hit = state.dashboard_cache[key] = (generation, now, d, d.model_dump_json().encode(), _shown(d))
        finally:
            _LOCK.release()
    return hit[2], hit[3], hit[4]


def _shown(d: DashboardOut) -> list[str]:
    """The pseudonyms of every patient the dashboard lists, once each, in the order shown."""
    seen: dict[str, None] = {}
    for items in (d.overdue, d.due, d.gaps, d.lost, d.missed):
        for a in items:
            seen.setdefault(a.patient, None)
    return list(seen)


def _compute(reg, day: _dt.date, due_within: int, limit: int) -> DashboardOut:
    items = reg.alerts(day, due_within=due_within)
    by = {k: [a for a in items if a.kind == k] for k in ("overdue", "due", "gap", "lost")}
    missed = reg.missed(day - _dt.timedelta(days=MISSED_DAYS), limit=100_000)
    totals = {"overdue": len(by["overdue"]), "due": len(by["due"]), "gaps": len(by["gap"]),
              "lost": len(by["lost"]), "missed": len(missed)}
    # the registry lists overdue oldest window first; the longest overdue come first here too
    cut = {k: [AlertOut(**a.__dict__) for a in v[:limit]] for k, v in by.items()}
    return DashboardOut(as_of=day, totals=totals, overdue=cut["overdue"], due=cut["due"], gaps=cut["gap"],
                        lost=cut["lost"], missed=missed[:limit])


AsOf = Query(None, ge=FIRST_DAY, le=LAST_DAY,  # type: ignore[arg-type]  # pydantic compares dates; the stub says float
             description="Day the list refers to (default today).")
DueWithin = Query(30, ge=0, le=3650, description="Days ahead counted as due soon.")
Limit = Query(100, ge=1, le=5000, description="At most this many items per list (totals count them all).")


@router.get("/dashboard", include_in_schema=False)
def dashboard_page(request: Request, user: ClinicianDep, reg: RegistryDep, as_of: _dt.date | None = AsOf,
                   due_within: int = DueWithin, limit: int = Limit):
    d, _, shown = dashboard_data(request, reg, as_of, due_within, limit)
    audit(request, user, "read", "dashboard", patients=shown)
    return templates.TemplateResponse(request, "dashboard.html", {"d": d, "due_within": due_within,
                                                                   **page_context(request)})


@router.get("/api/v1/dashboard", response_model=DashboardOut, tags=["dashboard"])
def api_dashboard(request: Request, user: ClinicianDep, reg: RegistryDep, as_of: _dt.date | None = AsOf,
                  due_within: int = DueWithin, limit: int = Limit):
    """Overdue, due-soon and surveillance-gap alerts as of a day, and encounters recorded as missed."""
    _, body, shown = dashboard_data(request, reg, as_of, due_within, limit)
    audit(request, user, "read", "dashboard", patients=shown)
    return Response(body, media_type="application/json")
