"""The suite's own corpus of tricky emails (tests/jobs/mail_corpus, issue 15): imported twice
by `flask mail import` and once more through a real Dovecot poll, each message is one
contact, shows its own text as a mail client would, loses nothing without a marker, and
every distress phrase in it is flagged; files that are not emails are refused."""

import json
import re
import unicodedata
from pathlib import Path

from sqlalchemy import select

from cellule.extensions import db
from cellule.mailbox import QuarantinedMessage
from contacts import mail_ingest
from contacts.mail_original import EmailOriginal

from .conftest import email_contacts

CORPUS = Path(__file__).parent / "mail_corpus"


def corpus():
    files = sorted(CORPUS.glob("*.eml"))
    return [(path, json.loads(path.with_suffix(".json").read_text("utf-8"))) for path in files]


def _invisible_damage(text):
    """Characters no mail client would show for real text: C1 controls (U+0092 for an
    apostrophe), lone surrogates (undecoded bytes), NUL."""
    return [c for c in text if unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t"]


def check(contact, path, expect):
    name = path.name
    body, subject = contact.email_body or "", contact.email_subject or ""
    for phrase in expect["body"]:
        assert phrase in body, f"{name}: {phrase!r} not in the body {body[:400]!r}"
    for phrase in expect["not_in_body"]:
        assert phrase not in body, f"{name}: {phrase!r} should not be in the body"
    if expect["subject"] is not None:
        assert subject == expect["subject"], name
    assert contact.red_flagged is expect["flagged"], (name, contact.red_flags)
    if expect["flag_where"] == "attached":
        assert contact.red_flags and all(f.get("where") == "attached"
                                         for f in contact.red_flags), name
    assert sorted(contact.email_losses or []) == expect["losses"], name
    # Nothing lost without a marker: no replacement character unless marked, no hidden
    # control characters or undecoded bytes, and never an empty contact.
    if "\ufffd" in body + subject:
        assert "undecodable" in contact.email_losses, name
    assert not _invisible_damage(body + subject), (name, _invisible_damage(body + subject))
    assert body.strip() or subject.strip(), f"{name}: nothing kept"
    assert contact.email_sender is not None, name
    kept = db.session.get(EmailOriginal, contact.id)
    assert (kept is not None) is bool(expect["losses"]), name
    if kept is not None:
        assert kept.raw_bytes == path.read_bytes(), name


def test_the_corpus_is_one_contact_each_by_the_cli_twice_then_by_the_poll(app, imap_server):
    messages = corpus()
    assert len(messages) >= 40
    languages = {expect["language"] for _, expect in messages}
    assert {"fr", "nl", "de"} <= languages
    assert sum(1 for _, e in messages if e["flagged"]) >= 30
    emails = [(path, e) for path, e in messages if not e["refused"]]
    refused = [(path, e) for path, e in messages if e["refused"]]
    runner = app.test_cli_runner()

    first = runner.invoke(args=["mail", "import", *(str(p) for p, _ in messages)])
    assert first.exit_code == 1, first.output  # the files that are not emails
    filed = {}
    for path, _ in emails:
        match = re.search(re.escape(str(path)) + r": contact (\d+) created", first.output)
        assert match, f"{path.name}: {first.output}"
        filed[path] = int(match.group(1))
    assert len(set(filed.values())) == len(emails)
    for path, _ in refused:
        assert f"{path}: refused: " in first.output
    assert "Outlook .msg file" in first.output

    second = runner.invoke(args=["mail", "import", *(str(p) for p, _ in messages)])
    assert second.exit_code == 1
    for path, _ in emails:
        assert f"{path}: contact {filed[path]} already imported" in second.output, path.name
    contacts = {c.id: c for c in email_contacts()}
    assert sorted(contacts) == sorted(filed.values())
    for path, expect in emails:
        check(contacts[filed[path]], path, expect)
    assert db.session.scalars(select(QuarantinedMessage)).all() == []

    # The same messages arrive in the cell's mailbox: still one contact each.
    for path, _ in messages:
        imap_server.deliver(path.read_bytes())
    created = 0
    while imap_server.unseen_uids():
        created += mail_ingest.ingest_mailbox()
    assert created == 0
    assert sorted(c.id for c in email_contacts()) == sorted(filed.values())
    rows = db.session.scalars(select(QuarantinedMessage).order_by(QuarantinedMessage.id)).all()
    assert len(rows) == len(refused)
    reasons = " | ".join(row.reason for row in rows)
    assert "Outlook .msg file" in reasons and "binary" in reasons
    assert {row.error for row in rows} == {"NotAnEmail"}
