"""Issue 18 in Chromium: a crisis line an admin adds to the directory reaches the crisis
panel; the crisis proposal shows only what the crisis route uses; the record fits its cards
at 1366 and 390 px. Set CELLULE_SHOTS_DIR to keep screenshots of the screens."""

import os
import re

import pytest
from playwright.sync_api import expect

from .conftest import LEVEL_ANSWERS
from .test_browser import open_triage_from_person_page, searchable_person, walk

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}
OVERFLOW = """() => {
  const page = document.documentElement.scrollWidth > document.documentElement.clientWidth;
  const cards = [...document.querySelectorAll('#main .card, #main .alert-panel')]
    .filter(el => el.scrollWidth > el.clientWidth + 1)
    .map(el => el.className + ':' + el.scrollWidth + '>' + el.clientWidth + ':'
         + (el.querySelector('h2, h3, dt') || el).textContent.trim().slice(0, 40));
  return {page, cards};
}"""


def _shoot(page, name):
    folder = os.environ.get("CELLULE_SHOTS_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)
        page.screenshot(path=os.path.join(folder, f"{name}-screen.png"))


def _fits_at_both_widths(page, name):
    for width_name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        _shoot(page, f"{name}-{width}")
        assert page.evaluate(OVERFLOW) == {"page": False, "cards": []}, (name, width_name)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_a_crisis_line_added_by_an_admin_reaches_the_crisis_panel(
        page, browser_login, click_nav, make_user, make_contact, resources):
    admin = make_user("admin", language="en")
    advisor = make_user("advisor", name="Bram Conseiller", language="en")
    make_contact(advisor, person=searchable_person(advisor, "Jeanne Walker"))

    # The admin adds a French crisis line to the directory.
    browser_login(admin)
    click_nav("Resource directory")
    page.get_by_role("link", name="New resource").click()
    page.get_by_label("Name").fill("Télé-Accueil Bruxelles")
    page.get_by_label("Kind").select_option(label="Crisis line")
    page.get_by_label("Phone").fill("107")
    page.get_by_label("Hours").fill("24/7")
    page.get_by_role("checkbox", name="FR").check()
    page.get_by_label("Description (EN)").fill("Listening line in French, day and night.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="Télé-Accueil Bruxelles", exact=True)).to_be_visible()

    # The advisor runs a triage: a safety "yes" shows the panel with the new line.
    page.context.clear_cookies()
    browser_login(advisor)
    open_triage_from_person_page(page, click_nav, "Jeanne Walker")
    page.locator("#cssrs_1_wish_dead-yes").check()
    panel = page.locator("#crisis-panel")
    expect(panel.get_by_role("listitem").filter(has_text="Télé-Accueil Bruxelles")).to_contain_text(
        "107")
    expect(panel.get_by_role("listitem").filter(has_text="Télé-Accueil Bruxelles")).to_contain_text(
        "Listening line in French")
    expect(panel).to_contain_text("112")

    # Imminent: the crisis proposal, without coaching partners or "open a case anyway".
    walk(page, LEVEL_ANSWERS["imminent"])
    expect(page.locator(".proposal .badge-imminent")).to_be_visible()
    expect(page.locator("#crisis-panel")).to_contain_text("Télé-Accueil Bruxelles")
    expect(page.get_by_label("Partner", exact=True)).to_have_count(0)
    expect(page.get_by_role("checkbox", name="Open a case even on the information route")
           ).to_have_count(0)
    _fits_at_both_widths(page, "crisis-proposal")
    page.get_by_role("checkbox", name="The crisis numbers were given to the person").check()
    page.get_by_role("button", name="Record the decision").click()

    # The record: one language, the answers inside their cards at both widths.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Triage run")
    expect(page.locator(".reasons")).to_contain_text("start the crisis protocol now")
    safety = page.get_by_role("region", name="Safety")
    expect(safety).to_contain_text("Are you having thoughts of killing yourself right now?")
    expect(safety.locator(".answer-flagged").first).to_contain_text("Yes")
    expect(page.locator("main")).to_contain_text("Bram Conseiller")
    _fits_at_both_widths(page, "record")


def test_a_hang_up_record_and_the_open_case_in_the_search(
        page, browser_login, click_nav, make_user, make_contact):
    advisor = make_user("advisor", name="Bram Conseiller", language="en")
    make_contact(advisor, person=searchable_person(advisor, "Jeanne Walker"))
    browser_login(advisor)
    open_triage_from_person_page(page, click_nav, "Jeanne Walker")
    page.locator("#cssrs_1_wish_dead-yes").check()
    page.wait_for_load_state("networkidle")
    page.locator("#cssrs_2_thoughts-no").check()
    page.locator("#cssrs_6_behaviour-no").check()
    page.locator("#acute_now-no").check()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="The person hung up").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Triage run")
    recorded = page.locator("#hangup-recorded")
    expect(recorded).to_contain_text("Bram Conseiller")
    expect(page.locator("main")).not_to_contain_text("Proposal confirmed")
    expect(page.locator("main")).not_to_contain_text(re.compile(r"hung up\)\s*incomplete"))
    _fits_at_both_widths(page, "hangup-record")

    # The person's open case shows in the search results, with a link to it.
    click_nav("People")
    page.get_by_role("searchbox").press_sequentially("Jeanne Walker", delay=20)
    result = page.get_by_role("listitem").filter(has_text="Jeanne Walker")
    expect(result.locator(".open-case-note")).to_contain_text("Serious")
    _fits_at_both_widths(page, "search-open-case")
    result.get_by_role("link", name=re.compile(r"^CEL-")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("CEL-")
