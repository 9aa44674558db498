"""The clinic web app and REST API (FastAPI): assessment, the registry and the cohort study in a browser.

Server-rendered pages (Jinja2; a small script only refreshes the assessment
result as findings are typed, every form works without it), a REST API with an
OpenAPI document (``/api/v1/openapi.json``), password sign-in with argon2
hashes, session cookies (HTTP-only, SameSite=Strict, Secure), CSRF tokens on
every form and unsafe API call, sign-in throttling, roles (clinician,
researcher, admin) and an append-only, hash-chained audit trail in the registry's
database.  Every piece of state that must hold across server processes (sessions
ended, sign-in failures, the dashboard's freshness) lives in the database, so
``leiosurv serve --workers N`` on PostgreSQL behaves as one server.

The web layer holds no business logic: assessment through :mod:`leiosurv.clinical`,
patients through :class:`leiosurv.registry.Registry`, the study through
:mod:`leiosurv.study`.  Start it with ``leiosurv serve``; needs the ``web`` extra.
"""

from leiosurv.interfaces.web._app import ENV_DB, ENV_FORWARDED, app_from_environment, create_app
from leiosurv.interfaces.web._demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from leiosurv.interfaces.web._security import hash_password, verify_password
from leiosurv.interfaces.web._settings import Settings

__all__ = ["create_app", "app_from_environment", "ENV_DB", "ENV_FORWARDED", "Settings",
           "hash_password", "verify_password", "load_demo", "DEMO_USERS", "DEMO_PASSWORD"]
