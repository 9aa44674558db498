"""The app factory: registry, sessions, security headers, error pages and JSON errors, routers.

Nothing is reachable without a session except the login page, the health check
and the static files.  No patient data in logs: the access log names the route
template (``/patients/{pseudonym}``), never the path, query or body.

The outermost layer (:class:`_Edge`) refuses a body above ``max_body_bytes`` (413)
before anything reads it, adds the security headers to every response, and turns
an unexpected error into a 500 page or JSON error itself: so the 500 carries the
headers too, and the connection stays open (nothing is re-raised to the server).
Behind a trusted reverse proxy (``forwarded_allow_ips``) the client address comes
from ``X-Forwarded-For``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from leiosurv import __version__
from leiosurv.exceptions import FindingsError, LeiosurvError, NotFoundError, RegistryError
from leiosurv.interfaces.web._deps import (
    CsrfFailed,
    Forbidden,
    LoginRequired,
    audit,
    audit_anonymous,
    route_of,
    session_of,
)
from leiosurv.interfaces.web._security import COOKIE, SECURITY_HEADERS, SessionCodec
from leiosurv.interfaces.web._settings import Settings
from leiosurv.registry import Registry

__all__ = ["create_app", "app_from_environment", "templates", "ENV_DB", "ENV_FORWARDED"]

ENV_DB = "LEIOSURV_WEB_DB"  # what app_from_environment reads (set by ``leiosurv serve --workers``)
ENV_FORWARDED = "LEIOSURV_WEB_FORWARDED_ALLOW_IPS"

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
log = logging.getLogger("leiosurv.web")


class _TooLarge(Exception):
    """The request body passed the size limit while it was being read."""


class _Edge:
    """Pure ASGI middleware: the body size limit, security headers, the session cookie, 500s, an access log
    without patient data."""

    def __init__(self, app, settings: Settings, codec: SessionCodec) -> None:
        self.app, self.settings, self.codec = app, settings, codec
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        state = scope.setdefault("state", {})
        status = {"code": 500, "started": False, "cut": False}
        static = scope["path"].startswith("/static/")
        limit = self.settings.max_body_bytes
        seen = {"bytes": 0}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"], status["started"] = message["status"], True
                headers = list(message.get("headers", []))
                headers += self.headers
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                if state.get("session_dirty"):
                    headers.append((b"set-cookie", self._cookie(state.get("session")).encode()))
                message = {**message, "headers": headers}
            await send(message)

        async def app_send(message):
            if not status["cut"]:  # after a 413 sent here, what the app still says is dropped
                await send_wrapper(message)

        async def receive_limited():
            message = await receive()
            if message["type"] == "http.request":
                seen["bytes"] += len(message.get("body", b""))
                if seen["bytes"] > limit:
                    # answer now: the app may turn a failing read into its own error (a 400 for JSON)
                    if not status["started"]:
                        await self._respond(scope, send_wrapper, 413, f"request body too large: at most {limit} "
                                                                      "bytes")
                    status["cut"] = True
                    raise _TooLarge()
            return message

        try:
            declared = _content_length(scope)
            if declared is not None and declared > limit:
                await self._respond(scope, send_wrapper, 413, "request body too large: at most "
                                                              f"{limit} bytes")
            else:
                await self.app(scope, receive_limited, app_send)
        except Exception as exc:
            if status["cut"]:  # the 413 is sent; the app's reaction to the cut read does not matter
                return
            log.error("unexpected %s on %s %s", type(exc).__name__, scope["method"],
                      getattr(scope.get("route"), "path", "(unmatched)"))
            if status["started"]:  # too late for an error page: the server ends the response
                raise
            await self._respond(scope, send_wrapper, 500, "internal error: nothing was changed; the error type "
                                                          "is in the server log")
        finally:
            route = scope.get("route")
            log.info("%s %s %s %.1f ms", scope["method"], getattr(route, "path", "(unmatched)"), status["code"],
                     1000 * (time.perf_counter() - t0))

    async def _respond(self, scope, send, code: int, message: str) -> None:
        request = Request(scope)
        title = {413: "Too large", 500: "Internal error"}[code]
        response = _err(code, message) if _is_api(request) else _page_error(request, code, title, message)
        await response(scope, _no_body, send)

    def _cookie(self, data: dict | None) -> str:
        flags = "; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if self.settings.secure_cookies else "")
        if not data:
            return f"{COOKIE}=; Max-Age=0{flags}"
        return f"{COOKIE}={self.codec.dumps(data)}; Max-Age={self.settings.session_max_age}{flags}"


async def _no_body():
    return {"type": "http.disconnect"}


def _content_length(scope) -> int | None:
    for k, v in scope.get("headers", ()):
        if k == b"content-length":
            try:
                return int(v)
            except ValueError:
                return None
    return None


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _err(status: int, message: str, field: str | None = None, errors: list | None = None) -> JSONResponse:
    body: dict = {"message": message, "field": field}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def _page_error(request: Request, status: int, title: str, message: str) -> Response:
    return templates.TemplateResponse(request, "error.html", {"title": title, "message": message,
                                                               **page_context(request)}, status_code=status)


def page_context(request: Request) -> dict:
    """What every page needs: the signed-in user (if this request's session was checked and holds) and the
    CSRF token.  A cookie whose session has ended shows no user (and no sign-out button)."""
    data = session_of(request)
    user = getattr(request.state, "user", None)
    return {"me": {"username": user.username, "role": user.role} if user is not None else None,
            "csrf": data["c"], "version": __version__}


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    def _login(request: Request, exc: LoginRequired):
        if "pseudonym" in request.path_params:  # an attempt on a patient's record without a session
            audit_anonymous(request, f"{request.method} {route_of(request)}",
                            str(request.path_params["pseudonym"])[:64])
        if _is_api(request):
            return _err(401, "not signed in: POST /api/v1/session with username and password first")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden):
        msg = "your role may not use this"
        return _err(403, msg) if _is_api(request) else _page_error(request, 403, "Not allowed", msg)

    @app.exception_handler(CsrfFailed)
    def _csrf(request: Request, exc: CsrfFailed):
        msg = "CSRF token missing or invalid: reload the page and try again"
        data = session_of(request)
        pseudonym = request.path_params.get("pseudonym")
        audit(request, None, "write", f"{request.method} {route_of(request)}", outcome="denied",
              username=data.get("u"), role=data.get("r"), patient=str(pseudonym)[:64] if pseudonym else None)
        if _is_api(request):
            return _err(403, msg, "X-CSRF-Token")
        return _page_error(request, 403, "Form expired", msg)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = []
        for e in exc.errors():
            loc = [str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path", "header", "cookie")]
            msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
            errors.append({"field": ".".join(loc) or "(request)", "message": msg})
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        message = f"{first['field']}: {first['message']}"
        if _is_api(request):
            return _err(422, message, first["field"], errors)
        return _page_error(request, 422, "Invalid request", message)

    @app.exception_handler(LeiosurvError)
    async def _leiosurv(request: Request, exc: LeiosurvError):
        status = 404 if isinstance(exc, NotFoundError) else 422
        field = None
        errors = None
        if isinstance(exc, FindingsError):
            errors = [{"field": e.path, "message": e.message} for e in exc.errors]
            field = errors[0]["field"] if errors else None
        elif isinstance(exc, RegistryError):
            field = exc.field
        elif ":" in str(exc):
            field = str(exc).split(":", 1)[0]
        if _is_api(request):
            return _err(status, str(exc), field, errors)
        return _page_error(request, status, "Not found" if status == 404 else "Not accepted", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        msg = str(exc.detail)
        if _is_api(request):
            return JSONResponse({"message": msg, "field": None}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        return _page_error(request, exc.status_code, msg, msg)


def create_app(settings: Settings | None = None, *, registry: Registry | None = None) -> FastAPI:
    """The web app on the registry of *settings* (created or migrated if needed)."""
    from leiosurv.interfaces.web._routes import ROUTERS

    settings = settings or Settings()
    app = FastAPI(title="leiosurv", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None,
                  description="Leiomyosarcoma care and research: assessment, the patient registry and the cohort "
                              "study. Decision support only. Sign in with POST /api/v1/session; unsafe calls "
                              "carry the session's CSRF token in the X-CSRF-Token header.")
    app.state.settings = settings
    app.state.registry = registry or Registry(settings.db, create=True)
    app.state.codec = SessionCodec(settings.secret_key, settings.session_max_age)
    app.state.study = None
    app.state.dashboard_cache = {}
    _install_handlers(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for r in ROUTERS:
        app.include_router(r)
    _document_errors(app)
    _protect_openapi(app)
    app.add_middleware(_Edge, settings=settings, codec=app.state.codec)
    if settings.forwarded_allow_ips:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        # outside _Edge: the access log, the audit trail and the sign-in limits see the real client
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    return app


def app_from_environment() -> FastAPI:
    """The app for one of several server processes (``leiosurv serve --workers N``, or uvicorn/gunicorn
    directly: ``uvicorn --factory leiosurv.interfaces.web:app_from_environment --workers N``).

    The registry comes from ``$LEIOSURV_WEB_DB`` (else ``$LEIOSURV_REGISTRY_URL``, else the default),
    trusted proxies from ``$LEIOSURV_WEB_FORWARDED_ALLOW_IPS``; every process must sign sessions with the
    same key (``$LEIOSURV_SECRET_KEY`` or the key file the first process writes).
    """
    import os

    return create_app(Settings(db=os.environ.get(ENV_DB) or None,
                               forwarded_allow_ips=os.environ.get(ENV_FORWARDED) or None))


_ERROR_SCHEMA = {"type": "object", "required": ["message", "field"], "properties": {
    "message": {"type": "string"}, "field": {"type": ["string", "null"]},
    "errors": {"type": "array", "items": {"type": "object", "properties": {
        "field": {"type": "string"}, "message": {"type": "string"}}}}}}


def _document_errors(app: FastAPI) -> None:
    """Every error status the app can answer is in the OpenAPI document, with its JSON error body:
    400 (a body that cannot be parsed), 401 (not signed in), 403 (role or CSRF), 404 (an id in the path
    not found), 413 (body too large), 422 (bad input)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        doc.setdefault("components", {}).setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
        ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for path, item in doc.get("paths", {}).items():
            for method, op in item.items():
                codes = {"422": "invalid input, naming the field"}
                if (path, method) != ("/api/v1/session", "post"):
                    codes["401"] = "not signed in"
                    codes["403"] = "your role may not use this, or the CSRF token is missing or wrong"
                if "{" in path:
                    codes["404"] = "not found"
                if "requestBody" in op:
                    codes["400"] = "the body could not be parsed"
                    codes["413"] = "request body too large"
                for code, text in codes.items():
                    op.setdefault("responses", {}).setdefault(code, {"description": text, **ref})
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _protect_openapi(app: FastAPI) -> None:
    """The OpenAPI document needs a session like everything else."""
    from leiosurv.interfaces.web._deps import user_of

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    def openapi(request: Request):
        user_of(request)
        return JSONResponse(app.openapi())
