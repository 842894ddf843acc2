"""A referral's life (DESIGN §10): its steps and the one table of which step may follow
which.

`proposed` → `accepted` (by the person) → `sent` (the handover pack to the partner) →
`confirmed` (by the partner) → `attended` | `no_show` | `declined` → `closed`. A person or
partner may decline at any step before the outcome, and a referral may be closed early
(withdrawn); `closed` ends it. Each step is a `ReferralEvent` row, dated when it happened.
"""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cellule.extensions import db
from cellule.models import User
from cellule.types import UTCDateTime, utcnow

from ..models import REFERRAL_STATES, _in

STATES = REFERRAL_STATES
# The ONE rule of the referral's life: the steps that may follow each state.
NEXT = {
    "proposed": ("accepted", "declined", "closed"),
    "accepted": ("sent", "declined", "closed"),
    "sent": ("confirmed", "declined", "closed"),
    "confirmed": ("attended", "no_show", "declined"),
    "attended": ("closed",),
    "no_show": ("closed",),
    "declined": ("closed",),
    "closed": (),
}
assert set(NEXT) == set(STATES)
# Steps that the person's consent must allow: `sent` hands their details to the partner.
CONSENT_FOR = {"sent": "share_partner"}
# How a handover pack went: by email (the outbox) or printed.
CHANNELS = ("email", "print")
# The steps after which the cell waits on someone, and the setting giving the business
# days after which the case's assignee is reminded.
WAITING = {"sent": "CELLULE_REFERRAL_CONFIRM_DAYS", "confirmed": "CELLULE_REFERRAL_OUTCOME_DAYS"}
# The reminder task's code per waiting step (titles: cases.routing.TASK_TITLES).
REMINDER_CODES = {"sent": "referral_unconfirmed", "confirmed": "referral_no_outcome"}
REMINDER_TITLES = {"sent": "Referral: no confirmation from the partner yet",
                   "confirmed": "Referral: no news of the first appointment yet"}


class ReferralEvent(db.Model):
    """One dated step of a referral."""

    __tablename__ = "referral_events"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="state_known"),
        CheckConstraint("channel IS NULL OR " + _in("channel", CHANNELS), name="channel_known"),
        Index("ix_referral_events_referral", "referral_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    state: Mapped[str] = mapped_column(String(20))
    # When it happened (may be earlier than when it was recorded).
    at: Mapped[object] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(10))
    recorded_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()
