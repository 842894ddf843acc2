"""One email can no longer stop the mailbox (issue 12, break 6): a message that cannot be
ingested is quarantined — kept raw, flagged seen, passed by the cursor — and the poll goes
on; admins see it (metadata only), retry or discard it; health counts it."""

import re
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlalchemy import func, select

from cellule.extensions import db
from cellule.mailbox import MailboxState, QuarantinedMessage
from cellule.models import AuditEvent
from contacts import mail_ingest, mail_parse

from .conftest import email_contacts, make_email

SECRET_SUBJECT = "Confidentiel: mon burn-out"
SENDER = "marie.dupont@example.be"


def make_poison(depth=300, subject=SECRET_SUBJECT):
    """A message of `depth` message/rfc822 parts nested in each other (the reported one)."""
    inner = EmailMessage()
    inner["From"] = f"Marie Dupont <{SENDER}>"
    inner["Subject"] = "le fond"
    inner.set_content("Je n'en peux plus.")
    raw = inner.as_bytes(policy=SMTP)  # CRLF throughout, as the server stores it
    for level in range(depth):
        raw = (b"From: Marie Dupont <" + SENDER.encode() + b">\r\n"
               b"Subject: " + (subject if level == depth - 1 else f"niveau {level}").encode()
               + b"\r\nMessage-ID: <poison-%d@example.be>\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: message/rfc822\r\n\r\n" % level + raw)
    return raw


def quarantined():
    db.session.rollback()
    db.session.expire_all()
    return db.session.scalars(select(QuarantinedMessage).order_by(QuarantinedMessage.id)).all()


def health(client):
    return client.get("/api/v1/health").get_json()


# --- The poll -----------------------------------------------------------------------------


def test_good_poison_good_files_both_good_ones_and_quarantines_the_poison(app, imap_server,
                                                                         client):
    poison = make_poison()
    imap_server.deliver(make_email(text="Premier message, tout va bien."))
    imap_server.deliver(poison)
    imap_server.deliver(make_email(text="Ik wil er een eind aan maken.", subject="Na"))

    assert mail_ingest.ingest_mailbox() == 2

    first, last = email_contacts()
    assert (first.mailbox_uid, last.mailbox_uid) == (1, 3)
    assert last.red_flagged  # the distress email behind the poison one is filed
    [row] = quarantined()
    assert (row.mailbox, row.uid, row.status) == ("INBOX", 2, "pending")
    assert row.uidvalidity == first.mailbox_uidvalidity
    assert row.raw == poison and row.size == len(poison)
    assert row.error == "MessageTooDeep" and "nested deeper than" in row.reason
    assert row.message_id == "<poison-299@example.be>"
    # Marked seen on the server, passed by the cursor.
    assert imap_server.seen_uids() == [1, 2, 3] and imap_server.unseen_uids() == []
    assert db.session.scalar(select(MailboxState)).last_uid == 3
    assert health(client)["mail_quarantine"] == 1

    assert mail_ingest.ingest_mailbox() == 0  # a second poll files nothing more
    assert len(email_contacts()) == 2 and len(quarantined()) == 1


def test_any_unexpected_error_of_one_message_quarantines_it_with_a_reason_without_content(
    app, imap_server, monkeypatch
):
    real = mail_ingest.message_body

    def breaks_on_one(message):
        if "casse" in message.subject:
            raise ValueError(f"cannot decode the part sent by {SENDER}")  # content in the text
        return real(message)

    monkeypatch.setattr(mail_ingest, "message_body", breaks_on_one)
    imap_server.deliver(make_email(sender=SENDER, subject="Ça casse", text="Aidez-moi"))
    imap_server.deliver(make_email(text="Le suivant"))

    assert mail_ingest.ingest_mailbox() == 1
    [row] = quarantined()
    assert (row.uid, row.error) == (1, "ValueError")
    assert row.reason == "unexpected ValueError in breaks_on_one"
    assert SENDER not in row.reason and "casse" not in row.reason.lower()
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "quarantine"))
    assert (audit.object_type, audit.object_id, audit.user_id) == ("mail_message",
                                                                   str(row.id), None)
    assert SENDER not in (audit.detail or "")
    assert [c.email_body.strip() for c in email_contacts()] == ["Le suivant"]
    assert imap_server.seen_uids() == [1, 2]


def test_a_database_outage_is_not_a_quarantine_the_poll_stops_and_resumes(
    app, imap_server, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    imap_server.deliver(make_email(text="Pendant la panne"))

    def down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("could not connect to server"))

    monkeypatch.setattr(mail_ingest, "create_contact", down)
    with pytest.raises(OperationalError):
        mail_ingest.ingest_mailbox()
    assert quarantined() == [] and imap_server.unseen_uids() == [1]

    monkeypatch.undo()
    assert mail_ingest.ingest_mailbox() == 1
    assert quarantined() == [] and imap_server.seen_uids() == [1]


