"""The survey table: one satisfaction survey per closed case."""

import hashlib

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cellule import limits
from cellule.extensions import db
from cellule.types import UTCDateTime, utcnow

from ..models import Case, Task

STATUSES = ("pending", "sent", "not_sent", "answered")
MAX_COMMENT = limits.COMMENT


class Survey(db.Model):
    """One satisfaction survey for one closed case."""

    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")", name="status_known"
        ),
        CheckConstraint("score IS NULL OR (score >= 1 AND score <= 5)", name="score_range"),
        Index("ix_surveys_sent_at", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    # SHA-256 of the link's token (256 random bits); the token itself is never stored.
    token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[object | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[object | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[object | None] = mapped_column(UTCDateTime)
    score: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    mail_id: Mapped[int | None]

    case: Mapped[Case] = relationship()
    task: Mapped[Task | None] = relationship()

    def state(self, at=None):
        """`pending`, `not_sent`, `open` (answerable), `answered` or `expired`."""
        if self.status == "sent":
            return "expired" if self.expires_at <= (at or utcnow()) else "open"
        return self.status

    def __repr__(self):
        return f"<Survey {self.id} {self.status}>"


def digest(token):
    return hashlib.sha256(token.encode()).hexdigest()
