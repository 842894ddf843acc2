"""The email channel: the cell's mailbox becomes email contacts, sent mail becomes contacts.

`ingest_mailbox` (a job the workers request every minute when `IMAP_HOST` is set)
and `flask --app wsgi mail import FILE.eml` both go through `ingest_message`,
which creates one contact per message exactly once:

- a message is known by (mailbox, UIDVALIDITY, UID) — a unique constraint of the
  contacts table — and, second, by its Message-ID from the same sender (a unique
  index added by this module, the sender compared with COALESCE: no NULL hole), so a
  message delivered twice, or imported by hand and then polled, is one contact. A
  message without a Message-ID or a usable sender (none, `<>`, several addresses) is
  known by the hash of its bytes, line endings normalised, which a file on disk (LF)
  and the IMAP server (CRLF) give alike (`message_key`);
- the contact commits first and the message is flagged \\Seen after: a crash in
  between leaves the message unseen, the next poll finds its contact and only
  sets the flag.

The message is read as a mail client shows it (`contacts.mail_decode`: charsets with
their fallbacks, the HTML alternative of a stub text, inline text parts, attached
messages kept out of the body but scanned for red flags). The body is kept as plain
text (HTML converted by html2text, never rendered); attachments are listed in the
body, not stored. What could not be shown as it arrived is marked on the contact
(`email_losses`) and its original kept (`contacts.mail_original`). Bytes that are
not an email (an Outlook .msg, a binary file) are refused by `mail import` and
quarantined by the poll, with the reason.

One message never stops the mailbox (DESIGN §9): it is read with limits
(`contacts.mail_parse`: size, nesting depth, number of parts) and a message whose
ingestion fails for a reason of its own — a limit, or any unexpected error — is
quarantined: kept raw in `cellule.mailbox.QuarantinedMessage`, flagged \\Seen,
passed by the cursor; the poll goes on with the next one. An outage (database,
IMAP, Redis) is not the message's fault: it stops the poll, which runs again later.
Admins see the quarantine (metadata only, never the message) and retry or discard
each message (`contacts.quarantine`).
"""

import hashlib
import imaplib
import logging
import os
import re
import socket
from datetime import UTC, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from imap_tools import AND, OR, MailMessageFlags, U
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import Index, func, literal_column, select, text
from sqlalchemy.exc import DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from cellule import audit
from cellule import mailbox as mailbox_conn
from cellule.extensions import db
from cellule.jobs import job, periodic
from cellule.mailbox import MailboxState, QuarantinedMessage
from cellule.mailer import on_sent
from cellule.models import User
from cellule.redis_conn import get_redis
from cellule.types import utcnow

from . import auto_reply, mail_decode, mail_original, mail_thread
from .mail_parse import (
    BoundedMailMessage,
    UnreadableMessage,
    max_message_bytes,
    too_large,
)
from .models import Contact, Person
from .normalise import normalise_email
from .operations import create_contact, scan_red_flags

log = logging.getLogger(__name__)

MAX_BODY = 100_000
BULK_BYTES = 10 * 1024 * 1024  # larger chunks are fetched one message at a time
BATCH = 50  # messages per poll; the next poll takes the rest
LOCK_SECONDS = 60

# The second key: one incoming contact per Message-ID and sender (migration 0006), the
# sender compared with COALESCE so that no NULL slips through (migration 0019). A message
# without a Message-ID or a usable sender has the hash of its bytes for Message-ID.
Index(
    "uq_contacts_inbound_message",
    Contact.email_message_id,
    func.coalesce(Contact.email_sender, literal_column("''")),
    unique=True,
    postgresql_where=text("direction = 'in' AND email_message_id IS NOT NULL"),
    sqlite_where=text("direction = 'in' AND email_message_id IS NOT NULL"),
)

RAW_ID = mail_decode.RAW_ID


# --- One message -----------------------------------------------------------


def _header(message, name):
    """The first `name` header of a message, decoded (compat32 keeps its raw bytes)."""
    name = name.lower()
    for key, value in message.obj.raw_items():
        if key.lower() == name:
            return mail_decode.decode_header(value)
    return ""


