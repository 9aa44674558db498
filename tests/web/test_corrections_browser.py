"""Corrections in a real browser: undo a death and correct an encounter through their confirmation steps.

Playwright driving Debian's Chromium against the app served by uvicorn (the
fixtures of ``test_browser``).  Screenshots of the confirmation and history
pages at 1366 and 390 px go to ``$LEIOSURV_SCREENSHOTS`` (``docs/screenshots``).
"""

from __future__ import annotations

import datetime as dt

import pytest
from test_browser import browser, server, shots  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
P = "P-BR01"


def _findings(excised: dt.date) -> dict:
    return {"excision_date": excised.isoformat(), "site": "left thigh", "depth": "dermal", "atypia": "moderate",
            "mitoses": {"count": 20}, "necrosis": "absent", "margins": "negative",
            "immunohistochemistry": {"sma": "positive", "desmin": "positive", "h_caldesmon": "positive",
                                     "s100": "negative", "sox10": "negative"}}


def _shoot(page, shots, name: str) -> None:  # noqa: F811
    """The page at 1366 px and at 390 px (full length), and nothing wider than the screen at 390 px."""
    page.set_viewport_size({"width": 1366, "height": 900})
    page.screenshot(path=str(shots / f"{name}-1366.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shots / f"{name}-390.png"), full_page=True)
    wide = page.evaluate("() => document.querySelector('main').scrollWidth")
    assert wide <= 390, f"{name}: the page's content is {wide} px wide at 390 px"
    page.set_viewport_size({"width": 1366, "height": 900})


def test_undo_a_death_and_correct_an_encounter(server, browser, shots):  # noqa: F811
    from playwright.sync_api import expect

    base, app = server
    reg = app.state.registry
    today = dt.date.today()
    reg.add_patient(P, sex="female", name="Eva Lind", birth_date="1950-02-03")
    reg.add_tumour(P, "T1", _findings(today - dt.timedelta(days=30)), as_of=today)
    planned = {e["id"] for e in reg.patient_record(P).to_dict()["encounters"] if e["status"] == "planned"}
    assert len(planned) >= 3
    enc = reg.record_encounter(P, date=today - dt.timedelta(days=5), tumour="T1", modality="clinical examination",
                               as_of=today)
    reg.record_event(P, "death", today - dt.timedelta(days=2), as_of=today)
    death = next(e["id"] for e in reg.patient_record(P).to_dict()["events"] if e["kind"] == "death")

    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/login")
    page.fill("#username", "demo-clinician")
    page.fill("#password", "demo-password")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")

    # undo the death: the confirmation says what will change; nothing changes until it is confirmed
    page.goto(f"{base}/patients/{P}")
    page.click("text=Undo death")
    expect(page.locator("h1")).to_contain_text("Undo the death recorded on")
    expect(page.locator(".consequences")).to_contain_text(f"Re-opens {len(planned)} planned visits")
    expect(page.locator(".consequences")).to_contain_text("no longer recorded as deceased")
    assert any(e["kind"] == "death" for e in reg.patient_record(P).to_dict()["events"])
    _shoot(page, shots, "undo-death")
    page.click("button:has-text('Undo this death')")  # without a reason: refused, nothing changed
    expect(page.locator(".err")).to_contain_text("reason")
    assert errors == ["Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"]
    errors.clear()
    assert any(e["kind"] == "death" for e in reg.patient_record(P).to_dict()["events"])
    page.fill("#reason", "death recorded for the wrong patient")
    page.click("button:has-text('Undo this death')")
    expect(page.locator("p.ok")).to_contain_text("entered in error")
    rec = reg.patient_record(P).to_dict()
    assert not any(e["kind"] == "death" for e in rec["events"])
    assert {e["id"] for e in rec["encounters"] if e["status"] == "planned"} == planned

    # correct the encounter's date through the form and its confirmation
    page.goto(f"{base}/patients/{P}")
    page.click(f"[aria-label='Correct encounter {enc}']")
    expect(page.locator("h1")).to_contain_text(f"Correct the encounter {enc}")
    new_date = (today - dt.timedelta(days=6)).isoformat()
    page.fill("#f-date", new_date)
    page.fill("#reason", "date misread from the clinic letter")
    page.click("text=Review the correction")
    expect(page.locator("#confirm-h")).to_have_text("Check before applying")
    expect(page.locator("table")).to_contain_text(new_date)
    assert next(e for e in reg.patient_record(P).to_dict()["encounters"] if e["id"] == enc)["done_on"] != new_date
    _shoot(page, shots, "correction-confirm")
    page.click("text=Apply the correction")
    expect(page.locator("p.ok")).to_contain_text("Correction applied")
    assert next(e for e in reg.patient_record(P).to_dict()["encounters"] if e["id"] == enc)["done_on"] == new_date
    hist = page.locator("ol.history")
    expect(hist).to_contain_text("date misread from the clinic letter")
    expect(hist).to_contain_text("death recorded for the wrong patient")
    expect(hist).to_contain_text("demo-clinician")
    expect(hist).to_contain_text(f"event {death}: entered in error")
    expect(hist).to_contain_text(f"encounter {enc}: corrected")
    _shoot(page, shots, "history")
    assert not errors, errors


def test_void_a_tumour_and_its_history(server, browser, shots):  # noqa: F811
    """A tumour entered in error: the confirmation lists what leaves the record, and the history then shows
    every row it took (the tumour, its assessment, its plan items), newest first."""
    from playwright.sync_api import expect

    base, app = server
    reg = app.state.registry
    today = dt.date.today()
    p = "P-BR02"
    reg.add_patient(p, sex="male", name="Olle Berg", birth_date="1948-06-07")
    reg.add_tumour(p, "T1", _findings(today - dt.timedelta(days=40)), as_of=today)
    rec = reg.patient_record(p)
    t = rec.tumours[0]
    n_items = len(rec.encounters)
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/login")
    page.fill("#username", "demo-clinician")
    page.fill("#password", "demo-password")
    page.keyboard.press("Enter")
    expect(page.locator("button:has-text('Sign out')")).to_be_visible()  # signed in before going on
    page.goto(f"{base}/patients/{p}/void?table=tumour&record={t.id}")
    expect(page.locator(".consequences")).to_contain_text("Removes tumour T1 from the record (kept in the history)")
    expect(page.locator(".consequences")).to_contain_text(f"Removes {n_items} encounters from the record")
    expect(page.locator(".consequences")).to_contain_text("Removes its 1 assessment from the record (kept in the "
                                                          "history with their results): 1, registration on")
    _shoot(page, shots, "void-tumour")
    page.fill("#reason", "specimen of another patient")
    page.locator("form button[type=submit]").last.click()
    expect(page.locator("p.ok")).to_contain_text("entered in error")
    hist = page.locator("ol.history")
    expect(hist).to_contain_text(f"tumour {t.id}: entered in error")
    expect(hist).to_contain_text(f"assessment {t.assessments[0].id}: entered in error")
    expect(hist).to_contain_text("its full result is kept in the history")
    assert hist.locator("li").count() == 1 + len(t.assessments) + n_items
    assert hist.locator("li", has_text="its findings are kept in the history").count() == 1  # the tumour's only
    _shoot(page, shots, "history-voided-tumour")
    assert reg.patient_record(p).tumours == ()
    assert not errors, errors


def test_observation_corrected_and_entered_in_error(server, browser, shots):  # noqa: F811
    """A lesion under observation has Correct and Entered in error links on the patient page; both go through
    their confirmation pages, and voiding it says that its encounters go with it."""
    from playwright.sync_api import expect

    base, app = server
    reg = app.state.registry
    today = dt.date.today()
    p = "P-BR03"
    reg.add_patient(p, sex="male", name="Olof Berg", birth_date="1948-06-07")
    oid = reg.add_observation(p, "lung-nodule", "6 mm nodule, right lower lobe", today - dt.timedelta(days=200), 180,
                              site="lung", as_of=today)
    enc = reg.record_encounter(p, date=today - dt.timedelta(days=20), modality_class="imaging", kind="CT chest",
                               observation="lung-nodule", modality="CT", findings="unchanged", as_of=today)

    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/login")
    page.fill("#username", "demo-clinician")
    page.fill("#password", "demo-password")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")

    page.goto(f"{base}/patients/{p}")
    row = page.locator(f"#observation-{oid}")
    expect(row).to_contain_text("lung-nodule")
    expect(row).to_contain_text("6 mm nodule, right lower lobe")
    expect(row).to_contain_text("180 days")
    expect(row).to_contain_text("active")
    page.locator("#observations").scroll_into_view_if_needed()
    _shoot(page, shots, "patient-observation")

    # correct the interval: the form, then the confirmation; nothing changes before "Apply"
    page.click(f"[aria-label='Correct observation {oid}']")
    expect(page.locator("h1")).to_contain_text(f"Correct the observation {oid}")
    page.fill("#f-max_interval_days", "90")
    page.fill("#reason", "the team asked for three-monthly imaging")
    page.click("text=Review the correction")
    expect(page.locator("#confirm-h")).to_have_text("Check before applying")
    expect(page.locator(".consequences")).to_contain_text("max interval days 180 becomes 90")
    assert reg.patient_record(p).to_dict()["observations"][0]["max_interval_days"] == 180
    _shoot(page, shots, "observation-correct")
    page.click("text=Apply the correction")
    expect(page.locator("p.ok")).to_contain_text("Correction applied")
    assert reg.patient_record(p).to_dict()["observations"][0]["max_interval_days"] == 90

    # entered in error: the page says its encounter goes with it; a reason is required
    page.goto(f"{base}/patients/{p}")
    expect(page.locator(f"#observation-{oid}")).to_contain_text("90 days")
    page.click(f"[aria-label='Entered in error: observation {oid}']")
    expect(page.locator("h1")).to_contain_text(f"Mark the observation {oid} entered in error")
    cons = page.locator(".consequences")
    expect(cons).to_contain_text("Removes observation lung-nodule")
    expect(cons).to_contain_text(f"encounter {enc}")
    _shoot(page, shots, "observation-void")
    page.click("button:has-text('Mark entered in error')")  # no reason: refused, nothing changed
    expect(page.locator(".err")).to_contain_text("reason")
    assert errors == ["Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"]
    errors.clear()
    assert reg.patient_record(p).to_dict()["observations"]
    page.fill("#reason", "the nodule belongs to another patient")
    page.click("button:has-text('Mark entered in error')")
    expect(page.locator("p.ok")).to_contain_text("entered in error")
    rec = reg.patient_record(p).to_dict()
    assert rec["observations"] == [] and not any(e["id"] == enc for e in rec["encounters"])
    hist = page.locator("ol.history")
    expect(hist).to_contain_text(f"observation {oid}: entered in error")
    expect(hist).to_contain_text(f"observation {oid}: corrected")
    page.goto(f"{base}/patients/{p}")
    expect(page.locator("#observations")).to_have_count(0)
    assert not errors, errors
