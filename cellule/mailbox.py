"""The cell's IMAP mailbox: connection, the ingestion cursor and the quarantine.

The contacts domain turns messages into contacts (`contacts.mail_ingest`); this
module only knows how to reach the mailbox, remembers, per mailbox, its
UIDVALIDITY and the highest UID already ingested, and holds the quarantine: the
messages that could not be ingested (kept raw, counted by `/api/v1/health`).
"""

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .types import UTCDateTime, utcnow


class MailboxState(db.Model):
    """Where the ingestion of one mailbox stands."""

    __tablename__ = "mailbox_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(200), unique=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    # Highest UID ingested under `uidvalidity`; a new UIDVALIDITY starts again at 0.
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    polled_at: Mapped[object | None] = mapped_column(UTCDateTime)


class QuarantinedMessage(db.Model):
    """A message that failed to ingest: kept raw for a retry, never shown.

    `reason` is written by the ingestion from what failed (an error class, a limit),
    never from the message: no address, subject or text reaches it. `raw` is None for
    a message too large to keep (it stays in the mailbox) and after a discard or a
    successful retry (the contact then holds what the cell needs).
    """

    __tablename__ = "mail_quarantine"
    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", "uid"),)

    PENDING, RETRIED, DISCARDED = "pending", "retried", "discarded"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a message imported from a file (`flask mail import`).
    mailbox: Mapped[str | None] = mapped_column(String(200))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(998))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int] = mapped_column(BigInteger)
    error: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=PENDING, index=True)
    failed_retries: Mapped[int] = mapped_column(Integer, default=0)
    retried_at: Mapped[object | None] = mapped_column(UTCDateTime)
    retried_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    discarded_at: Mapped[object | None] = mapped_column(UTCDateTime)
    discarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


def quarantine_pending_query():
    """The count of quarantined messages awaiting an admin's retry or discard, as a
    scalar subquery (`/health` folds it into its one statement)."""
    return (
        select(func.count()).select_from(QuarantinedMessage)
        .where(QuarantinedMessage.status == QuarantinedMessage.PENDING)
        .scalar_subquery()
    )


def quarantine_pending():
    """Return the number of quarantined messages awaiting an admin's retry or discard."""
    return db.session.scalar(select(quarantine_pending_query()))


def configured(app):
    return bool(app.config.get("IMAP_HOST"))


def connect(app):
    """Return a logged-in imap-tools mailbox on the configured folder."""
    config = app.config
    security = config["IMAP_SECURITY"]
    kinds = {"ssl": MailBox, "starttls": MailBoxStartTls, "none": MailBoxUnencrypted}
    if security not in kinds:
        raise ValueError("IMAP_SECURITY must be ssl, starttls or none")
    box = kinds[security](config["IMAP_HOST"], config["IMAP_PORT"], timeout=config["IMAP_TIMEOUT"])
    return box.login(config["IMAP_USERNAME"], config["IMAP_PASSWORD"], config["IMAP_MAILBOX"])