def message_key(message):
    """Return (Message-ID, sender) that identify a message, the same from a file or IMAP.

    The sender is the From address normalised, or "" when there is none usable (none,
    `<>`, several). Without a Message-ID or a usable sender the Message-ID is made from
    the hash of the message's bytes, line endings normalised (`mail_decode.raw_digest`).
    """
    address = mail_decode.usable_address(
        next((v for k, v in message.obj.raw_items() if k.lower() == "from"), ""))
    try:
        sender = normalise_email(address) or "" if address else ""
    except ValueError:
        sender = ""
    message_id = _text(_header(message, "Message-ID"))[:998]
    if message_id and sender and not RAW_ID.match(message_id):
        return message_id, sender
    return mail_decode.raw_message_id(message.raw), sender


html_to_text = mail_decode.html_to_text


def _size(n):
    return f"{n / 1024:.0f} kB" if n >= 1024 else f"{n} B"


def message_body(message):
    """Return the message's `mail_decode.Reading`, its body made the contact's text: the
    message's own text, then the attachments and the attached messages listed."""
    reading = mail_decode.read_message(message.obj)
    body = reading.body.replace("\r\n", "\n").strip()
    if not body and not reading.attachments and not reading.attached:
        # Nothing readable in the structure: the raw text, marked, rather than nothing.
        raw_body = re.split(rb"\r?\n\r?\n", message.raw, maxsplit=1)[1:]
        text_ = mail_decode.decode_bytes(raw_body[0]).strip() if raw_body else ""
        if text_:
            body = text_.replace("\r\n", "\n")
            reading.losses.add(mail_decode.MALFORMED)
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY] + "\n[…]"
        reading.losses.add(mail_decode.TRUNCATED)
    listed = []
    for filename, content_type, size in reading.attachments:
        name = " ".join((filename or "").split())[:200] or "—"
        listed.append(f"📎 {name} ({content_type}, {_size(size)})")
    for attached in reading.attached:
        subject = " ".join(attached.subject.split())[:200] or "—"
        sender = " ".join(attached.sender.split())[:200]
        listed.append(f"✉ {subject}{' · ' + sender if sender else ''} "
                      f"(message/rfc822, {_size(attached.size)})")
    if reading.attached:
        reading.losses.add(mail_decode.ATTACHED)
    if listed:
        body = (body + "\n\n" if body else "") + "\n".join(listed)
    reading.body = _text(body)
    return reading


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
        stmt = select(Contact).where(Contact.email_message_id == message_id,
                                     Contact.direction == "in")
        if not RAW_ID.match(message_id):
            stmt = stmt.where(func.coalesce(Contact.email_sender, "") == (sender or ""))
        return db.session.scalars(stmt.order_by(Contact.id).limit(1)).first()
    return None


def _flag_attached(contact, reading, language):
    """Add the red flags of the attached messages to the contact's, marked as such."""
    flags = list(contact.red_flags or [])
    seen = {flag["phrase"] for flag in flags}
    added = []
    for attached in reading.attached:
        for flag in scan_red_flags(attached.subject, attached.text, language=language):
            if flag["phrase"] not in seen:
                seen.add(flag["phrase"])
                added.append({**flag, "where": "attached"})
    if added:
        contact.red_flags = flags + added
        contact.red_flagged = True
        audit.record("flag", "contact", contact.id, {"where": "attached message",
                                                      "red_flags": len(added)})


def _advance(mailbox, uidvalidity, uid):
    if uid is None:
        return
    state = db.session.scalar(select(MailboxState).where(MailboxState.mailbox == mailbox))
    if state is not None and state.uidvalidity == uidvalidity and uid > state.last_uid:
        state.last_uid = uid


