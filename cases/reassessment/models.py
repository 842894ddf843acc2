"""The re-assessment's table: PHQ-2, GAD-2, CBI personal and the safety screen asked again
at a follow-up contact or at closing, compared to the case's first triage run."""

import json

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cellule.crypto import EncryptedText
from cellule.extensions import db
from cellule.models import User
from cellule.types import UTCDateTime, utcnow

from ..models import Case, Task, TriageRun

# Where it was taken: a follow-up contact (its task), the closing step, any other exchange.
OCCASIONS = ("follow_up", "closing", "other")
# The scores compared to the first run (lower is better for each).
COMPARED = ("phq2", "gad2", "cbi_personal")


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Reassessment(db.Model):
    """One re-assessment of a case; the case page shows the newest."""

    __tablename__ = "reassessments"
    __table_args__ = (
        CheckConstraint(_in("occasion", OCCASIONS), name="occasion_known"),
        Index("ix_reassessments_case", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    # The case's first triage run, the one compared to (None: the case had none).
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("triage_runs.id"))
    script_id: Mapped[str] = mapped_column(String(60))
    script_version: Mapped[int]
    language: Mapped[str] = mapped_column(String(2))
    occasion: Mapped[str] = mapped_column(String(12))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    # Health data, encrypted at rest: the answers, the scores, the change to the first run.
    content: Mapped[str] = mapped_column(EncryptedText)
    # Plain, for the reports counted in SQL: the case's route then, and whether it improved
    # (None: nothing to compare); whether a safety answer was yes.
    route: Mapped[str] = mapped_column(String(20))
    improved: Mapped[bool | None]
    safety_yes: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    first_run: Mapped[TriageRun | None] = relationship()
    task: Mapped[Task | None] = relationship()
    created_by: Mapped[User] = relationship()

    def _data(self):
        return json.loads(self.content) if self.content else {}

    @property
    def answers(self):
        return self._data().get("answers", {})

    @property
    def scores(self):
        """{"cssrs", "phq2", "gad2", "cbi_personal"} now, and `first` (the first run's)."""
        return self._data().get("scores", {})

    @property
    def first_scores(self):
        return self._data().get("first", {})

    @property
    def change(self):
        """{score: new - first} for COMPARED (None where either is missing)."""
        return self._data().get("change", {})

    def store(self, answers, scores, first, change):
        self.content = json.dumps({"answers": answers, "scores": scores, "first": first,
                                   "change": change}, ensure_ascii=False)

    def __repr__(self):
        return f"<Reassessment {self.id} case {self.case_id}>"
