"""The consent table (DESIGN §10, issue 20): one row per answer a person gave for one
purpose — yes or no — with the text version they heard or read, the channel, who
recorded it and when; a yes can later be withdrawn (who, when, by which channel).

A person's state for a purpose is their newest row (`operations.has_consent`).
"""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cellule.extensions import db
from cellule.models import User
from cellule.types import UTCDateTime, utcnow

# The purposes a person consents to, one by one (DESIGN §10's contract).
PURPOSES = ("cell_processing", "share_psychologist", "share_partner", "paid_coaching",
            "outreach", "survey", "caring_messages")
# How the answer was given: read out during a call, signed, or ticked on a web form.
CHANNELS = ("oral", "written", "web")


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Consent(db.Model):
    """A person's answer for one purpose; the newest row of a purpose is its state."""

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(_in("purpose", PURPOSES), name="purpose_known"),
        CheckConstraint(_in("channel", CHANNELS), name="channel_known"),
        CheckConstraint(f"withdrawal_channel IS NULL OR {_in('withdrawal_channel', CHANNELS)}",
                        name="withdrawal_channel_known"),
        CheckConstraint("withdrawn_at IS NULL OR granted", name="only_a_yes_withdrawn"),
        Index("ix_consents_person_purpose", "person_id", "purpose", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    purpose: Mapped[str] = mapped_column(String(30))
    granted: Mapped[bool]
    channel: Mapped[str] = mapped_column(String(10))
    # "purpose/vN" of contacts.consent.texts: the words the person heard or read.
    text_version: Mapped[str] = mapped_column(String(60))
    # What the text named besides its words, e.g. the coaching price shown ("45 €").
    detail: Mapped[str | None] = mapped_column(String(200))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[object | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawal_channel: Mapped[str | None] = mapped_column(String(10))

    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])

    @property
    def active(self):
        """A yes that stands (not withdrawn)."""
        return self.granted and self.withdrawn_at is None

    @property
    def state(self):
        """"granted", "refused" or "withdrawn"."""
        if not self.granted:
            return "refused"
        return "granted" if self.withdrawn_at is None else "withdrawn"

    def __repr__(self):
        return f"<Consent person {self.person_id} {self.purpose} {self.state}>"
