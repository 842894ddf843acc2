"""Cases, triage runs, timeline, notes, the resource directory, referrals and tasks.

A case is open while its status is not `closed`; a person has at most one
open case (a partial unique index enforces it on both databases). The case's
`version` column is SQLAlchemy's version counter: every ORM update checks and
bumps it, so a concurrent change is refused instead of silently overwritten.
"""

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cellule.extensions import db
from cellule.models import User
from cellule.types import UTCDateTime, utcnow
from contacts.models import Contact, Person
from triage.vocab import LEVELS, ROUTES

STATUSES = ("open", "in_progress", "waiting", "closed")
OPEN_STATUSES = ("open", "in_progress", "waiting")
OUTCOMES = ("resolved", "referred_external", "declined", "no_contact", "other")
QUEUES = ("psychology", "advisors")
QUEUE_FOR_ROUTE = {
    "crisis": "psychology",
    "psychologist": "psychology",
    "coaching": "advisors",
    "information": "advisors",
}
NOTE_VISIBILITIES = ("team", "clinical")
RESOURCE_KINDS = (
    "crisis_line",
    "in_house_psychology",
    "coaching_partner",
    "external_specialist",
    "workshop",
    "self_help",
    "rights_info",
)
TASK_KINDS = ("callback", "check_in", "survey", "sign_off", "complete_triage", "custom",
              "follow_up")
# Kinds only the application creates (DESIGN §9): a form or API call naming one is refused.
# `follow_up`: the follow-up protocol's contacts (cases.followup, DESIGN §10).
SYSTEM_TASK_KINDS = ("sign_off", "complete_triage", "survey", "follow_up")
HAND_TASK_KINDS = tuple(kind for kind in TASK_KINDS if kind not in SYSTEM_TASK_KINDS)
# Codes of the tasks that alert supervisors (kind `custom`): they end when their case closes
# and only an open case at one of ALERT_LEVELS shows its alerts as a banner.
ALERT_TASK_CODES = ("imminent_alert",)
ALERT_LEVELS = ("imminent",)
# A case at one of these levels closes only with a safety outcome (DESIGN §9).
SAFETY_LEVELS = ("imminent", "high")
SAFETY_OUTCOMES = ("safety_plan", "emergency_services", "crisis_line", "unreachable", "other")
TASK_STATUSES = ("open", "done", "cancelled")
# A referral's life (DESIGN §10; the steps that may follow each: cases.referrals.models).
REFERRAL_STATES = ("proposed", "accepted", "sent", "confirmed", "attended", "no_show",
                   "declined", "closed")
RUN_STATES = ("draft", "decided", "incomplete")
DECISIONS = ("confirm", "raise", "downgrade")
SIGNOFF_STATES = ("pending", "approved", "rejected")
EVENT_KINDS = (
    "opened",
    "routed",
    "triage_attached",
    "claimed",
    "reassigned",
    "level_changed",
    "status_changed",
    "contact_linked",
    "first_response",
    "note_added",
    "referral_added",
    "task_added",
    "task_done",
    "task_cancelled",
    "signoff_requested",
    "signoff_approved",
    "signoff_rejected",
    "supervisors_alerted",
    "merged",
    "person_identified",
    "closed",
    "reassessed",  # cases.reassessment
    "referral_step",  # cases.referrals: a referral's step (accepted, sent, confirmed, ...)
)

