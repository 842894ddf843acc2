"""The cell's IMAP mailbox: connection and the ingestion cursor (`IMAP_*` settings).

The contacts domain turns messages into contacts (`contacts.mail_ingest`); this
module only knows how to reach the mailbox and remembers, per mailbox, its
UIDVALIDITY and the highest UID already ingested.
"""

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .types import UTCDateTime


class MailboxState(db.Model):
    """Where the ingestion of one mailbox stands."""

    __tablename__ = "mailbox_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(200), unique=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    # Highest UID ingested under `uidvalidity`; a new UIDVALIDITY starts again at 0.
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    polled_at: Mapped[object | None] = mapped_column(UTCDateTime)


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
