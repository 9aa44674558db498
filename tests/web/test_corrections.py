"""Corrections in the web app: the API and the pages on SQLite and PostgreSQL.

Correct with a reason, mark entered in error, undo a death (the plan re-opens),
the history of the records, the confirmation step that says what will change,
and who may do it (clinicians only; CSRF on every unsafe call; every call audited).
"""

from __future__ import annotations

from webutil import client_for, csrf_of

HIGH = {"excision_date": "2026-10-01", "site": "left thigh", "depth": "dermal", "atypia": "moderate",
        "mitoses": {"count": 20}, "necrosis": "absent", "margins": "negative",
        "immunohistochemistry": {"sma": "positive", "desmin": "positive", "h_caldesmon": "positive",
                                 "s100": "negative", "sox10": "negative"}}
P = "P-0900"


def _patient(c, p: str = P) -> dict:
    """A patient with a high-risk dermal tumour (its plan stored); the record as the API gives it."""
    assert c.post("/api/v1/patients", json={"pseudonym": p, "sex": "female", "name": "Ida Berg",
                                            "birth_date": "1955-05-05"}).status_code == 201
    assert c.post(f"/api/v1/patients/{p}/tumours", json={"label": "T1", "findings": HIGH}).status_code == 201
    return c.get(f"/api/v1/patients/{p}").json()


def _encounter(c, p: str = P, **kw) -> int:
    r = c.post(f"/api/v1/patients/{p}/encounters", json={"tumour": "T1", "status": "done", **kw})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _rec(c, p: str = P) -> dict:
    return c.get(f"/api/v1/patients/{p}").json()


def _planned(rec: dict) -> set[int]:
    return {e["id"] for e in rec["encounters"] if e["status"] == "planned"}