def ingest_message(message, *, mailbox=None, uidvalidity=None, uid=None):
    """Create the email contact of one message unless it exists; commit; return
    (contact, created)."""
    message_id, sender = message_key(message)  # parses: NotAnEmail, limits

    existing = find_existing(message_id, sender, mailbox, uidvalidity, uid)
    if existing is not None:
        _advance(mailbox, uidvalidity, uid)
        db.session.commit()
        return existing, False
    now = utcnow()
    thread = mail_thread.references(message)  # what it answers (In-Reply-To, References)
    parent = mail_thread.outbound_parent(thread)  # an email sent from Cellule, if any
    person = match_person(sender) or mail_thread.thread_person(parent, sender)
    reading = message_body(message)
    subject = _text(_header(message, "Subject"))
    if len(subject) > 998:
        subject = subject[:997] + "…"
        reading.losses.add(mail_decode.TRUNCATED)
    if "\ufffd" in subject:
        reading.losses.add(mail_decode.UNDECODABLE)
    try:
        contact = create_contact(
            None,
            channel="email",
            person=person,
            direction="in",
            occurred_at=_occurred_at(message, now),
            email_sender=sender,
            email_subject=subject,
            email_body=reading.body,
            email_message_id=message_id,
            email_references=mail_thread.joined(thread),
            email_losses=sorted(reading.losses),
            mailbox=mailbox,
            mailbox_uidvalidity=uidvalidity,
            mailbox_uid=uid,
        )
        _flag_attached(contact, reading, person.language if person else None)
        mail_thread.thread_back(contact, parent, sender)  # files it on the reply's case
        if reading.losses:
            mail_original.keep(contact, message.raw)
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
    auto_reply.after_ingest(contact, message)  # out of hours: the automatic answer, alerts
    return contact, True


# --- The quarantine --------------------------------------------------------

# An outage, not the message's fault: the poll stops and runs again later. Deliberately
# broader than `cellule.extensions.database_unavailable` (which decides 503 or 500): any
# OperationalError stops the poll, since quarantining is the costly mistake here — a
# database fault taken for the message's would quarantine every message that follows,
# while a poll stopped wrongly only waits and retries with the mail still on the server.
TRANSIENT = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError,
             imaplib.IMAP4.error, socket.timeout, ConnectionError, TimeoutError,
             RedisConnectionError, RedisTimeoutError)


def is_transient(error):
    return isinstance(error, TRANSIENT)


def failure_reason(error):
    """A short reason for admins and logs, from the code only: a limit's own text, or
    the error class and where it happened — never the exception's text, which may
    quote the message (an address, a header)."""
    if isinstance(error, UnreadableMessage):
        return str(error)[:300]
    where = ""
    frames = []
    traceback = error.__traceback__
    while traceback is not None:
        frames.append(traceback.tb_frame.f_code.co_name)
        traceback = traceback.tb_next
    if frames:
        where = f" in {frames[-1]}"
    return f"unexpected {type(error).__name__}{where}"[:300]


def _quarantine_key(mailbox, uidvalidity, uid, digest):
    if uid is not None:
        return select(QuarantinedMessage).where(
            QuarantinedMessage.mailbox == mailbox,
            QuarantinedMessage.uidvalidity == uidvalidity,
            QuarantinedMessage.uid == uid,
        )
    return select(QuarantinedMessage).where(
        QuarantinedMessage.uid.is_(None),
        QuarantinedMessage.sha256 == digest,
        QuarantinedMessage.status == QuarantinedMessage.PENDING,
    )


def find_quarantined(mailbox, uidvalidity, uid, raw=b""):
    """Return the quarantine row of this message (by its UID, else its bytes), if any."""
    digest = hashlib.sha256(raw).hexdigest()
    return db.session.scalar(_quarantine_key(mailbox, uidvalidity, uid, digest))


def _header_message_id(raw):
    """The Message-ID from the header block only (the message may be unparseable)."""
    head = raw[: min(len(raw), 64 * 1024)].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = re.search(rb"(?im)^message-id:[ \t]*(<[^>\r\n]{1,990}>)", head)
    return _text(match.group(1).decode("ascii", "replace")) if match else None


