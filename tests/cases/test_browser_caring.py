"""Caring messages in a browser, by clicks and typing only (issue 19): an advisor takes a
call, records the person's oral consent to caring messages without leaving it, opens the
case by the triage and starts the caring messages from the case page; a month on (time
moved), the job sends the first message (caught by aiosmtpd); the person's answer lands in
the inbox and on the case."""

import re
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
import time_machine
from playwright.sync_api import expect
from sqlalchemy import select

from cellule.extensions import db
from cellule.jobs import drain
from tests.jobs.conftest import make_email, smtp_server  # noqa: F401  (the fixture)

from .conftest import LEVEL_ANSWERS
from .test_browser import walk

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"CEL-\d{4}-\d{6}")
ADDRESS = "rosalie@example.be"


def _send_the_first_message(app):
    """Move time to the first message's day, in opening hours, and run the job there."""
    from cases.caring import operations as caring
    from cases.caring.models import CaringMessage

    first = db.session.scalar(select(CaringMessage).where(CaringMessage.number == 1))
    with time_machine.travel(first.due_at + timedelta(hours=1), tick=True):
        assert caring.send_due() == 1
        drain(app)


def _answer(message):
    from contacts import mail_ingest
    from contacts.mail_parse import BoundedMailMessage

    raw = make_email(sender=ADDRESS, subject="Re: " + message["Subject"],
                     text="Merci, ça me touche. Je vais un peu mieux.")
    answer = message_from_bytes(raw, policy=default_policy)
    answer["In-Reply-To"] = message["Message-ID"]
    mail_ingest.ingest_message(BoundedMailMessage.from_bytes(answer.as_bytes()))
    db.session.commit()


def test_caring_messages_from_the_consent_to_the_answer_on_the_case(
        app, page, live_server, browser_login, click_nav, make_user, resources, smtp_server):  # noqa: F811
    advisor = make_user("advisor", name="Ana Janssens")
    browser_login(advisor)
    click_nav("New contact")
    page.get_by_role("searchbox", name="Search a person").press_sequentially("Rosalie Dumont",
                                                                           delay=20)
    expect(page.locator("#search-results")).to_contain_text("No one found.")
    page.get_by_label("Name", exact=True).fill("Rosalie Dumont")
    page.get_by_label("Email", exact=True).fill(ADDRESS)
    page.get_by_label("Summary").fill("Appel: épuisée, ne voit plus d'issue.")
    page.get_by_role("button", name="Save the contact").click()
    page.get_by_role("link", name="Run the triage", exact=True).click()

    # During the call: the person agrees to caring messages, read out to her.
    page.get_by_text("Consents", exact=True).click()
    item = page.locator("#consent-caring_messages")
    item.get_by_label("How").select_option("oral")
    item.get_by_role("button", name="Agrees").click()
    expect(page.locator("#consent-caring_messages")).to_contain_text("agreed")

    walk(page, LEVEL_ANSWERS["imminent"])
    panel = page.get_by_role("region", name="Crisis protocol")
    panel.get_by_role("checkbox", name="The crisis numbers were given to the person").check()
    page.get_by_role("button", name="Record the decision").click()
    # The record's page (the proposal's own page links the case too: wait for the answer).
    expect(page.get_by_role("heading", level=1)).to_contain_text("Triage run")
    page.get_by_role("link", name=REFERENCE).first.click()

    # The case page: the card starts the series in the person's language.
    card = page.get_by_role("region", name="Caring messages")
    expect(card).to_contain_text("8 over a year")
    expect(card.get_by_label("Language of the messages")).to_have_value("fr")
    card.get_by_role("button", name="Start the caring messages").click()
    expect(page.get_by_role("status").or_(page.locator(".flash-success")).first) \
        .to_contain_text("Caring messages planned.")
    card = page.get_by_role("region", name="Caring messages")
    expect(card.locator("#caring-sent")).to_have_text("0 of 8")
    expect(card.locator("#caring-next")).to_contain_text("08:30")
    case_url = page.url

    # A month on: the first message leaves, signed by the cell, with the crisis lines.
    _send_the_first_message(app)
    [message] = smtp_server.messages
    assert message["To"] == ADDRESS
    text = message.get_content()
    assert "0800 32 123" in text and "112" in text and "stop" in text.lower()
    _answer(message)

    # Her answer is in the inbox, and on the case.
    click_nav("Inbox")
    page.get_by_role("link", name=re.compile(r"Re: ")).first.click()
    expect(page.get_by_text("Merci, ça me touche.")).to_be_visible()
    answer_path = page.url.removeprefix(live_server)
    page.get_by_role("link", name="Rosalie Dumont").click()
    page.get_by_role("link", name=REFERENCE).first.click()
    expect(page.locator("#caring-sent")).to_have_text("1 of 8")
    expect(page.locator(f'#case-timeline a[href="{answer_path}"]')).to_have_count(1)
    page.screenshot(path="/tmp/shots_caring19/case_after.png", full_page=True)
    assert page.url.split("#")[0] == case_url.split("#")[0]
