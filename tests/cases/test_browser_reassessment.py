"""The re-assessment in a browser (issue 19): from the home page, an advisor reaches the
person on a follow-up contact, re-assesses them, and the case page shows the change."""

import pytest
from playwright.sync_api import expect

from cellule.extensions import db

pytestmark = pytest.mark.browser


def test_a_reached_follow_up_is_reassessed_and_the_case_shows_the_change(
        page, browser_login, triage, resources, make_user):
    from cases import operations as ops
    from cases.followup import operations as followup

    advisor = make_user("advisor", name="Ana Janssens")
    _run, case = triage("elevated", user=advisor)  # PHQ-2 3 at the first triage
    followup.schedule(case, advisor, safety_yes=True, new=True)
    first = followup.open_follow_ups(case.id)[0]
    ops.reassign_task(first, advisor, advisor)
    db.session.commit()

    browser_login(advisor)
    page.get_by_role("link", name="All my tasks").click()
    page.get_by_role("link", name="Log an attempt").first.click()
    expect(page.locator("#reassess-now")).to_have_count(0)
    page.get_by_role("radio", name="Reached").check()
    page.get_by_label("Note").fill("Talked for twenty minutes.")
    page.get_by_role("button", name="Log the attempt").click()
    page.get_by_role("link", name="Re-assess now").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)
    page.get_by_role("button", name="Record the re-assessment").click()  # nothing answered
    expect(page.locator("#reassessment-errors")).to_be_visible()
    for item in ("cssrs_1_wish_dead", "cssrs_2_thoughts", "cssrs_6_behaviour"):
        page.locator(f"#{item}-no").check()
    for item in ("phq_1_interest", "phq_2_down", "gad_1_nervous", "gad_2_worry"):
        page.locator(f"#{item}-0").check()
    for item in ("1_tired", "2_physical", "3_emotional", "4_cant_take", "5_worn_out",
                 "6_weak_ill"):
        page.locator(f"#cbi_{item}-1").check()
    page.get_by_role("button", name="Record the re-assessment").click()

    expect(page.locator(".flash-success")).to_contain_text("Re-assessment recorded.")
    card = page.locator("#reassessment-card")
    expect(card).to_contain_text("PHQ-2 3 → 0 · improved")
    expect(card).to_contain_text("CBI personal 0 → 25 · worse")
    expect(page.locator("#timeline")).to_contain_text("Re-assessed")
