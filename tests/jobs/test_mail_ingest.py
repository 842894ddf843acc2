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


# --- Issue 15: decoded like a mail client, filed exactly once ------------------------------


def _raw(*headers, body=b"Bonjour.\n"):
    return b"\n".join((b"To: cellule@fund.test", b"Date: Tue, 10 Mar 2026 10:00:00 +0100",
                       *headers)) + b"\n\n" + body


def _import(app, tmp_path, raw, name="message.eml"):
    path = tmp_path / name
    path.write_bytes(raw)
    return app.test_cli_runner().invoke(args=["mail", "import", str(path)])


@pytest.mark.parametrize("sender", [None, b"From: <>", b"From: MAILER DAEMON <>",
                                    b"From: anna@example.de max@example.de",
                                    b"From: undisclosed-recipients:;"])
def test_a_message_without_a_usable_sender_is_filed_once(app, tmp_path, sender):
    raw = _raw(*([sender] if sender else []), b"Message-ID: <no-sender@example.be>",
               b"Subject: sans nom", body=b"Je veux mourir.\n")
    for _ in range(2):
        result = _import(app, tmp_path, raw)
        assert result.exit_code == 0, result.output
    assert "already imported" in result.output
    [contact] = email_contacts()
    assert contact.email_sender == "" and contact.red_flagged


def test_a_message_without_message_id_imported_then_polled_is_one_contact(
    app, imap_server, tmp_path
):
    raw = _raw(b"From: Kris Mertens <kris.mertens@example.be>", b"Subject: zonder id",
               b"Content-Type: text/plain; charset=utf-8",
               body=b"Ik zie het niet meer zitten.\nTot straks.\n")  # LF, as saved on disk
    assert "created" in _import(app, tmp_path, raw).output
    imap_server.deliver(raw)  # Dovecot serves it with CRLF
    assert mail_ingest.ingest_mailbox() == 0
    [contact] = email_contacts()
    assert contact.email_message_id.startswith("<raw-sha256.")
    assert imap_server.seen_uids() == [1]


