"""The clinic's pages through the app (no browser): the saved assessment, the deceased, letters, forms.

Each test pins a finding of issue 22 (the second pass of the web app); the
browser-only findings (Enter, 390 px, Tab stops) are in ``test_browser_pages.py``.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from webutil import client_for, csrf_of

from leiosurv.clinical import evidence
from leiosurv.interfaces.web._forms import DISPLAY, FINDINGS_SECTIONS, depth_phrase

SUBCUTANEOUS = {"excision_date": "2026-10-01", "site": "right forearm", "depth": "subcutaneous", "atypia": "marked",
                "mitoses": {"count": 12}, "necrosis": "present", "margins": "negative",
                "immunohistochemistry": {"sma": "positive", "desmin": "positive", "s100": "negative"}}


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def _pdf_text(pdf: bytes, tmp_path) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) not installed")
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True)
    return " ".join(out.stdout.split())


def _register(c, pseudonym: str, findings: dict, label: str = "T1") -> None:
    assert c.post("/api/v1/patients", json={"pseudonym": pseudonym, "sex": "female", "name": "Test Person",
                                            "birth_date": "1960-02-03"}).status_code == 201
    r = c.post(f"/api/v1/patients/{pseudonym}/tumours", json={"label": label, "findings": findings})
    assert r.status_code == 201, r.text


# --- the saved assessment ------------------------------------------------------------------------------

def test_saved_assessment_has_its_own_full_page_linked_from_the_patient(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    page = c.get("/patients/DEMO-001").text
    assert 'href="/patients/DEMO-001/tumours/T1/assessment"' in page
    r = c.get("/patients/DEMO-001/tumours/T1/assessment")
    assert r.status_code == 200
    a = sqlite_app.state.registry.assessment_result("DEMO-001", "T1")
    html = r.text
    for c_ in a["diagnosis"]["candidates"]:  # every candidate, not only the first five
        assert c_["category"]["name"] in html
    first = a["diagnosis"]["candidates"][0]
    for s in first["supporting"] + first["against"]:  # its evidence for and against, all of it
        assert s["text"].replace("'", "&#39;").replace('"', "&#34;") in html
    assert a["provenance"]["ruleset_version"] in html and "rule set" in html
    assert a["risk"]["group"].replace("_", " ").upper() in html
    from leiosurv.clinical import Assessment

    warnings = Assessment.model_validate({k: v for k, v in a.items() if k != "registry"}).warnings
    assert warnings, "the demo tumour has warnings"
    for w in warnings:
        assert w.message.replace("'", "&#39;").replace('"', "&#34;") in html
    assert "data-print" in html and "@media print" in c.get("/static/app.css").text
    assert c.get("/patients/DEMO-001/tumours/NOPE/assessment").status_code == 404


def test_a_metastatic_pathway_shows_its_advice_not_only_no_encounter(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    _register(c, "MET-1", SUBCUTANEOUS)
    r = c.post("/api/v1/patients/MET-1/events", json={"kind": "metastasis", "date": "2026-11-01", "tumour": "T1",
                                                      "site": "lung"})
    assert r.status_code == 201, r.text
    html = c.get("/patients/MET-1").text
    advice = evidence.text("metastatic")
    assert advice in html.replace("&#39;", "'")


# --- the deceased --------------------------------------------------------------------------------------

def test_deceased_banner_and_forms_and_letters_for_the_living_only(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    html = c.get("/patients/SEED-000").text
    assert 'id="deceased"' in html and "Deceased 2024-05-31" in html
    assert "/tumours/new" not in html and 'id="encounter-form"' not in html
    assert "letter-patient.pdf" not in html and "letter-gp.pdf" in html
    assert 'value="death"' not in html  # no second death
    assert c.get("/patients/SEED-000/tumours/new").status_code == 422
    r = c.get("/api/v1/patients/SEED-000/tumours/forearm-1997/letter-patient.pdf")
    assert r.status_code == 422 and "deceased" in r.json()["message"] and r.json()["field"] == "patient"
    living = c.get("/patients/DEMO-001").text
    assert 'id="deceased"' not in living and "letter-patient.pdf" in living and "/tumours/new" in living


def test_no_calendar_offered_when_nothing_is_scheduled(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    dead = c.get("/patients/SEED-000").text  # every item closed at death
    assert "plan.ics" not in dead
    alive = c.get("/patients/DEMO-001").text
    assert "plan.ics" in alive and re.search(r"calendar \(\.ics\) of the \d+ planned encounters?", alive)


def test_patient_letter_worded_by_the_tumours_depth(sqlite_app, tmp_path):
    c = client_for(sqlite_app, "clinician")
    _register(c, "SUB-1", SUBCUTANEOUS)
    text = _pdf_text(c.get("/api/v1/patients/SUB-1/tumours/T1/letter-patient.pdf").content, tmp_path)
    assert "skin tumour" not in text
    assert " ".join(depth_phrase("subcutaneous").split()[:6]) in text
    assert DISPLAY["depth_phrase"]["subcutaneous"] != DISPLAY["depth_phrase"]["dermal"]
    dermal = _pdf_text(c.get("/api/v1/patients/DEMO-001/tumours/T1/letter-patient.pdf").content, tmp_path)
    assert " ".join(depth_phrase("dermal").split()[:5]) in dermal


def test_patient_letter_offers_the_calendar_only_with_dates(sqlite_app, tmp_path):
    c = client_for(sqlite_app, "clinician")
    with_dates = _pdf_text(c.get("/api/v1/patients/DEMO-001/tumours/T1/letter-patient.pdf").content, tmp_path)
    assert "calendar file (.ics)" in with_dates
    rec = sqlite_app.state.registry.patient_record("SEED-004").to_dict()
    label = rec["tumours"][0]["label"]
    assert not [e for e in rec["encounters"] if e["status"] == "planned"]
    none = _pdf_text(c.get(f"/api/v1/patients/SEED-004/tumours/{label}/letter-patient.pdf").content, tmp_path)
    assert ".ics" not in none and "plan below" not in none


def test_gp_letter_fits_its_page(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    for p in ("DEMO-001", "DEMO-002", "DEMO-003"):
        pdf = c.get(f"/api/v1/patients/{p}/tumours/T1/letter-gp.pdf").content
        assert _pages(pdf) == 1, p


# --- forms ---------------------------------------------------------------------------------------------

def test_tumour_form_stores_only_on_the_register_button(sqlite_app):
    """Enter in a text field submits the form without the button's name (or with the first button's): no tumour."""
    c = client_for(sqlite_app, "clinician")
    html = c.get("/patients/DEMO-002/tumours/new").text
    buttons = re.findall(r'<button type="submit" name="action" value="(\w+)"', html)
    assert buttons[0] == "assess" and "save" in buttons  # the default (first) button only assesses
    form = {"csrf_token": csrf_of(html), "label": "T9", "excision_date": "2026-10-01", "depth": "dermal"}
    for action in (None, "assess"):
        data = dict(form, **({"action": action} if action else {}))
        assert c.post("/patients/DEMO-002/tumours/new", data=data).status_code == 200
        labels = [t["label"] for t in sqlite_app.state.registry.patient_record("DEMO-002").to_dict()["tumours"]]
        assert "T9" not in labels
    assert c.post("/patients/DEMO-002/tumours/new", data=dict(form, action="save")).status_code == 303
    assert "T9" in [t["label"] for t in sqlite_app.state.registry.patient_record("DEMO-002").to_dict()["tumours"]]


def test_death_is_confirmed_before_it_is_recorded(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    reg = sqlite_app.state.registry
    html = c.get("/patients/DEMO-003").text
    open_before = [e for e in reg.patient_record("DEMO-003").to_dict()["encounters"] if e["status"] == "planned"]
    assert open_before
    data = {"csrf_token": csrf_of(html), "kind": "death", "date": "2026-11-20", "tumour": "", "cause": "stroke"}
    r = c.post("/patients/DEMO-003/events", data=data)
    assert r.status_code == 200 and 'id="confirm-death"' in r.text and "Record the death" in r.text
    assert f"({len(open_before)} open now)" in r.text
    rec = reg.patient_record("DEMO-003").to_dict()
    assert not [e for e in rec["events"] if e["kind"] == "death"]  # nothing recorded yet
    assert [e for e in rec["encounters"] if e["status"] == "planned"] == open_before
    r = c.post("/patients/DEMO-003/events", data=dict(data, confirm="yes"))
    assert r.status_code == 303
    events = reg.patient_record("DEMO-003").to_dict()["events"]
    assert [e["date"] for e in events if e["kind"] == "death"] == ["2026-11-20"]


def test_encounter_form_starts_on_the_due_item(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    html = c.get("/patients/DEMO-001").text
    select = html[html.index('<select id="enc-item"'):]
    select = select[:select.index("</select>")]
    selected = re.findall(r'<option value="([^"]*)"[^>]*selected', select)
    rec = sqlite_app.state.registry.patient_record("DEMO-001").to_dict()
    overdue = sorted((e for e in rec["encounters"] if e["status"] == "planned" and e["window_end"] < "2026-11-29"),
                     key=lambda e: e["due"])
    assert overdue, "the demo patient has an overdue item"
    assert selected == [f"{overdue[0]['tumour']}|{overdue[0]['plan_item']}"]


def test_encounter_modality_cannot_contradict_the_planned_item(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    rec = sqlite_app.state.registry.patient_record("DEMO-001").to_dict()
    item = next(e for e in rec["encounters"] if e["status"] == "planned" and e.get("modality"))
    body = {"date": "2026-11-28", "status": "done", "tumour": item["tumour"], "plan_item": item["plan_item"]}
    r = c.post("/api/v1/patients/DEMO-001/encounters", json=dict(body, modality="ultrasound of the liver"))
    assert r.status_code == 422 and r.json()["field"] == "modality"
    r = c.post("/api/v1/patients/DEMO-001/encounters", json=dict(body, modality=item["modality"]))
    assert r.status_code == 201, r.text


def test_findings_form_in_clinical_language(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    html = c.get("/assess").text
    for words in ("Factor XIIIa", "AE1/AE3", "Size (mm)", "Excision date", "h-Caldesmon"):
        assert f">{words}</label>" in html, words
    for internal in (">fxiiia<", ">ae1 ae3<", ">size mm<", ">excision date<"):
        assert internal not in html
    assert 'type="date"' not in html and 'placeholder="YYYY-MM-DD"' in html  # ISO dates, as everywhere else
    for sec in FINDINGS_SECTIONS:  # open sections are fieldsets, folded ones <details> (one Tab stop less each)
        assert (f"<legend>{sec.title}</legend>" if sec.open else f"<summary>{sec.title}</summary>") in html
    panels = [s.title for s in FINDINGS_SECTIONS if s.panel]
    assert panels[:3] == ["Smooth muscle", "Melanocytic", "Epithelial (keratins, p40)"]
    assert html.count('class="help"') >= 5  # help texts under the fields


def test_findings_form_places_every_field_once():
    from leiosurv.interfaces.web._forms import _ALL

    placed = [f.name for s in FINDINGS_SECTIONS for f in s.fields]
    assert sorted(placed) == sorted(f.name for f in _ALL) and len(placed) == len(set(placed))


# --- the work list and the patient list ----------------------------------------------------------------

def test_dashboard_is_a_work_list_with_names_and_one_meaning_per_day_column(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    html = c.get("/dashboard").text
    name, born = sqlite_app.state.registry.identities(["DEMO-001"])["DEMO-001"]
    assert name and f"<strong>{name}</strong> · DEMO-001" in html and f"born {born}" in html
    overdue = html[html.index('id="overdue"'):html.index('id="gaps"')]
    due = html[html.index('id="due"'):html.index('id="missed"')]
    gaps = html[html.index('id="gaps"'):html.index('id="due"')]
    assert "Days overdue</button>" in overdue and "Due in" not in overdue
    assert "Due in (days)</button>" in due and "Days overdue" not in due
    assert "Days without imaging</button>" in gaps
    assert 'class="sortable' in overdue and 'data-sort="num"' in overdue
    assert overdue.count('value="done"') >= 1 and overdue.count('value="missed"') >= 1  # actions per row


def test_dashboard_filters_by_patient_and_section(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    only = c.get("/dashboard", params={"who": "DEMO-002"}).text
    assert "DEMO-002" in only and "/patients/DEMO-001" not in only
    section = c.get("/dashboard", params={"show": "due"}).text
    assert 'id="due"' in section and 'id="overdue"' not in section and 'id="gaps"' not in section
    assert c.get("/dashboard", params={"show": "bogus"}).status_code == 422


def test_dashboard_row_records_the_item_done_and_comes_back(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    reg = sqlite_app.state.registry
    html = c.get("/dashboard", params={"who": "DEMO-001"}).text
    item = next(e for e in reg.patient_record("DEMO-001").to_dict()["encounters"]
                if e["status"] == "planned" and e["window_end"] < "2026-11-29")
    back = "/dashboard?who=DEMO-001"
    r = c.post("/dashboard/record", data={"csrf_token": csrf_of(html), "back": back, "patient": "DEMO-001",
                                          "tumour": item["tumour"], "plan_item": item["plan_item"],
                                          "date": "2026-11-28", "status": "done"})
    assert r.status_code == 303 and r.headers["location"].startswith(back + "&done=")
    rec = reg.patient_record("DEMO-001").to_dict()
    row = next(e for e in rec["encounters"] if e["id"] == item["id"])
    assert row["status"] == "done" and row["done_on"] == "2026-11-28"
    assert "Recorded: DEMO-001" in c.get(r.headers["location"]).text
    # a bad date comes back as one line, nothing recorded
    r = c.post("/dashboard/record", data={"csrf_token": csrf_of(html), "back": "https://evil.example/",
                                          "patient": "DEMO-001", "tumour": "T1", "plan_item": "visit-m999",
                                          "date": "2026-11-28", "status": "done"})
    assert r.status_code == 303 and r.headers["location"].startswith("/dashboard?error=")


def test_patient_list_natural_order_pages_counts_and_register_form_first(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    reg = sqlite_app.state.registry
    total, rows = reg.find_patients("SYN-1-", limit=100, identified=True)
    names = [r.pseudonym for r in rows]
    assert names.index("SYN-1-2") < names.index("SYN-1-10") < names.index("SYN-1-40")
    assert names[:3] == ["SYN-1-1", "SYN-1-2", "SYN-1-3"]
    html = c.get("/patients").text
    assert html.index('id="new"') < html.index("<table")  # the register form at the top
    everyone = reg.find_patients("")[0]
    assert f"{everyone} registered" in html and f"showing 1–{everyone}." in html
    assert 'class="pager"' not in html and "(page 1 of 1)" not in html  # one page: no page numbers


def test_patient_list_pages_are_numbered(tmp_path):
    from webutil import make_app

    app = make_app(str(tmp_path / "many.sqlite"), n_synthetic=160)
    try:
        c = client_for(app, "clinician")
        html = c.get("/patients", params={"offset": 50}).text
        assert "(page 2 of 4)" in html and 'aria-current="page">2<' in html
        for n, off in ((1, 0), (3, 100), (4, 150)):
            assert f'href="/patients?q=&offset={off}">{n}</a>' in html
        first = c.get("/patients", params={"q": "SYN-1-", "offset": 0}).text
        assert first.index(">SYN-1-9<") < first.index(">SYN-1-10<")
    finally:
        app.state.registry.close()


def test_patient_search_by_birth_date(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    name, born = sqlite_app.state.registry.identities(["DEMO-001"])["DEMO-001"]
    for q in (born.isoformat(), born.isoformat()[:7]):
        html = c.get("/patients", params={"q": q}).text
        assert ">DEMO-001<" in html, q
    assert c.get("/api/v1/patients", params={"q": born.isoformat()}).json()["total"] >= 1


# --- the study page ------------------------------------------------------------------------------------

def test_study_runs_are_kept_listed_rounded_and_survive_a_restart(tmp_path):
    from webutil import make_app

    from leiosurv.interfaces.web import Settings, create_app
    from leiosurv.registry import Registry

    db = str(tmp_path / "study.sqlite")
    app = make_app(db)
    c = client_for(app, "researcher")
    html = c.get("/study").text
    assert "has not been run" in html
    r = c.post("/study/run", data={"csrf_token": csrf_of(html), "horizon": "3y"})
    assert r.status_code == 303 and r.headers["location"] == "/study?run=1"
    app.state.registry.close()

    reg = Registry(db)  # a restart: a new app on the same registry
    app2 = create_app(Settings(db=db, secret_key="test-secret-" + "y" * 32), registry=reg)
    try:
        c2 = client_for(app2, "researcher")
        page = c2.get("/study").text
        text = re.sub(r"<[^>]+>", " ", page)
        assert "Run 1" in page and "3y (1095" in text and evidence.RULESET.version in text
        assert re.findall(r"\d+\.\d{4,}", text) == []  # rounded: no 68.47545219638243
        assert "True" not in text and "False" not in text  # no "synthetic True" on every row
        assert page.count("SYNTHETIC DATA") == 1
        assert "Difference, points (CI)" in page and "Risk, % (95% CI)" in page
        flagged = 0  # the flag of a difference follows it into its Gray's test cell
        for table in ("t-factors", "t-groups"):
            body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
            for row in re.findall(r"<tr><td>.*?</tr>", body):
                cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
                rd, gray = (cells[6], cells[7]) if table == "t-groups" else (cells[5], cells[6])
                flagged += "†" in rd
                assert ("†" in rd) == ("†" in gray), (table, cells)
        assert flagged > 0
        figures = re.findall(r'<a href="(/study/runs/1/files/[a-z_]+\.svg)" target="_blank"', page)
        assert "/study/runs/1/files/forest_plot.svg" in figures  # figures open full size
        assert c2.get(figures[0]).headers["content-type"].startswith("image/svg")
        assert c2.get("/study/runs/1/files/report.html?view=true").headers.get("content-disposition") is None
        assert c2.get("/study/runs/1/files/nope.csv").status_code == 404
        assert c2.get("/study", params={"run": 99}).status_code == 404
        run = reg.study_run(1)
        assert run.horizon == "3y" and run.parameters["horizon_days"] == 1095.75 and run.username == "demo-researcher"
    finally:
        reg.close()


def test_the_rules_findings_are_in_open_sections():
    """Folded sections hold only what is rarely reported: never a factor of the dermal-LMS rule or the depth."""
    shown = {f.name for s in FINDINGS_SECTIONS if s.open for f in s.fields}
    for name in ("excision_date", "depth", "margins", "necrosis", "mitoses.count", "perineural_invasion",
                 "intravascular_invasion", "atypia", "solar_elastosis", "immunohistochemistry.sma",
                 "immunohistochemistry.desmin", "immunohistochemistry.h_caldesmon", "immunohistochemistry.s100",
                 "immunohistochemistry.sox10"):
        assert name in shown, name


def test_calendar_events_are_titled_with_words_not_a_hash(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    ics = c.get("/api/v1/patients/DEMO-001/tumours/T1/plan.ics").text.replace("\r\n ", "")
    titles = re.findall(r"^SUMMARY:(.*)$", ics, flags=re.M)
    assert titles and all(t.startswith("[DEMO-001 T1] ") for t in titles), titles[:3]
    assert not [t for t in titles if re.search(r"case-[0-9a-f]{8}", t)]
    assert any("Clinical visit: clinical examination" in t.replace("\\", "") for t in titles)


def test_deactivating_a_user_is_confirmed_first(sqlite_app):
    c = client_for(sqlite_app, "admin")
    reg = sqlite_app.state.registry
    html = c.get("/admin/users").text
    data = {"csrf_token": csrf_of(html), "active": "false"}
    r = c.post("/admin/users/demo-researcher/active", data=data)
    assert r.status_code == 200 and 'id="confirm-deactivate"' in r.text and "Deactivate demo-researcher" in r.text
    assert reg.get_user("demo-researcher").active  # nothing changed yet
    r = c.post("/admin/users/demo-researcher/active", data=dict(data, confirm="yes"))
    assert r.status_code == 303 and not reg.get_user("demo-researcher").active
    assert c.post("/admin/users/nobody/active", data=data).status_code == 404


def test_natural_order_is_the_same_on_both_databases(app):
    """The page order of the patient list: digit runs compare as numbers, on SQLite and PostgreSQL alike."""
    from leiosurv.registry._db import natural_text

    reg = app.state.registry
    names = ["NAT-2", "NAT-10", "NAT-1", "nat-3", "NAT-007", "NAT-1-10", "NAT-1-9", "NAT-123456789012", "NAT-A",
             "NAT-99999999999"]
    for n in names:
        reg.add_patient(n)
    total, rows = reg.find_patients("nat-", limit=100)
    got = [r.pseudonym for r in rows]
    expected = sorted(names, key=lambda s: (natural_text(s.lower()), s))
    assert got == expected and total == len(names)
    assert got[:5] == ["NAT-1", "NAT-1-9", "NAT-1-10", "NAT-2", "nat-3"]
    assert got.index("NAT-007") == 5 and got.index("NAT-10") == 6
    # runs longer than NATURAL_DIGITS (10) keep their text order (documented in registry._db.natural_text)
    assert got.index("NAT-123456789012") < got.index("NAT-99999999999")


def test_an_encounter_posted_for_the_deceased_is_refused_and_says_why(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    html = c.get("/patients/SEED-000").text
    r = c.post("/patients/SEED-000/encounters", data={"csrf_token": csrf_of(html), "item": "", "status": "done",
                                                      "date": "2026-11-01", "modality_class": "clinical"})
    assert r.status_code == 422 and "recorded as deceased" in r.text and 'role="alert"' in r.text


def test_a_tumour_posted_for_the_deceased_is_refused_and_says_why(sqlite_app):
    c = client_for(sqlite_app, "clinician")
    html = c.get("/patients/DEMO-001/tumours/new").text
    r = c.post("/patients/SEED-000/tumours/new", data={"csrf_token": csrf_of(html), "action": "save", "label": "T2",
                                                       "excision_date": "2020-01-01", "depth": "dermal"})
    assert r.status_code == 422 and "recorded as deceased" in r.text
    tumours = sqlite_app.state.registry.patient_record("SEED-000").to_dict()["tumours"]
    assert [t["label"] for t in tumours] == ["forearm-1997"]


def test_live_result_always_shows_the_confirmed_category_its_gates_and_codes(sqlite_app):
    """Issue 21, finding A: a confirmed AISMN the stains contradict (SMA, desmin, h-caldesmon negative;
    S100/SOX10 positive) ranks low; the form's live result still lists it, marked confirmed, with the warning,
    the gate of the melanocytic stains, and every code system named ("no code known" where none)."""
    c = client_for(sqlite_app, "clinician")
    tok = csrf_of(c.get("/assess").text)
    stains = {"sma": "negative", "desmin": "negative", "h_caldesmon": "negative", "s100": "positive",
              "sox10": "positive"}
    r = c.post("/assess", data={"csrf_token": tok, "excision_date": "2026-10-01", "depth": "dermal",
                                "confirmed_diagnosis": "aismn",
                                **{f"immunohistochemistry.{k}": v for k, v in stains.items()}})
    assert r.status_code == 200, r.text[:300]
    assert 'id="confirmed-candidate"' in r.text
    confirmed = r.text[:r.text.index('id="confirmed-candidate"')]
    assert "Atypical intradermal smooth muscle neoplasm" in confirmed[confirmed.rindex("<li"):] or \
        "AISMN" in confirmed[confirmed.rindex("<li"):]
    assert "warn.confirmed.contradicted" in r.text or "contradict" in r.text
    assert "ICD-10" in r.text and "no code known" in r.text
    assert 'class="against gated"' in r.text
