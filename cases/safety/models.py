"""The safety plan's tables: its versions (one row per save of a changed plan) and the
times it was given to the person by email, with the consent recorded on the send."""

import json

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cellule.crypto import EncryptedText
from cellule.extensions import db
from cellule.models import User
from cellule.types import UTCDateTime, utcnow

from ..models import Case

# The six Stanley–Brown steps, then the reasons for living (DESIGN §10's contract).
STEPS = ("warning_signs", "coping", "distractions", "people", "professionals",
         "environment", "reasons_for_living")
LANGUAGES = ("fr", "nl", "de", "en")
CONSENT_CHANNELS = ("oral", "written")
MAX_ITEMS = 30  # lines a step
MAX_ITEM = 300  # characters a line


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class SafetyPlan(db.Model):
    """One version of a case's safety plan; the case shows the newest."""

    __tablename__ = "safety_plans"
    __table_args__ = (
        UniqueConstraint("case_id", "version"),
        CheckConstraint(_in("language", LANGUAGES), name="language_known"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    version: Mapped[int]
    language: Mapped[str] = mapped_column(String(2))
    # The seven lists as JSON, encrypted at rest: the person's own words about their crisis.
    content: Mapped[str] = mapped_column(EncryptedText)
    # Version 1 is written, the next ones are reviews: who saved this version, and when.
    written_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    written_by: Mapped[User] = relationship()

    @property
    def steps(self):
        """{step: [lines]} for the seven steps (missing ones empty)."""
        data = json.loads(self.content)
        return {step: list(data.get(step) or []) for step in STEPS}

    @steps.setter
    def steps(self, values):
        self.content = json.dumps({step: list(values.get(step) or []) for step in STEPS},
                                  ensure_ascii=False)

    def __repr__(self):
        return f"<SafetyPlan case {self.case_id} v{self.version}>"


class SafetyPlanSend(db.Model):
    """A plan given to the person by email, with their consent to receive it so."""

    __tablename__ = "safety_plan_sends"
    __table_args__ = (
        CheckConstraint(_in("consent_channel", CONSENT_CHANNELS), name="consent_channel_known"),
        Index("ix_safety_plan_sends_plan_id", "plan_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("safety_plans.id"))
    consent_channel: Mapped[str] = mapped_column(String(10))
    consent_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    consent_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    mail_id: Mapped[int | None]

    plan: Mapped[SafetyPlan] = relationship()
