"""The REST API and the pages through it: sign-in, CSRF, assessment, patients, downloads, the audit trail.

The flows run on SQLite and on PostgreSQL (``LEIOSURV_TEST_PG_URL``; skipped
outside CI, failing in CI without a server, like the registry tests).
"""

from __future__ import annotations

import logging

import pytest
from webutil import PASSWORD, TODAY, client_for, csrf_of

HIGH = {"excision_date": "2026-10-01", "site": "left thigh", "depth": "dermal", "atypia": "moderate",
        "mitoses": {"count": 20}, "necrosis": "absent", "margins": "negative",
        "immunohistochemistry": {"sma": "positive", "desmin": "positive", "h_caldesmon": "positive",
                                 "s100": "negative", "sox10": "negative"}}
MELANOMA = {"excision_date": "2026-10-01", "depth": "dermal", "atypia": "moderate", "solar_elastosis": "present",
            "immunohistochemistry": {"s100": "positive", "sox10": "positive", "sma": "negative",
                                     "desmin": "negative", "h_caldesmon": "negative"}}


def test_health_and_login_page_are_open_everything_else_needs_a_session(sqlite_app):
    c = client_for(sqlite_app, None)
    assert c.get("/health").json() == {"status": "ok"}
    assert c.get("/login").status_code == 200
    assert c.get("/static/app.css").status_code == 200
    r = c.get("/patients/SEED-000")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fpatients%2FSEED-000"
    r = c.get("/api/v1/patients")
    assert r.status_code == 401 and "not signed in" in r.json()["message"]
    assert c.get("/api/v1/openapi.json").status_code == 401


