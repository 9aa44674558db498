"""The morning list: overdue encounters, encounters coming due, surveillance gaps and recent misses.

The page is a clinician's work list: each row names the patient (name, birth
date, pseudonym), each table has one day column with one meaning (days overdue
since the window closed; due in N days; days without imaging), rows can be
filtered (patient, section, synthetic) and sorted (by any column, in the
browser), and a planned encounter is recorded done or missed from its row
(``POST /dashboard/record``, the same registry call as the patient page).

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
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from leiosurv.exceptions import LeiosurvError
from leiosurv.interfaces.web._app import page_context, templates
from leiosurv.interfaces.web._deps import ClinicianDep, RegistryDep, audit, check_csrf
from leiosurv.interfaces.web._schemas import FIRST_DAY, LAST_DAY, DashboardOut, EncounterCreate

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
    cut = {k: v[:limit] for k, v in by.items()}
    return DashboardOut(as_of=day, totals=totals, overdue=cut["overdue"], due=cut["due"], gaps=cut["gap"],
                        lost=cut["lost"], missed=missed[:limit])


AsOf = Query(None, ge=FIRST_DAY, le=LAST_DAY,  # type: ignore[arg-type]  # pydantic compares dates; the stub says float
             description="Day the list refers to (default today).")
DueWithin = Query(30, ge=0, le=3650, description="Days ahead counted as due soon.")
Limit = Query(100, ge=1, le=5000, description="At most this many items per list (totals count them all).")


SECTIONS = ("overdue", "due", "gaps", "missed")
Show = Query("all", pattern="^(all|overdue|due|gaps|missed)$", description="Only this section of the work list.")
Who = Query("", max_length=64, description="Only rows whose patient's pseudonym or name contains this.")
Real = Query(False, description="Hide synthetic patients.")


def _matches(row, who: str, names: dict, real: bool) -> bool:
    if real and row.synthetic:
        return False
    if not who:
        return True
    name = (names.get(row.patient) or (None, None))[0] or ""
    return who in row.patient.lower() or who in name.lower()


@router.get("/dashboard", include_in_schema=False)
def dashboard_page(request: Request, user: ClinicianDep, reg: RegistryDep, as_of: _dt.date | None = AsOf,
                   due_within: int = DueWithin, limit: int = Limit, show: str = Show, who: str = Who,
                   real: bool = Real):
    d, _, _ = dashboard_data(request, reg, as_of, due_within, limit)
    lists = {"overdue": d.overdue, "due": d.due, "gaps": d.gaps, "missed": d.missed}
    names = reg.identities({r.patient for rows in lists.values() for r in rows if r.patient != "(several)"})
    w = who.strip().lower()
    shown = {k: [r for r in rows if _matches(r, w, names, real)] if show in ("all", k) else []
             for k, rows in lists.items()}
    audit(request, user, "read", "dashboard",
          patients=list(dict.fromkeys(r.patient for rows in shown.values() for r in rows)))
    here = {"as_of": d.as_of.isoformat(), "due_within": due_within, "show": show, "who": who,
            **({"real": "true"} if real else {})}
    return templates.TemplateResponse(request, "dashboard.html", {
        "d": d, "due_within": due_within, "names": names, "shown": shown, "show": show, "who": who, "real": real,
        "back": "/dashboard?" + urlencode(here), "done": request.query_params.get("done"),
        "error": request.query_params.get("error"), **page_context(request)})


async def row_form(request: Request) -> tuple[dict[str, str], str, str, str]:
    """A work-list row's form, its CSRF token checked: the fields, the list to return to (a work-list URL
    only), the separator its query takes next, and the patient."""
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
    v = {k: str(x).strip() for k, x in form.items()}
    back = v.get("back", "/dashboard")
    if not back.startswith("/dashboard"):
        back = "/dashboard"
    return v, back, "&" if "?" in back else "?", v.get("patient", "")[:64]


@router.post("/dashboard/record", include_in_schema=False)
async def dashboard_record(request: Request, user: ClinicianDep, reg: RegistryDep):
    """A planned encounter done or missed, from its row of the work list; back to the same list."""
    from leiosurv.interfaces.web._routes_patients import audited, record_encounter

    v, back, sep, patient = await row_form(request)
    try:
        body = EncounterCreate(date=v.get("date") or "", status=v.get("status") or "done",
                               tumour=v.get("tumour") or None, plan_item=v.get("plan_item") or None)
        with audited(request, user, "write", "encounter", patient or None):
            record_encounter(reg, request, patient, body)
    except (LeiosurvError, ValueError) as exc:
        msg = str(exc).splitlines()[0][:300]
        return RedirectResponse(f"{back}{sep}{urlencode({'error': f'{patient}: {msg}'})}", status_code=303)
    done = f"{patient} {body.tumour or ''} {body.plan_item}: recorded {body.status} on {body.date.isoformat()}"
    return RedirectResponse(f"{back}{sep}{urlencode({'done': done})}", status_code=303)


@router.get("/api/v1/dashboard", response_model=DashboardOut, tags=["dashboard"])
def api_dashboard(request: Request, user: ClinicianDep, reg: RegistryDep, as_of: _dt.date | None = AsOf,
                  due_within: int = DueWithin, limit: int = Limit):
    """Overdue, due-soon and surveillance-gap alerts as of a day, and encounters recorded as missed."""
    _, body, shown = dashboard_data(request, reg, as_of, due_within, limit)
    audit(request, user, "read", "dashboard", patients=shown)
    return Response(body, media_type="application/json")
