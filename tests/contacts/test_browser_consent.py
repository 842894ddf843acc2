"""Consent during a call, by clicks and typing only (issue 20): an advisor takes a call,
runs the triage and, without leaving it, records the person's oral consent to caring
messages from the text read out; the person page shows it, and its withdrawal too."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_an_oral_consent_recorded_during_a_call_shows_on_the_person_page(
        page, live_server, browser_login, click_nav, make_user):
    advisor = make_user("advisor", name="Ana Janssens")
    browser_login(advisor)
    click_nav("New contact")
    page.get_by_role("searchbox", name="Search a person").press_sequentially("Griet Peeters",
                                                                           delay=20)
    expect(page.locator("#search-results")).to_contain_text("No one found.")
    page.get_by_label("Name", exact=True).fill("Griet Peeters")
    page.get_by_label("Language of the person").select_option("nl")
    page.get_by_label("Summary").fill("Belt over haar werkdruk.")
    page.get_by_role("button", name="Save the contact").click()
    page.get_by_role("link", name="Run the triage", exact=True).click()
    triage_url = page.url

    # On the triage screen, the consent panel: the text in the person's language, read out.
    page.get_by_text("Consents", exact=True).click()
    item = page.locator("#consent-caring_messages")
    expect(item).to_contain_text("not asked")
    item.get_by_text("Text to read out").click()
    expect(item.locator("blockquote")).to_contain_text("twaalf maanden")
    # Each purpose's "How" says which purpose it is (one such select a purpose).
    page.get_by_role("combobox", name="How · Caring messages", exact=True).select_option("oral")
    item.get_by_role("button", name="Agrees").click()
    expect(page.get_by_role("status").filter(has_text="The consent was recorded.")).to_be_visible()
    expect(page.locator("#consent-caring_messages")).to_contain_text("agreed")
    expect(page.locator("#consent-caring_messages")).to_contain_text("Ana Janssens")
    assert page.url == triage_url  # still in the call

    # The person page says it, with the date, the channel and who recorded it.
    page.get_by_role("link", name="Consent history").click()
    expect(page.get_by_role("link", name="Back to the call")).to_be_visible()
    page.get_by_role("link", name="Back to the person").click()
    row = page.get_by_role("row", name="Caring messages")
    expect(row).to_contain_text("agreed")
    expect(row).to_contain_text("Oral (during a call)")
    expect(row).to_contain_text("Ana Janssens")

    # Withdrawn later, in writing: the card and the history say so.
    page.get_by_role("link", name="Record or withdraw a consent").click()
    item = page.locator("#consent-caring_messages")
    page.get_by_role("combobox", name="How · Caring messages", exact=True).select_option(
        "written")
    item.get_by_role("button", name="Withdraw").click()
    expect(page.locator("#consent-caring_messages")).to_contain_text("withdrawn")
    history = page.get_by_role("region", name="Consent history")
    expect(history).to_contain_text("caring_messages/v1")
    page.get_by_role("link", name="Back to the person").click()
    row = page.get_by_role("row", name="Caring messages")
    expect(row).to_contain_text("withdrawn")
    expect(row).to_contain_text("Written")
