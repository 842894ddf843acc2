"""In Chromium: an advisor answers a person's email from the inbox, from a template she edits,
and finds the email sent on the case and on the person's history (issue 15)."""

import os
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from cases import operations as case_ops
from cellule.extensions import db
from cellule.types import utcnow
from contacts import mail_ingest, operations
from contacts.mail_parse import BoundedMailMessage
from contacts.reply_templates import ReplyTemplate
from tests.core.mail_helpers import delivered, mailbox, text_of  # noqa: F401  (the fixture)
from tests.jobs.conftest import make_email

pytestmark = pytest.mark.browser

SHOTS = "/tmp/shots_replies"
ADDRESS = "sophie.martin@example.be"


def shoot(page, name):
    """Screenshots of the page at a laptop's width and a phone's."""
    os.makedirs(SHOTS, exist_ok=True)
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


@pytest.fixture
def case_with_email(app, make_user):
    advisor = make_user("advisor", name="Claire Dumont")
    person = operations.create_person(advisor, name="Sophie Martin", email=ADDRESS,
                                      language="fr")
    db.session.add(ReplyTemplate(
        kind="reply", name="Rappel", language="fr", subject="Votre message",
        body="Bonjour {first_name},\nMerci pour votre message.\n{advisor_name}"))
    db.session.commit()
    contact, _ = mail_ingest.ingest_message(BoundedMailMessage.from_bytes(make_email(
        sender=ADDRESS, subject="Besoin d'aide", text="Je n'en peux plus du travail.")))
    case = case_ops.open_case(person_id=person.id, level="elevated", route="information",
                              due_at=utcnow() + timedelta(days=2), actor=advisor)
    case_ops.link_contact(case, contact, advisor)
    db.session.commit()
    return advisor, case.reference


def test_an_advisor_answers_an_email_from_a_template_and_finds_it_on_the_case(
    app, page, browser_login, click_nav, case_with_email, mailbox  # noqa: F811
):
    advisor, reference = case_with_email
    browser_login(advisor)
    click_nav("Inbox")
    page.get_by_role("link", name="Besoin d'aide").click()
    page.get_by_role("link", name="Reply", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Reply to an email")
    expect(page.get_by_label("Subject")).to_have_value("Re: Besoin d'aide")
    expect(page.get_by_label("File on case")).to_have_value(re.compile(r"^\d+$"))
    page.get_by_label("Start from a template").select_option(label="Rappel (fr)")
    page.get_by_role("button", name="Use this template").click()
    body = page.get_by_label("Your message")
    expect(body).to_have_value("Bonjour Sophie,\nMerci pour votre message.\nClaire Dumont")
    shoot(page, "reply-form")
    body.fill("Bonjour Sophie,\nMerci pour votre message. Je vous appelle demain à 10 h.\n"
              "Claire Dumont")
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("status").filter(has_text="Your email is on its way.")).to_be_visible()
    expect(page.locator("#delivery-state")).to_have_text("waiting to be sent")
    shoot(page, "reply-sent")
    [message] = delivered(app, mailbox, to=ADDRESS)
    assert "Je vous appelle demain à 10 h." in text_of(message)
    page.reload()
    expect(page.locator("#delivery-state")).to_contain_text("sent at")

    page.get_by_role("link", name="Sophie Martin").click()
    history = page.locator(".timeline")
    expect(history.locator("li").filter(has_text="Outgoing").first).to_be_visible()
    shoot(page, "person-history")
    page.get_by_role("link", name=reference).first.click()
    expect(page.locator("header.case-head #case-due")).to_have_text("answered")
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline.get_by_role("listitem").filter(has_text="Contact linked").filter(
        has_text=re.compile(r"Email.* · outgoing")).first).to_be_visible()
    shoot(page, "case-page")
    page.get_by_role("link", name="Write an email").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Write an email")
    expect(page.get_by_label("File on case")).to_contain_text(reference)
    shoot(page, "new-email")
