"""The follow-up delays in a browser (issue 19): an administrator clicks from the home page
to the delays, changes high's, and the next high case is planned with them."""

import os
import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.conftest import follow_nav

pytestmark = pytest.mark.browser

TUESDAY_10H = datetime(2026, 1, 13, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels
SHOTS = "/tmp/shots_close19"


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))


def _shot(page, name):
    if os.environ.get("CELLULE_SHOTS"):
        os.makedirs(SHOTS, exist_ok=True)
        for width, height in ((1366, 900), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), width
        page.set_viewport_size({"width": 1366, "height": 900})


def test_an_admin_sets_high_s_delays_and_a_new_high_case_follows_them(
        page, browser_login, make_user, triage, resources):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    admin = make_user("admin", name="Ada Admin", language="en")
    browser_login(admin)
    follow_nav(page, "Follow-up delays")
    expect(page.get_by_role("heading", name="Follow-up delays", level=1)).to_be_visible()
    high = page.get_by_label("High", exact=True)
    expect(high).to_have_value("")  # the defaults
    expect(page.locator("#delays-now-high")).to_contain_text("the defaults")
    _shot(page, "delays")

    high.fill("48, 4")  # not in order: refused, what was typed stays
    page.get_by_role("button", name="Save the delays").click()
    expect(page.locator("#high-error")).to_contain_text("in increasing order")
    expect(page.get_by_label("High", exact=True)).to_have_value("48, 4")
    _shot(page, "delays-refused")
    page.get_by_label("High", exact=True).fill("4, 48")
    page.get_by_role("button", name="Save the delays").click()
    expect(page.get_by_role("status").filter(has_text="Follow-up delays saved.")).to_be_visible()
    expect(page.get_by_label("High", exact=True)).to_have_value("4, 48")
    expect(page.locator("#delays-now-high")).to_contain_text("set on")
    sign_out(page)

    # A new high case: its follow-up contacts are 4 h and 48 h after the triage.
    _run, case = triage("high", at=TUESDAY_10H)
    browser_login(make_user("psychologist", name="Paul Psy", language="en"))
    follow_nav(page, "Psychology queue")
    page.get_by_role("button", name=f"Claim {case.reference}").click()  # its contacts too
    expect(page.get_by_role("heading", name=f"Case {case.reference}")).to_be_visible()
    page.get_by_role("link", name="Log an attempt").first.click()
    plan = page.get_by_role("region", name="Planned contacts").locator("tbody tr")
    expect(plan).to_have_count(2)
    expect(plan.nth(0)).to_contain_text("2:00")  # Tuesday 14:00
    expect(plan.nth(0)).to_contain_text("1/13/26")
    expect(plan.nth(1)).to_contain_text("10:00")  # Thursday 10:00
    expect(plan.nth(1)).to_contain_text("1/15/26")
    # The refused save answers 422, which the console names; nothing else went wrong.
    assert [e for e in errors if "422" not in e] == []
