"""The appointments' tables: a psychologist's published slots, and the appointments booked
on them for a case.

A slot is booked at most once at a time: the partial unique index on
`appointments.slot_id` (state not `cancelled`) makes a concurrent double booking fail in
the database (a 409), not in a check-then-insert; a cancelled appointment frees its slot.
"""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cellule.extensions import db
from cellule.models import User
from cellule.types import UTCDateTime, utcnow

from ..models import Case

MODES = ("video", "phone", "on_site")
LANGUAGES = ("fr", "nl", "de", "en")
SLOT_STATES = ("open", "removed")
STATES = ("booked", "cancelled", "attended", "no_show")
OUTCOMES = ("attended", "no_show")
MIN_MINUTES, MAX_MINUTES = 15, 180


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Slot(db.Model):
    """An hour a psychologist offers: when, how long, how (video, phone, on site), in
    which languages (a comma-separated list of codes)."""

    __tablename__ = "appointment_slots"
    __table_args__ = (
        CheckConstraint(_in("mode", MODES), name="mode_known"),
        CheckConstraint(_in("state", SLOT_STATES), name="state_known"),
        CheckConstraint(f"minutes BETWEEN {MIN_MINUTES} AND {MAX_MINUTES}",
                        name="minutes_range"),
        Index("ix_appointment_slots_psychologist", "psychologist_id", "starts_at"),
        Index("ix_appointment_slots_starts", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    psychologist_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[object] = mapped_column(UTCDateTime)
    ends_at: Mapped[object] = mapped_column(UTCDateTime)
    minutes: Mapped[int]
    mode: Mapped[str] = mapped_column(String(10))
    languages: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)

    psychologist: Mapped[User] = relationship()

    @property
    def language_list(self):
        return [code for code in self.languages.split(",") if code]

    def __repr__(self):
        return f"<Slot {self.id} {self.starts_at:%Y-%m-%d %H:%M}>"


class Appointment(db.Model):
    """A slot booked for a case's person; cancelled by the cell, or attended / missed as
    the psychologist records it. `uid` and `sequence` are the invitation's (RFC 5545)."""

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="state_known"),
        Index("uq_appointments_slot_booked", "slot_id", unique=True,
              postgresql_where="state <> 'cancelled'", sqlite_where="state <> 'cancelled'"),
        Index("ix_appointments_case", "case_id"),
        # The reminder sweep's reading: booked appointments by reminder time.
        Index("ix_appointments_reminder", "reminder_due_at",
              postgresql_where="reminder_sent_at IS NULL",
              sqlite_where="reminder_sent_at IS NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("appointment_slots.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    state: Mapped[str] = mapped_column(String(10), default="booked")
    uid: Mapped[str] = mapped_column(String(100), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    language: Mapped[str] = mapped_column(String(2), default="fr")
    booked_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[object | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome_at: Mapped[object | None] = mapped_column(UTCDateTime)
    outcome_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # 24 h before the start (None: booked later than that, the confirmation suffices).
    reminder_due_at: Mapped[object | None] = mapped_column(UTCDateTime)
    reminder_sent_at: Mapped[object | None] = mapped_column(UTCDateTime)

    slot: Mapped[Slot] = relationship()
    case: Mapped[Case] = relationship()

    def __repr__(self):
        return f"<Appointment {self.id} {self.state}>"
