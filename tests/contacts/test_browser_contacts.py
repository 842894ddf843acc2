"""The advisor's desk in Chromium: find the caller, pick them, log the call."""

import re
import time

import pytest
from playwright.sync_api import expect

from cellule.extensions import db
from contacts.models import Contact

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(page, make_user, make_person, browser_login):
    advisor = make_user("advisor", name="Ana Janssens")
    make_person(advisor, name="Pieter Van den Bossche", phone="0486 22 41 07")
    person = make_person(advisor, name="Bénédicte Lambert", phone="0475 12 34 56",
                         email="benedicte@example.be")
    browser_login(advisor)
    # English interface: this domain's strings are translated by the integrator later.
    page.locator("#language-select").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    return advisor, person


def test_type_a_name_pick_the_person_and_log_a_phone_contact(page, desk):
    advisor, person = desk
    page.get_by_role("link", name="New contact").first.click()
    search = page.get_by_role("searchbox", name="Search a person")
    expect(search).to_be_focused()
    search.press_sequentially("benedicte", delay=20)
    results = page.locator("#search-results")
    expect(results).to_contain_text("1 person found")
    # The address bar follows the search without the name in it.
    expect(page).to_have_url(re.compile(r"/contacts/new\?s=[0-9a-f]{24}$"))
    page.get_by_role("link", name=re.compile("Bénédicte Lambert")).click()

    expect(page.locator(".chosen-person")).to_contain_text("Bénédicte Lambert")
    expect(page.get_by_label("Channel")).to_be_focused()
    expect(page.get_by_label("Channel")).to_have_value("phone")
    page.get_by_label("Duration (minutes)").fill("14")
    page.get_by_label("Stress").check()
    page.get_by_label("Finances").check()
    page.get_by_label("Summary").fill("TVA en retard, dort mal. Rappel vendredi.")
    page.get_by_role("button", name="Save the contact").click()

    expect(page.get_by_role("status").filter(has_text="The contact was saved.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Phone")
    contact = db.session.scalar(db.select(Contact))
    assert (contact.person_id, contact.channel, contact.duration_minutes) == (person.id, "phone",
                                                                              14)
    assert contact.reasons == ["stress", "finances"]
    assert contact.created_by_id == advisor.id


def test_known_caller_from_screen_pop_to_saved_contact_in_under_a_minute(
    page, desk, live_server, app
):
    from cellule.models import ApiToken

    advisor, person = desk
    row, token = ApiToken.issue(advisor, "telephony")
    db.session.add(row)
    db.session.commit()
    started = time.monotonic()
    response = page.request.post(
        live_server + "/api/v1/telephony/calls",
        data={"call_id": "pbx-42", "from": "+32475123456", "event": "answered"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.ok
    pop = response.json()
    assert [p["id"] for p in pop["persons"]] == [person.id]
    # The phone system opens this link in the advisor's browser when the call is answered:
    # like a link in an email, it arrives from outside, so it is loaded, not clicked.
    page.goto(pop["screen_pop_url"].replace("http://localhost", live_server))
    expect(page.locator(".chosen-person")).to_contain_text("Bénédicte Lambert")
    page.get_by_label("Summary").fill("Rappel de suivi, va mieux.")
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Save the contact").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Phone")
    assert time.monotonic() - started < 60
    contact = db.session.scalar(db.select(Contact))
    assert (contact.person_id, contact.call_id) == (person.id, "pbx-42")


# --- The triage, one click away (DESIGN §9) ----------------------------------


def expect_first_section(page):
    """The triage screen shows its first section, the safety questions."""
    expect(page.locator("#step-heading")).to_have_text("Safety")
    expect(page.get_by_text("Section 1 of 5")).to_be_visible()
    expect(page.locator("#q-cssrs_1_wish_dead")).to_be_visible()


def test_red_flagged_phone_contact_offers_the_safety_questions_at_once(page, desk, click_nav):
    click_nav("New contact")
    page.get_by_role("searchbox", name="Search a person").press_sequentially("benedicte",
                                                                             delay=20)
    page.get_by_role("link", name=re.compile("Bénédicte Lambert")).click()
    expect(page.locator(".chosen-person")).to_contain_text("Bénédicte Lambert")
    page.get_by_label("Summary").fill("Elle dit qu'elle veut en finir avec la vie.")
    page.get_by_role("button", name="Save the contact").click()

    expect(page.get_by_role("status").filter(has_text="The contact was saved.")).to_be_visible()
    panel = page.get_by_role("alert").filter(has_text="Danger signs in the text")
    expect(panel).to_contain_text("en finir avec la vie")
    button = panel.get_by_role("link", name="Run the safety questions now")
    # Keyboard: the button is a real link, reached and followed without the mouse.
    button.focus()
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect_first_section(page)


def test_inbox_row_starts_the_triage(page, desk, click_nav):
    from contacts import operations

    operations.create_contact(None, channel="email", email_subject="Au secours",
                              email_body="Je ne vois plus d'issue.", email_sender="x@example.be")
    db.session.commit()
    click_nav("Inbox")
    row = page.get_by_role("row").filter(has_text="Au secours")
    row.get_by_role("link", name=re.compile("^Run the triage")).click()
    expect_first_section(page)


def test_person_page_logs_the_exchange_and_runs_the_triage(page, desk, click_nav):
    advisor, person = desk
    click_nav("People")
    page.get_by_role("searchbox", name="Search a person").press_sequentially("lambert",
                                                                             delay=20)
    page.get_by_role("link", name=re.compile("Bénédicte Lambert")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bénédicte Lambert")
    page.get_by_role("link", name="Log this exchange and run the triage").click()
    expect(page.locator(".chosen-person")).to_contain_text("Bénédicte Lambert")
    page.get_by_label("Summary").fill("Rappel: fatigue, plus de clients.")
    page.get_by_role("button", name="Save and run the triage").click()
    expect_first_section(page)
    contact = db.session.scalar(db.select(Contact))
    assert (contact.person_id, contact.created_by_id) == (person.id, advisor.id)

    # Back on the person page, today's contact is the exchange under way: triage it.
    click_nav("People")
    page.get_by_role("searchbox", name="Search a person").press_sequentially("lambert",
                                                                             delay=20)
    page.get_by_role("link", name=re.compile("Bénédicte Lambert")).click()
    expect(page.get_by_role("link", name="Run the triage")).to_be_visible()


def test_ambassador_referral_confirmation_leads_to_the_triage(page, make_user, browser_login,
                                                              click_nav):
    browser_login(make_user("ambassador", name="Lotte Ambassadrice", language="en"))
    page.locator("#language-select").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    click_nav("Refer someone")
    page.get_by_label("Who is it?").fill("Marc Dubois")
    page.get_by_label("How to reach them").fill("0475 11 22 33")
    page.get_by_label("What did you notice?").fill("Il parle d'en finir avec la vie.")
    page.get_by_label("They agree to be contacted by the listening cell").check()
    page.get_by_role("button", name="Send to the cell").click()
    expect(page.get_by_role("status").filter(
        has_text="Thank you: the listening cell will take it from here.")).to_be_visible()
    page.get_by_role("link", name="Run the triage", exact=True).click()
    expect_first_section(page)
