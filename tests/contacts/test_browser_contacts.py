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
    page.goto(pop["screen_pop_url"].replace("http://localhost", live_server))
    expect(page.locator(".chosen-person")).to_contain_text("Bénédicte Lambert")
    page.get_by_label("Summary").fill("Rappel de suivi, va mieux.")
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Save the contact").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Phone")
    assert time.monotonic() - started < 60
    contact = db.session.scalar(db.select(Contact))
    assert (contact.person_id, contact.call_id) == (person.id, "pbx-42")
