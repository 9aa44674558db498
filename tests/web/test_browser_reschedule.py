"""Rescheduling from the work list in a real browser, at 1366 and 390 px, and by keyboard.

Playwright driving Debian's Chromium against the app served by uvicorn (the
fixtures of ``test_browser``).  The work list's screenshots (``dashboard-*.png``),
the open Reschedule form of a row and the confirmation go to
``$LEIOSURV_SCREENSHOTS`` (``docs/screenshots``).
"""

from __future__ import annotations

import datetime as dt

import pytest
from test_browser import _images_loaded, browser, server, shots  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
WIDTHS = (1366, 390)


def _login(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", "demo-clinician")
    page.fill("#password", "demo-password")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    page.wait_for_load_state("networkidle")


def _fits(page, width: int) -> None:
    sw = page.evaluate("() => document.documentElement.scrollWidth")
    assert sw <= width, f"{page.url}: {sw} px wide at a {width} px viewport"


def _reschedule_form(page, item: str):
    return page.locator(f"#overdue form[action='/dashboard/reschedule']:has(input[name=plan_item][value='{item}'])")


@pytest.mark.parametrize("width", WIDTHS)
def test_work_list_fits_and_is_shot(server, browser, shots, width):  # noqa: F811
    """The work list as the demo registry gives it (before the test below changes it), one Reschedule per row
    that has Done and Missed."""
    base, _ = server
    ctx = browser.new_context(viewport={"width": width, "height": 900 if width > 600 else 844})
    page = ctx.new_page()
    _login(page, base)
    page.goto(f"{base}/dashboard")
    page.wait_for_load_state("networkidle")
    _images_loaded(page)
    _fits(page, width)
    n = page.locator("button[value=missed]").count()
    assert n >= 1 and page.locator("details.row-act > summary").count() == n
    page.screenshot(path=str(shots / f"dashboard-{width}.png"), full_page=True)
    ctx.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_reschedule_an_overdue_item_from_its_row(server, browser, shots, width):  # noqa: F811
    from playwright.sync_api import expect

    base, app = server
    reg = app.state.registry
    today = dt.date.today()
    overdue = [a for a in reg.alerts(today) if a.kind == "overdue" and a.tumour]
    if not overdue:
        pytest.skip("nothing overdue in this demo registry")
    a = overdue[0]
    new = today + dt.timedelta(days=14)
    ctx = browser.new_context(viewport={"width": width, "height": 900 if width > 600 else 844})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, base)

    # the row of the item: open its Reschedule form (a <details>, no script needed), with the keyboard
    page.goto(f"{base}/dashboard?who={a.patient}&show=overdue")
    row = page.locator("#overdue tbody tr").filter(has=page.locator(f"input[name=plan_item][value='{a.item}']")).first
    summary = row.locator("details.row-act > summary")
    expect(summary).to_have_text("Reschedule")
    summary.focus()
    page.keyboard.press("Enter")
    form = _reschedule_form(page, a.item).first
    expect(form).to_be_visible()
    date = form.locator("input[name=date]")
    date.fill(new.isoformat())
    page.keyboard.press("Tab")
    page.keyboard.type("patient abroad; next free slot")
    _fits(page, width)
    row.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"dashboard-reschedule-{width}.png"), full_page=False)
    page.keyboard.press("Enter")  # submits the row's form: the confirmation, nothing written yet
    page.wait_for_url(lambda url: url.endswith("/dashboard/reschedule"))
    expect(page.locator("h1")).to_have_text(f"Reschedule {a.item}?")
    expect(page.locator("main")).to_contain_text(f"due {a.date.isoformat()} becomes {new.isoformat()}")
    expect(page.locator("main")).to_contain_text("patient abroad; next free slot")
    before = next(e for e in reg.patient_record(a.patient).to_dict()["encounters"]
                  if e["plan_item"] == a.item and e["status"] == "planned" and e["tumour"] == a.tumour)
    assert before["due"] == a.date.isoformat()
    _fits(page, width)
    page.screenshot(path=str(shots / f"reschedule-confirm-{width}.png"), full_page=True)
    page.click(f"text=Reschedule to {new.isoformat()}")
    page.wait_for_load_state("networkidle")
    expect(page.locator("p.ok")).to_contain_text(f"{a.item}: rescheduled to {new.isoformat()}")
    assert page.url.startswith(f"{base}/dashboard?") and "show=overdue" in page.url \
        and f"who={a.patient}" in page.url  # back to the same list
    after = next(e for e in reg.patient_record(a.patient).to_dict()["encounters"] if e["id"] == before["id"])
    assert (after["status"], after["due"]) == ("planned", new.isoformat())
    assert not [x for x in reg.alerts(today) if x.kind == "overdue" and x.patient == a.patient and x.item == a.item
                and x.tumour == a.tumour]
    # a date before the diagnosis is refused in one line, from the row, nothing written
    page.goto(f"{base}/dashboard?show=due&who={a.patient}")
    row = page.locator("#due tbody tr").filter(has=page.locator(f"input[name=plan_item][value='{a.item}']")).first
    row.locator("details.row-act > summary").click()
    form = row.locator("form[action='/dashboard/reschedule']")
    form.locator("input[name=date]").fill("1999-01-01")
    form.locator("input[name=reason]").fill("typo test")
    form.locator("button").click()
    expect(page.locator("p.error")).to_contain_text("is before the diagnosis of tumour")
    assert next(e for e in reg.patient_record(a.patient).to_dict()["encounters"]
                if e["id"] == before["id"])["due"] == new.isoformat()
    assert not errors, errors
    ctx.close()
