"""The email channel: the cell's mailbox becomes email contacts, sent mail becomes contacts.

`ingest_mailbox` (a job the workers request every minute when `IMAP_HOST` is set)
and `flask --app wsgi mail import FILE.eml` both go through `ingest_message`,
which creates one contact per message exactly once:

- a message is known by (mailbox, UIDVALIDITY, UID) — a unique constraint of the
  contacts table — and, second, by its Message-ID from the same sender (a unique
  index added by this module), so a message delivered twice, or imported by hand
  and then polled, is one contact;
- the contact commits first and the message is flagged \\Seen after: a crash in
  between leaves the message unseen, the next poll finds its contact and only
  sets the flag.

The body is kept as plain text (HTML converted by html2text, never rendered);
attachments are listed in the body, not stored.
"""

import hashlib
import logging
from datetime import UTC, timedelta
from email.utils import parseaddr

import click
import html2text
from flask import current_app
from flask.cli import AppGroup
from imap_tools import AND, OR, MailMessage, MailMessageFlags, U
from sqlalchemy import Index, select, text
from sqlalchemy.exc import IntegrityError

from cellule import mailbox as mailbox_conn
from cellule.extensions import db
from cellule.jobs import job, periodic
from cellule.mailbox import MailboxState
from cellule.mailer import on_sent
from cellule.redis_conn import get_redis
from cellule.types import utcnow

from .models import Contact, Person
from .normalise import normalise_email
from .operations import create_contact

log = logging.getLogger(__name__)

MAX_BODY = 100_000
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
BATCH = 50  # messages per poll; the next poll takes the rest
LOCK_SECONDS = 60

# The second key: one incoming contact per Message-ID and sender (migration 0006).
Index(
    "uq_contacts_inbound_message",
    Contact.email_message_id,
    Contact.email_sender,
    unique=True,
    postgresql_where=text("direction = 'in' AND email_message_id IS NOT NULL"),
    sqlite_where=text("direction = 'in' AND email_message_id IS NOT NULL"),
)


# --- One message -----------------------------------------------------------


def _message_id(message):
    """The Message-ID, or for a message without one a stable id made from its content."""
    value = _text(" ".join(str(message.obj.get("Message-ID") or "").split()))[:998]
    if value:
        return value
    digest = hashlib.sha256(
        "\n".join((message.date_str, message.from_, message.subject, message.text, message.html))
        .encode("utf-8", "replace")
    ).hexdigest()
    return f"<sha256.{digest[:40]}@cellule.invalid>"


def _sender(message):
    _, address = parseaddr(str(message.obj.get("From") or ""))
    try:
        return normalise_email(address) or ""
    except ValueError:
        return _text(address).strip().lower()[:320]


def html_to_text(html):
    """Return the readable text of an HTML body (scripts, styles and images dropped)."""
    converter = html2text.HTML2Text()
    converter.body_width = 0  # no hard wrapping
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.unicode_snob = True
    return "\n".join(line.rstrip() for line in converter.handle(html).splitlines()).strip()


def _size(n):
    return f"{n / 1024:.0f} kB" if n >= 1024 else f"{n} B"


def message_body(message):
    """Return the plain-text body with the attachments listed after it."""
    body = message.text.strip() or html_to_text(message.html)
    body = body.replace("\r\n", "\n")
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY] + "\n[…]"
    listed = []
    for attachment in message.attachments:
        name = " ".join((attachment.filename or "").split())[:200] or "—"
        listed.append(f"📎 {name} ({attachment.content_type}, {_size(attachment.size)})")
    if listed:
        body += "\n\n" + "\n".join(listed)
    return _text(body)


def _text(value):
    """Text the databases accept: no NUL characters (PostgreSQL refuses them)."""
    return (value or "").replace("\x00", "")


def _occurred_at(message, now):
    """The Date header when believable (aware, not in the future, not ancient), else now."""
    sent = message.date
    if sent.tzinfo is None or sent > now + timedelta(minutes=5):
        return now
    sent = sent.astimezone(UTC)
    return sent if sent > now - timedelta(days=30) else now


def match_person(sender):
    """Return the one active person with this email address, or None (none or several)."""
    if not sender:
        return None
    people = db.session.scalars(
        select(Person)
        .where(Person.email == sender, Person.merged_into_id.is_(None))
        .order_by(Person.id)
        .limit(2)
    ).all()
    return people[0] if len(people) == 1 else None


def find_existing(message_id, sender, mailbox=None, uidvalidity=None, uid=None):
    """Return the contact already made from this message, if any."""
    if uid is not None:
        contact = db.session.scalar(
            select(Contact).where(
                Contact.mailbox == mailbox,
                Contact.mailbox_uidvalidity == uidvalidity,
                Contact.mailbox_uid == uid,
            )
        )
        if contact is not None:
            return contact
    if message_id:
        return db.session.scalar(
            select(Contact).where(
                Contact.email_message_id == message_id,
                Contact.email_sender == sender,
                Contact.direction == "in",
            )
        )
    return None


def _advance(mailbox, uidvalidity, uid):
    if uid is None:
        return
    state = db.session.scalar(select(MailboxState).where(MailboxState.mailbox == mailbox))
    if state is not None and state.uidvalidity == uidvalidity and uid > state.last_uid:
        state.last_uid = uid


