"""Signing in and out (page and API), changing one's password, the health check, and the home redirect."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse

from leiosurv.interfaces.web import _security
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
from leiosurv.interfaces.web._schemas import LoginIn, PasswordChange, SessionOut
from leiosurv.interfaces.web._security import hash_password, new_token, verify_password

router = APIRouter()
HOME = {"clinician": "/dashboard", "researcher": "/study", "admin": "/admin/audit"}


def _attempt(request: Request, reg, username: str, password: str) -> tuple[str, str | None]:
    """``("ok", role)``, ``("failed", None)`` or ``("limited", seconds)``; audits and throttles.

    The throttle is asked before the password is checked, so a throttled attempt tells nothing.
    """
    keys = _security.throttle_keys(username, client_addr(request))
    now = _security.utcnow()
    wait = _security.sign_in_wait(reg.login_failures(list(keys)), keys, now)
    if wait > 0:
        audit(request, None, "login", "login", outcome="denied", username=username[:64])
        return "limited", str(int(wait) + 1)
    u = reg.get_user(username)
    ok = verify_password(u.password_hash if u else None, password) and u is not None and u.active
    if not ok:
        user_key, addr_key = keys
        reg.login_failure([user_key], now=now, window=_security.USER_WINDOW, forget=_security.FORGET)
        reg.login_failure([addr_key], now=now, window=_security.ADDRESS_WINDOW, forget=_security.FORGET)
        audit(request, None, "login", "login", outcome="failed", username=username[:64])
        return "failed", None
    reg.login_clear([keys[0]])
    _start_session(request, u.username, u.role, u.session_epoch)
    audit(request, None, "login", "login", outcome="ok", username=u.username)
    return "ok", u.role


def _start_session(request: Request, username: str, role: str, epoch: int) -> None:
    """A new session (and CSRF token) for *username*: no session fixation."""
    request.state.session = {"u": username, "r": role, "e": epoch, "c": new_token(), "t": time.time()}
    request.state.session_dirty = True


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
    """Sign out: every session of this user issued until now ends, here and in every other server process."""
    reg.set_user(user.username, end_sessions=True)
    audit(request, user, "logout", "logout")
    request.state.session = None
    request.state.session_dirty = True


def _change_password(request: Request, reg, user, current: str, new: str) -> str | None:
    """Change the signed-in user's password; an error message (field: message) or None.

    Every other session of the user ends; this one continues with a new cookie.
    """
    u = reg.get_user(user.username)
    if u is None or not verify_password(u.password_hash, current):
        audit(request, user, "admin", "own password change", outcome="failed")
        return "current_password: not recognised"
    if new == current:
        return "new_password: must differ from the current password"
    changed = reg.set_user(user.username, password_hash=hash_password(new))
    _start_session(request, changed.username, changed.role, changed.session_epoch)
    audit(request, user, "admin", "own password changed")
    return None


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


@router.get("/account/password", include_in_schema=False)
def password_page(request: Request, user: CurrentUser):
    return templates.TemplateResponse(request, "password.html", {"error": None, "done": False,
                                                                  **page_context(request)})


@router.post("/account/password", include_in_schema=False)
def password_form(request: Request, user: CurrentUser, reg: RegistryDep, csrf_token: str = Form(""),
                  current_password: str = Form("", max_length=256), new_password: str = Form("", max_length=256),
                  repeat_password: str = Form("", max_length=256)):
    from leiosurv.exceptions import InputError

    check_csrf(request, csrf_token)
    try:
        if new_password != repeat_password:
            raise InputError("repeat_password: the two new passwords differ")
        error = _change_password(request, reg, user, current_password, new_password)
    except InputError as exc:
        error = str(exc)
    if error:
        return templates.TemplateResponse(request, "password.html", {"error": error, "done": False,
                                                                      **page_context(request)}, status_code=422)
    return templates.TemplateResponse(request, "password.html", {"error": None, "done": True,
                                                                  **page_context(request)})


@router.post("/api/v1/session/password", response_model=SessionOut, tags=["session"],
             dependencies=[Depends(api_csrf)], responses={422: {"description": "not changed"}})
def api_change_password(request: Request, body: PasswordChange, user: CurrentUser, reg: RegistryDep):
    """Change your own password: every other session of yours ends; this one gets a new cookie and CSRF token."""
    from leiosurv.exceptions import InputError

    error = _change_password(request, reg, user, body.current_password, body.new_password)
    if error:
        raise InputError(error)
    s = request.state.session
    return SessionOut(username=s["u"], role=s["r"], csrf_token=s["c"])
