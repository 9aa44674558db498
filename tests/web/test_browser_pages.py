"""The pages in a real browser at a desktop (1366 px) and a phone (390 px) width, and by keyboard.

Playwright drives Debian's Chromium (never a downloaded browser), as in
``test_browser.py`` whose fixtures this module shares.  With
``LEIOSURV_SCREENSHOTS=docs/screenshots`` the screenshots of every page at both
widths are written there (``<page>-1366.png``, ``<page>-390.png``).
"""

from __future__ import annotations

import datetime as dt

import pytest
from test_browser import _images_loaded, browser, server, shots  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
WIDTHS = (1366, 390)


@pytest.fixture(scope="module")
def study_ran(server, browser):  # noqa: F811
    """Run the study once (through the page) so that the study page has a run to show."""
    from playwright.sync_api import expect

    base, _ = server
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, base, "demo-researcher")
    page.goto(f"{base}/study")
    page.click("text=Run the study")
    expect(page.locator("#study-status")).to_contain_text("tumours", timeout=120_000)
    ctx.close()


def _login(page, base: str, user: str = "demo-clinician") -> None:
    """Sign in with the keyboard and wait until the app has moved on from the sign-in page."""
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", "demo-password")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    page.wait_for_load_state("networkidle")


def _pages(app) -> list[tuple[str, str]]:
    reg = app.state.registry
    dead = next(p.pseudonym for p in reg.find_patients("", limit=500)[1] if p.deceased)
    return [("dashboard", "/dashboard"), ("patients", "/patients"), ("patient", "/patients/DEMO-001"),
            ("patient-deceased", f"/patients/{dead}"), ("assessment-saved", "/patients/DEMO-001/tumours/T1/assessment"),
            ("new-tumour", "/patients/DEMO-002/tumours/new"), ("assess", "/assess"), ("study", "/study")]


def _fits(page, width: int) -> None:
    """No sideways scroll; every link and button of the header inside the viewport."""
    sw = page.evaluate("() => document.documentElement.scrollWidth")
    wide = page.evaluate("""w => [...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > w + 1)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)""", width)
    assert sw <= width, f"{page.url}: {sw} px wide at a {width} px viewport: {wide}"
    for el in page.locator("header.top a, header.top button").all():
        box = el.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (page.url, el.inner_text())


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_width_and_is_shot(server, browser, shots, study_ran, width):  # noqa: F811
    base, app = server
    ctx = browser.new_context(viewport={"width": width, "height": 900 if width > 600 else 844})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, base)
    for name, path in _pages(app):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        _images_loaded(page)
        _fits(page, width)
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=name not in ("assess", "new-tumour"))
    assert not errors, errors
    ctx.close()


def test_live_result_is_near_the_form_on_a_phone(server, browser):  # noqa: F811
    from playwright.sync_api import expect

    base, _ = server
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    _login(page, base)
    page.goto(f"{base}/assess")
    page.fill("#f-excision_date", (dt.date.today() - dt.timedelta(days=20)).isoformat())
    page.select_option("#f-depth", "dermal")
    page.select_option("#f-atypia", "moderate")
    page.fill("#f-mitoses-count", "20")
    live = page.locator("#live-group")
    expect(live).to_contain_text("Risk group: HIGH", timeout=10_000)
    box = live.bounding_box()  # in the sticky bar of the form, on screen while the fields are
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= 844
    ctx.close()


def test_enter_in_the_tumour_form_never_registers(server, browser):  # noqa: F811
    from playwright.sync_api import expect

    base, app = server
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    _login(page, base)
    page.goto(f"{base}/patients/DEMO-002/tumours/new")
    page.fill("#f-label", "T-enter")
    page.fill("#f-excision_date", (dt.date.today() - dt.timedelta(days=20)).isoformat())
    page.select_option("#f-depth", "dermal")
    page.focus("#f-site")
    page.keyboard.type("left arm")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#risk-group")).to_be_visible()
    labels = [t["label"] for t in app.state.registry.patient_record("DEMO-002").to_dict()["tumours"]]
    assert "T-enter" not in labels
    page.click("#register")  # the button, on purpose, does register
    expect(page.locator("p.ok")).to_contain_text("Tumour registered")
    assert "T-enter" in [t["label"] for t in app.state.registry.patient_record("DEMO-002").to_dict()["tumours"]]
    ctx.close()


def test_few_tab_stops_to_submit_the_findings(server, browser):  # noqa: F811
    base, _ = server
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    _login(page, base)
    page.goto(f"{base}/patients/DEMO-002/tumours/new")
    page.focus("#f-label")
    n = 0
    while n < 200 and page.evaluate("() => document.activeElement.id") != "register":
        page.keyboard.press("Tab")
        n += 1
    assert n <= 45, f"{n} Tab stops from the label to Register"
    ctx.close()


def test_work_list_sorts_by_a_column_and_records_from_the_row(server, browser):  # noqa: F811
    from playwright.sync_api import expect

    base, _ = server
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    _login(page, base)
    page.goto(f"{base}/dashboard")
    head = page.locator("#overdue th[data-sort='num'] button")
    if page.locator("#overdue tbody tr").count() < 2:
        pytest.skip("fewer than two overdue rows in this demo registry")
    head.click()
    days = [int(x) for x in page.locator("#overdue tbody td.num").all_inner_texts()]
    assert days == sorted(days)
    head.click()
    days = [int(x) for x in page.locator("#overdue tbody td.num").all_inner_texts()]
    assert days == sorted(days, reverse=True)
    first = page.locator("#overdue tbody tr").first
    who = first.locator("td").first.inner_text()
    first.locator("button[value=missed]").click()
    expect(page.locator("p.ok")).to_contain_text("recorded missed")
    expect(page.locator("#missed")).to_contain_text(who.split("·")[-1].split("\n")[0].strip())
    ctx.close()


def test_saved_assessment_prints_without_the_app_around_it(server, browser, shots):  # noqa: F811
    base, _ = server
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    _login(page, base)
    page.goto(f"{base}/patients/DEMO-001/tumours/T1/assessment")
    page.emulate_media(media="print")
    for hidden in ("header.top", "footer", "button[data-print]", "p.crumbs"):
        assert not page.locator(hidden).is_visible(), hidden
    for shown in ("#risk-group", ".candidates", "#plan", "#assessment-meta"):
        assert page.locator(shown).first.is_visible(), shown
    pdf = page.pdf(format="A4", print_background=True)
    (shots / "assessment-saved-print.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    ctx.close()