@pytest.mark.parametrize("senders", [(None, None), (None, ""), ("", "")])
def test_the_database_refuses_a_second_senderless_contact_for_one_message(app, senders):
    from sqlalchemy.exc import IntegrityError

    for sender in senders:
        db.session.add(Contact(channel="email", direction="in", email_sender=sender,
                               email_message_id="<dup-without-sender@b.be>"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_outlook_windows_1252_labelled_latin_1_reads_as_written_and_is_flagged(
    app, tmp_path, login_as, client
):
    raw = _raw(b"From: Marie Dubois <marie.dubois@example.be>", b"Subject: Je n\x92en peux plus",
               b"Content-Type: text/plain; charset=iso-8859-1",
               body="J’ai envie de mourir, l’atelier ferme.\n".encode("cp1252"))
    _import(app, tmp_path, raw)
    [contact] = email_contacts()
    login_as("advisor")
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "J’ai envie de mourir, l’atelier ferme." in page
    assert "Je n’en peux plus" in page and "\x92" not in page
    assert "red flag" in page and "decoded with losses" not in page


def test_undeclared_latin_1_keeps_every_letter(app, tmp_path):
    _import(app, tmp_path, _raw(b"From: a@example.be", b"Subject: aide",
                                body="J'ai des idées suicidaires.\n".encode("latin-1")))
    [contact] = email_contacts()
    assert contact.email_body == "J'ai des idées suicidaires." and contact.red_flagged


def test_the_html_alternative_is_read_when_the_text_part_is_a_stub(app, tmp_path):
    html = "<p>Je ne vois plus d’issue, j’ai des idées noires.</p>".encode()
    raw = _raw(b"From: a@example.be", b"Subject: x",
               b'Content-Type: multipart/alternative; boundary="A"',
               body=b"--A\nContent-Type: text/plain\n\nThis message is in HTML format.\n"
                    b"--A\nContent-Type: text/html; charset=utf-8\n\n" + html + b"\n--A--\n")
    _import(app, tmp_path, raw)
    [contact] = email_contacts()
    assert "idées noires" in contact.email_body and "HTML format" not in contact.email_body
    assert contact.red_flagged


def test_an_inline_text_part_with_a_filename_is_the_body(app, tmp_path):
    raw = _raw(b"From: a@example.be", b"Subject: x",
               b'Content-Type: multipart/mixed; boundary="M"',
               body=b"--M\nContent-Type: text/plain; charset=utf-8; name=ATT00001.txt\n"
                    b"Content-Disposition: inline; filename=ATT00001.txt\n\n"
                    b"Ich will nicht mehr leben.\n--M--\n")
    _import(app, tmp_path, raw)
    [contact] = email_contacts()
    assert contact.email_body == "Ich will nicht mehr leben." and contact.red_flagged


def test_html_with_its_charset_only_in_meta_and_headers_in_raw_utf8(app, tmp_path):
    raw = _raw("From: Jürgen Groß <j@example.de>".encode(),
               "Subject: Ich weiß nicht mehr weiter".encode(),
               b"Content-Type: text/html",
               body='<meta charset="windows-1252"><p>Grüße, Jörg</p>'.encode("cp1252"))
    _import(app, tmp_path, raw)
    [contact] = email_contacts()
    assert contact.email_subject == "Ich weiß nicht mehr weiter"
    assert contact.email_body == "Grüße, Jörg" and contact.red_flagged


def test_an_encoded_word_holding_raw_8bit_bytes_is_decoded(app, tmp_path):
    _import(app, tmp_path, _raw(b"From: a@example.be",
                                b"Subject: =?iso-8859-1?q?Id\xe9es_noires?="))
    [contact] = email_contacts()
    assert contact.email_subject == "Idées noires" and contact.red_flagged


def test_an_attached_message_is_listed_not_mixed_in_and_its_distress_is_flagged(
    app, tmp_path, login_as, client
):
    raw = _raw(b"From: Lies Dierckx <lies@example.be>", b"Subject: Fwd: bericht",
               b'Content-Type: multipart/mixed; boundary="F"',
               body=b"--F\nContent-Type: text/plain\n\nMijn broer stuurde me dit.\n"
                    b"--F\nContent-Type: message/rfc822\n\nFrom: Koen <koen@example.be>\n"
                    b"Subject: Ik kan niet meer\n\nIk heb zelfmoordgedachten.\n--F--\n")
    _import(app, tmp_path, raw)
    [contact] = email_contacts()
    assert contact.email_body.startswith("Mijn broer stuurde me dit.\n\n✉ Ik kan niet meer")
    assert "zelfmoordgedachten" not in contact.email_body
    assert contact.red_flagged
    login_as("advisor")
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "« zelfmoordgedachten » <span class=\"muted\">in an attached message" in page
    original = client.get(f"/contacts/{contact.id}/original")
    assert original.status_code == 200
    assert "Ik heb zelfmoordgedachten." in original.get_data(as_text=True)


def test_a_broken_boundary_keeps_the_raw_text_marked(app, tmp_path):
    raw = _raw(b"From: a@example.be", b"Subject: x",
               b'Content-Type: multipart/mixed; boundary="DECLARED"',
               body=b"--ACTUAL\nContent-Type: text/plain\n\nJe veux me suicider.\n--ACTUAL--\n")
    _import(app, tmp_path, raw)
    [contact] = email_contacts()
    assert "Je veux me suicider." in contact.email_body and contact.red_flagged
    assert contact.email_losses == ["malformed"]


def test_an_outlook_msg_file_is_refused_by_the_cli_and_quarantined_by_the_poll(
    app, imap_server, tmp_path
):
    from cellule.mailbox import QuarantinedMessage

    msg = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500 + "suïcide".encode("utf-16-le")
    result = _import(app, tmp_path, msg, name="bericht.msg")
    assert result.exit_code == 1
    assert "refused: an Outlook .msg file (binary), not an email" in result.output
    assert email_contacts() == [] and db.session.scalars(select(QuarantinedMessage)).all() == []

    imap_server.deliver(msg)
    assert mail_ingest.ingest_mailbox() == 0
    [row] = db.session.scalars(select(QuarantinedMessage)).all()
    assert row.error == "NotAnEmail" and "Outlook .msg" in row.reason
    assert email_contacts() == []


def test_a_message_decoded_with_losses_is_marked_with_its_original_a_click_away(
    app, tmp_path, client, make_user
):
    from cellule.models import AuditEvent

    raw = _raw(b"From: a@example.be", b"Subject: texte",
               b"Content-Type: text/plain; charset=shift_jis",
               body=b"Ik wil niet meer leven \x82\n")
    _import(app, tmp_path, raw)
    [contact] = email_contacts()
    assert "\ufffd" in contact.email_body and contact.email_losses == ["undecodable"]

    advisor = make_user("advisor")
    client.sign_in(advisor)
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "decoded with losses" in page and "show as �" in page
    link = f"/contacts/{contact.id}/original"
    assert f'href="{link}"' in page
    original = client.get(link)
    assert original.status_code == 200
    assert "charset=shift_jis" in original.get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.object_type == "email_original", AuditEvent.action == "read",
        AuditEvent.object_id == str(contact.id), AuditEvent.user_id == advisor.id))

    client.post_form("/logout")
    client.sign_in(make_user("ambassador"))
    assert client.get(link).status_code == 404
    client.post_form("/logout")
    client.sign_in(make_user("admin"))
    assert client.get(link).status_code == 403


def test_clearing_an_email_contact_content_drops_its_original(app, tmp_path):
    from contacts.mail_original import EmailOriginal

    _import(app, tmp_path, _raw(b"From: a@example.be", b"Subject: x",
                                b"Content-Type: text/plain; charset=windows-1252",
                                body=b"trou \x81 ici\n"))
    [contact] = email_contacts()
    assert db.session.get(EmailOriginal, contact.id) is not None
    contact.email_body = None  # what the retention's anonymisation does
    db.session.commit()
    assert db.session.get(EmailOriginal, contact.id) is None


def test_migration_0019_upgrades_and_downgrades(app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text

    def columns():
        return {c["name"] for c in inspect(db.engine).get_columns("contacts")}

    db.session.remove()
    try:
        downgrade(revision="0018")
        assert "email_losses" not in columns()
        assert "email_originals" not in inspect(db.engine).get_table_names()
        # Filed twice through the NULL hole before the fix.
        with db.engine.begin() as conn:
            for sender in (None, "", "x@b.be"):
                conn.execute(text(
                    "INSERT INTO contacts (channel, direction, occurred_at, reasons, summary, "
                    "red_flagged, red_flags, created_at, email_message_id, email_sender) "
                    "VALUES ('email', 'in', CURRENT_TIMESTAMP, '[]', '', false, '[]', "
                    "CURRENT_TIMESTAMP, '<twice@b.be>', :sender)"), {"sender": sender})
    finally:
        upgrade(revision="heads")
    assert "email_losses" in columns()
    assert "email_originals" in inspect(db.engine).get_table_names()
    ids = db.session.execute(text(
        "SELECT email_message_id, email_sender FROM contacts ORDER BY id")).all()
    assert ids == [("<twice@b.be>", None), ("<twice@b.be> duplicate 2", ""),
                   ("<twice@b.be>", "x@b.be")]
