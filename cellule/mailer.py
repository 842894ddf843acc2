"""Outgoing email: a logged message per mail, sent by the `send_email` job over SMTP.

`send_mail(...)` adds the message to the mail log and requests `send_email(mail.id)`
through the outbox, in the caller's transaction. The job sends it at most once per
log row in practice: it locks the row, sends only a `queued` row, and marks it
`sent` in the same transaction as the outbound email contact that the contacts
domain logs (hook `on_sent`). A crash after the SMTP server accepted the message
and before that commit sends it again with the same Message-ID, which mail clients
show once.

An attachment is named, not stored: `send_mail(..., attachment="kind:id")` keeps the
reference on the log row and the job builds the file when it sends, with the builder that
the domain registered for that kind (`register_attachment`), so the mail log holds no copy
of a document and a retry sends the same file again (issue 19: the safety plan's PDF).

`notify_once(key, ...)` sends staff notices (reminders, escalations, alerts)
exactly once per key: the key is recorded with the mails in one transaction.
"""

import logging
import re
import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from . import outbox
from .extensions import db
from .jobs import job
from .types import UTCDateTime, utcnow

log = logging.getLogger(__name__)

MAIL_STATUSES = ("queued", "sent", "skipped")
MAX_BODY = 100_000

_SENT_HOOKS = []


class OutgoingMail(db.Model):
    """One outgoing message: what was (or will be) sent, to whom, and what became of it."""

    __tablename__ = "mail_log"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in MAIL_STATUSES) + ")", name="status_known"
        ),
        Index("ix_mail_log_person", "person_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Idempotency key of the request (e.g. "reminder:task:7:…:to:3"); one mail per key.
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    # The References header of a reply (the thread's Message-IDs, oldest first).
    references: Mapped[str | None] = mapped_column(Text)
    # The Auto-Submitted header of an automatic mail to a person ("auto-replied", RFC 3834).
    auto_submitted: Mapped[str | None] = mapped_column(String(20))
    # "kind:id" of a file built at sending time by the builder registered for the kind.
    attachment: Mapped[str | None] = mapped_column(String(100))
    # What the mail is about; plain ids, since the core does not know the domains' tables.
    person_id: Mapped[int | None]
    case_id: Mapped[int | None]
    # The staff member it is addressed to (notices), and the one who requested it.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[object | None] = mapped_column(UTCDateTime)
    # The outbound email contact logged for a mail to a person.
    contact_id: Mapped[int | None]

    def __repr__(self):
        return f"<OutgoingMail {self.id} {self.status}>"


class Notice(db.Model):
    """A notice decided once per key (a reminder or escalation for one deadline)."""

    __tablename__ = "notices_sent"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[int]
    # The deadline the notice was about: a moved deadline gets its own notice.
    due_at: Mapped[object | None] = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)


_ATTACHMENTS = {}


def register_attachment(kind, builder):
    """Register `builder(object_id) -> (filename, "type/subtype", bytes)` for `kind`."""
    _ATTACHMENTS[kind] = builder


def build_attachment(reference):
    """The (filename, mime type, bytes) of an attachment reference "kind:id"."""
    kind, _, object_id = reference.partition(":")
    return _ATTACHMENTS[kind](int(object_id))


def on_sent(func):
    """Register `func(mail)`, called in the transaction that marks a mail sent."""
    if func not in _SENT_HOOKS:
        _SENT_HOOKS.append(func)
    return func


# Runs of white space (line breaks included: no header injection) become one space; the
# no-break spaces French typography puts before ":" or "?" stay what they are.
_BREAKABLE_SPACE = re.compile(r"[^\S\u00a0\u202f]+")


def _one_line(value, limit):
    return _BREAKABLE_SPACE.sub(" ", str(value or "")).strip(" ")[:limit]


def _domain(address):
    return address.rpartition("@")[2].strip(">").strip() or "localhost"