def test_correct_an_encounter_date_keeps_the_previous_version(app):
    c = client_for(app, "clinician")
    _patient(c)
    eid = _encounter(c, date="2026-11-20", modality="clinical examination")
    r = c.post(f"/api/v1/patients/{P}/corrections", json={
        "table": "encounter", "record": eid, "changes": {"date": "2026-11-21"}, "reason": "date misread"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["applied"] is True
    assert any("done on 2026-11-20 becomes 2026-11-21" in x for x in body["changes"]), body["changes"]
    e = next(x for x in _rec(c)["encounters"] if x["id"] == eid)
    assert e["done_on"] == "2026-11-21"
    h = c.get(f"/api/v1/patients/{P}/history").json()
    assert len(h) == 1
    assert (h[0]["table"], h[0]["record"], h[0]["action"], h[0]["reason"], h[0]["by"]) == (
        "encounter", eid, "corrected", "date misread", "demo-clinician")
    assert h[0]["previous"]["done_on"] == "2026-11-20"
    mine = [(e.action, e.resource, e.outcome) for e in app.state.registry.audit_events(patient=P)]
    assert ("write", "correction", "ok") in mine and ("read", "record history", "ok") in mine


def test_dry_run_says_what_would_change_and_changes_nothing(app):
    c = client_for(app, "clinician")
    _patient(c)
    eid = _encounter(c, date="2026-11-20")
    r = c.post(f"/api/v1/patients/{P}/corrections", json={
        "table": "encounter", "record": eid, "changes": {"date": "2026-11-22"}, "reason": "x", "dry_run": True})
    assert r.status_code == 200 and r.json()["applied"] is False
    assert any("2026-11-22" in x for x in r.json()["changes"])
    assert next(x for x in _rec(c)["encounters"] if x["id"] == eid)["done_on"] == "2026-11-20"
    assert c.get(f"/api/v1/patients/{P}/history").json() == []


def test_void_an_encounter_of_a_plan_item_reopens_the_item(app):
    c = client_for(app, "clinician")
    rec = _patient(c)
    first = min((e for e in rec["encounters"] if e["status"] == "planned"), key=lambda e: e["due"])
    eid = _encounter(c, date="2026-11-25", plan_item=first["plan_item"])
    assert first["id"] not in _planned(_rec(c))
    r = c.post(f"/api/v1/patients/{P}/void", json={"table": "encounter", "record": eid,
                                                   "reason": "recorded for the wrong visit"})
    assert r.status_code == 200, r.text
    assert any(x.startswith("Re-opens 1 planned visit:") and first["plan_item"] in x for x in r.json()["changes"])
    after = _rec(c)
    assert first["id"] in _planned(after)
    assert _planned(after) == _planned(rec)
    h = c.get(f"/api/v1/patients/{P}/history").json()
    assert [(x["table"], x["record"], x["action"]) for x in h] == [("encounter", eid, "voided")]


def test_undo_a_death_reopens_the_plan_and_the_patient_is_no_longer_deceased(app):
    c = client_for(app, "clinician")
    rec = _patient(c)
    open_before = _planned(rec)
    assert len(open_before) >= 3
    r = c.post(f"/api/v1/patients/{P}/events", json={"kind": "death", "date": "2026-11-25",
                                                     "cause": "other"})
    assert r.status_code == 201
    death = r.json()["id"]
    assert _planned(_rec(c)) == set()
    page = c.get(f"/patients/{P}").text
    assert "Undo death" in page and "death" in page.split('id="events"')[1].split('id="encounters"')[0]
    # the confirmation says what will change, and changes nothing
    v = c.get(f"/patients/{P}/void", params={"table": "event", "record": death})
    assert v.status_code == 200
    assert f"Re-opens {len(open_before)} planned visits" in v.text
    assert "no longer recorded as deceased" in v.text
    assert _planned(_rec(c)) == set()
    r = c.post(f"/patients/{P}/void", params={"table": "event", "record": death},
               data={"csrf_token": csrf_of(v.text), "reason": "wrong patient"})
    assert r.status_code == 303 and r.headers["location"] == f"/patients/{P}/history?done=voided"
    after = _rec(c)
    assert not [e for e in after["events"] if e["kind"] == "death"]
    assert _planned(after) == open_before
    page = c.get(f"/patients/{P}").text
    assert "Undo death" not in page
    assert "death" not in page.split('id="events"')[1].split('id="encounters"')[0]  # no death in the course
    hist = c.get(f"/patients/{P}/history").text
    assert "wrong patient" in hist and "entered in error" in hist and "demo-clinician" in hist
    # the alerts see the re-opened plan again (the items are due or upcoming, not closed)
    assert c.get("/api/v1/patients/" + P).json()["encounters"]


def test_a_researcher_and_an_admin_cannot_correct(app):
    setup = client_for(app, "clinician")
    _patient(setup)
    eid = _encounter(setup, date="2026-11-20")
    for role in ("researcher", "admin"):
        c = client_for(app, role)
        r = c.post(f"/api/v1/patients/{P}/corrections", json={
            "table": "encounter", "record": eid, "changes": {"date": "2026-11-21"}, "reason": "x"})
        assert r.status_code == 403, (role, r.text)
        r = c.post(f"/api/v1/patients/{P}/void", json={"table": "encounter", "record": eid, "reason": "x"})
        assert r.status_code == 403
        assert c.get(f"/api/v1/patients/{P}/history").status_code == 403
        assert c.get(f"/patients/{P}/history").status_code == 403
        assert c.get(f"/patients/{P}/correct", params={"table": "encounter", "record": eid}).status_code == 403
    assert next(x for x in _rec(setup)["encounters"] if x["id"] == eid)["done_on"] == "2026-11-20"
    denied = [(e.username, e.outcome) for e in app.state.registry.audit_events(patient=P)
              if e.outcome == "denied"]
    assert ("demo-researcher", "denied") in denied and ("demo-admin", "denied") in denied


def test_a_correction_without_a_reason_is_refused(app):
    c = client_for(app, "clinician")
    _patient(c)
    eid = _encounter(c, date="2026-11-20")
    for reason in ("", "   "):
        r = c.post(f"/api/v1/patients/{P}/corrections", json={
            "table": "encounter", "record": eid, "changes": {"date": "2026-11-21"}, "reason": reason})
        assert r.status_code == 422 and r.json()["field"] == "reason", r.text
        r = c.post(f"/api/v1/patients/{P}/void", json={"table": "encounter", "record": eid, "reason": reason})
        assert r.status_code == 422 and r.json()["field"] == "reason", r.text
    assert next(x for x in _rec(c)["encounters"] if x["id"] == eid)["done_on"] == "2026-11-20"
    assert c.get(f"/api/v1/patients/{P}/history").json() == []


def test_refusals_name_the_field(app):
    c = client_for(app, "clinician")
    _patient(c)
    eid = _encounter(c, date="2026-11-20")

    def corr(**kw):
        return c.post(f"/api/v1/patients/{P}/corrections", json={"reason": "r", **kw})

    r = corr(table="encounter", record=eid, changes={"colour": "blue"})
    assert r.status_code == 422 and r.json()["field"] == "colour"
    r = corr(table="encounter", record=eid, changes={"date": "2026-11-30"})  # the day after today
    assert r.status_code == 422 and r.json()["field"] == "date" and "future" in r.json()["message"]
    assert corr(table="encounter", record=eid, changes={"date": "2026-11-29"}).status_code == 200  # today
    r = corr(table="encounter", record=eid, changes={"date": "29/11/2026"})
    assert r.status_code == 422 and r.json()["field"] == "date"
    r = corr(table="encounter", record=10**9, changes={"date": "2026-11-21"})
    assert r.status_code == 404 and r.json()["field"] == "record"
    r = corr(table="bogus", record=eid, changes={"date": "2026-11-21"})
    assert r.status_code == 422 and r.json()["field"] == "table"
    r = c.post(f"/api/v1/patients/{P}/corrections", headers={"X-CSRF-Token": "wrong"},
               json={"table": "encounter", "record": eid, "changes": {"date": "2026-11-21"}, "reason": "r"})
    assert r.status_code == 403 and r.json()["field"] == "X-CSRF-Token"
    r = c.post("/api/v1/patients/NOPE/void", json={"table": "encounter", "record": eid, "reason": "r"})
    assert r.status_code == 404


def test_correcting_the_name_keeps_the_birth_date(app):
    c = client_for(app, "clinician")
    _patient(c)
    r = c.post(f"/api/v1/patients/{P}/corrections", json={"table": "identity", "changes": {"name": "Ida Borg"},
                                                          "reason": "misspelt"})
    assert r.status_code == 200, r.text
    assert r.json()["changes"] == ["Identity: name Ida Berg becomes Ida Borg."]
    assert _rec(c)["identity"] == {"name": "Ida Borg", "birth_date": "1955-05-05"}
    h = c.get(f"/api/v1/patients/{P}/history").json()
    assert [(x["table"], x["reason"], x["previous"]) for x in h] == [("identity", "misspelt", {})]


def test_the_form_confirms_before_it_applies(app):
    c = client_for(app, "clinician")
    _patient(c)
    eid = _encounter(c, date="2026-11-20", modality="clinical examination")
    page = c.get(f"/patients/{P}").text
    assert f'/patients/{P}/correct?table=encounter&amp;record={eid}' in page and f"/patients/{P}/history" in page
    f = c.get(f"/patients/{P}/correct", params={"table": "encounter", "record": eid})
    assert f.status_code == 200 and 'value="2026-11-20"' in f.text
    tok = csrf_of(f.text)
    url = f"/patients/{P}/correct?table=encounter&record={eid}"
    data = {"csrf_token": tok, "f_date": "2026-11-19", "f_modality": "clinical examination", "reason": "typo"}
    # without a reason: refused on the form, next to the reason
    r = c.post(url, data={**data, "reason": "", "step": "review"})
    assert r.status_code == 422 and "a correction needs its reason" in r.text
    # review: the confirmation shows old and new, and nothing is changed yet
    r = c.post(url, data={**data, "step": "review"})
    assert r.status_code == 200 and "Check before applying" in r.text
    assert "2026-11-20" in r.text and "<strong>2026-11-19</strong>" in r.text
    assert next(x for x in _rec(c)["encounters"] if x["id"] == eid)["done_on"] == "2026-11-20"
    # a bad date: refused next to the field
    r = c.post(url, data={**data, "f_date": "2026-13-01", "step": "review"})
    assert r.status_code == 422 and 'id="e-date"' in r.text
    # without the CSRF token: refused
    r = c.post(url, data={**data, "csrf_token": "x", "step": "apply"})
    assert r.status_code == 403
    r = c.post(url, data={**data, "step": "apply"})
    assert r.status_code == 303 and r.headers["location"] == f"/patients/{P}/history?done=corrected"
    assert next(x for x in _rec(c)["encounters"] if x["id"] == eid)["done_on"] == "2026-11-19"
    h = c.get(r.headers["location"]).text
    assert "Correction applied" in h and "typo" in h and "2026-11-20" in h


def test_the_api_is_documented(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    doc = c.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/patients/{pseudonym}/corrections", "/api/v1/patients/{pseudonym}/void"):
        op = doc["paths"][path]["post"]
        assert {"200", "404", "422"} <= set(op["responses"]), path
    assert "get" in doc["paths"]["/api/v1/patients/{pseudonym}/history"]


def test_redating_a_death_says_so_and_the_preview_writes_nothing(app):
    c = client_for(app, "clinician")
    rec = _patient(c)
    reg = app.state.registry
    death = c.post(f"/api/v1/patients/{P}/events", json={"kind": "death", "date": "2026-11-25"}).json()["id"]
    counts = reg.counts()
    audit_rows = counts.pop("audit_event")
    body = {"table": "event", "record": death, "changes": {"date": "2026-11-26"}, "reason": "day misread"}
    r = c.post(f"/api/v1/patients/{P}/corrections", json={**body, "dry_run": True})
    assert r.status_code == 200 and r.json()["applied"] is False
    assert "The date of death changes from 2026-11-25 to 2026-11-26." in r.json()["changes"]
    after = reg.counts()
    assert after.pop("audit_event") == audit_rows + 1  # the preview is audited as a read
    assert after == counts  # and writes nothing else
    assert reg.history_of(P) == []
    r = c.post(f"/api/v1/patients/{P}/corrections", json=body)
    assert r.status_code == 200 and r.json()["applied"] is True
    rec2 = _rec(c)
    assert [e["date"] for e in rec2["events"] if e["kind"] == "death"] == ["2026-11-26"]
    assert _planned(rec2) == set() and {e["id"] for e in rec2["encounters"]} == {e["id"] for e in rec["encounters"]}
    r = c.post(f"/api/v1/patients/{P}/void", json={"table": "event", "record": death, "reason": "wrong patient"})
    assert r.status_code == 200
    assert _planned(_rec(c)) == _planned(rec)
    assert [(h.table, h.action) for h in reg.history_of(P)] == [("event", "corrected"), ("event", "voided")]


def test_a_tumour_label_corrected_and_the_form_without_a_change(app):
    c = client_for(app, "clinician")
    rec = _patient(c)
    tid = rec["tumours"][0]["id"]
    url = f"/patients/{P}/correct?table=tumour&record={tid}"
    f = c.get(url)
    assert f.status_code == 200 and 'value="T1"' in f.text
    tok = csrf_of(f.text)
    r = c.post(url, data={"csrf_token": tok, "f_label": "T1", "reason": "r", "step": "review"})
    assert r.status_code == 422 and "nothing changed" in r.text
    r = c.post(url, data={"csrf_token": tok, "f_label": "T2", "reason": "label typo", "step": "review"})
    assert r.status_code == 200 and "Check before applying" in r.text and "label T1 becomes T2" in r.text
    back = c.post(url, data={"csrf_token": tok, "f_label": "T2", "reason": "label typo", "step": "edit"})
    assert back.status_code == 200 and 'value="T2"' in back.text and "Check before applying" not in back.text
    assert c.get(f"/api/v1/patients/{P}/tumours/T1/assessment").status_code == 200  # not applied yet
    r = c.post(url, data={"csrf_token": tok, "f_label": "T2", "reason": "label typo", "step": "apply"})
    assert r.status_code == 303
    assert c.get(f"/api/v1/patients/{P}/tumours/T2/assessment").status_code == 200
    assert c.get(f"/api/v1/patients/{P}/tumours/T1/assessment").status_code == 404


def test_a_voided_tumour_is_in_the_history_with_its_assessments_and_plan(app):
    """Voiding a tumour from the web keeps every row it removes: the history (API and page) lists the tumour,
    its assessment with its full result, and each of its plan items."""
    c = client_for(app, "clinician")
    rec = _patient(c)
    t = rec["tumours"][0]
    items = {e["id"] for e in rec["encounters"] if e["tumour"] == "T1"}
    assert items
    v = c.get(f"/patients/{P}/void", params={"table": "tumour", "record": t["id"]})
    r = c.post(f"/patients/{P}/void", params={"table": "tumour", "record": t["id"]},
               data={"csrf_token": csrf_of(v.text), "reason": "specimen of another patient"})
    assert r.status_code == 303
    assert _rec(c)["tumours"] == [] and _rec(c)["encounters"] == []
    h = c.get(f"/api/v1/patients/{P}/history").json()
    by = {(x["table"], x["record"]): x for x in h}
    assert set(by) == {("tumour", t["id"])} | {("assessment", a["id"]) for a in t["assessments"]} \
        | {("encounter", i) for i in items}
    a = by[("assessment", t["assessments"][0]["id"])]["previous"]
    assert a["result"] == t["assessments"][0]["result"] and a["risk_group"] == t["assessments"][0]["risk_group"]
    page = c.get(r.headers["location"]).text
    assert page.count("entered in error") >= len(h)
    assert f"assessment {t['assessments'][0]['id']}: entered in error" in page
    assert "its full result is kept in the history" in page and "specimen of another patient" in page


def test_a_pseudonym_corrected_through_the_form_and_the_api_resorts_the_list(app):
    """The patient's pseudonym is correctable (a typing error at registration): the form confirms, the redirect
    follows the new pseudonym, the list takes the new natural place; a pseudonym the app would not register
    (not URL-safe) and one already taken are refused next to the form or naming the field."""
    c = client_for(app, "clinician")
    for p in ("SYN-9-2", "SYN-9-10", "SYN-9-3"):
        assert c.post("/api/v1/patients", json={"pseudonym": p}).status_code == 201
    order = lambda: [r["pseudonym"] for r in c.get("/api/v1/patients", params={"q": "syn-9-"}).json()["patients"]]  # noqa: E731
    assert order() == ["SYN-9-2", "SYN-9-3", "SYN-9-10"]
    url = "/patients/SYN-9-10/correct?table=patient"
    f = c.get(url)
    assert f.status_code == 200 and 'id="f-pseudonym"' in f.text and 'value="SYN-9-10"' in f.text
    data = {"csrf_token": csrf_of(f.text), "f_pseudonym": "SYN-9-1", "f_sex": "unknown", "f_note": "",
            "reason": "mistyped at registration"}
    r = c.post(url, data={**data, "step": "review"})
    assert r.status_code == 200 and "Patient: pseudonym SYN-9-10 becomes SYN-9-1." in r.text
    assert order() == ["SYN-9-2", "SYN-9-3", "SYN-9-10"]  # nothing applied yet
    r = c.post(url, data={**data, "f_pseudonym": "SYN-9-2", "step": "review"})  # taken: above the form
    assert r.status_code == 422 and "a patient with this pseudonym already exists" in r.text
    r = c.post(url, data={**data, "f_pseudonym": "../admin", "step": "review"})  # not URL-safe: at the field
    assert r.status_code == 422 and 'id="e-pseudonym"' in r.text
    r = c.post(url, data={**data, "step": "apply"})
    assert r.status_code == 303 and r.headers["location"] == "/patients/SYN-9-1/history?done=corrected"
    assert "mistyped at registration" in c.get(r.headers["location"]).text
    assert order() == ["SYN-9-1", "SYN-9-2", "SYN-9-3"]
    # the API: 422 naming the field; applied, it says what it did
    body = {"table": "patient", "changes": {"pseudonym": "SYN 9 3"}, "reason": "r"}
    r = c.post("/api/v1/patients/SYN-9-3/corrections", json=body)
    assert r.status_code == 422 and r.json()["field"] == "pseudonym"
    r = c.post("/api/v1/patients/SYN-9-3/corrections", json={**body, "changes": {"pseudonym": "SYN-9-30"}})
    assert r.status_code == 200 and "Patient: pseudonym SYN-9-3 becomes SYN-9-30." in r.json()["changes"]
    assert order() == ["SYN-9-1", "SYN-9-2", "SYN-9-30"]
    assert c.get("/api/v1/patients/SYN-9-3").status_code == 404


def test_an_observation_corrected_and_voided_through_the_api(app):
    c = client_for(app, "clinician")
    reg = app.state.registry
    _patient(c)
    oid = reg.add_observation(P, "lung-nodule", "6 mm nodule", "2026-06-01", 180, site="lung")
    page = c.get(f"/patients/{P}").text
    assert f'id="observation-{oid}"' in page
    assert f"/patients/{P}/correct?table=observation&amp;record={oid}" in page
    assert f"/patients/{P}/void?table=observation&amp;record={oid}" in page
    r = c.post(f"/api/v1/patients/{P}/corrections", json={
        "table": "observation", "record": oid, "changes": {"max_interval_days": 90}, "reason": "team decision"})
    assert r.status_code == 200 and any("max interval days 180 becomes 90" in x for x in r.json()["changes"])
    r = c.post(f"/api/v1/patients/{P}/void", json={"table": "observation", "record": oid, "reason": "wrong patient"})
    assert r.status_code == 200 and _rec(c)["observations"] == []
    assert f'id="observation-{oid}"' not in c.get(f"/patients/{P}").text