OPEN_CASE_SQL = "status <> 'closed'"


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class CaseCounter(db.Model):
    """The last reference number handed out in a year (CEL-YYYY-NNNNNN)."""

    __tablename__ = "case_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class Case(db.Model):
    """One person's path through the cell."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status_known"),
        CheckConstraint(_in("level", LEVELS), name="level_known"),
        CheckConstraint(_in("route", ROUTES), name="route_known"),
        CheckConstraint(_in("queue", QUEUES), name="queue_known"),
        CheckConstraint("outcome IS NULL OR " + _in("outcome", OUTCOMES), name="outcome_known"),
        CheckConstraint("safety_outcome IS NULL OR " + _in("safety_outcome", SAFETY_OUTCOMES),
                        name="safety_outcome_known"),
        # One open case per person (anonymous cases have no person and never collide).
        Index(
            "uq_cases_open_person",
            "person_id",
            unique=True,
            postgresql_where=text("status <> 'closed' AND person_id IS NOT NULL"),
            sqlite_where=text("status <> 'closed' AND person_id IS NOT NULL"),
        ),
        # Queues: open cases of one queue by deadline (keyset: due_at, id).
        Index(
            "ix_cases_open_queue",
            "queue",
            "due_at",
            "id",
            postgresql_where=text(OPEN_CASE_SQL),
            sqlite_where=text(OPEN_CASE_SQL),
        ),
        # The psychology and advisors' queues: a queue's unclaimed open cases by deadline
        # (migration 0031: the index's order is the page's, it stops after the page).
        Index(
            "ix_cases_unclaimed_queue",
            "queue",
            "due_at",
            "id",
            postgresql_where=text(OPEN_CASE_SQL + " AND assignee_id IS NULL"),
            sqlite_where=text(OPEN_CASE_SQL + " AND assignee_id IS NULL"),
        ),
        # Supervisor board and "my cases": open cases by deadline, by assignee.
        Index(
            "ix_cases_open_due",
            "due_at",
            "id",
            postgresql_where=text(OPEN_CASE_SQL),
            sqlite_where=text(OPEN_CASE_SQL),
        ),
        Index(
            "ix_cases_open_assignee",
            "assignee_id",
            "due_at",
            "id",
            postgresql_where=text(OPEN_CASE_SQL),
            sqlite_where=text(OPEN_CASE_SQL),
        ),
        # Every case by deadline (lists without a status, closed cases, deep pages).
        Index("ix_cases_due", "due_at", "id"),
        Index("ix_cases_opened_by", "opened_by_id", "due_at", "id"),
        Index("ix_cases_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    level: Mapped[str] = mapped_column(String(20))
    route: Mapped[str] = mapped_column(String(20))
    queue: Mapped[str] = mapped_column(String(20))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[object | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[object | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(30))
    # How the person's safety was left at closing (imminent/high cases must say it).
    safety_outcome: Mapped[str | None] = mapped_column(String(30))
    safety_note: Mapped[str | None] = mapped_column(Text)
    # Why an imminent or high case was closed without a safety plan (issue 19).
    no_safety_plan_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    @property
    def is_open(self):
        return self.status != "closed"

    def __repr__(self):
        return f"<Case {self.reference}>"


class CaseContact(db.Model):
    """A contact linked to a case."""

    __tablename__ = "case_contacts"
    __table_args__ = (UniqueConstraint("case_id", "contact_id", name="uq_case_contacts_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    linked_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    contact: Mapped[Contact] = relationship()


class TriageRun(db.Model):
    """One run of a triage script during a contact: answers, proposal and decision."""

    __tablename__ = "triage_runs"
    __table_args__ = (
        CheckConstraint(_in("state", RUN_STATES), name="state_known"),
        CheckConstraint(
            "decision IS NULL OR " + _in("decision", DECISIONS), name="decision_known"
        ),
        CheckConstraint(
            "signoff_state IS NULL OR " + _in("signoff_state", SIGNOFF_STATES),
            name="signoff_known",
        ),
        Index("ix_triage_runs_contact", "contact_id", "id"),
        Index("ix_triage_runs_person", "person_id", "id"),
        Index("ix_triage_runs_case", "case_id", "id"),
        Index("ix_triage_runs_created_by", "created_by_id", "id"),
        # The deadline sweep's drafts left after an imminent or high answer (migration 0011).
        Index("ix_triage_runs_state_updated", "state", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    script_id: Mapped[str] = mapped_column(String(60))
    script_version: Mapped[int]
    language: Mapped[str] = mapped_column(String(2))
    state: Mapped[str] = mapped_column(String(12), default="draft")
    complete: Mapped[bool] = mapped_column(default=False)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    immediate_danger: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    # The engine's output (DESIGN §7 shape) at the time of the decision.
    evaluation: Mapped[dict | None] = mapped_column(JSON)
    proposed_level: Mapped[str | None] = mapped_column(String(20))
    proposed_route: Mapped[str | None] = mapped_column(String(20))
    proposed_due_at: Mapped[object | None] = mapped_column(UTCDateTime)
    final_level: Mapped[str | None] = mapped_column(String(20))
    final_route: Mapped[str | None] = mapped_column(String(20))
    final_due_at: Mapped[object | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(12))
    override_reason: Mapped[str | None] = mapped_column(Text)
    # A downgrade waits for a psychologist's or supervisor's sign-off.
    requested_level: Mapped[str | None] = mapped_column(String(20))
    requested_route: Mapped[str | None] = mapped_column(String(20))
    signoff_state: Mapped[str | None] = mapped_column(String(12))
    signoff_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signoff_at: Mapped[object | None] = mapped_column(UTCDateTime)
    signoff_note: Mapped[str | None] = mapped_column(Text)
    crisis_shown: Mapped[bool] = mapped_column(default=False)
    resources_given: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    # When a section was last saved (the sweep closes drafts left after a grave answer).
    updated_at: Mapped[object | None] = mapped_column(UTCDateTime)
    # When the answers first said imminent and the supervisors were alerted: once per run.
    alerted_at: Mapped[object | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[object | None] = mapped_column(UTCDateTime)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    signoff_by: Mapped[User | None] = relationship(foreign_keys=[signoff_by_id])
    contact: Mapped[Contact | None] = relationship(foreign_keys=[contact_id])
    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    case: Mapped[Case | None] = relationship(foreign_keys=[case_id])

    @property
    def is_final(self):
        return self.state != "draft"

    def __repr__(self):
        return f"<TriageRun {self.id} {self.state}>"


class CaseEvent(db.Model):
    """One line of a case's timeline."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The case version right after the event: a stale form shows what came after it.
    case_version: Mapped[int | None]
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()