def ingest_message(message, *, mailbox=None, uidvalidity=None, uid=None):
    """Create the email contact of one message unless it exists; commit; return
    (contact, created)."""
    message_id = _message_id(message)
    sender = _sender(message)
    existing = find_existing(message_id, sender, mailbox, uidvalidity, uid)
    if existing is not None:
        _advance(mailbox, uidvalidity, uid)
        db.session.commit()
        return existing, False
    now = utcnow()
    person = match_person(sender)
    subject = _text(" ".join((message.subject or "").split()))[:998]
    try:
        contact = create_contact(
            None,
            channel="email",
            person=person,
            direction="in",
            occurred_at=_occurred_at(message, now),
            email_sender=sender or None,
            email_subject=subject,
            email_body=message_body(message),
            email_message_id=message_id,
            mailbox=mailbox,
            mailbox_uidvalidity=uidvalidity,
            mailbox_uid=uid,
        )
        _advance(mailbox, uidvalidity, uid)
        db.session.commit()
    except IntegrityError:
        # Another poll or import made it first: that contact is this message's.
        db.session.rollback()
        existing = find_existing(message_id, sender, mailbox, uidvalidity, uid)
        if existing is None:
            raise
        return existing, False
    log.info("email contact %s ingested%s", contact.id,
             f" from {mailbox} uid {uid}" if uid is not None else "")
    return contact, True


# --- The mailbox -----------------------------------------------------------


def _state(mailbox, uidvalidity):
    state = db.session.scalar(select(MailboxState).where(MailboxState.mailbox == mailbox))
    if state is None:
        state = MailboxState(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=0)
        db.session.add(state)
    elif state.uidvalidity != uidvalidity:
        # The server renumbered the mailbox: every UID is new; Message-IDs still dedupe.
        log.warning("mailbox %s: UIDVALIDITY changed, rescanning", mailbox)
        state.uidvalidity, state.last_uid = uidvalidity, 0
    state.polled_at = utcnow()
    db.session.commit()
    return state


def flag_seen(box, uid):
    box.flag(str(uid), MailMessageFlags.SEEN, True)


def poll(box, mailbox, progress=lambda: None):
    """Ingest the new and the unseen messages of an open mailbox; return contacts created.

    `progress()` is called after each message (the job renews its lock there).
    """
    uidvalidity = int(box.folder.status(mailbox, ["UIDVALIDITY"])["UIDVALIDITY"])
    last_uid = _state(mailbox, uidvalidity).last_uid
    # The unseen messages, plus any newer than the last one ingested (someone may have
    # opened it in a mail client). An unseen old one is a crash before the \Seen flag.
    # "n:*" always includes the highest UID, so the range is filtered again below.
    criteria = OR(uid=U(last_uid + 1, "*"), seen=False) if last_uid else AND(seen=False)
    uids = sorted(int(u) for u in box.uids(criteria))
    created = 0
    for start in range(0, min(len(uids), BATCH), 10):
        chunk = [str(u) for u in uids[start : min(start + 10, BATCH)]]
        for message in box.fetch(uid_list=chunk, mark_seen=False, bulk=True):
            uid = int(message.uid)
            if uid <= last_uid and MailMessageFlags.SEEN in message.flags:
                continue
            _, made = ingest_message(message, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid)
            created += made
            flag_seen(box, uid)
            progress()
    return created


@job("ingest_mailbox", timeout=600, retries=())
def ingest_mailbox():
    """Poll the cell's IMAP mailbox once; return the number of contacts created."""
    app = current_app._get_current_object()
    if not mailbox_conn.configured(app):
        return 0
    mailbox = app.config["IMAP_MAILBOX"]
    # One poll at a time per mailbox, whatever the number of workers. The lock is short
    # and renewed after each message: a poll killed with its worker holds it a minute.
    lock = get_redis(app).lock(f"cellule:lock:ingest:{mailbox}", timeout=LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        log.info("mailbox %s: another poll is running", mailbox)
        return 0
    try:
        with mailbox_conn.connect(app) as box:
            created = poll(box, mailbox, progress=lock.reacquire)
    finally:
        try:
            lock.release()
        except Exception:  # expired: the next poll takes it
            log.warning("mailbox %s: poll lock expired before release", mailbox)
    if created:
        log.info("mailbox %s: %s new email contact(s)", mailbox, created)
    return created


periodic("ingest_mailbox", every=60, enabled=mailbox_conn.configured)


# --- Sent mail -------------------------------------------------------------


@on_sent
def log_sent_mail(mail):
    """Log a mail sent to a person as an outbound email contact (same transaction)."""
    if mail.person_id is None or mail.contact_id is not None:
        return
    person = db.session.get(Person, mail.person_id)
    if person is None:
        return
    from cellule.models import User

    author = db.session.get(User, mail.created_by_id) if mail.created_by_id else None
    contact = create_contact(
        author,
        channel="email",
        person=person,
        direction="out",
        occurred_at=mail.sent_at,
        handled=True,
        email_sender=current_app.config["MAIL_DEFAULT_SENDER"][:320],
        email_subject=mail.subject,
        email_body=mail.body,
        email_message_id=mail.message_id,
    )
    mail.contact_id = contact.id


# --- Command line ------------------------------------------------------------

mail_cli = AppGroup("mail", help="The cell's mailbox.")


@mail_cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def import_command(files):
    """Create email contacts from .eml files (the same path as the IMAP poll)."""
    for path in files:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_MESSAGE_BYTES + 1)
        if len(raw) > MAX_MESSAGE_BYTES:
            raise click.ClickException(f"{path}: larger than {MAX_MESSAGE_BYTES} bytes")
        contact, created = ingest_message(MailMessage.from_bytes(raw))
        state = "created" if created else "already imported"
        click.echo(f"{path}: contact {contact.id} {state}")


@mail_cli.command("poll")
def poll_command():
    """Poll the configured IMAP mailbox once, now."""
    if not mailbox_conn.configured(current_app):
        raise click.ClickException("IMAP_HOST is not set")
    click.echo(f"{ingest_mailbox()} new email contact(s)")


def register(app):
    app.cli.add_command(mail_cli)
