"""The rights' table: one anonymised person, case or anonymous contact (`Anonymisation`)."""

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cellule.extensions import db
from cellule.models import User
from cellule.types import UTCDateTime, utcnow

CAUSES = ("retention", "erasure")


class Anonymisation(db.Model):
    """One anonymised person, case or anonymous contact: why, when and by whom."""

    __tablename__ = "anonymisations"
    __table_args__ = (
        UniqueConstraint("object_type", "object_id", name="uq_anonymisations_object"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int]
    cause: Mapped[str] = mapped_column(String(10))
    # Erasure: the recorded reason (and why it went ahead despite an open case).
    reason: Mapped[str | None] = mapped_column(Text)
    forced: Mapped[bool] = mapped_column(default=False)
    force_reason: Mapped[str | None] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    # How many rows of each kind were cleared.
    cleared: Mapped[dict] = mapped_column(JSON, default=dict)

    by: Mapped[User | None] = relationship()
