"""The demo registry: the published cases, a synthetic cohort and a few synthetic clinic patients, and demo users.

Everything but the two published cases is labelled synthetic.  The clinic
patients are dated relative to today so the dashboard has something to show:
one high-risk dermal LMS whose first visit is overdue, one whose CT is coming
due, one low-risk.  Their findings follow the bundled teaching cases.
"""

from __future__ import annotations

import datetime as _dt

from leiosurv.interfaces.web._security import hash_password
from leiosurv.registry import Registry, load_published_cases, load_synthetic

__all__ = ["load_demo", "DEMO_USERS", "DEMO_PASSWORD"]

DEMO_PASSWORD = "demo-password"
DEMO_USERS = {"clinician": "demo-clinician", "researcher": "demo-researcher", "admin": "demo-admin"}

_HIGH = {"depth": "dermal", "atypia": "moderate", "mitoses": {"count": 20, "unit": "per_10_hpf"},
         "necrosis": "absent", "perineural_invasion": "absent", "intravascular_invasion": "absent",
         "margins": "negative", "immunohistochemistry": {"sma": "positive", "desmin": "positive",
                                                         "h_caldesmon": "positive", "s100": "negative",
                                                         "sox10": "negative"},
         "history": {"prior_leiomyosarcoma": "absent", "prior_aismn": "absent"}}
_LOW = {**_HIGH, "mitoses": {"count": 5, "unit": "per_10_hpf"}}


def _months_ago(today: _dt.date, months: int, day_shift: int = 0) -> _dt.date:
    y, m = today.year, today.month - months
    while m <= 0:
        y, m = y - 1, m + 12
    return _dt.date(y, m, min(today.day, 28)) - _dt.timedelta(days=day_shift)


def load_demo(reg: Registry, *, today: _dt.date | None = None, n_synthetic: int = 381) -> dict[str, str]:
    """Fill an empty registry with the demo data and users; returns ``{role: username}``."""
    today = today or _dt.date.today()
    load_published_cases(reg)
    if n_synthetic:
        load_synthetic(reg, n_synthetic, seed=1, today=today)
    clinic = [
        ("DEMO-001", "Demo Patient A (synthetic)", "1958-04-12", "female", "left thigh", _HIGH, _months_ago(today, 8)),
        ("DEMO-002", "Demo Patient B (synthetic)", "1949-11-03", "male", "back", _HIGH, _months_ago(today, 5, 20)),
        ("DEMO-003", "Demo Patient C (synthetic)", "1966-07-21", "female", "right forearm", _LOW,
         _months_ago(today, 2)),
    ]
    for pseudonym, name, born, sex, site, findings, excised in clinic:
        reg.add_patient(pseudonym, sex=sex, name=name, birth_date=born, synthetic=True,
                        note="SYNTHETIC demo clinic patient")
        age = excised.year - int(born[:4])
        reg.add_tumour(pseudonym, "T1", {**findings, "case_id": pseudonym, "site": site,
                                         "patient": {"age_years": age, "sex": sex},
                                         "excision_date": excised.isoformat()}, as_of=excised)
    for role, username in DEMO_USERS.items():
        if reg.get_user(username) is None:
            reg.add_user(username, hash_password(DEMO_PASSWORD), role)
    return dict(DEMO_USERS)
