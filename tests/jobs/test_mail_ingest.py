"""Email in: a real Dovecot mailbox (and .eml files) become email contacts exactly once."""

import os
import shutil

import pytest
from sqlalchemy import select

from cellule.extensions import db
from cellule.jobs import drain
from cellule.mailbox import MailboxState
from cellule.outbox import OutboxMessage
from contacts import mail_ingest, operations
from contacts.models import Contact

from .conftest import email_contacts, make_email


def test_each_message_becomes_one_contact_then_is_flagged_seen(app, imap_server):
    person = operations.create_person(None, name="Jan Peeters", email="jan.peeters@example.be")
    db.session.commit()
    imap_server.deliver(make_email(text="Ik kan niet meer. Ik wil er een eind aan maken.",
                                   subject="Hulp"))
    imap_server.deliver(make_email(sender="unknown@example.org", text="Une question pratique."))

    assert mail_ingest.ingest_mailbox() == 2

    first, second = email_contacts()
    assert (first.person_id, first.email_sender, first.email_subject) == (
        person.id, "jan.peeters@example.be", "Hulp")
    assert "eind aan maken" in first.email_body
    assert first.red_flagged and first.in_inbox
    assert (second.person_id, second.red_flagged) == (None, False)
    assert (first.mailbox, first.mailbox_uid, second.mailbox_uid) == ("INBOX", 1, 2)
    assert first.mailbox_uidvalidity is not None and first.email_message_id.startswith("<")
    assert imap_server.seen_uids() == [1, 2] and imap_server.unseen_uids() == []
    state = db.session.scalar(select(MailboxState))
    assert (state.last_uid, state.uidvalidity) == (2, first.mailbox_uidvalidity)

    assert mail_ingest.ingest_mailbox() == 0  # nothing new
    assert len(email_contacts()) == 2


def test_html_is_kept_as_plain_text_and_attachments_are_listed_not_stored(app, imap_server):
    html = ("<html><head><style>p{color:red}</style><script>alert('x')</script></head>"
            "<body><p>Bonjour,<br>je suis <b>épuisé</b> &amp; seul.</p>"
            "<img src=x onerror=alert(1)><p>Marc</p></body></html>")
    imap_server.deliver(make_email(html=html, attachments=[
        ("bilan.pdf", "application/pdf", b"%PDF-1.4 " + b"x" * 3000)]))
    mail_ingest.ingest_mailbox()
    [contact] = email_contacts()
    body = contact.email_body
    assert "Bonjour," in body and "je suis épuisé & seul." in body and "Marc" in body
    for dropped in ("<", "alert", "color:red", "onerror"):
        assert dropped not in body
    assert "📎 bilan.pdf (application/pdf, 3 kB)" in body
    assert b"%PDF" not in body.encode()


def test_a_crash_between_the_commit_and_the_seen_flag_creates_no_duplicate(
    app, imap_server, monkeypatch
):
    imap_server.deliver(make_email(text="Premier message"))
    imap_server.deliver(make_email(text="Second message"))

    def crash(box, uid):
        raise ConnectionResetError("the worker died here")

    monkeypatch.setattr(mail_ingest, "flag_seen", crash)
    with pytest.raises(ConnectionResetError):
        mail_ingest.ingest_mailbox()
    # The first contact committed; its message is still unseen on the server.
    assert len(email_contacts()) == 1
    assert imap_server.unseen_uids() == [1, 2]

    monkeypatch.undo()
    assert mail_ingest.ingest_mailbox() == 1  # only the second one is new
    contacts = email_contacts()
    assert [c.mailbox_uid for c in contacts] == [1, 2]
    assert imap_server.seen_uids() == [1, 2]


def test_the_same_email_delivered_twice_is_one_contact(app, imap_server):
    raw = make_email(text="Bonjour, je voudrais parler à quelqu'un.",
                     message_id="<same-message@example.be>")
    imap_server.deliver(raw)
    imap_server.deliver(raw)
    assert mail_ingest.ingest_mailbox() == 1
    [contact] = email_contacts()
    assert contact.email_message_id == "<same-message@example.be>"
    assert imap_server.seen_uids() == [1, 2]  # both copies are marked handled


