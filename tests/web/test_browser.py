"""End to end in a real browser: Playwright driving the system's Chromium against a running server.

Never downloads a browser: Chromium comes from Debian's packages (``scripts/test``
installs it).  Without it the tests are skipped outside CI and fail in CI.
Screenshots go to ``$LEIOSURV_SCREENSHOTS`` (``docs/screenshots`` for the
README) or the test's temporary directory.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _need_chromium() -> None:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        if os.environ.get("CI"):
            pytest.fail("CI: the browser tests need Debian's chromium at /usr/bin/chromium")
        pytest.skip("no /usr/bin/chromium: browser tests skipped outside CI (scripts/test installs it as root)")
    pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The web app with a fresh demo registry, served by uvicorn on a free loopback port."""
    _need_chromium()
    import uvicorn

    from leiosurv.interfaces.web import Settings, create_app, load_demo
    from leiosurv.registry import Registry

    db = str(tmp_path_factory.mktemp("browser") / "web.sqlite")
    reg = Registry(db, create=True)
    load_demo(reg, n_synthetic=60)
    app = create_app(Settings(db=db, secret_key="browser-test-" + "k" * 32), registry=reg)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}", app
    srv.should_exit = True
    th.join(10)
    reg.close()


@pytest.fixture(scope="module")
def browser():
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    d = Path(os.environ.get("LEIOSURV_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _login(page, base: str, user: str = "demo-clinician") -> None:
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", "demo-password")
    page.keyboard.press("Enter")  # usable with the keyboard
    page.wait_for_url(lambda url: "/login" not in url)  # the sign-in's redirect, however long it takes
    page.wait_for_load_state("networkidle")


def _images_loaded(page) -> None:
    """Wait until every image of the page has loaded (and fail if one cannot be shown)."""
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    broken = page.evaluate("() => [...document.images].filter(i => i.naturalWidth === 0).map(i => i.alt)")
    assert not broken, f"images not shown: {broken}"


def _fill_high(page, excised: dt.date) -> None:
    page.fill("#f-excision_date", excised.isoformat())
    page.fill("#f-site", "left thigh")
    page.select_option("#f-depth", "dermal")
    page.select_option("#f-atypia", "moderate")
    page.fill("#f-mitoses-count", "20")
    page.select_option("#f-necrosis", "absent")
    page.select_option("#f-margins", "negative")
    for stain, value in (("sma", "positive"), ("desmin", "positive"), ("h_caldesmon", "positive"),
                         ("s100", "negative"), ("sox10", "negative")):
        page.select_option(f"#f-immunohistochemistry-{stain}", value)


def test_clinic_day_in_the_browser(server, browser, shots):
    from playwright.sync_api import expect

    from leiosurv.clinical import assess, parse_findings

    base, app = server
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, base)
    expect(page.locator("h1")).to_contain_text("Work list")

    # a high-risk dermal LMS: the result appears as the findings are entered (no button pressed)
    excised = dt.date.today() - dt.timedelta(days=30)
    page.goto(f"{base}/assess")
    _fill_high(page, excised)
    expect(page.locator("#risk-group .group")).to_have_text("HIGH", timeout=10_000)
    expect(page.locator("#risk-group")).to_contain_text("Mitotic grade 3")
    expected = assess(parse_findings({"excision_date": excised.isoformat(), "depth": "dermal", "atypia": "moderate",
                                      "mitoses": {"count": 20}, "necrosis": "absent", "margins": "negative",
                                      "immunohistochemistry": {"sma": "positive", "desmin": "positive",
                                                               "h_caldesmon": "positive", "s100": "negative",
                                                               "sox10": "negative"}}))
    ct = [e.due.isoformat() for e in expected.plan.encounters if "CT" in e.modality]
    assert len(ct) >= 3
    plan = page.locator("#plan")
    for d in ct:
        expect(plan).to_contain_text(d)
    expect(page.locator("#applicability")).to_contain_text("Yes")
    page.locator("#result").scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "assessment.png"))

    # a desmoplastic melanoma: the dermal-LMS rule does not apply
    page.goto(f"{base}/assess")
    page.fill("#f-excision_date", excised.isoformat())
    page.select_option("#f-depth", "dermal")
    page.select_option("#f-atypia", "moderate")
    page.select_option("#f-solar_elastosis", "present")
    for stain, value in (("s100", "positive"), ("sox10", "positive"), ("sma", "negative"), ("desmin", "negative"),
                         ("h_caldesmon", "negative")):
        page.select_option(f"#f-immunohistochemistry-{stain}", value)
    expect(page.locator("#applicability")).to_contain_text("the dermal-LMS rule does not apply", timeout=10_000)
    expect(page.locator(".candidates li").first).to_contain_text("melanoma")
    expect(page.locator("#risk-group .group")).to_have_text("NOT APPLICABLE")

    # the dashboard
    page.goto(f"{base}/dashboard")
    expect(page.locator("#overdue")).to_contain_text("DEMO-001")
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

    # a patient's course, and its downloads
    page.click("text=DEMO-001 >> nth=0")
    expect(page.locator("h1")).to_contain_text("Patient DEMO-001")
    expect(page.locator("img[alt^='Timeline']")).to_be_visible()
    _images_loaded(page)
    page.screenshot(path=str(shots / "patient.png"), full_page=True)
    with page.expect_download() as dl:
        page.click("text=calendar (.ics)")
    ics = Path(dl.value.path()).read_text()
    assert ics.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" in ics
    with page.expect_download() as dl:
        page.click("text=letter for the patient (PDF)")
    assert Path(dl.value.path()).read_bytes().startswith(b"%PDF")
    assert dl.value.suggested_filename.endswith("letter-patient.pdf")

    # record a missed visit: it shows on the dashboard
    page.select_option("#enc-item", "T1|visit-m006")
    page.select_option("#enc-status", "missed")
    page.click("text=Record encounter")
    expect(page.locator("p.ok")).to_contain_text("Encounter recorded")
    page.goto(f"{base}/dashboard")
    missed = page.locator("#missed")
    expect(missed).to_contain_text("DEMO-001")
    expect(missed).to_contain_text("visit-m006")

    # the study page
    page.goto(f"{base}/study")
    page.click("text=Run the study")
    expect(page.locator("#run")).to_contain_text("SYNTHETIC DATA", timeout=120_000)
    expect(page.locator("img[alt='forest plot']")).to_be_visible()
    _images_loaded(page)
    page.screenshot(path=str(shots / "study.png"), full_page=False)
    assert not errors, errors  # no script error, no CSP violation, nothing failed to load

    # the audit trail holds this browser session's reads
    ev = app.state.registry.audit_events(limit=1000)
    mine = {(e.action, e.resource, e.patient) for e in ev if e.username == "demo-clinician" and e.outcome == "ok"}
    assert ("read", "dashboard", None) in mine
    assert ("read", "patient record", "DEMO-001") in mine
    assert ("read", "patient timeline figure", "DEMO-001") in mine
    assert ("export", "plan iCalendar", "DEMO-001") in mine and ("export", "patient letter", "DEMO-001") in mine
    assert ("write", "encounter", "DEMO-001") in mine
    assert all(e.remote_addr == "127.0.0.1" for e in ev if e.username == "demo-clinician")
    ctx.close()


def test_forms_work_without_javascript(server, browser):
    from playwright.sync_api import expect

    base, _ = server
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    _login(page, base)
    page.goto(f"{base}/assess")
    _fill_high(page, dt.date.today() - dt.timedelta(days=10))
    page.click("button[value=assess]")
    expect(page.locator("#risk-group .group")).to_have_text("HIGH")
    page.fill("#f-mitoses-count", "-4")
    page.click("button[value=assess]")
    expect(page.locator("#f-mitoses-count-err")).to_contain_text("greater than or equal to 0")
    ctx.close()


def test_researcher_sees_the_study_not_the_patients(server, browser):
    from playwright.sync_api import expect

    base, _ = server
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, base, "demo-researcher")
    expect(page.locator("h1")).to_contain_text("Cohort study")
    page.goto(f"{base}/patients/DEMO-001")
    expect(page.locator("h1")).to_have_text("Not allowed")
    assert "Demo Patient" not in page.content()
    ctx.close()
