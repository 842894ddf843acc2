"""The caring messages' tables: one series per case, its messages.

`MONTHS` is the schedule's default (months after the start, one message each);
`CELLULE_CARING_MONTHS` replaces it (cellule/settings.py).
"""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cellule.extensions import db
from cellule.models import User
from cellule.types import UTCDateTime, utcnow

from ..models import Case

# Monthly for the first four months, then every two months up to a year (Motto & Bostrom;
# the caring contacts trials that followed): eight messages.
MONTHS = (1, 2, 3, 4, 6, 8, 10, 12)
LANGUAGES = ("fr", "nl", "de", "en")
SERIES_STATES = ("active", "stopped", "completed")
MESSAGE_STATES = ("scheduled", "sent", "skipped", "cancelled")
# Why a series stopped: by hand (the person asked, the team decided), or the person's
# consent was withdrawn (seen when a message fell due).
STOP_REASONS = ("asked_by_person", "team_decision", "consent_withdrawn", "other")


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class CaringSeries(db.Model):
    """The caring messages planned for one case, and how the series ended."""

    __tablename__ = "caring_series"
    __table_args__ = (
        CheckConstraint(_in("state", SERIES_STATES), name="state_known"),
        CheckConstraint(_in("language", LANGUAGES), name="language_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="active")
    language: Mapped[str] = mapped_column(String(2), default="fr")
    started_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stopped_at: Mapped[object | None] = mapped_column(UTCDateTime)
    stopped_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stop_reason: Mapped[str | None] = mapped_column(String(30))
    stop_note: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship()
    started_by: Mapped[User | None] = relationship(foreign_keys=[started_by_id])

    def __repr__(self):
        return f"<CaringSeries {self.id} {self.state}>"


class CaringMessage(db.Model):
    """One message of a series: when it is due, what became of it."""

    __tablename__ = "caring_messages"
    __table_args__ = (
        CheckConstraint(_in("state", MESSAGE_STATES), name="state_known"),
        Index("ix_caring_messages_series", "series_id", "number"),
        # The sending job's reading: the scheduled messages by due time.
        Index("ix_caring_messages_due", "due_at", postgresql_where="state = 'scheduled'",
              sqlite_where="state = 'scheduled'"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("caring_series.id"))
    number: Mapped[int]  # 1, 2, … : which text of the series
    months: Mapped[int]  # months after the start
    state: Mapped[str] = mapped_column(String(20), default="scheduled")
    due_at: Mapped[object] = mapped_column(UTCDateTime)
    sent_at: Mapped[object | None] = mapped_column(UTCDateTime)
    # The mail log row of the message (`cellule.mailer.OutgoingMail`), sent by the outbox.
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("mail_log.id"))
    # The outbound email contact it was filed as (a reply threads to it).
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    skip_reason: Mapped[str | None] = mapped_column(String(30))

    series: Mapped[CaringSeries] = relationship()

    def __repr__(self):
        return f"<CaringMessage {self.id} {self.state}>"
