"""Done and Cancel on the case page change the task list and the timeline in place, without
loading the page again (issue 18): a mark set on `window` survives the click."""

import pytest
from playwright.sync_api import expect

from cellule.extensions import db
from tests.conftest import due_later_today

pytestmark = pytest.mark.browser

CALLBACK = "Call Mrs Lambert back about the bank"
LETTER = "Send the leaflet about debts"


@pytest.fixture
def two_tasks(make_user, triage):
    from cases import operations as ops

    psychologist = make_user("psychologist", name="Chloé Psychologue", language="en")
    _run, case = triage("serious", user=make_user("advisor"))
    assert ops.claim_case(case.id, psychologist)
    db.session.refresh(case)
    for title, hours in ((CALLBACK, 2), (LETTER, 3)):  # (later today, whatever the hour)
        ops.create_task(title=title, kind="callback", actor=psychologist,
                        assignee=psychologist, case=case,
                        due_at=due_later_today(60 * hours), by_hand=True)
    db.session.commit()
    return {"case": case, "psychologist": psychologist}


def test_done_and_cancel_change_the_tasks_without_a_page_load(page, browser_login, two_tasks):
    case = two_tasks["case"]
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_login(two_tasks["psychologist"])
    page.locator("#main").get_by_role("link", name=CALLBACK).click()
    expect(page.get_by_role("heading", name=f"Case {case.reference}", level=1)).to_be_visible()
    page.wait_for_load_state("load")
    expect(page.locator("html.js")).to_be_attached()
    page.evaluate("window.desk18Mark = 'still here'")
    address = page.url

    tasks = page.get_by_role("region", name="Open tasks")
    timeline = page.get_by_role("list", name="Events, newest first")
    tasks.get_by_role("button", name=f"Mark done: {CALLBACK}").click()
    expect(tasks.get_by_role("status")).to_have_text(f"Task done: {CALLBACK}")
    expect(tasks.get_by_role("listitem").filter(has_text=CALLBACK)).to_have_count(0)
    expect(tasks.get_by_role("listitem").filter(has_text=LETTER)).to_have_count(1)
    expect(timeline.get_by_role("listitem").filter(has_text="Task done").filter(
        has_text=CALLBACK)).to_have_count(1)

    # Cancel (the form's other button) swaps the same way.
    tasks.get_by_role("button", name=f"Cancel the task: {LETTER}").click()
    expect(tasks.get_by_role("status")).to_have_text(f"Task cancelled: {LETTER}")
    expect(tasks.get_by_role("listitem").filter(has_text=LETTER)).to_have_count(0)
    expect(timeline.get_by_role("listitem").filter(has_text="Task cancelled").filter(
        has_text=LETTER)).to_have_count(1)

    assert page.evaluate("window.desk18Mark") == "still here"  # no navigation
    assert page.url == address
    assert errors == []