def test_a_message_above_the_maximum_size_is_quarantined_without_being_downloaded(
    app, imap_server, monkeypatch
):
    app.config["MAIL_MAX_MESSAGE_BYTES"] = 20_000
    big = make_email(text="Voir la pièce jointe", attachments=[
        ("scan.pdf", "application/pdf", b"%PDF-1.4 " + b"x" * 40_000)])
    imap_server.deliver(big)
    imap_server.deliver(make_email(text="Petit message"))
    fetched = []
    real_fetch = mail_ingest.BoundedMailMessage.__init__

    def spy(self, fetch_data):
        real_fetch(self, fetch_data)
        fetched.append(len(self.raw))

    monkeypatch.setattr(mail_ingest.BoundedMailMessage, "__init__", spy)

    assert mail_ingest.ingest_mailbox() == 1
    [row] = quarantined()
    assert (row.uid, row.error, row.raw) == (1, "MessageTooLarge", None)
    assert row.size >= len(big) - 100 and "larger than the maximum" in row.reason
    assert max(fetched) < 20_000  # the big one never came down
    assert imap_server.seen_uids() == [1, 2]


def test_a_crash_after_the_quarantine_before_the_seen_flag_makes_no_second_row(
    app, imap_server, monkeypatch
):
    imap_server.deliver(make_poison())

    def crash(box, uid):
        raise ConnectionResetError("the worker died here")

    monkeypatch.setattr(mail_ingest, "flag_seen", crash)
    with pytest.raises(ConnectionResetError):
        mail_ingest.ingest_mailbox()
    monkeypatch.undo()
    assert imap_server.unseen_uids() == [1]
    assert mail_ingest.ingest_mailbox() == 0
    assert len(quarantined()) == 1 and imap_server.seen_uids() == [1]


def test_an_html_email_with_a_soft_hyphen_in_a_phrase_is_red_flagged(app, imap_server):
    imap_server.deliver(make_email(html="<p>Je pense &agrave; me sui&shy;cider.</p>"))
    assert mail_ingest.ingest_mailbox() == 1
    [contact] = email_contacts()
    assert contact.red_flagged and contact.in_inbox


# --- Bounded parsing ----------------------------------------------------------------------


@pytest.mark.parametrize("depth", [300, 5000])
def test_parsing_stops_at_the_depth_limit_without_recursing(depth):
    with pytest.raises(mail_parse.MessageTooDeep):
        mail_parse.parse_bytes(make_poison(depth))


def test_parsing_refuses_a_message_of_too_many_parts():
    message = EmailMessage()
    message["Subject"] = "many"
    message.set_content("x")
    for n in range(mail_parse.MAX_PARTS + 1):
        message.add_attachment(b"x", maintype="application", subtype="octet-stream",
                               filename=f"{n}.bin")
    with pytest.raises(mail_parse.MessageTooComplex):
        mail_parse.parse_bytes(message.as_bytes())


def test_an_ordinary_forward_chain_is_still_read():
    from email import message_from_bytes

    raw = make_email(text="Le message transféré")
    for _ in range(8):  # eight forwards, each attaching the previous one
        outer = EmailMessage()
        outer["Subject"] = "Fwd"
        outer.set_content("voir ci-dessous")
        outer.add_attachment(message_from_bytes(raw))
        raw = outer.as_bytes()
    message = mail_parse.BoundedMailMessage.from_bytes(raw)
    assert message.text.startswith("voir ci-dessous")
    assert len(message.attachments) == 8


# --- mail import ------------------------------------------------------------------------------


def test_mail_import_of_the_poison_file_quarantines_it_and_exits_cleanly(app, tmp_path,
                                                                         client):
    poison, good = tmp_path / "poison.eml", tmp_path / "good.eml"
    poison.write_bytes(make_poison())
    good.write_bytes(make_email(text="Importé après"))
    result = app.test_cli_runner().invoke(args=["mail", "import", str(poison), str(good)])
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert re.search(r"poison\.eml: could not be read \(parts nested deeper than \d+ levels\); "
                     r"quarantined as #\d+", result.output)
    assert "good.eml: contact" in result.output and "created" in result.output
    [row] = quarantined()
    assert (row.mailbox, row.uid, row.status) == (None, None, "pending")
    assert len(email_contacts()) == 1
    # Imported again: the same row, not a second one.
    app.test_cli_runner().invoke(args=["mail", "import", str(poison)])
    assert len(quarantined()) == 1
    assert health(client)["mail_quarantine"] == 1


# --- The admin page: list, retry, discard ------------------------------------------------------


