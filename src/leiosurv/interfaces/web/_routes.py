"""One router per resource; each holds its pages and its API operations."""

from leiosurv.interfaces.web import (
    _routes_admin as admin,
)
from leiosurv.interfaces.web import (
    _routes_assess as assess,
)
from leiosurv.interfaces.web import (
    _routes_auth as auth,
)
from leiosurv.interfaces.web import (
    _routes_corrections as corrections,
)
from leiosurv.interfaces.web import (
    _routes_dashboard as dashboard,
)
from leiosurv.interfaces.web import (
    _routes_patients as patients,
)
from leiosurv.interfaces.web import (
    _routes_reschedule as reschedule,
)
from leiosurv.interfaces.web import (
    _routes_study as study,
)

ROUTERS = [auth.router, assess.router, dashboard.router, patients.router, corrections.router, reschedule.router,
           study.router, admin.router]

__all__ = ["ROUTERS"]