class Note(db.Model):
    """A team note (everyone who may see the case) or a clinical note (psychologists)."""

    __tablename__ = "case_notes"
    __table_args__ = (
        CheckConstraint(_in("visibility", NOTE_VISIBILITIES), name="visibility_known"),
        Index("ix_case_notes_case", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    visibility: Mapped[str] = mapped_column(String(10), default="team")
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()


class Resource(db.Model):
    """An entry of the resource directory that admins maintain."""

    __tablename__ = "resources"
    __table_args__ = (
        CheckConstraint(_in("kind", RESOURCE_KINDS), name="kind_known"),
        CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="price_positive"),
        Index("ix_resources_kind", "kind", "active", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    phone: Mapped[str | None] = mapped_column(String(40))
    url: Mapped[str | None] = mapped_column(String(500))
    # Language codes the resource serves, e.g. ["fr", "nl"].
    languages: Mapped[list] = mapped_column(JSON, default=list)
    hours: Mapped[str | None] = mapped_column(String(200))
    # A price in euro cents per session (None or 0: free); `cost` explains it in words.
    price_cents: Mapped[int | None]
    cost: Mapped[str | None] = mapped_column(String(200))
    # Where a partner receives the handover packs (cases.referrals), if by email.
    email: Mapped[str | None] = mapped_column(String(320))
    # {"fr": "...", "nl": "...", "en": "..."}
    descriptions: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def is_paid(self):
        return bool(self.price_cents)

    def description(self, language):
        texts = self.descriptions or {}
        return texts.get(language) or texts.get("fr") or next(iter(texts.values()), "")

    def __repr__(self):
        return f"<Resource {self.id} {self.kind}>"


class Referral(db.Model):
    """A case (or a triage run without case) sent to a resource of the directory."""

    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_case", "case_id", "id"),
        Index("ix_referrals_triage_run", "triage_run_id"),
        Index("ix_referrals_resource_state", "resource_id", "state", "id"),
        Index("ix_referrals_reminder_due", "reminder_due_at"),
        CheckConstraint(_in("state", REFERRAL_STATES), name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    triage_run_id: Mapped[int | None] = mapped_column(ForeignKey("triage_runs.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    # The price shown to the person at the time (the directory's price may change later).
    price_cents_shown: Mapped[int | None]
    consent_at: Mapped[object | None] = mapped_column(UTCDateTime)
    consent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    # Its life (cases.referrals): the current step, when it happened, when it is late.
    state: Mapped[str] = mapped_column(String(20), default="proposed",
                                       server_default="proposed")
    state_at: Mapped[object | None] = mapped_column(UTCDateTime)
    reminder_due_at: Mapped[object | None] = mapped_column(UTCDateTime)

    resource: Mapped[Resource] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    case: Mapped["Case | None"] = relationship(foreign_keys=[case_id])


class Task(db.Model):
    """Follow-up work, on a case or a triage run, for one user (or the sign-off pool)."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(_in("kind", TASK_KINDS), name="kind_known"),
        CheckConstraint(_in("status", TASK_STATUSES), name="status_known"),
        Index(
            "ix_tasks_open_assignee",
            "assignee_id",
            "due_at",
            "id",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index(
            "ix_tasks_open_due",
            "due_at",
            "id",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index("ix_tasks_case", "case_id", "id"),
        Index("ix_tasks_triage_run", "triage_run_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="custom")
    # Set on tasks the application creates (e.g. "imminent_alert"): the title is then
    # shown translated from this code rather than as stored.
    code: Mapped[str | None] = mapped_column(String(30))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    triage_run_id: Mapped[int | None] = mapped_column(ForeignKey("triage_runs.id"))
    # None for a sign-off waiting for any psychologist or supervisor.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[object | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[object | None] = mapped_column(UTCDateTime)

    case: Mapped[Case | None] = relationship()
    triage_run: Mapped[TriageRun | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])

    def is_overdue(self, now):
        return self.status == "open" and self.due_at is not None and self.due_at < now
