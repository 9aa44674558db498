"""Dependencies as types: the registry, the session, the signed-in user by role, CSRF, the audit trail.

``ClinicianDep`` (identified patient records), ``ResearcherDep`` (the de-identified
cohort and the study; clinicians too), ``AdminDep`` (users and the audit trail).
A request without a valid session gets 401 (API) or a redirect to the login page
(pages); a signed-in user without the role gets 403, and a denied attempt on
patient data is audited.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from leiosurv.interfaces.web._security import COOKIE, SessionCodec, new_token
from leiosurv.registry import Registry

__all__ = ["RegistryDep", "SessionUser", "CurrentUser", "ClinicianDep", "ResearcherDep", "AdminDep",
           "LoginRequired", "Forbidden", "CsrfFailed", "audit", "session_of", "client_addr", "check_csrf"]


class LoginRequired(Exception):
    """No valid session."""


class Forbidden(Exception):
    """Signed in, but the role may not do this."""


class CsrfFailed(Exception):
    """The CSRF token is missing or wrong."""


@dataclass(frozen=True)
class SessionUser:
    """The signed-in user as the session and the database agree on it."""

    username: str
    role: str
    csrf: str


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


RegistryDep = Annotated[Registry, Depends(get_registry)]


def client_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


def session_of(request: Request) -> dict:
    """The (possibly anonymous) session data of *request*; an anonymous one gets a CSRF token."""
    if "session" in request.state._state:
        return request.state.session
    codec: SessionCodec = request.app.state.codec
    data = codec.loads(request.cookies.get(COOKIE)) or {}
    if "c" not in data:
        data = {"c": new_token()}
        request.state.session_dirty = True
    request.state.session = data
    return data


_ACTIVE_TTL = 30.0


def _active(request: Request, username: str, role: str, issued: float) -> bool:
    """The user exists, is active, still has *role*, and has not signed out since *issued* (cached 30 s)."""
    cache: dict = request.app.state.user_cache
    now = time.monotonic()
    hit = cache.get(username)
    if hit is None or now - hit[0] > _ACTIVE_TTL:
        u = request.app.state.registry.get_user(username)
        after = u.sessions_after.timestamp() if u is not None and u.sessions_after is not None else 0.0
        hit = (now, u.role if u is not None and u.active else None, after)
        cache[username] = hit
    return hit[1] == role and issued > hit[2]


async def current_user(request: Request) -> SessionUser:
    """The signed-in user (async: no thread hop; the database is asked at most every 30 s per user)."""
    return user_of(request)


def user_of(request: Request) -> SessionUser:
    data = session_of(request)
    u, r, t = data.get("u"), data.get("r"), data.get("t")
    if not u or not r or not isinstance(t, (int, float)) or not _active(request, u, r, float(t)):
        raise LoginRequired()
    return SessionUser(u, r, data["c"])


CurrentUser = Annotated[SessionUser, Depends(current_user)]


def _role(*roles: str):
    async def dep(request: Request, user: CurrentUser) -> SessionUser:
        if user.role not in roles:
            if "pseudonym" in request.path_params or user.role != "admin":
                audit(request, user, "read", f"{request.method} {_route(request)}",
                      patient=request.path_params.get("pseudonym"), outcome="denied")
            raise Forbidden()
        return user

    return dep


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", None) or "(unmatched)"


ClinicianDep = Annotated[SessionUser, Depends(_role("clinician"))]
ResearcherDep = Annotated[SessionUser, Depends(_role("researcher", "clinician"))]
AdminDep = Annotated[SessionUser, Depends(_role("admin"))]


def audit(request: Request, user: SessionUser | None, action: str, resource: str, *, patient: str | None = None,
          outcome: str = "ok", username: str | None = None) -> None:
    """Append who, what, when, from where and the outcome to the audit trail."""
    reg: Registry = request.app.state.registry
    if action == "write":
        request.app.state.generation += 1  # the registry changed: cached views are stale
    reg.audit(username=user.username if user else username, role=user.role if user else None, action=action,
              resource=resource, patient=patient, remote_addr=client_addr(request), outcome=outcome)


def check_csrf(request: Request, token: str | None) -> None:
    """Raise :class:`CsrfFailed` unless *token* is the session's CSRF token."""
    import hmac

    expected = session_of(request).get("c")
    if not token or not expected or not hmac.compare_digest(str(token), str(expected)):
        raise CsrfFailed()


async def api_csrf(request: Request, user: CurrentUser) -> None:
    """Unsafe API calls carry the session's CSRF token in ``X-CSRF-Token``."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf(request, request.headers.get("x-csrf-token"))


async def form_csrf(request: Request, user: CurrentUser) -> None:
    """Every form post carries the session's CSRF token in the field ``csrf_token``."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        form = await request.form()
        check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