@pytest.fixture
def broken_then_fixed(app, imap_server, monkeypatch):
    """A message quarantined by a bug (now fixed) and the poison one, by a real poll."""
    real = mail_ingest.message_body

    def bug(message):
        if "bug" in message.subject:
            raise KeyError("charset")
        return real(message)

    monkeypatch.setattr(mail_ingest, "message_body", bug)
    imap_server.deliver(make_email(sender=SENDER, subject="bug: aidez-moi",
                                   text="Je suis à bout, je veux me suicider."))
    imap_server.deliver(make_poison())
    assert mail_ingest.ingest_mailbox() == 0
    monkeypatch.undo()
    return quarantined()


def test_admins_see_the_quarantine_as_metadata_only_from_their_home(client, login_as,
                                                                     broken_then_fixed):
    login_as("admin")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/admin/mail-quarantine/"' in home
    html = client.get("/admin/mail-quarantine/").get_data(as_text=True)
    fixed, poison = broken_then_fixed
    for row in (fixed, poison):
        assert f'id="quarantined-{row.id}"' in html
    assert "KeyError" in html and "MessageTooDeep" in html and "UID 2" in html
    for private in (SENDER, "Marie", "aidez-moi", "suicider", SECRET_SUBJECT, "bout",
                    "poison-", "le fond"):
        assert private not in html


@pytest.mark.parametrize("role", ["ambassador", "advisor", "psychologist", "supervisor"])
def test_other_roles_have_neither_the_page_nor_the_link(client, login_as, broken_then_fixed,
                                                        role):
    login_as(role)
    row = broken_then_fixed[0]
    assert client.get("/admin/mail-quarantine/").status_code == 403
    assert client.post_form(f"/admin/mail-quarantine/{row.id}/retry").status_code == 403
    assert 'href="/admin/mail-quarantine/"' not in client.get("/").get_data(as_text=True)
    assert quarantined()[0].status == "pending"


def test_retry_files_the_message_exactly_once_through_the_same_path(app, client, login_as,
                                                                    broken_then_fixed,
                                                                    imap_server):
    admin = login_as("admin")
    fixed, poison = broken_then_fixed
    assert health(client)["mail_quarantine"] == 2
    response = client.post_form(f"/admin/mail-quarantine/{fixed.id}/retry")
    assert response.status_code == 303
    page = client.get("/admin/mail-quarantine/").get_data(as_text=True)
    assert "filed as an email contact" in page

    [contact] = email_contacts()
    assert (contact.mailbox, contact.mailbox_uid, contact.email_sender) == ("INBOX", 1, SENDER)
    assert contact.red_flagged and contact.in_inbox
    row = db.session.get(QuarantinedMessage, fixed.id)
    assert (row.status, row.raw, row.retried_by_id) == ("retried", None, admin.id)
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retry"))
    assert (audit.user_id, audit.object_type, audit.object_id) == (admin.id, "mail_message",
                                                                   str(row.id))
    assert health(client)["mail_quarantine"] == 1

    # Once: a second click, and the next polls, make nothing more.
    assert client.post_form(f"/admin/mail-quarantine/{fixed.id}/retry").status_code == 404
    assert mail_ingest.ingest_mailbox() == 0
    assert len(email_contacts()) == 1


def test_a_retry_that_fails_again_keeps_the_message_and_says_why(client, login_as,
                                                                  broken_then_fixed):
    login_as("admin")
    poison = broken_then_fixed[1]
    response = client.post_form(f"/admin/mail-quarantine/{poison.id}/retry",
                                follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "still cannot be read" in html and "nested deeper than" in html
    row = db.session.get(QuarantinedMessage, poison.id)
    assert (row.status, row.failed_retries) == ("pending", 1) and row.raw is not None
    assert "1 retry failed" in html
    assert email_contacts() == []


def test_discard_asks_first_then_deletes_the_bytes_and_keeps_the_row(client, login_as,
                                                                     broken_then_fixed):
    admin = login_as("admin")
    poison = broken_then_fixed[1]
    confirm = client.get(f"/admin/mail-quarantine/{poison.id}/discard")
    assert confirm.status_code == 200 and "cannot be retried" in confirm.get_data(as_text=True)
    refused = client.post_form(f"/admin/mail-quarantine/{poison.id}/discard")
    assert refused.status_code == 422 and "Tick the box" in refused.get_data(as_text=True)
    assert db.session.get(QuarantinedMessage, poison.id).status == "pending"

    done = client.post_form(f"/admin/mail-quarantine/{poison.id}/discard", {"confirm": "y"})
    assert done.status_code == 303
    row = db.session.get(QuarantinedMessage, poison.id)
    assert (row.status, row.raw, row.discarded_by_id) == ("discarded", None, admin.id)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "discard",
                                    AuditEvent.object_id == str(row.id))) == 1
    page = client.get("/admin/mail-quarantine/").get_data(as_text=True)
    assert "Discarded on" in page
    assert client.get(f"/admin/mail-quarantine/{poison.id}/discard").status_code == 404
    assert health(client)["mail_quarantine"] == 1
