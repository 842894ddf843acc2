"""The supervisor's board in a real Chromium (issue 18): from the home to the board, sorted
by deadline, a late case in red, two cases reassigned at once; a 390 px phone scrolls the
table inside its box, never the page. With CELLULE_SHOTS=<dir>, screenshots go there."""

import os
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from cases.models import Case
from cellule.extensions import db
from cellule.types import utcnow

pytestmark = pytest.mark.browser

DANGER = "rgb(163, 38, 27)"  # --danger


def _shot(page, name):
    folder = os.environ.get("CELLULE_SHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def _rows(page):
    return page.locator("#board-results tbody tr")


def test_a_supervisor_sorts_the_board_sees_a_late_case_and_reassigns_two(
        page, browser_login, click_nav, make_user, triage):
    supervisor = make_user("supervisor", name="Sophie Superviseur", language="en")
    dirk = make_user("psychologist", name="Dirk Psycholoog", language="en")
    _run, late = triage("serious", at=utcnow() - timedelta(days=4))  # past its deadline
    _run, later = triage("elevated")
    _run, fresh = triage("imminent")  # due within the 15-minute grace: not late yet
    page.set_viewport_size({"width": 1366, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_login(supervisor)
    click_nav("Board")
    expect(page.get_by_role("heading", name="Board", level=1)).to_be_visible()
    page.wait_for_load_state("load")
    expect(page.locator("html.js")).to_be_attached()

    # Quick changes one after the other: each waits for the one before (no aborted call).
    page.get_by_label("Level", exact=True).select_option("serious")
    page.get_by_label("Level", exact=True).select_option("elevated")
    page.get_by_label("Level", exact=True).select_option("")
    expect(page).not_to_have_url(re.compile(r"level=\w"))
    expect(_rows(page)).to_have_count(3)

    # Most urgent level first: the imminent case leads; then back to the deadline order.
    page.get_by_label("Sort by").select_option(label="Level, most urgent first")
    expect(page).to_have_url(re.compile(r"sort=level"))
    expect(_rows(page).first).to_contain_text(fresh.reference)
    page.get_by_label("Sort by").select_option(label="Deadline, soonest first")
    expect(page).to_have_url(re.compile(r"sort=due"))
    expect(_rows(page).first).to_contain_text(late.reference)

    # The late case says so in red, with how late; the fresh imminent one has time left.
    late_row = page.locator(f"#case-row-{late.id}")
    expect(late_row).to_have_class(re.compile(r"\bflagged\b"))
    badge = late_row.locator(".badge-flag")
    expect(badge).to_have_text(re.compile(r"^late by \d+ days?$"))
    expect(badge).to_have_css("background-color", DANGER)
    expect(late_row).to_contain_text(late.person.name)
    fresh_row = page.locator(f"#case-row-{fresh.id}")
    expect(fresh_row.locator(".badge-flag")).to_have_count(0)
    expect(fresh_row).to_contain_text(re.compile(r"due in 1[45] min"))
    _shot(page, "board-1366")

    # Two ticked, one worker chosen, one click: both reassigned, said once.
    page.get_by_role("checkbox", name=f"Select {late.reference}").check()
    page.get_by_role("checkbox", name=f"Select {later.reference}").check()
    page.get_by_label("Reassign selected to").select_option(label="Dirk Psycholoog")
    page.get_by_role("button", name="Reassign selected").click()
    expect(page.locator("#bulk-done")).to_have_text("2 cases reassigned to Dirk Psycholoog.")
    expect(page.locator(f"#case-row-{late.id}")).to_contain_text("Dirk Psycholoog")
    expect(page.locator(f"#case-row-{later.id}")).to_contain_text("Dirk Psycholoog")
    expect(page.locator(f"#case-row-{fresh.id}")).not_to_contain_text("Dirk Psycholoog")
    _shot(page, "board-1366-reassigned")
    db.session.expire_all()
    assert [db.session.get(Case, c.id).assignee_id for c in (late, later, fresh)] == [
        dirk.id, dirk.id, None]

    # On a phone each case is a card: its deadline in sight, the page never wider.
    page.set_viewport_size({"width": 390, "height": 844})
    click_nav("Board")
    badge = page.locator(f"#case-row-{late.id} .badge-flag")
    expect(badge).to_be_visible()
    box = badge.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # no sideways scroll to see it
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    scroller = page.locator("#board-results .table-scroll")
    assert scroller.evaluate("e => e.scrollWidth <= e.clientWidth")
    _shot(page, "board-390")
    assert not [e for e in errors if "htmx" in e], errors