def test_session_cookie_flags_and_security_headers(sqlite_app):
    c = client_for(sqlite_app, None)
    r = c.post("/api/v1/session", json={"username": "demo-clinician", "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    for flag in ("HttpOnly", "SameSite=Strict", "Secure", "Path=/"):
        assert flag in cookie
    r = c.get("/dashboard")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    assert "<script>" not in r.text and " style=" not in r.text  # no inline script or style


def test_wrong_password_then_rate_limit(sqlite_app, monkeypatch):
    import datetime as dt

    from leiosurv.interfaces.web import _security

    now = dt.datetime.now(dt.UTC)
    monkeypatch.setattr(_security, "utcnow", lambda: now)  # the clock stands still: the 1 s wait is not over
    c = client_for(sqlite_app, None)
    for _ in range(5):
        r = c.post("/api/v1/session", json={"username": "demo-clinician", "password": "wrong-password"})
        assert r.status_code == 401 and r.json()["field"] == "password"
    r = c.post("/api/v1/session", json={"username": "demo-clinician", "password": PASSWORD})
    assert r.status_code == 429 and "too many failed sign-ins" in r.json()["message"]
    outcomes = [e.outcome for e in sqlite_app.state.registry.audit_events() if e.action == "login"]
    assert outcomes[:6] == ["denied"] + ["failed"] * 5


def test_login_form_needs_csrf_and_redirects_to_next(sqlite_app):
    c = client_for(sqlite_app, None)
    r = c.post("/login", data={"username": "demo-clinician", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403
    tok = csrf_of(c.get("/login?next=/patients/SEED-004").text)
    r = c.post("/login", data={"username": "demo-clinician", "password": PASSWORD, "csrf_token": tok,
                               "next": "/patients/SEED-004"})
    assert r.status_code == 303 and r.headers["location"] == "/patients/SEED-004"
    r = c.post("/login", data={"username": "demo-clinician", "password": PASSWORD,
                               "csrf_token": csrf_of(c.get("/login").text), "next": "//evil.example/"})
    assert r.headers["location"] == "/dashboard"  # no open redirect
    # the session's CSRF token changed at sign-in (no fixation)
    assert csrf_of(c.get("/dashboard").text) != tok


def test_unsafe_api_calls_need_the_csrf_header(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    tok = c.headers.pop("X-CSRF-Token")
    r = c.post("/api/v1/assessments", json={"findings": HIGH})
    assert r.status_code == 403 and r.json()["field"] == "X-CSRF-Token"
    r = c.post("/api/v1/assessments", json={"findings": HIGH}, headers={"X-CSRF-Token": tok})
    assert r.status_code == 200


def test_assessment_high_risk_with_reasons_and_ct_dates(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    r = c.post("/api/v1/assessments", json={"findings": HIGH, "as_of": "2026-11-01"})
    a = r.json()
    assert a["risk"]["group"] == "high" and "Mitotic grade 3" in a["risk"]["reason"]
    assert a["applicability"]["dermal_rule_applies"] is True
    ct = [e["due"] for e in a["plan"]["encounters"] if "CT" in e["modality"]]
    assert ct[:2] == ["2027-04-01", "2027-10-01"]
    assert a["provenance"]["ruleset_version"]


def test_desmoplastic_melanoma_is_not_a_dermal_lms(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    a = c.post("/api/v1/assessments", json={"findings": MELANOMA}).json()
    assert a["diagnosis"]["candidates"][0]["category"]["id"] == "desmoplastic_melanoma"
    assert a["applicability"]["dermal_rule_applies"] is False and a["risk"]["group"] == "not_applicable"


@pytest.mark.parametrize("findings, field", [
    ({**HIGH, "mitoses": {"count": -1}}, "findings.mitoses.count"),
    ({**HIGH, "necrosis": "maybe"}, "findings.necrosis"),
    ({**HIGH, "excision_date": "2099-01-01"}, "findings.excision_date"),
    ({**HIGH, "colour": "blue"}, "findings.colour"),
])
def test_bad_findings_are_json_errors_naming_the_field(sqlite_app, findings, field):
    c = client_for(sqlite_app, "clinician")
    r = c.post("/api/v1/assessments", json={"findings": findings})
    assert r.status_code == 422
    body = r.json()
    assert body["field"] == field and body["message"].startswith(field + ":")
    assert "Traceback" not in r.text


def test_form_errors_rerender_next_to_the_field(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    tok = csrf_of(c.get("/assess").text)
    r = c.post("/assess", data={"csrf_token": tok, "excision_date": "2026-10-01", "mitoses.count": "-3"})
    assert r.status_code == 422
    assert 'id="f-mitoses-count-err"' in r.text and "greater than or equal to 0" in r.text
    assert 'value="-3"' in r.text  # what was typed stays
    r = c.post("/assess", data={"csrf_token": tok, "excision_date": "2026-10-01", **{
        k.replace("immunohistochemistry_", "immunohistochemistry."): v for k, v in {
            "depth": "dermal", "atypia": "moderate", "mitoses.count": "20",
            "immunohistochemistry_sma": "positive"}.items()}})
    assert r.status_code == 200 and 'class="group">HIGH<' in r.text


def test_patient_flow_and_audit(app):
    reg = app.state.registry
    c = client_for(app, "clinician")
    r = c.post("/api/v1/patients", json={"pseudonym": "P-0100", "sex": "female", "name": "Ida Berg",
                                         "birth_date": "1955-05-05"})
    assert r.status_code == 201
    r = c.post("/api/v1/patients/P-0100/tumours", json={"label": "T1", "findings": HIGH})
    assert r.status_code == 201 and r.json()["risk"]["group"] == "high"
    rec = c.get("/api/v1/patients/P-0100").json()
    assert rec["identity"]["name"] == "Ida Berg" and rec["tumours"][0]["assessments"][0]["ruleset_version"]
    found = c.get("/api/v1/patients", params={"q": "berg"}).json()
    assert found["total"] == 1 and found["patients"][0]["name"] == "Ida Berg"
    r = c.post("/api/v1/patients/P-0100/events", json={"kind": "metastasis", "date": "2026-11-20", "tumour": "T1",
                                                       "site": "lung"})
    assert r.status_code == 201
    a = c.get("/api/v1/patients/P-0100/tumours/T1/assessment").json()
    assert a["applicability"]["pathway"] == "metastatic"  # re-planned
    r = c.post("/api/v1/patients/P-0100/events", json={"kind": "metastasis", "date": "2026-11-20", "tumour": "T1"})
    assert r.status_code == 422 and "site" in r.json()["message"]
    r = c.get("/api/v1/patients/NOPE")
    assert r.status_code == 404 and r.json()["message"].startswith("patient 'NOPE'")
    mine = [(e.action, e.resource, e.outcome) for e in reg.audit_events(patient="P-0100")]
    assert ("read", "patient record", "ok") in mine and ("write", "tumour", "ok") in mine
    assert ("write", "event", "invalid") in mine
    assert all(e.username == "demo-clinician" and e.remote_addr for e in reg.audit_events(patient="P-0100"))
    assert [e.outcome for e in reg.audit_events(patient="NOPE")] == ["not_found"]


def test_downloads_ics_fhir_and_letters(app):
    c = client_for(app, "clinician")
    base = "/api/v1/patients/DEMO-001/tumours/T1"
    r = c.get(f"{base}/plan.ics")
    assert r.status_code == 200 and r.text.startswith("BEGIN:VCALENDAR") and "attachment" in \
        r.headers["content-disposition"]
    assert c.get(f"{base}/plan.fhir.json").json()["resourceType"] == "Bundle"
    for who, words in (("patient", b"%PDF"), ("gp", b"%PDF")):
        r = c.get(f"{base}/letter-{who}.pdf")
        assert r.status_code == 200 and r.content.startswith(words) and len(r.content) > 2000
    assert c.get(f"{base}/letter-boss.pdf").status_code == 422
    bundle = c.get("/api/v1/patients/SEED-000/fhir").json()
    assert bundle["resourceType"] == "Bundle" and "name" not in next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    exports = [e.resource for e in app.state.registry.audit_events(patient="DEMO-001") if e.action == "export"]
    assert {"plan iCalendar", "plan FHIR", "patient letter", "gp letter"} <= set(exports)


def test_letters_hold_the_plan_dates(sqlite_app):
    import io

    import pypdf

    c = client_for(sqlite_app, "clinician")
    pdf = c.get("/api/v1/patients/DEMO-001/tumours/T1/letter-patient.pdf").content
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    rec = c.get("/api/v1/patients/DEMO-001").json()
    planned = [e for e in rec["encounters"] if e["status"] == "planned"]
    assert planned and all(e["due"] in text for e in planned)
    assert "Please book these check-ups now" in text  # DEMO-001's month-6 visit and CT are overdue
    assert text.index("Please book") < text.index("2026-09-28") < text.index("Your planned check-ups")
    assert "Demo Patient A" in text


def test_dashboard_lists_overdue_due_gaps_and_missed(app):
    c = client_for(app, "clinician")
    d = c.get("/api/v1/dashboard").json()
    assert d["as_of"] == TODAY.isoformat()
    assert {a["patient"] for a in d["overdue"]} == {"DEMO-001"} and {a["patient"] for a in d["due"]} == {"DEMO-002"}
    assert any(g["patient"] == "DEMO-001" for g in d["gaps"]) and d["missed"] == []
    assert d["totals"] == {"overdue": 2, "due": 2, "gaps": len(d["gaps"]), "lost": len(d["lost"]), "missed": 0}
    one = c.get("/api/v1/dashboard", params={"limit": 1}).json()
    assert len(one["overdue"]) == 1 and one["totals"]["overdue"] == 2  # long lists are cut, totals are not
    assert "Showing 1 of 2." in c.get("/dashboard", params={"limit": 1}).text
    r = c.post("/api/v1/patients/DEMO-001/encounters", json={"date": TODAY.isoformat(), "status": "missed",
                                                             "plan_item": "visit-m006", "tumour": "T1"})
    assert r.status_code == 201
    d = c.get("/api/v1/dashboard").json()
    assert [(m["patient"], m["plan_item"]) for m in d["missed"]] == [("DEMO-001", "visit-m006")]
    assert "visit-m006" not in {a["item"] for a in d["overdue"]}
    # served from the cache between writes, but every read is audited
    assert c.get("/api/v1/dashboard").json() == d
    reads = [e for e in app.state.registry.audit_events() if e.resource == "dashboard"]
    assert len(reads) == 5 and all(e.username == "demo-clinician" for e in reads)


def test_researcher_gets_the_deidentified_cohort_and_the_study(sqlite_app):
    c = client_for(sqlite_app, "researcher")
    cohort = c.get("/api/v1/cohort").json()
    assert cohort["n"] > 0
    text = str(cohort)
    for secret in ("SEED-000", "DEMO-001", "Demo Patient", "SYN-1-"):
        assert secret not in text
    r = c.post("/api/v1/study", json={"horizon": "5y"})
    assert r.status_code == 200 and r.json()["synthetic"] is True and r.json()["n"] == cohort["n"]
    # the study's own result, in its one JSON form (leiosurv.serial), and its schema is the API's
    from leiosurv.study import StudyResult

    result = StudyResult.from_dict(r.json()["study"])
    assert result.provenance["n"] == cohort["n"] and result.rule.id
    schemas = c.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert schemas["StudyRunOut"]["properties"]["study"] == {"$ref": "#/components/schemas/StudyResult"}
    assert {"Risk", "Curve", "FactorResult", "GroupResult", "Rule"} <= set(schemas)
    r = c.post("/api/v1/study", json={"horizon": "five years"})
    assert r.status_code == 422 and r.json()["field"] == "horizon"


def test_admin_manages_users_and_reads_the_audit_trail(sqlite_app):
    c = client_for(sqlite_app, "admin")
    r = c.post("/api/v1/users", json={"username": "nurse", "password": "long-enough-pw", "role": "clinician"})
    assert r.status_code == 201 and "password" not in r.text
    assert c.post("/api/v1/users", json={"username": "x", "password": "short", "role": "clinician"}).json()[
        "field"] == "password"
    n = client_for(sqlite_app, None)
    assert n.post("/api/v1/session", json={"username": "nurse", "password": "long-enough-pw"}).status_code == 200
    assert c.patch("/api/v1/users/nurse", json={"active": False}).status_code == 200
    assert n.get("/api/v1/patients").status_code == 401  # deactivated: the session no longer works
    audit = c.get("/api/v1/audit").json()
    assert any(e["resource"] == "user nurse updated (active)" for e in audit)
    assert c.get("/admin/audit").status_code == 200 and c.get("/admin/users").status_code == 200
    assert c.patch("/api/v1/users/demo-admin", json={"active": False}).status_code == 422


def test_no_patient_data_in_logs(sqlite_app, caplog):
    c = client_for(sqlite_app, "clinician")
    with caplog.at_level(logging.DEBUG):
        c.get("/patients/DEMO-001")
        c.get("/api/v1/patients", params={"q": "Demo Patient"})
        c.get("/patients/NOPE")
        c.post("/api/v1/patients", json={"pseudonym": "P-LOG", "name": "Secret Name", "birth_date": "1950-01-01"})
    server = [r for r in caplog.records if r.name.startswith(("leiosurv", "uvicorn", "fastapi", "starlette"))]
    text = "\n".join(r.getMessage() for r in server)
    assert "/patients/{pseudonym}" in text
    for secret in ("DEMO-001", "Demo Patient", "Secret Name", "1950-01-01", "P-LOG", "NOPE"):
        assert secret not in text


def test_pages_render_for_a_clinician(app):
    c = client_for(app, "clinician")
    for path in ("/dashboard", "/patients", "/patients?q=seed", "/patients/SEED-000", "/assess",
                 "/patients/DEMO-001/tumours/new", "/study"):
        r = c.get(path)
        assert r.status_code == 200, path
    assert c.get("/patients/SEED-000/timeline.png").content.startswith(b"\x89PNG")
    page = c.get("/patients/SEED-000").text
    assert "2026.11" in page or "rule" in page.lower()
    # the course figure opens full size (on a phone it is shown at the screen's width)
    fig = "/patients/SEED-000/timeline.png"
    assert f'<a href="{fig}" target="_blank"><img src="{fig}"' in page
    tok = csrf_of(page)
    r = c.post("/patients/DEMO-003/events", data={"csrf_token": tok, "kind": "metastasis", "date": "2026-11-01",
                                                  "tumour": "T1"})
    assert r.status_code == 422 and "metastasis needs its site" in r.text
    r = c.post("/patients/DEMO-003/events", data={"csrf_token": tok, "kind": "metastasis", "date": "2026-11-01",
                                                  "tumour": "T1", "site": "lung"})
    assert r.status_code == 303
    page = c.get("/patients/DEMO-003").text
    assert "replan metastasis" in page and "replaced: replan metastasis" in page


def test_new_tumour_form_previews_then_registers(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    reg = sqlite_app.state.registry
    tok = csrf_of(c.get("/patients/DEMO-003/tumours/new").text)
    form = {"csrf_token": tok, "label": "T2", "excision_date": "2026-11-01", "depth": "dermal", "atypia": "moderate",
            "mitoses.count": "20", "immunohistochemistry.sma": "positive", "confirmed_diagnosis": "aismn"}
    r = c.post("/patients/DEMO-003/tumours/new", data={**form, "action": "assess"})
    assert r.status_code == 200 and 'class="group">HIGH<' in r.text and "confirmed" in r.text
    assert len(reg.patient_record("DEMO-003").tumours) == 1  # looking stores nothing
    r = c.post("/patients/DEMO-003/tumours/new", data={**form, "action": "save"})
    assert r.status_code == 303 and r.headers["location"] == "/patients/DEMO-003?done=tumour"
    t2 = reg.patient_record("DEMO-003").to_dict()["tumours"][1]
    assert t2["label"] == "T2" and t2["confirmed_diagnosis"] == "aismn"
    r = c.post("/patients/DEMO-003/tumours/new", data={**form, "action": "save"})
    assert r.status_code == 422 and "already exists</span>" in r.text.split('id="f-label"', 1)[1].split("</div>", 1)[0]


def test_sign_out_clears_the_session(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    other = client_for(sqlite_app, "clinician")  # the same user on another device
    assert c.get("/api/v1/session").json()["username"] == "demo-clinician"
    stolen = c.cookies["leiosurv_session"]
    r = c.delete("/api/v1/session")
    assert r.status_code == 204 and "Max-Age=0" in r.headers["set-cookie"]
    assert c.get("/api/v1/session").status_code == 401
    replay = client_for(sqlite_app, None)
    replay.cookies.set("leiosurv_session", stolen, domain="testserver")
    assert replay.get("/api/v1/session").status_code == 401  # the cookie is void, not only forgotten
    assert other.get("/api/v1/session").status_code == 401  # sign-out ends every session of the user
    c = client_for(sqlite_app, "clinician")
    page = c.get("/dashboard").text
    r = c.post("/logout", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert c.get("/dashboard").status_code == 303
    assert [e.action for e in sqlite_app.state.registry.audit_events(limit=2)] == ["logout", "read"]


def test_the_registry_records_are_the_api_schemas(app):
    """The patient record, timeline, alerts, history and research cohort are answered in the registry's own
    records (no copy in the web layer): the OpenAPI document names them, every field is required (each answer
    holds it), the answers are the records' JSON form and validate against the document."""
    import jsonschema_rs

    c = client_for(app, "clinician")
    reg = app.state.registry
    doc = c.get("/api/v1/openapi.json").json()
    schemas = doc["components"]["schemas"]

    def schema(path: str) -> dict:
        return doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]

    def ref(name: str) -> dict:
        return {"$ref": f"#/components/schemas/{name}"}

    assert schema("/api/v1/patients/{pseudonym}") == ref("PatientRecord")
    assert schema("/api/v1/patients/{pseudonym}/timeline") == ref("Timeline")
    assert schema("/api/v1/patients/{pseudonym}/history") == {"type": "array", "items": ref("HistoryEntry"),
                                                              "title": "Response Api History Api V1 Patients  "
                                                                       "Pseudonym  History Get"}
    assert schema("/api/v1/cohort") == ref("ResearchCohort")
    assert schemas["DashboardOut"]["properties"]["overdue"]["items"] == ref("Alert")
    assert not {"AlertOut", "CohortOut"} & set(schemas)
    for name in ("PatientInfo", "EncounterRecord", "Timeline", "TimelineEntry", "Alert", "HistoryEntry",
                 "CohortRow", "PatientSummary", "MissedEncounter"):
        assert set(schemas[name]["required"]) == set(schemas[name]["properties"]), name

    def valid(body, name: str) -> None:
        jsonschema_rs.Draft202012Validator({**ref(name), "components": doc["components"]}).validate(body)

    rec = c.get("/api/v1/patients/SEED-000").json()
    assert rec == reg.patient_record("SEED-000").to_dict()
    valid(rec, "PatientRecord")
    tl = c.get("/api/v1/patients/SEED-000/timeline").json()
    assert tl == reg.timeline("SEED-000").to_dict() and list(tl) == ["patient", "synthetic", "primary", "timeline"]
    import datetime as dt

    primary = dt.date.fromisoformat(tl["primary"])
    assert [r["latency_days"] for r in tl["timeline"]] == [
        (dt.date.fromisoformat(r["date"]) - primary).days for r in tl["timeline"]]
    assert any(r["category"] == "event" and r["latency_years"] > 25 for r in tl["timeline"])  # seed 000: 26 years
    valid(tl, "Timeline")
    eid = next(e["id"] for e in rec["events"] if e["kind"] == "metastasis")
    r = c.post("/api/v1/patients/SEED-000/corrections", json={"table": "event", "record": eid,
                                                              "changes": {"note": "biopsy-proven"}, "reason": "r"})
    assert r.status_code == 200, r.text
    h = c.get("/api/v1/patients/SEED-000/history").json()
    assert h == [x.model_dump(mode="json") for x in reg.history_of("SEED-000")] and len(h) == 1
    valid(h[0], "HistoryEntry")
    d = c.get("/api/v1/dashboard").json()
    assert d["overdue"] or d["due"] or d["gaps"]
    valid(d, "DashboardOut")
    r = client_for(app, "researcher").get("/api/v1/cohort").json()
    assert r == reg.research_cohort().model_dump(mode="json") and r["columns"] == list(r["rows"][0])
    valid(r, "ResearchCohort")
