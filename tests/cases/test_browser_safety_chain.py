"""The whole safety chain in three real browsers, by clicks and typing only (issue 12).

An advisor logs a call from a new person and runs the triage from the contact page; the
moment "thinking of it right now" is saved as yes, the supervisor's open home page rings,
before the triage is over. The advisor finishes, the case opens; a psychologist claims it
from the queue and closes it in one confirmed step that ends its open tasks; the
supervisor's home and board go quiet.
"""

import re

import pytest
from playwright.sync_api import expect

from cellule.extensions import db
from tests.conftest import follow_nav, sign_in

from .conftest import LEVEL_ANSWERS
from .test_browser import answer, walk
from .test_browser_alert import ALERT_WITHIN_MS

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"CEL-\d{4}-\d{6}")
ALERT_TASK = "Imminent danger: crisis protocol running"
CALLBACK = "Call back tomorrow at nine"


def main_nav(page):
    return page.get_by_role("navigation", name="Main navigation")


def test_safety_chain_from_the_call_to_the_closed_case(
        page, browser, browser_context_args, live_server, browser_login, click_nav, make_user):
    from cases.models import Case, Task

    advisor = make_user("advisor", name="Ana Janssens")
    watching = make_user("supervisor", name="Els Superviseur", on_duty=True)
    colleague = make_user("supervisor", name="Marc Superviseur", on_duty=True)
    psychologist = make_user("psychologist", name="Paul Psy")

    contexts = []

    def new_page():
        context = browser.new_context(**browser_context_args)
        contexts.append(context)
        return context.new_page()

    try:
        # The supervisor on duty sits on their home page: no alert rings.
        sup = new_page()
        sign_in(sup, live_server, watching)
        sup_alerts = sup.locator("#live-alerts")
        expect(sup_alerts).to_be_attached()
        expect(sup_alerts.get_by_role("link")).to_have_count(0)
        expect(sup.get_by_role("heading", name="Imminent danger")).to_have_count(0)

        # The advisor takes a call from someone the cell does not know yet.
        browser_login(advisor)
        click_nav("New contact")
        search = page.get_by_role("searchbox", name="Search a person")
        search.press_sequentially("Rosalie Dumont", delay=20)
        expect(page.locator("#search-results")).to_contain_text("No one found.")
        page.get_by_label("Name", exact=True).fill("Rosalie Dumont")
        page.get_by_label("Phone").fill("0471 55 66 77")
        expect(page.get_by_label("Channel")).to_have_value("phone")
        page.get_by_label("Summary").fill("Appel: indépendante épuisée, ne voit plus d'issue.")
        page.get_by_role("button", name="Save the contact").click()
        expect(page.get_by_role("status").filter(has_text="The contact was saved.")).to_be_visible()

        # From the contact page, one click starts the triage.
        page.get_by_role("link", name="Run the triage", exact=True).click()
        expect(page.locator("#step-heading")).to_have_text("Safety")

        # "Thinking of it right now" = yes; the crisis numbers are given; the section saved.
        for item_id in ("cssrs_1_wish_dead", "cssrs_2_thoughts", "cssrs_6_behaviour",
                        "acute_now"):
            answer(page, item_id, LEVEL_ANSWERS["imminent"][item_id])
            page.wait_for_load_state("networkidle")  # the live part re-renders (skip logic)
        expect(page.get_by_role("region", name="Crisis protocol")).to_be_visible()
        page.get_by_role("checkbox", name="The crisis numbers were given to the person").check()
        page.get_by_role("button", name="Next section").click()
        expect(page.get_by_text("Section 2 of 5")).to_be_visible()
        expect(page.get_by_role("status").filter(
            has_text="every supervisor on duty has been alerted")).to_be_visible()

        # The supervisor's page rings without a reload, while the advisor is on section 2.
        alert_case = sup_alerts.get_by_role("link", name=REFERENCE)
        expect(alert_case).to_be_visible(timeout=ALERT_WITHIN_MS)
        expect(sup_alerts).to_have_attribute("role", "alert")
        expect(sup_alerts.get_by_role("heading", name="Imminent danger")).to_be_visible()
        expect(sup_alerts.get_by_role("link", name="Triage in progress")).to_be_visible()
        expect(sup).to_have_url(live_server + "/")
        reference = REFERENCE.search(alert_case.inner_text()).group(0)
        expect(page.get_by_role("button", name="Next section")).to_be_visible()  # not done

        # The advisor finishes the triage and confirms the proposal: the case is opened.
        walk(page, LEVEL_ANSWERS["imminent"], start=1)
        expect(page.locator(".proposal .badge-imminent")).to_be_visible()
        page.get_by_role("button", name="Record the decision").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Triage run")
        expect(page.get_by_role("link", name=reference, exact=True)).to_be_visible()

        # A psychologist, in a third browser, claims the case from the queue.
        psy = new_page()
        sign_in(psy, live_server, psychologist)
        follow_nav(psy, "Psychology queue")
        psy.get_by_role("button", name=f"Claim {reference}").click()
        expect(psy.get_by_role("heading", name=f"Case {reference}")).to_be_visible()
        expect(psy.locator("#case-assignee")).to_have_text("Paul Psy")
        psy.get_by_label("New task").fill(CALLBACK)
        psy.get_by_label("Kind").select_option(label="Call back")
        psy.get_by_role("button", name="Add the task").click()
        expect(psy.get_by_role("region", name="Open tasks").get_by_text(CALLBACK)).to_be_visible()

        # Close: the step asks first and lists every open task of the case.
        psy.get_by_role("link", name="Close the case…").click()
        step = psy.get_by_role("region", name=f"Close case {reference}")
        expect(step).to_be_visible()
        alert_tasks = step.get_by_role("group", name=re.compile(ALERT_TASK))
        expect(alert_tasks).to_have_count(2)  # one per supervisor on duty
        expect(alert_tasks.filter(has_text="Els Superviseur")).to_have_count(1)
        expect(alert_tasks.filter(has_text="Marc Superviseur")).to_have_count(1)
        callback = step.get_by_role("group", name=CALLBACK)
        expect(callback).to_be_visible()
        callback.get_by_role("radio", name="Done").check()
        step.get_by_label("Outcome").select_option(label="Resolved")
        step.get_by_role("group", name="Safety outcome").get_by_role(
            "radio", name="Handed to a crisis line").check()
        step.get_by_label("No safety plan because…").fill("Passée au centre de crise")
        step.get_by_role("button", name="Confirm and close the case").click()

        # Closed, and its tasks ended in the same step.
        expect(psy.locator("#case-status")).to_contain_text("Closed")
        expect(psy.get_by_role("status").filter(has_text="Case closed.")).to_contain_text(
            "3 open tasks resolved")
        expect(psy.locator("#case-safety")).to_contain_text("Handed to a crisis line")

        # The supervisor's open home page stops ringing by itself, and stays quiet: on the
        # board reached from the navigation, and back home.
        expect(sup_alerts.get_by_role("link")).to_have_count(0, timeout=ALERT_WITHIN_MS)
        follow_nav(sup, "Board")
        expect(sup.get_by_role("heading", name="Board", level=1)).to_be_visible()
        sup.wait_for_load_state("networkidle")
        expect(sup.locator(".alert-panel")).to_have_count(0)
        expect(sup.get_by_role("heading", name="Imminent danger")).to_have_count(0)
        expect(sup.get_by_role("link", name=reference, exact=True)).to_have_count(0)  # closed
        main_nav(sup).get_by_role("link", name="Home", exact=True).click()
        expect(sup.get_by_role("heading", level=1)).to_contain_text("Good day, Els")
        sup.wait_for_load_state("networkidle")
        expect(sup.locator(".alert-panel")).to_have_count(0)
        expect(sup.get_by_role("heading", name="Imminent danger")).to_have_count(0)
        expect(sup.get_by_text(reference)).to_have_count(0)

        # And in the records: nothing of the case is left open.
        db.session.expire_all()
        case = db.session.scalar(db.select(Case).where(Case.reference == reference))
        assert case.status == "closed"
        assert db.session.scalars(
            db.select(Task).where(Task.case_id == case.id, Task.status == "open")).all() == []
        alerted = db.session.scalars(db.select(Task.assignee_id).where(
            Task.case_id == case.id, Task.code == "imminent_alert")).all()
        assert sorted(alerted) == sorted([watching.id, colleague.id])
    finally:
        for context in contexts:
            context.close()
