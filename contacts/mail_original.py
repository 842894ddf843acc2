"""The original of an email contact, kept when what Cellule shows is not all of it.

An email decoded with losses (undecodable bytes, a broken structure, a body cut at
its limit) or carrying attached messages keeps its raw bytes here, encrypted at rest
(`cellule.crypto.EncryptedText`), one row per contact: the advisor opens it from the
contact page ("original message"), with the same access as the contact and an audited
read. Other messages keep nothing more than their contact (data minimisation).

The bytes go with the contact's email content: when the content is cleared (the
retention's anonymisation sets `email_body` to None) or the contact deleted, so is
the original (a `before_flush` hook, so that no other module has to know this table).
"""

from flask import Blueprint, abort, render_template
from flask_login import login_required
from sqlalchemy import ForeignKey, String, delete, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from cellule import audit
from cellule.crypto import EncryptedText
from cellule.extensions import db
from cellule.permissions import roles_required
from cellule.types import UTCDateTime, utcnow

from . import mail_decode
from .access import PEOPLE_ROLES, get_contact_or_404
from .mail_parse import UnreadableMessage, parse_bytes
from .models import Contact

# Larger originals are not kept (they stay in the cell's mailbox); the page says so.
MAX_KEPT_BYTES = 5 * 1024 * 1024


class EmailOriginal(db.Model):
    """The raw bytes of one email contact (stored as Latin-1 text, encrypted)."""

    __tablename__ = "email_originals"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    # bytes.decode("latin-1"): every byte one character, so the round trip is exact.
    raw: Mapped[str | None] = mapped_column(EncryptedText)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def raw_bytes(self):
        return self.raw.encode("latin-1") if self.raw is not None else None


def keep(contact, raw):
    """Keep the original of `contact` (same transaction); too large, only its size."""
    kept = len(raw) <= MAX_KEPT_BYTES
    db.session.add(EmailOriginal(
        contact_id=contact.id, raw=raw.decode("latin-1") if kept else None, size=len(raw),
        sha256=mail_decode.raw_digest(raw)))


@event.listens_for(Session, "before_flush")
def _drop_with_the_content(session, flush_context, instances):
    """An email contact whose body is cleared loses its original too."""
    cleared = []
    for obj in session.dirty:
        if isinstance(obj, Contact):
            # The change as set, without loading anything (no query for other updates).
            added = inspect(obj).attrs.email_body.history.added
            if added and all(value is None for value in added):
                cleared.append(obj.id)
    if cleared:
        session.execute(delete(EmailOriginal).where(EmailOriginal.contact_id.in_(cleared)))


bp = Blueprint("mail_original", __name__)


@bp.get("/contacts/<int:contact_id>/original")
@login_required
@roles_required(*PEOPLE_ROLES)
def original(contact_id):
    """Show the original of an email contact: its attached messages, then its source."""
    contact = get_contact_or_404(contact_id, audit_read=False)
    row = db.session.get(EmailOriginal, contact.id) if contact.channel == "email" else None
    if row is None:
        abort(404)
    audit.read("email_original", contact.id)
    attached, source = _readable(row.raw_bytes)
    return render_template("contacts/email_original.html", contact=contact, row=row,
                           attached=attached, source=source)


def _readable(raw):
    """(attached messages, decoded source) of an original's bytes; none when not kept."""
    if raw is None:
        return [], None
    try:
        attached = mail_decode.read_message(parse_bytes(raw)).attached
    except UnreadableMessage:
        attached = []
    return attached, mail_decode.decode_bytes(raw)


def register(app):
    app.register_blueprint(bp)
