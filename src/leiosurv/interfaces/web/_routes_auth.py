"""Signing in and out (page and API), the health check, and the home redirect."""

from __future__ import annotations

import datetime as _dt
import time

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse

from leiosurv.interfaces.web._app import page_context, templates
from leiosurv.interfaces.web._deps import (
    CurrentUser,
    RegistryDep,
    api_csrf,
    audit,
    check_csrf,
    client_addr,
    session_of,
)
from leiosurv.interfaces.web._schemas import LoginIn, SessionOut
from leiosurv.interfaces.web._security import new_token, verify_password

router = APIRouter()
HOME = {"clinician": "/dashboard", "researcher": "/study", "admin": "/admin/audit"}


def _attempt(request: Request, reg, username: str, password: str) -> tuple[str, str | None]:
    """``("ok", role)``, ``("failed", None)`` or ``("limited", seconds)``; audits and rate-limits."""
    limiter = request.app.state.limiter
    keys = (f"addr:{client_addr(request)}", f"user:{username.lower()}")
    wait = limiter.blocked(*keys)
    if wait:
        audit(request, None, "login", "login", outcome="denied", username=username[:64])
        return "limited", str(int(wait) + 1)
    u = reg.get_user(username)
    ok = verify_password(u.password_hash if u else None, password) and u is not None and u.active
    if not ok:
        limiter.fail(*keys)
        audit(request, None, "login", "login", outcome="failed", username=username[:64])
        return "failed", None
    limiter.reset(*keys)
    request.app.state.user_cache.pop(u.username, None)
    # a new session (and CSRF token) at every sign-in: no session fixation
    request.state.session = {"u": u.username, "r": u.role, "c": new_token(), "t": time.time()}
    request.state.session_dirty = True
    audit(request, None, "login", "login", outcome="ok", username=u.username)
    return "ok", u.role


@router.get("/health", include_in_schema=False)
def health() -> dict:
    return {"status": "ok"}


@router.get("/", include_in_schema=False)
def home(request: Request):
    role = session_of(request).get("r")
    return RedirectResponse(HOME.get(role, "/login"), status_code=303)


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str | None = None):
    return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": None,
                                                               **page_context(request)})


@router.post("/login", include_in_schema=False)
def login(request: Request, reg: RegistryDep, username: str = Form("", max_length=64),
          password: str = Form("", max_length=256), csrf_token: str = Form(""), next: str = Form("")):
    check_csrf(request, csrf_token)
    outcome, extra = _attempt(request, reg, username, password)
    if outcome == "ok":
        return RedirectResponse(_safe_next(next) or HOME[extra], status_code=303)
    error = (f"Too many failed sign-ins: try again in {extra} seconds." if outcome == "limited"
             else "Username or password not recognised.")
    return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": error,
                                                               "username": username, **page_context(request)},
                                      status_code=429 if outcome == "limited" else 401)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, user: CurrentUser, reg: RegistryDep, csrf_token: str = Form("")):
    check_csrf(request, csrf_token)
    _end_sessions(request, reg, user)
    return RedirectResponse("/login", status_code=303)


def _end_sessions(request: Request, reg, user) -> None:
    """Sign out: this user's sessions issued until now are void, here and in every other server process."""
    reg.set_user(user.username, sessions_after=_dt.datetime.now(_dt.UTC))
    request.app.state.user_cache.pop(user.username, None)
    audit(request, user, "logout", "logout")
    request.state.session = None
    request.state.session_dirty = True


@router.post("/api/v1/session", response_model=SessionOut, tags=["session"],
             responses={401: {"description": "not recognised"}, 429: {"description": "too many failures"}})
def api_login(request: Request, body: LoginIn, reg: RegistryDep):
    """Sign in: sets the session cookie; returns the CSRF token for unsafe calls (header ``X-CSRF-Token``)."""
    outcome, extra = _attempt(request, reg, body.username, body.password)
    if outcome == "limited":
        return JSONResponse({"message": f"too many failed sign-ins: try again in {extra} seconds",
                             "field": "username"}, status_code=429, headers={"Retry-After": extra})
    if outcome == "failed":
        return JSONResponse({"message": "username or password not recognised", "field": "password"},
                            status_code=401)
    s = request.state.session
    return SessionOut(username=s["u"], role=s["r"], csrf_token=s["c"])


@router.get("/api/v1/session", response_model=SessionOut, tags=["session"])
def api_me(user: CurrentUser):
    """Who is signed in, and the session's CSRF token."""
    return SessionOut(username=user.username, role=user.role, csrf_token=user.csrf)


@router.delete("/api/v1/session", status_code=204, tags=["session"], dependencies=[Depends(api_csrf)])
def api_logout(request: Request, user: CurrentUser, reg: RegistryDep):
    """Sign out (every session of this user issued until now ends)."""
    _end_sessions(request, reg, user)
