"""The reporting tables: the CSV exports, and the indexes the period filters need."""

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from cellule.extensions import db
from cellule.types import UTCDateTime, utcnow

from ..models import Case, Task
from .periods import Period, timezone

EXPORT_STATUSES = ("pending", "done")

# The period filters of the figures (migration 0007): cases by opening and closing time,
# tasks by deadline whatever their status (the tables' own indexes serve the queues).
Index("ix_cases_opened_at", Case.opened_at)
Index("ix_cases_closed_at", Case.closed_at, postgresql_where=text("closed_at IS NOT NULL"),
      sqlite_where=text("closed_at IS NOT NULL"))
Index("ix_tasks_due_at", Task.due_at)


class ReportExport(db.Model):
    """An anonymised CSV export of one period, built by the `export_report` job."""

    __tablename__ = "report_exports"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in EXPORT_STATUSES) + ")",
            name="status_known",
        ),
        Index("ix_report_exports_requested_by", "requested_by_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    granularity: Mapped[str] = mapped_column(String(10), default="auto")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    # The outbox row of the job (its id is the RQ job's id, where the progress is).
    outbox_id: Mapped[int | None]
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[object | None] = mapped_column(UTCDateTime)
    row_count: Mapped[int | None]
    content: Mapped[str | None] = mapped_column(Text)

    @property
    def filename(self):
        return f"cellule-report-{self.date_from.isoformat()}-{self.date_to.isoformat()}.csv"

    def period(self):
        return Period(self.date_from, self.date_to, timezone(), "custom", self.granularity)