def quarantine(raw, error, *, size=None, mailbox=None, uidvalidity=None, uid=None):
    """Keep a message that failed to ingest; pass it in the cursor; commit; return the row.

    `raw` is None for a message too large to download or keep (it stays on the server).
    The caller has rolled back what the failed ingestion left in the session.
    """
    keep = raw is not None and len(raw) <= max_message_bytes()
    existing = find_quarantined(mailbox, uidvalidity, uid, raw or b"")
    if existing is not None:
        _advance(mailbox, uidvalidity, uid)
        db.session.commit()
        return existing
    row = QuarantinedMessage(
        mailbox=mailbox, uidvalidity=uidvalidity, uid=uid,
        message_id=_header_message_id(raw) if raw else None,
        sha256=hashlib.sha256(raw or b"").hexdigest(),
        raw=raw if keep else None,
        size=size if size is not None else len(raw or b""),
        error=type(error).__name__[:100],
        reason=failure_reason(error),
        status=QuarantinedMessage.PENDING,
        failed_retries=0,
    )
    db.session.add(row)
    db.session.flush()
    audit.record("quarantine", "mail_message", row.id, {"error": row.error})
    _advance(mailbox, uidvalidity, uid)
    db.session.commit()
    log.warning("mail %s quarantined%s: %s", row.id,
                f" from {mailbox} uid {uid}" if uid is not None else "", row.error)
    return row


class RetryFailed(Exception):
    """A quarantined message still could not be ingested; `reason` says why (no content)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def retry_quarantined(row, user):
    """Ingest a quarantined message again from its bytes, through the same path as the
    poll; return the contact (made once: the mailbox key and the Message-ID dedupe).

    On success the row is marked retried and its bytes dropped (the contact holds the
    message now), normally in the transaction that creates the contact; if another
    path filed it first, right after. A failure counts on the row and raises
    RetryFailed; an outage propagates.
    """
    if row.status != QuarantinedMessage.PENDING or row.raw is None:
        raise ValueError("only a pending message with its bytes can be retried")
    row_id, raw = row.id, row.raw

    def mark(row):
        row.status, row.raw = QuarantinedMessage.RETRIED, None
        row.retried_at, row.retried_by_id = utcnow(), user.id

    mark(row)
    try:
        contact, created = ingest_message(
            BoundedMailMessage.from_bytes(raw),
            mailbox=row.mailbox, uidvalidity=row.uidvalidity, uid=row.uid,
        )
    except Exception as error:
        if is_transient(error):
            raise
        db.session.rollback()
        row = db.session.get(QuarantinedMessage, row_id)
        row.failed_retries += 1
        row.error, row.reason = type(error).__name__[:100], failure_reason(error)
        audit.record("retry", "mail_message", row.id, {"result": "failed", "error": row.error},
                     user=user)
        db.session.commit()
        log.warning("mail %s: retry failed: %s", row_id, row.error)
        raise RetryFailed(row.reason) from None
    row = db.session.get(QuarantinedMessage, row_id)
    if row.status != QuarantinedMessage.RETRIED:  # rolled back by a concurrent filing
        mark(row)
    audit.record("retry", "mail_message", row_id, {"result": "filed", "contact": contact.id},
                 user=user)
    db.session.commit()
    log.info("mail %s: retried, contact %s%s", row_id, contact.id,
             "" if created else " (already filed)")
    return contact


def discard_quarantined(row, user):
    """Delete a quarantined message's bytes; the row stays, discarded, for the audit."""
    if row.status != QuarantinedMessage.PENDING:
        raise ValueError("only a pending message can be discarded")
    row.status, row.raw = QuarantinedMessage.DISCARDED, None
    row.discarded_at, row.discarded_by_id = utcnow(), user.id
    audit.record("discard", "mail_message", row.id, {"error": row.error}, user=user)
    db.session.commit()
    log.info("mail %s: discarded", row.id)


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


def _sizes_and_flags(box, uids):
    """Return {uid: (RFC822.SIZE, flags)} of `uids`, without downloading them."""
    result = {}
    status, data = box.client.uid("FETCH", ",".join(uids), "(FLAGS RFC822.SIZE)")
    if status != "OK":
        raise imaplib.IMAP4.error(f"FETCH sizes answered {status}")
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        uid = re.search(rb"\bUID (\d+)", line)
        size = re.search(rb"\bRFC822\.SIZE (\d+)", line)
        if uid and size:
            flags = tuple(f.decode() for f in imaplib.ParseFlags(line))
            result[int(uid.group(1))] = (int(size.group(1)), flags)
    return result


