"""A referral's life in a browser, by clicks and typing only (issue 20): from the home
page an advisor opens a case, refers the person to a partner, records their agreement,
emails the handover pack (caught by aiosmtpd), then the partner's confirmation and the
first appointment attended; without the person's `share_partner` consent the pack is
refused, with a link to record it."""

import pytest
from playwright.sync_api import expect

from cellule.extensions import db
from cellule.jobs import drain
from tests.jobs.conftest import smtp_server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

PARTNER = "Un pass dans l'impasse"
PARTNER_MAIL = "accueil@pass-impasse.example.be"


@pytest.fixture
def world(make_user, make_person, triage, resources):
    """An advisor's case of a person (phone, email), and a partner with an address."""
    from cases.models import Resource

    advisor = make_user("advisor", name="Ana Janssens")
    db.session.add(Resource(name=PARTNER, kind="external_specialist", languages=["fr"],
                            email=PARTNER_MAIL, active=True))
    person = make_person(name="Rosalie Dumont", phone="0470 12 34 56",
                         email="rosalie@example.be", language="fr")
    _run, case = triage("elevated", user=advisor, person=person)
    if case.assignee_id is None:
        case.assignee_id = advisor.id
    db.session.commit()
    return {"advisor": advisor, "case": case, "person": person}


def _consent(person, actor):
    from contacts.consent.operations import current_text_version, record_consent

    record_consent(person, "share_partner", granted=True, channel="oral",
                   text_version=current_text_version("share_partner"), actor=actor)
    db.session.commit()


def _open_the_case_and_refer(page, case):
    page.locator("#main").get_by_role("link", name=case.reference).first.click()
    expect(page.get_by_role("heading", name=f"Case {case.reference}", level=1)).to_be_visible()
    choose = page.get_by_label("Refer to")
    choose.select_option(choose.locator("option", has_text=PARTNER).get_attribute("value"))
    page.get_by_label("Note", exact=True).last.fill("Épuisement, cherche un accompagnement")
    page.get_by_role("button", name="Record the referral").click()
    card = page.get_by_role("region", name="Referrals")
    expect(card.locator(".referral-state")).to_have_text("Proposed")
    card.get_by_role("button", name="The person accepts").click()
    expect(card.locator(".referral-state")).to_have_text("Accepted by the person")
    return card


def test_a_referral_sent_confirmed_and_attended(app, page, browser_login, click_nav, world,
                                                smtp_server):  # noqa: F811
    _consent(world["person"], world["advisor"])
    browser_login(world["advisor"])
    card = _open_the_case_and_refer(page, world["case"])

    page.evaluate("window.referralMark = 'still here'")  # the steps load no page
    card.get_by_role("button", name="Email the handover pack").click()
    expect(card.locator(".referral-state")).to_have_text("Sent to the partner")
    drain(app)
    [message] = smtp_server.messages
    assert message["To"] == PARTNER_MAIL
    text = message.get_content()
    assert "Rosalie Dumont" in text and "0470 12 34 56" in text and "Épuisement" in text

    card.get_by_role("button", name="The partner confirms").click()
    expect(card.locator(".referral-state")).to_have_text("Confirmed by the partner")
    card.get_by_role("button", name="Attended the first appointment").click()
    expect(card.locator(".referral-state")).to_have_text("First appointment attended")
    expect(card.locator(".referral-steps li")).to_have_count(5)
    # Each step is on the timeline as soon as it is recorded, the page never reloaded.
    timeline = page.get_by_role("list", name="Events, newest first")
    for state in ("Sent to the partner", "Confirmed by the partner",
                  "First appointment attended"):
        expect(timeline.get_by_role("listitem").filter(has_text="Referral step").filter(
            has_text=state)).to_have_count(1)
    assert page.evaluate("window.referralMark") == "still here"
    page.screenshot(path="/tmp/shots_referral20/case_attended_1366.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path="/tmp/shots_referral20/case_attended_390.png", full_page=True)
    drain(app)
    assert len(smtp_server.messages) == 1  # the pack went once

    # The list per partner, from the navigation, filtered by state.
    click_nav("Referrals to partners")
    rows = page.locator("#partner-referrals")
    expect(rows.get_by_role("row")).to_have_count(1)
    expect(rows).to_contain_text(world["case"].reference)
    page.screenshot(path="/tmp/shots_referral20/partners_390.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_label("State").select_option("declined")
    expect(rows).to_contain_text("No referral matches.")
    page.get_by_label("State").select_option("attended")
    expect(rows).to_contain_text("First appointment attended")
    page.screenshot(path="/tmp/shots_referral20/partners_1366.png", full_page=True)


def test_a_handover_refused_without_consent(page, browser_login, world):
    browser_login(world["advisor"])
    card = _open_the_case_and_refer(page, world["case"])
    expect(card).to_contain_text("No consent to share with a partner yet.")
    card.get_by_role("button", name="Email the handover pack").click()
    alert = card.get_by_role("alert")
    expect(alert).to_contain_text("no handover pack without it")
    expect(card.locator(".referral-state")).to_have_text("Accepted by the person")
    page.screenshot(path="/tmp/shots_referral20/case_refused_1366.png", full_page=True)
    alert.get_by_role("link", name="Record the person's consent").click()
    expect(page.locator("#consent-share_partner")).to_be_visible()