def send_mail(recipient, subject, body, *, key=None, person_id=None, case_id=None, user_id=None,
              created_by_id=None, in_reply_to=None, references=None, auto_submitted=None,
              attachment=None):
    """Log a mail and request its sending in the caller's transaction; return the log row.

    With `key`, a mail already requested under that key is returned instead.
    `in_reply_to` and `references` thread a reply (References defaults to In-Reply-To);
    `auto_submitted` marks an automatic answer to a person (RFC 3834 "auto-replied");
    `attachment` ("kind:id") names a file its registered builder makes at sending time.
    """
    if attachment is not None and attachment.partition(":")[0] not in _ATTACHMENTS:
        raise ValueError(f"no attachment builder for {attachment!r}")
    recipient = _one_line(recipient, 320)
    if recipient.count("@") != 1 or any(c in recipient for c in "<>,;\"'"):
        raise ValueError("a single plain email address is required")
    if key is not None:
        existing = db.session.scalar(select(OutgoingMail).where(OutgoingMail.key == key))
        if existing is not None:
            return existing
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    mail = OutgoingMail(
        key=key,
        recipient=recipient,
        subject=_one_line(subject, 998),
        body=(body or "")[:MAX_BODY],
        message_id=make_msgid(domain=_domain(sender)),
        in_reply_to=_one_line(in_reply_to, 998) or None,
        references=_one_line(references, 8000) or None,
        auto_submitted=_one_line(auto_submitted, 20) or None,
        attachment=attachment,
        person_id=person_id,
        case_id=case_id,
        user_id=user_id,
        created_by_id=created_by_id,
    )
    db.session.add(mail)
    db.session.flush()
    outbox.request("send_email", mail.id)
    log.info("mail %s requested", mail.id)
    return mail


def notify_once(key, *, kind, object_type, object_id, due_at=None, messages=()):
    """Send staff notices once per `key`; `messages` are (user, subject, body).

    Returns the new Notice, or None when the key was already notified or nobody
    has an address (then a later call tries again). Adds to the caller's
    transaction; two concurrent callers collide on the key's unique constraint.
    """
    if db.session.scalar(select(Notice.id).where(Notice.key == key)):
        return None
    messages = [(user, subject, body) for user, subject, body in messages if user.email]
    if not messages:
        return None
    notice = Notice(
        key=key,
        kind=kind,
        object_type=object_type,
        object_id=object_id,
        due_at=due_at,
        recipients=len(messages),
    )
    db.session.add(notice)
    for user, subject, body in messages:
        send_mail(user.email, subject, body, key=f"{key}:to:{user.id}", user_id=user.id)
    db.session.flush()
    log.info("notice %s (%s %s %s) to %s user(s)", notice.id, kind, object_type, object_id,
             len(messages))
    return notice


def build_message(mail, sender, reply_to=None):
    """The message of a logged mail: the cell's From, and for a mail to a person the
    cell's Reply-To, so the answer comes back to the mailbox Cellule reads."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    if reply_to and mail.user_id is None:
        message["Reply-To"] = reply_to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = mail.message_id
    if mail.in_reply_to:
        message["In-Reply-To"] = mail.in_reply_to
    if mail.references or mail.in_reply_to:
        message["References"] = mail.references or mail.in_reply_to
    if mail.auto_submitted:
        message["Auto-Submitted"] = mail.auto_submitted
    elif mail.user_id is not None:
        message["Auto-Submitted"] = "auto-generated"  # staff notices: no auto-replies
    message.set_content(mail.body)
    if mail.attachment:
        filename, mime, data = build_attachment(mail.attachment)
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def deliver(message):
    """Hand one message to the configured SMTP server."""
    config = current_app.config
    with smtplib.SMTP(
        config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
    ) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)


@job("send_email", timeout=120)
def send_email(mail_id):
    """Send one logged mail unless it was sent already; return its status."""
    mail = db.session.scalar(
        select(OutgoingMail).where(OutgoingMail.id == mail_id).with_for_update()
    )
    if mail is None:
        log.warning("mail %s: no such mail", mail_id)
        return None
    if mail.status != "queued":
        log.info("mail %s already %s", mail.id, mail.status)
        return mail.status
    config = current_app.config
    if not config["MAIL_SERVER"]:
        mail.status = "skipped"
        log.warning("mail %s not sent: MAIL_SERVER is not set", mail.id)
        return mail.status
    deliver(build_message(mail, config["MAIL_DEFAULT_SENDER"],
                          config["MAIL_REPLY_TO"] or config["MAIL_DEFAULT_SENDER"]))
    mail.status = "sent"
    mail.sent_at = utcnow()
    for hook in _SENT_HOOKS:
        hook(mail)
    log.info("mail %s sent", mail.id)
    return mail.status