def _ingest_one(message, mailbox, uidvalidity, uid):
    """Ingest one fetched message, or quarantine it; return whether a contact was made."""
    if find_quarantined(mailbox, uidvalidity, uid) is not None:
        # Quarantined by an earlier poll that stopped before the \\Seen flag.
        _advance(mailbox, uidvalidity, uid)
        db.session.commit()
        return False
    try:
        _, made = ingest_message(message, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid)
    except Exception as error:
        if is_transient(error):
            raise
        db.session.rollback()
        quarantine(message.raw, error, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid)
        return False
    return made


def poll(box, mailbox, progress=lambda: None):
    """Ingest the new and the unseen messages of an open mailbox; return contacts created.

    `progress()` is called after each message (the job renews its lock there). A
    message that fails for a reason of its own is quarantined, flagged \\Seen and
    passed; an outage raises (the next poll takes up where this one stopped).
    """
    box.email_message_class = BoundedMailMessage  # parsed lazily, with limits
    uidvalidity = int(box.folder.status(mailbox, ["UIDVALIDITY"])["UIDVALIDITY"])
    last_uid = _state(mailbox, uidvalidity).last_uid
    # The unseen messages, plus any newer than the last one ingested (someone may have
    # opened it in a mail client). An unseen old one is a crash before the \Seen flag.
    # "n:*" always includes the highest UID, so the range is filtered again below.
    criteria = OR(uid=U(last_uid + 1, "*"), seen=False) if last_uid else AND(seen=False)
    uids = sorted(int(u) for u in box.uids(criteria))
    created = 0
    limit = max_message_bytes()
    for start in range(0, min(len(uids), BATCH), 10):
        chunk = [str(u) for u in uids[start : min(start + 10, BATCH)]]
        wanted = []
        for uid, (size, flags) in sorted(_sizes_and_flags(box, chunk).items()):
            if uid <= last_uid and MailMessageFlags.SEEN in flags:
                continue
            if size > limit:
                # Not even downloaded: it stays on the server, flagged seen.
                quarantine(None, too_large(size, limit), size=size, mailbox=mailbox,
                           uidvalidity=uidvalidity, uid=uid)
                flag_seen(box, uid)
                progress()
                continue
            wanted.append((uid, size))
        bulk = sum(size for _, size in wanted) <= BULK_BYTES
        fetched = box.fetch(uid_list=[str(u) for u, _ in wanted], mark_seen=False, bulk=bulk)
        for message in fetched if wanted else ():
            uid = int(message.uid)
            created += _ingest_one(message, mailbox, uidvalidity, uid)
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
    """Create email contacts from .eml files (the same path as the IMAP poll).

    A file that cannot be ingested is quarantined (like a polled message) and the
    import goes on with the next file; a file that is not an email at all (an Outlook
    .msg, a binary) is refused with the reason, and the command exits with status 1."""
    limit = max_message_bytes()
    refused = 0
    for path in files:
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
        if len(raw) > limit:
            size = os.path.getsize(path)
            row = quarantine(None, too_large(size, limit), size=size)
            click.echo(f"{path}: not imported ({row.reason}); quarantined as #{row.id}")
            continue
        reason = mail_decode.not_an_email(raw)
        if reason:
            # Refused, not quarantined: the operator has the file in hand.
            click.echo(f"{path}: refused: {reason}", err=True)
            refused += 1
            continue
        try:
            contact, created = ingest_message(BoundedMailMessage.from_bytes(raw))
        except Exception as error:
            if is_transient(error):
                raise
            db.session.rollback()
            row = quarantine(raw, error)
            click.echo(f"{path}: could not be read ({row.reason}); quarantined as #{row.id}, "
                       "see Mail quarantine")
            continue
        state = "created" if created else "already imported"
        click.echo(f"{path}: contact {contact.id} {state}")
    if refused:
        raise click.exceptions.Exit(1)


@mail_cli.command("poll")
def poll_command():
    """Poll the configured IMAP mailbox once, now."""
    if not mailbox_conn.configured(current_app):
        raise click.ClickException("IMAP_HOST is not set")
    click.echo(f"{ingest_mailbox()} new email contact(s)")


def register(app):
    app.cli.add_command(mail_cli)
    mail_original.register(app)
