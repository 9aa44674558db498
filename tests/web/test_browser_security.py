"""The security pages in a real browser (Chromium through Playwright, as ``test_browser.py``): an admin resets
a password on the users page, the user changes it on their own page, the audit trail shows UTC times and the
patients a list showed, and a session from before the reset no longer opens a page."""

from __future__ import annotations

import pytest
from test_browser import browser, server  # noqa: F401  (fixtures: a fresh demo registry for this module)

pytestmark = pytest.mark.browser


def _login(page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def test_reset_change_and_audit_pages(server, browser, tmp_path):  # noqa: F811 (fixtures)
    from playwright.sync_api import expect

    base, app = server
    reg = app.state.registry
    from leiosurv.interfaces.web import hash_password

    reg.add_user("nurse", hash_password("first-password"), "clinician")
    nurse_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    nurse = nurse_ctx.new_page()
    _login(nurse, base, "nurse", "first-password")
    expect(nurse.locator("h1")).to_contain_text("Work list")

    admin_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    admin = admin_ctx.new_page()
    _login(admin, base, "demo-admin", "demo-password")
    admin.goto(f"{base}/admin/users")
    expect(admin.locator("main")).to_contain_text("ends every session they have")
    admin.fill("#pw-nurse", "reset-by-admin")
    admin.click("#pw-nurse + button")
    expect(admin.locator("h1")).to_have_text("Users")
    admin.screenshot(path=str(tmp_path / "users.png"), full_page=True)

    nurse.goto(f"{base}/patients")  # the session from before the reset is over
    expect(nurse.locator("h1")).to_have_text("Sign in")
    expect(nurse.locator("header form.logout")).to_have_count(0)  # no one is shown as signed in
    _login(nurse, base, "nurse", "reset-by-admin")
    nurse.click("header a.who")
    expect(nurse.locator("h1")).to_have_text("Change your password")
    nurse.fill("#current_password", "reset-by-admin")
    nurse.fill("#new_password", "my-own-password")
    nurse.fill("#repeat_password", "my-own-passwort")
    nurse.click("main button[type=submit]")
    expect(nurse.locator("#password-error")).to_contain_text("the two new passwords differ")
    nurse.fill("#current_password", "reset-by-admin")
    nurse.fill("#new_password", "my-own-password")
    nurse.fill("#repeat_password", "my-own-password")
    nurse.click("main button[type=submit]")
    expect(nurse.locator("#password-done")).to_contain_text("Password changed")
    nurse.screenshot(path=str(tmp_path / "password.png"), full_page=True)
    nurse.goto(f"{base}/patients")  # this session goes on
    expect(nurse.locator("h1")).to_contain_text("Patients")

    admin.goto(f"{base}/admin/audit")
    rows = admin.locator("#audit tbody tr")
    expect(rows.first).to_contain_text("UTC")
    listed = admin.locator("#audit tbody tr", has_text="patient list").first
    expect(listed.locator("details summary")).to_have_text(str(len(reg.find_patients("", limit=50)[1])))
    admin.screenshot(path=str(tmp_path / "audit.png"), full_page=False)
    nurse_ctx.close()
    admin_ctx.close()
    import os
    import shutil

    out = os.environ.get("LEIOSURV_SCREENSHOTS")
    if out:
        for name in ("users.png", "password.png", "audit.png"):
            shutil.copy(tmp_path / name, os.path.join(out, name))
