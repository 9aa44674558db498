"""Rescheduling from the work list and through the API (issue 22, item 3: done/missed/rescheduled inline).

The row's form leads to a confirmation that says what will change (nothing written), its button applies the
reschedule and returns to the same list; CSRF, clinicians only, audited.  The API runs on SQLite and
PostgreSQL.  The browser test (1366 and 390 px) is in ``test_browser_reschedule.py``.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from webutil import client_for, csrf_of

from leiosurv.registry import _tables as T

BACK = "/dashboard?who=DEMO-001"


def _item(reg, p="DEMO-001", item="visit-m006"):
    return next(e for e in reg.patient_record(p).to_dict()["encounters"]
                if e["plan_item"] == item and e["origin"] == "planned")


def _form(html: str, **kw) -> dict:
    return {"csrf_token": csrf_of(html), "back": BACK, "patient": "DEMO-001", "tumour": "T1",
            "plan_item": "visit-m006", "date": "2026-12-15", "reason": "patient abroad in October", "step": "review",
            **kw}


def _audit(reg, resource: str) -> list[tuple]:
    a = T.audit_event
    with reg.engine.connect() as c:
        return [tuple(r) for r in c.execute(sa.select(a.c.username, a.c.action, a.c.patient, a.c.outcome)
                                            .where(a.c.resource == resource).order_by(a.c.id))]


def test_every_actionable_row_has_a_reschedule_form(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    html = c.get("/dashboard").text
    rows = html.count('action="/dashboard/record"')
    assert rows >= 3 and html.count('action="/dashboard/reschedule"') == rows
    form = html[html.index('action="/dashboard/reschedule"'):]
    form = form[:form.index("</form>")]
    assert 'name="date"' in form and 'pattern="\\d{4}-\\d{2}-\\d{2}"' in form and 'placeholder="YYYY-MM-DD"' in form
    assert 'name="reason"' in form and "required" in form and 'name="csrf_token"' in form
    assert '<summary>Reschedule</summary>' in html


def test_review_confirms_first_then_applies_and_returns_to_the_list(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    reg = sqlite_app.state.registry
    before = reg.patient_record("DEMO-001").to_dict()
    old = _item(reg)
    html = c.get(BACK).text
    assert "visit-m006" in html[html.index('id="overdue"'):html.index('id="gaps"')]
    r = c.post("/dashboard/reschedule", data=_form(html))
    assert r.status_code == 200
    page = r.text
    assert "Reschedule visit-m006?" in page and "Check before applying" in page
    assert "2026-09-28" in page and "2026-12-15" in page and "2026-11-15 to 2027-01-14" in page
    assert "due 2026-09-28 becomes 2026-12-15" in page  # the registry's preview, in words
    assert "patient abroad in October" in page and "demo-clinician" in page
    assert 'id="confirm-reschedule"' in page and 'value="apply"' in page
    assert reg.patient_record("DEMO-001").to_dict() == before  # nothing written by the review
    r = c.post("/dashboard/reschedule", data=_form(page, step="apply"))
    assert r.status_code == 303
    loc = r.headers["location"]
    assert loc.startswith(BACK + "&done=")
    assert parse_qs(urlsplit(loc).query)["done"] == [
        "DEMO-001 T1 visit-m006: rescheduled to 2026-12-15 (window 2026-11-15 to 2027-01-14)"]
    new = _item(reg)
    assert (new["id"], new["status"], new["due"], new["window_start"], new["window_end"]) == (
        old["id"], "planned", "2026-12-15", "2026-11-15", "2027-01-14")
    h = reg.history_of("DEMO-001")[-1]
    assert (h.record, h.by, h.reason) == (old["id"], "demo-clinician",
                                          "rescheduled from 2026-09-28 to 2026-12-15: patient abroad in October")
    after = c.get(loc).text
    assert "Recorded: DEMO-001 T1 visit-m006: rescheduled to 2026-12-15" in after
    overdue = after[after.index('id="overdue"'):after.index('id="gaps"')]
    due = after[after.index('id="due"'):]
    assert "visit-m006" not in overdue and "visit-m006" in due  # no longer overdue: due in 16 days
    assert _audit(reg, "reschedule preview") == [("demo-clinician", "read", "DEMO-001", "ok")]
    assert _audit(reg, "reschedule") == [("demo-clinician", "write", "DEMO-001", "ok")]


def test_refusals_come_back_as_one_line_and_write_nothing(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    reg = sqlite_app.state.registry
    before = reg.patient_record("DEMO-001").to_dict()
    html = c.get(BACK).text
    for kw, message in [
        ({"date": "2026-03-27"}, "DEMO-001 visit-m006: date: 2026-03-27 is before the diagnosis of tumour 'T1' "
                                 "(2026-03-28)"),
        ({"date": "2200-01-01", "step": "apply"}, "DEMO-001 visit-m006: date: after 2199-12-31, the latest date "
                                                  "the registry accepts (got '2200-01-01')"),
        ({"date": "15.12.2026"}, "DEMO-001 visit-m006: date: the new due date is YYYY-MM-DD"),
        ({"reason": " "}, "DEMO-001 visit-m006: reason: a reschedule needs its reason"),
        ({"plan_item": "visit-m999"}, "DEMO-001 visit-m999: plan_item: tumour 'T1' of patient 'DEMO-001' has no "
                                      "plan item 'visit-m999'"),
        ({"back": "https://evil.example/", "date": "2026-03-27"}, None),
    ]:
        r = c.post("/dashboard/reschedule", data=_form(html, **kw))
        assert r.status_code == 303, kw
        loc = r.headers["location"]
        if message is None:  # never sent off the site
            assert loc.startswith("/dashboard?error=")
            continue
        assert loc.startswith(BACK + "&error=")
        assert parse_qs(urlsplit(loc).query)["error"] == [message]
        assert "Not recorded: " + message.replace("'", "&#39;") in c.get(loc).text
    assert reg.patient_record("DEMO-001").to_dict() == before and reg.history_of("DEMO-001") == []
    # every refused attempt is audited with the patient, as invalid
    refused = _audit(reg, "reschedule preview") + _audit(reg, "reschedule")
    assert len(refused) == 6 and set(refused) == {("demo-clinician", "read", "DEMO-001", "invalid"),
                                                  ("demo-clinician", "write", "DEMO-001", "invalid"),
                                                  ("demo-clinician", "read", "DEMO-001", "not_found")}


def test_csrf_and_roles(sqlite_app):
    reg = sqlite_app.state.registry
    before = reg.patient_record("DEMO-001").to_dict()
    c = client_for(sqlite_app, "clinician")
    html = c.get(BACK).text
    r = c.post("/dashboard/reschedule", data=_form(html, csrf_token="forged", step="apply"))
    assert r.status_code == 403
    for role in ("researcher", "admin"):
        other = client_for(sqlite_app, role)
        r = other.post("/dashboard/reschedule", data=_form(html, step="apply"))
        assert r.status_code == 403, role
        r = other.post("/api/v1/patients/DEMO-001/reschedule",
                       json={"plan_item": "visit-m006", "date": "2026-12-15", "reason": "x"})
        assert r.status_code == 403, role
    anon = client_for(sqlite_app, None)
    assert anon.post("/api/v1/patients/DEMO-001/reschedule",
                     json={"plan_item": "visit-m006", "date": "2026-12-15", "reason": "x"}).status_code == 401
    del c.headers["X-CSRF-Token"]
    assert c.post("/api/v1/patients/DEMO-001/reschedule",
                  json={"plan_item": "visit-m006", "date": "2026-12-15", "reason": "x"}).status_code == 403
    assert reg.patient_record("DEMO-001").to_dict() == before


def test_api_dry_run_apply_and_status_codes(app):
    c = client_for(app, "clinician")
    reg = app.state.registry
    url = "/api/v1/patients/DEMO-001/reschedule"
    before = reg.patient_record("DEMO-001").to_dict()
    body = {"plan_item": "visit-m006", "tumour": "T1", "date": "2026-12-15", "reason": "patient abroad"}
    r = c.post(url, json={**body, "dry_run": True})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["applied"] is False and any("due 2026-09-28 becomes 2026-12-15" in x for x in out["changes"])
    assert reg.patient_record("DEMO-001").to_dict() == before
    r = c.post(url, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["applied"] is True
    assert r.json()["message"] == "rescheduled to 2026-12-15 (window 2026-11-15 to 2027-01-14)"
    assert _item(reg)["due"] == "2026-12-15"
    assert not [a for a in reg.alerts(app.state.settings.as_of()) if a.kind == "overdue" and a.item == "visit-m006"
                and a.patient == "DEMO-001"]
    # refusals: the registry's message and field
    for b, status, field in [
        ({**body, "date": "2026-03-27"}, 422, "date"),
        ({**body, "date": "2026-12-15"}, 422, "date"),  # already due then
        ({**body, "date": "1899-12-31"}, 422, "date"),
        ({**body, "date": "2026-02-30"}, 422, "date"),
        ({**body, "date": "2026-1-5"}, 422, "date"),  # the schema's pattern
        ({**body, "plan_item": "visit-m999"}, 404, "plan_item"),
        ({**body, "tumour": "T9"}, 404, "tumour"),
        ({**body, "reason": ""}, 422, "reason"),
        ({**body, "extra": 1}, 422, "extra"),
    ]:
        r = c.post(url, json=b)
        assert (r.status_code, r.json()["field"]) == (status, field), (b, r.text)
    assert c.post("/api/v1/patients/NOBODY/reschedule", json=body).status_code == 404
    # a deceased patient
    assert c.post("/api/v1/patients/DEMO-002/events", json={"kind": "death", "date": "2026-11-01"}).status_code == 201
    r = c.post("/api/v1/patients/DEMO-002/reschedule", json={**body, "tumour": None, "date": "2027-01-20"})
    assert (r.status_code, r.json()["field"]) == (422, "patient")
    assert re.fullmatch(r"patient 'DEMO-002': recorded as deceased on 2026-11-01; nothing of the plan is "
                        r"rescheduled", r.json()["message"])
    assert len(reg.history_of("DEMO-001")) == 1


def test_the_operation_is_documented(sqlite_app):
    doc = sqlite_app.openapi()
    op = doc["paths"]["/api/v1/patients/{pseudonym}/reschedule"]["post"]
    assert {"200", "401", "403", "404", "422"} <= set(op["responses"])