def test_a_message_opened_elsewhere_before_the_poll_is_still_ingested(app, imap_server):
    from imap_tools import MailMessageFlags

    imap_server.deliver(make_email(text="un"))
    mail_ingest.ingest_mailbox()
    imap_server.deliver(make_email(text="deux"))
    with imap_server.mailbox() as box:  # someone reads it in a mail client
        box.flag("2", MailMessageFlags.SEEN, True)
    assert mail_ingest.ingest_mailbox() == 1
    assert [c.mailbox_uid for c in email_contacts()] == [1, 2]


def test_a_new_uidvalidity_renumbers_without_duplicates(app, imap_server):
    imap_server.deliver(make_email(text="avant"))
    mail_ingest.ingest_mailbox()
    # The server rebuilt the mailbox: new UIDVALIDITY, UIDs start again, flags lost.
    imap_server.stop()
    for name in os.listdir(imap_server.maildir):
        if name.startswith("dovecot"):
            path = os.path.join(imap_server.maildir, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    cur = os.path.join(imap_server.maildir, "cur")
    for name in os.listdir(cur):
        os.rename(os.path.join(cur, name), os.path.join(imap_server.maildir, "new",
                                                        name.split(":")[0]))
    imap_server.start()
    imap_server.deliver(make_email(text="après"))
    assert mail_ingest.ingest_mailbox() == 1
    assert [c.email_body.strip() for c in email_contacts()] == ["avant", "après"]


def test_the_worker_polls_the_mailbox_every_minute(app, imap_server):
    from cellule import outbox

    imap_server.deliver(make_email(text="Par le job"))
    assert "ingest_mailbox" in outbox.schedule_periodic()
    drain(app)
    assert len(email_contacts()) == 1
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.job_name ==
                                                        "ingest_mailbox"))
    assert row.status == "done" and row.key.startswith("every:ingest_mailbox:")


def test_without_imap_settings_no_poll_is_requested(app):
    from cellule import outbox

    app.config["IMAP_HOST"] = ""
    assert "ingest_mailbox" not in outbox.schedule_periodic()
    assert mail_ingest.ingest_mailbox() == 0


def test_mail_import_uses_the_same_path_and_dedupes(app, tmp_path):
    path = tmp_path / "message.eml"
    path.write_bytes(make_email(text="Importé à la main", message_id="<imported@example.be>"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mail", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    result = runner.invoke(args=["mail", "import", str(path)])
    assert result.exit_code == 0 and "already imported" in result.output
    [contact] = email_contacts()
    assert (contact.mailbox, contact.mailbox_uid) == (None, None)
    assert contact.email_body.strip() == "Importé à la main"


def test_an_imported_message_that_then_arrives_by_imap_is_one_contact(app, imap_server, tmp_path):
    raw = make_email(text="Deux chemins", message_id="<both-ways@example.be>")
    path = tmp_path / "message.eml"
    path.write_bytes(raw)
    assert app.test_cli_runner().invoke(args=["mail", "import", str(path)]).exit_code == 0
    imap_server.deliver(raw)
    assert mail_ingest.ingest_mailbox() == 0
    [contact] = email_contacts()
    assert imap_server.seen_uids() == [1]


def test_a_message_without_message_id_is_known_by_its_content(app, tmp_path):
    raw = make_email(text="Sans identifiant").replace(b"Message-ID:", b"X-Old-Id:")
    path = tmp_path / "no-id.eml"
    path.write_bytes(raw)
    for _ in range(2):
        app.test_cli_runner().invoke(args=["mail", "import", str(path)])
    [contact] = email_contacts()
    assert contact.email_message_id.endswith("@cellule.invalid>")


def test_the_database_refuses_a_second_contact_for_one_message(app):
    from sqlalchemy.exc import IntegrityError

    for _ in range(2):
        db.session.add(Contact(channel="email", direction="in", email_sender="a@b.be",
                               email_message_id="<dup@b.be>"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
