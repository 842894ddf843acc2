"""Closing a crisis case in Chromium: the psychologist takes it from the queue, closes it in
one confirmed step that resolves its open tasks, and the supervisor's alarm stops ringing."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import follow_nav

pytestmark = pytest.mark.browser

CALLBACK = "Call back tomorrow at nine"
ALERT = "Imminent danger: crisis protocol running"
NO_PLAN_REASON = "Declined to write one tonight; the crisis line takes over"


@pytest.fixture
def crisis(make_user, triage):
    """An imminent case opened by an advisor's triage; the on-duty supervisor alerted."""
    supervisor = make_user("supervisor", on_duty=True, name="Sophie Superviseure")
    psychologist = make_user("psychologist", name="Paul Psy")
    _run, case = triage("imminent", user=make_user("advisor"))
    return {"case": case, "supervisor": supervisor, "psychologist": psychologist}


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))


def test_close_a_crisis_case_resolves_its_tasks_and_stops_the_alarm(page, browser_login,
                                                                     crisis):
    case = crisis["case"]

    # The supervisor's board rings for the open crisis case.
    browser_login(crisis["supervisor"])
    follow_nav(page, "Board")
    expect(page.get_by_role("heading", name="Board", level=1)).to_be_visible()
    expect(page.locator(".alert-panel").first).to_contain_text(case.reference)
    sign_out(page)

    # The psychologist takes the case from the queue.
    browser_login(crisis["psychologist"])
    follow_nav(page, "Psychology queue")
    page.get_by_role("button", name=f"Claim {case.reference}").click()
    expect(page.get_by_role("heading", name=f"Case {case.reference}")).to_be_visible()
    expect(page.locator("#case-assignee")).to_have_text("Paul Psy")
    # ... and gives themselves a callback.
    page.get_by_label("New task").fill(CALLBACK)
    page.get_by_label("Kind").select_option(label="Call back")
    page.get_by_role("button", name="Add the task").click()
    follow_nav(page, "My tasks")
    row = page.get_by_role("row").filter(has_text=CALLBACK)
    expect(row).to_be_visible()
    row.get_by_role("link", name=case.reference).click()

    # Closing asks first, listing every open task of the case.
    page.get_by_role("link", name="Close the case…").click()
    step = page.get_by_role("region", name=f"Close case {case.reference}")
    expect(step).to_be_visible()
    callback = step.get_by_role("group", name=CALLBACK)
    expect(callback).to_be_visible()
    expect(step.get_by_role("group", name=re.compile(ALERT))).to_have_count(1)
    expect(callback.get_by_role("radio", name="Cancelled")).to_be_checked()
    callback.get_by_role("radio", name="Done").check()
    step.get_by_label("Outcome").select_option(label="Resolved")
    # An imminent case: without a safety outcome the step stays.
    safety = step.get_by_role("group", name="Safety outcome")
    expect(safety).to_be_visible()
    safety.get_by_role("radio", name="Handed to a crisis line").check()
    # ... and, without a safety plan, the reason why (issue 19).
    step.get_by_label("No safety plan because…").fill(NO_PLAN_REASON)
    step.get_by_role("button", name="Confirm and close the case").click()

    expect(page.locator("#case-status")).to_contain_text("Closed")
    expect(page.get_by_role("status").filter(has_text="Case closed.")).to_contain_text(
        "2 open tasks resolved")
    expect(page.locator("#case-safety")).to_contain_text("Handed to a crisis line")
    expect(page.locator("#case-no-plan-reason")).to_have_text(NO_PLAN_REASON)
    follow_nav(page, "My tasks")
    expect(page.get_by_role("cell", name="No open tasks.")).to_be_visible()
    expect(page.get_by_text(CALLBACK)).to_have_count(0)
    sign_out(page)

    # The supervisor's home and board are quiet again.
    browser_login(crisis["supervisor"])
    page.wait_for_load_state("networkidle")  # the live alert region has been filled
    expect(page.locator(".alert-panel")).to_have_count(0)
    follow_nav(page, "Board")
    expect(page.get_by_role("heading", name="Board", level=1)).to_be_visible()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".alert-panel")).to_have_count(0)
    expect(page.get_by_role("heading", name="Imminent danger")).to_have_count(0)
