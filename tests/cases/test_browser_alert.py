"""The imminent alert in two real browsers: a supervisor's open page shows it, without
reloading, while the advisor is still on the call (SPEC "When the alert goes out")."""

import re

import pytest
from playwright.sync_api import expect

from cellule.extensions import db
from tests.conftest import sign_in

from .test_browser import answer, walk

pytestmark = pytest.mark.browser

# The spec's promise: on whatever page the supervisor has open, within 15 s.
ALERT_WITHIN_MS = 15_000


def test_the_supervisor_sees_the_alert_before_the_advisor_finishes(
        page, browser, browser_context_args, live_server, make_user):
    from sqlalchemy import select

    from cases.models import Case, TriageRun
    from contacts import operations as contact_ops
    from tests.cases.conftest import LEVEL_ANSWERS

    advisor = make_user("advisor", name="Ana Janssens")
    supervisor = make_user("supervisor", name="Els Superviseur", on_duty=True)
    contact_ops.create_person(advisor, name="Bénédicte Lambert", phone="0475 12 34 56")
    db.session.commit()  # (the operation fills the person search's word index)

    # The supervisor sits on their home page, in a browser of their own.
    sup_context = browser.new_context(**browser_context_args)
    sup_page = sup_context.new_page()
    try:
        sign_in(sup_page, live_server, supervisor)
        expect(sup_page.locator("#live-alerts")).to_be_attached()
        expect(sup_page.locator("#live-alerts").get_by_role("link")).to_have_count(0)

        # The advisor logs the call and starts the triage from the contact page.
        sign_in(page, live_server, advisor)
        page.get_by_role("link", name="New contact").first.click()
        page.get_by_role("searchbox", name="Search a person").press_sequentially(
            "benedicte", delay=20)
        page.get_by_role("link", name=re.compile("Bénédicte Lambert")).click()
        page.get_by_label("Summary").fill("Appel: épuisée, parle de ne plus tenir.")
        page.get_by_role("button", name="Save the contact").click()
        page.get_by_role("link", name="Run the triage", exact=True).click()
        expect(page.locator("#step-heading")).to_have_text("Safety")

        # "Thinking of it right now" = yes, and the safety section is saved.
        for item_id in ("cssrs_1_wish_dead", "cssrs_2_thoughts", "cssrs_6_behaviour",
                        "acute_now"):
            answer(page, item_id, LEVEL_ANSWERS["imminent"][item_id])
            page.wait_for_load_state("networkidle")
        page.get_by_role("checkbox", name="The crisis numbers were given to the person").check()
        page.get_by_role("button", name="Next section").click()
        expect(page.get_by_text("Section 2 of 5")).to_be_visible()
        expect(page.get_by_role("status").filter(
            has_text="every supervisor on duty has been alerted")).to_be_visible()

        # The supervisor did not reload: the alert arrives on the open page.
        db.session.expire_all()
        run = db.session.scalars(select(TriageRun)).one()
        assert run.state == "draft"  # the advisor is not done
        case = db.session.get(Case, run.case_id)
        region = sup_page.locator("#live-alerts")
        case_link = region.get_by_role("link", name=case.reference)
        expect(case_link).to_be_visible(timeout=ALERT_WITHIN_MS)
        expect(region.get_by_role("link", name="Triage in progress")).to_be_visible()
        expect(region).to_have_attribute("role", "alert")
        expect(sup_page).to_have_url(live_server + "/")  # still the same page

        # The run in progress opens from the alert (a draft of another user: its record).
        region.get_by_role("link", name="Triage in progress").click()
        expect(sup_page.get_by_role("heading", level=1)).to_contain_text("Triage run")

        # The advisor finishes; the decision alerts no one twice.
        walk(page, LEVEL_ANSWERS["imminent"], start=1)
        expect(page.locator(".proposal .badge-imminent")).to_be_visible()
        page.get_by_role("button", name="Record the decision").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Triage run")
        db.session.expire_all()
        assert db.session.scalars(select(Case)).all() == [case]

        # The supervisor follows the alert to the case.
        sup_page.go_back()
        region = sup_page.locator("#live-alerts")
        region.get_by_role("link", name=case.reference).click()
        expect(sup_page.get_by_role("heading", level=1)).to_contain_text(case.reference)
        expect(region.get_by_role("link", name="See the triage")).to_be_visible(
            timeout=ALERT_WITHIN_MS)
    finally:
        sup_context.close()
