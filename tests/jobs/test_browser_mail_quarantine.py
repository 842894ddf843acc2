"""In Chromium: an admin finds the mail quarantine from their home page, sees what is waiting
(never what the emails say), retries one into the inbox and discards the poison one."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from cellule.extensions import db
from cellule.mailbox import QuarantinedMessage
from contacts import mail_ingest
from contacts.models import Contact
from tests.conftest import follow_nav

from .conftest import make_email
from .test_mail_quarantine import SECRET_SUBJECT, SENDER, make_poison

pytestmark = pytest.mark.browser


def test_an_admin_retries_and_discards_quarantined_emails_by_clicking(
    app, page, live_server, make_user, browser_login, tmp_path, monkeypatch
):
    # Two emails `mail import` could not read: one hit a bug (since fixed), one is poison.
    real = mail_ingest.message_body

    def bug(message):
        if "bug" in message.subject:
            raise LookupError("unknown encoding")
        return real(message)

    monkeypatch.setattr(mail_ingest, "message_body", bug)
    files = []
    for name, raw in (("help.eml", make_email(sender=SENDER, subject="bug: à l'aide",
                                              text="Je veux me suicider.")),
                      ("poison.eml", make_poison())):
        path = tmp_path / name
        path.write_bytes(raw)
        files.append(str(path))
    result = app.test_cli_runner().invoke(args=["mail", "import", *files])
    assert result.exit_code == 0 and result.output.count("quarantined as #") == 2
    monkeypatch.undo()
    fixed, poison = db.session.scalars(select(QuarantinedMessage)
                                       .order_by(QuarantinedMessage.id)).all()

    browser_login(make_user("admin"))
    follow_nav(page, "Mail quarantine")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mail quarantine")
    table = page.get_by_role("table", name="Quarantined emails awaiting action")
    expect(table.get_by_role("row")).to_have_count(3)  # the header and two emails
    expect(table).to_contain_text("LookupError")
    expect(table).to_contain_text("MessageTooDeep")
    main = page.locator("#main")
    for private in (SENDER, "à l'aide", "suicider", SECRET_SUBJECT):
        expect(main).not_to_contain_text(private)

    page.get_by_role("button", name=f"Retry message {fixed.id}").click()
    expect(page.get_by_role("status")).to_contain_text("filed as an email contact")
    expect(table.get_by_role("row")).to_have_count(2)

    page.get_by_role("button", name=f"Retry message {poison.id}").click()
    expect(page.get_by_role("alert")).to_contain_text("still cannot be read")
    expect(table).to_contain_text("1 retry failed")

    page.get_by_role("link", name=f"Discard message {poison.id}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Discard a quarantined email")
    page.get_by_role("button", name="Discard the email").click()
    expect(page.get_by_text("Tick the box to confirm.")).to_be_visible()
    page.get_by_role("checkbox", name=re.compile("I understand")).check()
    page.get_by_role("button", name="Discard the email").click()
    expect(page.get_by_role("status")).to_contain_text("The message was discarded.")
    expect(page.get_by_text("No email is waiting in quarantine.")).to_be_visible()
    handled = page.get_by_role("table", name="Quarantined emails already handled")
    expect(handled).to_contain_text("Filed on")
    expect(handled).to_contain_text("Discarded on")

    db.session.expire_all()
    [contact] = db.session.scalars(select(Contact).where(Contact.channel == "email")).all()
    assert contact.email_sender == SENDER and contact.red_flagged
    assert [r.status for r in db.session.scalars(select(QuarantinedMessage)
                                                 .order_by(QuarantinedMessage.id))] == [
        "retried", "discarded"]
