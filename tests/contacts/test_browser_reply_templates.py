"""In Chromium: an admin finds the reply templates from their home page, writes a Dutch
template with a placeholder (a misspelt one is refused, named), and sees it listed."""

import os
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SHOTS = "/tmp/shots_templates"


def test_an_admin_creates_a_dutch_template_by_clicking(page, make_user, browser_login,
                                                       click_nav):
    os.makedirs(SHOTS, exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    browser_login(make_user("admin"))
    click_nav("Reply templates")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reply templates")
    page.get_by_role("link", name="New template").click()

    page.get_by_label("Kind").select_option(label="Reply (picked by an advisor)")
    page.get_by_label("Language of the text").select_option(label="Nederlands")
    page.get_by_label("Name", exact=True).fill("Terugbellen")
    page.get_by_label("Subject").fill("Uw bericht aan de luistercel")
    body = page.get_by_label("Text", exact=True)
    body.fill("Beste {voornaam},\n\nIk bel u morgen terug.\n\n{advisor_name}")
    page.get_by_role("button", name="Save").click()
    error = page.locator("#body-error")
    expect(error).to_contain_text("Unknown placeholder {voornaam}")
    expect(body).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=f"{SHOTS}/form-error-1366.png", full_page=True)

    body.fill("Beste {first_name},\n\nIk bel u morgen terug.\n\n{advisor_name}")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Template “Terugbellen” saved.")
    table = page.get_by_role("table", name=re.compile("Replies · Nederlands"))
    expect(table.get_by_role("row").filter(has_text="Terugbellen")).to_contain_text("active")
    page.screenshot(path=f"{SHOTS}/list-1366.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(table).to_be_visible()
    page.screenshot(path=f"{SHOTS}/list-390.png", full_page=True)

    table.get_by_role("button", name="Deactivate Terugbellen").click()
    expect(page.get_by_role("status")).to_contain_text("deactivated")
    expect(table.get_by_role("row").filter(has_text="Terugbellen")).to_contain_text("inactive")
    table.get_by_role("link", name="Terugbellen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Terugbellen")
    page.screenshot(path=f"{SHOTS}/form-390.png", full_page=True)
