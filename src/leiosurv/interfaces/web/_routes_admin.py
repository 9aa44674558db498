"""Administration (admins only): users (create, activate, deactivate, role, password reset) and the audit trail.

Reading the user list or the audit trail is itself audited.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse

from leiosurv.exceptions import InputError, LeiosurvError, NotFoundError
from leiosurv.interfaces.web import _security
from leiosurv.interfaces.web._app import page_context, templates
from leiosurv.interfaces.web._deps import AdminDep, RegistryDep, api_csrf, audit, check_csrf
from leiosurv.interfaces.web._schemas import UserCreate, UserOut, UserUpdate
from leiosurv.interfaces.web._security import hash_password
from leiosurv.registry import AuditEvent

router = APIRouter()


def _users(reg) -> list[UserOut]:
    return [UserOut(username=u.username, role=u.role, active=u.active, created=u.created) for u in reg.users()]


@router.get("/admin/users", include_in_schema=False)
def users_page(request: Request, user: AdminDep, reg: RegistryDep):
    audit(request, user, "admin", "user list read")
    return templates.TemplateResponse(request, "users.html", {"users": _users(reg), "errors": {}, "values": {},
                                                               **page_context(request)})


@router.post("/admin/users", include_in_schema=False)
async def users_create(request: Request, user: AdminDep, reg: RegistryDep):
    from pydantic import ValidationError

    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
    values = {k: str(v) for k, v in form.items() if k in ("username", "role")}
    try:
        body = UserCreate(username=str(form.get("username", "")), password=str(form.get("password", "")),
                          role=str(form.get("role", "")))  # type: ignore[arg-type]
        reg.add_user(body.username, hash_password(body.password), body.role)
    except ValidationError as exc:
        errors = {str(e["loc"][0]): e["msg"] for e in exc.errors()}
        return templates.TemplateResponse(request, "users.html", {"users": _users(reg), "errors": errors,
                                                                   "values": values, **page_context(request)},
                                          status_code=422)
    except LeiosurvError as exc:
        return templates.TemplateResponse(request, "users.html", {"users": _users(reg),
                                                                   "errors": {"username": str(exc)},
                                                                   "values": values, **page_context(request)},
                                          status_code=422)
    audit(request, user, "admin", f"user {body.username} created ({body.role})")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{username}/active", include_in_schema=False)
async def users_toggle(request: Request, user: AdminDep, reg: RegistryDep, username: str = Path(max_length=64)):
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
    active = form.get("active") == "true"
    if username == user.username and not active:
        raise InputError("active: you cannot deactivate yourself")
    if not active and form.get("confirm") != "yes":  # ask first: the account is locked out at once
        target = reg.get_user(username)
        if target is None:
            raise NotFoundError(f"user {username!r}: not found")
        return templates.TemplateResponse(request, "confirm_user.html", {"u": target, **page_context(request)})
    reg.set_user(username, active=active)
    audit(request, user, "admin", f"user {username} {'activated' if active else 'deactivated'}")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{username}/password", include_in_schema=False)
async def users_reset_password(request: Request, user: AdminDep, reg: RegistryDep,
                               username: str = Path(max_length=64)):
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
    reg.set_user(username, password_hash=hash_password(str(form.get("password", ""))))
    audit(request, user, "admin", f"user {username} password reset")
    return RedirectResponse("/admin/users", status_code=303)


Limit = Query(200, ge=1, le=5000)
Offset = Query(0, ge=0, le=10**9)


@router.get("/admin/audit", include_in_schema=False)
def audit_page(request: Request, user: AdminDep, reg: RegistryDep, limit: int = Limit, offset: int = Offset,
               patient: str | None = Query(None, max_length=64)):
    reg.close_anonymous_windows(_security.utcnow())  # the counts of anonymous requests of every minute that is over
    rows = reg.audit_events(limit=limit, offset=offset, patient=patient or None)
    audit(request, user, "admin", "audit trail read", patient=patient or None)
    return templates.TemplateResponse(request, "audit.html", {"rows": rows, "patient": patient or "",
                                                               **page_context(request)})


@router.get("/api/v1/users", response_model=list[UserOut], tags=["admin"])
def api_users(request: Request, user: AdminDep, reg: RegistryDep) -> list[UserOut]:
    """Every user (never a password or hash)."""
    audit(request, user, "admin", "user list read")
    return _users(reg)


@router.post("/api/v1/users", response_model=UserOut, status_code=201, tags=["admin"],
             dependencies=[Depends(api_csrf)])
def api_create_user(request: Request, body: UserCreate, user: AdminDep, reg: RegistryDep) -> UserOut:
    """Create a user (the password is stored as an argon2 hash)."""
    u = reg.add_user(body.username, hash_password(body.password), body.role)
    audit(request, user, "admin", f"user {body.username} created ({body.role})")
    return UserOut(username=u.username, role=u.role, active=u.active, created=u.created)


@router.patch("/api/v1/users/{username}", response_model=UserOut, tags=["admin"], dependencies=[Depends(api_csrf)])
def api_update_user(request: Request, body: UserUpdate, user: AdminDep, reg: RegistryDep,
                    username: str = Path(max_length=64)) -> UserOut:
    """Activate or deactivate a user, change the role, or reset the password (``password``).

    Deactivation, a new role and a new password end every session of the user; re-enabling
    the account does not bring them back.
    """
    if username == user.username and (body.active is False or (body.role and body.role != "admin")):
        raise InputError("active: you cannot deactivate or demote yourself")
    u = reg.set_user(username, active=body.active, role=body.role,
                     password_hash=hash_password(body.password) if body.password is not None else None)
    what = [k for k, v in (("active", body.active), ("role", body.role), ("password", body.password)) if v is not None]
    audit(request, user, "admin", f"user {username} updated ({', '.join(what) or 'nothing'})")
    return UserOut(username=u.username, role=u.role, active=u.active, created=u.created)


@router.get("/api/v1/audit", response_model=list[AuditEvent], tags=["admin"])
def api_audit(request: Request, user: AdminDep, reg: RegistryDep, limit: int = Limit, offset: int = Offset,
              patient: str | None = Query(None, max_length=64)) -> list[AuditEvent]:
    """The audit trail, newest first (append-only and hash-chained: the database refuses changes, and
    ``leiosurv users verify-audit`` finds rows changed behind its back).  Times are UTC."""
    reg.close_anonymous_windows(_security.utcnow())  # the counts of anonymous requests of every minute that is over
    rows = reg.audit_events(limit=limit, offset=offset, patient=patient)
    audit(request, user, "admin", "audit trail read", patient=patient)
    return rows
