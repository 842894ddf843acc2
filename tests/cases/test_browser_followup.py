"""The follow-up protocol in a browser (issue 19): an advisor logs three failed attempts on a
follow-up contact, and the supervisor finds the alert on their home page."""

import pytest
from playwright.sync_api import expect

from cellule.extensions import db
from tests.conftest import sign_in

pytestmark = pytest.mark.browser

UNREACHED = "Follow-up: three attempts without reaching the person"


def test_three_failed_attempts_reach_the_supervisor(page, browser, browser_context_args,
                                                    live_server, browser_login, triage,
                                                    resources, make_user):
    from cases import operations as ops
    from cases.followup.operations import open_follow_ups

    advisor = make_user("advisor", name="Ana Janssens")
    supervisor = make_user("supervisor", name="Els Superviseur", on_duty=True)
    _run, case = triage("high", user=advisor)
    first = open_follow_ups(case.id)[0]
    ops.reassign_task(first, advisor, advisor)  # the case's worker takes the contacts
    db.session.commit()

    browser_login(advisor)
    page.get_by_role("link", name="All my tasks").click()
    page.get_by_role("link", name="Log an attempt").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)
    for number, (outcome, note) in enumerate((("No answer", "Rang ten times."),
                                              ("Voicemail", "Left our number."),
                                              ("No answer", "Evening try.")), start=1):
        page.get_by_role("radio", name=outcome).check()
        page.get_by_label("Note").fill(note)
        page.get_by_role("button", name="Log the attempt").click()
        expect(page.get_by_role("status").or_(page.locator(".flash-success")).first) \
            .to_contain_text("Attempt logged.")
        expect(page.locator("#follow-up-attempts li")).to_have_count(number)
    alert = page.locator("#follow-up-unreached")
    expect(alert).to_contain_text("3 attempts in a row without reaching the person")
    expect(alert.get_by_role("link", name="Write an email")).to_be_visible()

    sup_context = browser.new_context(**browser_context_args)
    sup_page = sup_context.new_page()
    try:
        sign_in(sup_page, live_server, supervisor)
        tasks = sup_page.locator("#home-tasks")
        expect(tasks).to_contain_text(UNREACHED)
        expect(tasks).to_contain_text(case.reference)
    finally:
        sup_context.close()
