"""The follow-up protocol's tables: one protocol per case, the attempts to reach the person,
the delays per level the administrators set.

`DELAYS` is the default of the protocol's contacts per level (hours after the case opened
or was raised); a `follow_up_delays` row (set on the admin page) replaces a level's, and
`CELLULE_FOLLOW_UP_DELAYS` (config, {level: [hours, ...]}) overrides both
(`operations.delays_for` decides).
"""

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cellule.extensions import db
from cellule.models import User
from cellule.types import UTCDateTime, utcnow

from ..models import Case, Task

_DEFAULT = (24, 72, 7 * 24, 30 * 24, 90 * 24)  # 24 h, 72 h, 7 days, 1 month, 3 months
# Per level (a safety yes at a lower level takes that level's row).
DELAYS = {level: _DEFAULT for level in ("low", "at_risk", "elevated", "serious", "high",
                                        "imminent")}
# Contacts due sooner than this move to the next opening; later ones to a business day's.
SHORT_DELAY_HOURS = 72
# A move later than this share of the delay records the 24/7 crisis line for the gap.
MAX_MOVE_SHARE = 0.5
ATTEMPTS_BEFORE_ALERT = 3
# The stored titles of the protocol's tasks (screens show routing.TASK_TITLES by code).
TITLES = {"follow_up": "Follow-up contact",
          "follow_up_unreached": "Follow-up: three attempts without reaching the person"}

# What an administrator may set per level (the admin page, `operations.set_delays`).
MAX_CONTACTS = 10
MAX_DELAY_HOURS = 366 * 24

OUTCOMES = ("reached", "no_answer", "voicemail", "refused")
STATES = ("active", "completed", "declined", "handed_over")
END_STATES = STATES[1:]


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class FollowUpProtocol(db.Model):
    """The follow-up contacts planned for one case, and how the protocol ended."""

    __tablename__ = "follow_up_protocols"
    __table_args__ = (CheckConstraint(_in("state", STATES), name="state_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    level: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    state: Mapped[str] = mapped_column(String(20), default="active")
    # [{"task_id", "hours", "planned_at", "due_at", "crisis_line": {"name", "phone"} | None}]
    schedule: Mapped[list] = mapped_column(JSON, default=list)
    started_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    alerted_at: Mapped[object | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[object | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    end_note: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship()

    def __repr__(self):
        return f"<FollowUpProtocol {self.id} {self.state}>"


class FollowUpAttempt(db.Model):
    """One attempt to reach the person for a follow-up contact."""

    __tablename__ = "follow_up_attempts"
    __table_args__ = (
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome_known"),
        Index("ix_follow_up_attempts_protocol", "protocol_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_id: Mapped[int] = mapped_column(ForeignKey("follow_up_protocols.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)

    task: Mapped[Task] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __repr__(self):
        return f"<FollowUpAttempt {self.id} {self.outcome}>"


class FollowUpDelays(db.Model):
    """The follow-up contacts an administrator set for a level, in hours, increasing."""

    __tablename__ = "follow_up_delays"
    __table_args__ = (CheckConstraint(_in("level", tuple(DELAYS)), name="level_known"),)

    level: Mapped[str] = mapped_column(String(20), primary_key=True)
    hours: Mapped[list] = mapped_column(JSON)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def __repr__(self):
        return f"<FollowUpDelays {self.level} {self.hours}>"
