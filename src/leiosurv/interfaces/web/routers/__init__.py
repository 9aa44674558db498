"""One router per resource; each holds its pages and its API operations."""

from leiosurv.interfaces.web.routers import admin, assess, auth, dashboard, patients, study

ROUTERS = [auth.router, assess.router, dashboard.router, patients.router, study.router, admin.router]

__all__ = ["ROUTERS"]
