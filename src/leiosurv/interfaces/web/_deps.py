"""Dependencies as types: the registry, the session, the signed-in user by role, CSRF, the audit trail.

``ClinicianDep`` (identified patient records), ``ResearcherDep`` (the de-identified
cohort and the study; clinicians too), ``AdminDep`` (users and the audit trail).
A request without a valid session gets 401 (API) or a redirect to the login page
(pages); a signed-in user without the role gets 403, and a denied attempt on
patient data is audited.  The session is checked against the database on every
request (user active, same role, same session epoch), so a sign-out, deactivation
or role change made through any server process ends it everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from leiosurv.interfaces.web import _security
from leiosurv.interfaces.web._security import COOKIE, SessionCodec, new_token
from leiosurv.registry import Registry

__all__ = ["RegistryDep", "SessionUser", "CurrentUser", "ClinicianDep", "ResearcherDep", "AdminDep",
           "LoginRequired", "Forbidden", "CsrfFailed", "audit", "attempted", "session_of", "client_addr",
           "check_csrf", "route_of", "audit_anonymous"]


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


def _active(request: Request, username: str, role: str, epoch: int) -> bool:
    """The user exists, is active, still has *role*, and no session of theirs ended since the cookie was issued."""
    u = request.app.state.registry.get_user(username)
    return u is not None and u.active and u.role == role and u.session_epoch == epoch


def current_user(request: Request) -> SessionUser:
    """The signed-in user (a sync dependency: the database is asked on every request, in the thread pool)."""
    return user_of(request)


def user_of(request: Request) -> SessionUser:
    data = session_of(request)
    u, r, e = data.get("u"), data.get("r"), data.get("e")
    if not u or not r or not isinstance(e, int) or not _active(request, u, r, e):
        raise LoginRequired()
    request.state.user = SessionUser(u, r, data["c"])  # checked: the pages show who is signed in
    return request.state.user


CurrentUser = Annotated[SessionUser, Depends(current_user)]


def _role(*roles: str):
    async def dep(request: Request, user: CurrentUser) -> SessionUser:
        if user.role not in roles:
            if "pseudonym" in request.path_params or user.role != "admin":
                audit(request, user, attempted(request), f"{request.method} {route_of(request)}",
                      patient=request.path_params.get("pseudonym"), outcome="denied")
            raise Forbidden()
        return user

    return dep


def attempted(request: Request) -> str:
    """The audit action a request attempts: "read" for GET and HEAD, "write" for everything else."""
    return "read" if request.method in ("GET", "HEAD") else "write"


def route_of(request: Request) -> str:
    """The route template of *request* (never the path: it may hold a pseudonym)."""
    route = request.scope.get("route")
    return getattr(route, "path", None) or "(unmatched)"


ClinicianDep = Annotated[SessionUser, Depends(_role("clinician"))]
ResearcherDep = Annotated[SessionUser, Depends(_role("researcher", "clinician"))]
AdminDep = Annotated[SessionUser, Depends(_role("admin"))]


def audit(request: Request, user: SessionUser | None, action: str, resource: str, *, patient: str | None = None,
          outcome: str = "ok", username: str | None = None, role: str | None = None,
          patients: list[str] | None = None) -> None:
    """Append who, what, when, from where and the outcome to the audit trail.

    *patients*: the pseudonyms of every patient whose identified data the response shows
    (the patient list, a search, the dashboard), in the order shown.
    """
    reg: Registry = request.app.state.registry
    reg.audit(username=user.username if user else username, role=user.role if user else role, action=action,
              resource=resource, patient=patient, remote_addr=client_addr(request), outcome=outcome,
              patients=patients)


def audit_anonymous(request: Request, resource: str, patient: str | None) -> None:
    """Audit a request without a session on a patient URL, bounded: the registry counts such requests per
    address and minute in the database (every server process shares the count) and audits the first at once,
    the rest as one row with their number when the minute is over (``Registry.anonymous_attempt``)."""
    reg: Registry = request.app.state.registry
    reg.anonymous_attempt(address=client_addr(request), action=attempted(request), resource=resource,
                          patient=patient, now=_security.utcnow())


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
