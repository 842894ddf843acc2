"""Anonymisation: the retention policy (`purge_expired`) and erasure on request.

Anonymising keeps every row and every figure the reports count (dates, channel,
direction, duration, reasons, level, route, outcome, scores, survey scores, the
person's language, sector and starter flag) and clears what identifies or
describes the person: name, affiliate number, phone, email, search text; the
free text of contacts, emails, triage runs, notes, referrals, task titles and
survey comments; the mail log's addresses and bodies. Nothing is deleted, so the
statistics, the timelines' shape and the append-only audit log (which holds ids,
never values) stay consistent. Each anonymised person, case and anonymous contact
gets one `Anonymisation` row (why, when, by whom) and an audit row.

Retention (`CELLULE_RETENTION_YEARS`; unset or 0: no retention run) takes, each
day and from the command line:

- every case closed before the cut-off;
- every person with nothing after the cut-off: no open case, no case closed
  after it, no contact or triage run after it (merged records go with the
  record they were merged into);
- every anonymous contact (no person) before the cut-off that no kept case links.

`flask --app wsgi retention purge --dry-run` shows what a run would do.
"""

import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, delete, exists, or_
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cellule import audit
from cellule.extensions import db
from cellule.jobs import job, periodic
from cellule.mailer import OutgoingMail
from cellule.models import User
from cellule.types import UTCDateTime, utcnow
from contacts.models import Contact, Person, ScreenPop

from .models import OPEN_STATUSES, Case, CaseContact, CaseEvent, Note, Referral, Task, TriageRun
from .survey import Survey

log = logging.getLogger(__name__)

CAUSES = ("retention", "erasure")
BATCH = 200
# Placeholder name of an anonymised person (the column is required; no language's word).
ANONYMOUS_NAME = "—"
# Keys of timeline details that could hold typed text.
FREE_TEXT_KEYS = ("reason", "note", "comment", "summary", "body", "title", "text")
# What a triage run keeps of its evaluation: the figures, not the answers or matched text.
KEPT_EVALUATION = ("level", "route", "scores")


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


def anonymisation_of(object_type, object_id):
    return db.session.scalar(
        sa_select(Anonymisation).where(
            Anonymisation.object_type == object_type, Anonymisation.object_id == object_id
        )
    )


def _not_done(object_type, id_column):
    return ~exists().where(
        Anonymisation.object_type == object_type, Anonymisation.object_id == id_column
    )


# --------------------------------------------------------------------------- clearing


@dataclass
class Cleared:
    """Counts of what one anonymisation cleared (kept on its Anonymisation row)."""

    counts: dict = field(default_factory=dict)
    seen: set = field(default_factory=set)

    def once(self, kind, row_id):
        key = (kind, row_id)
        if key in self.seen:
            return False
        self.seen.add(key)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return True


def _scrub_run(run, cleared):
    if not cleared.once("triage_runs", run.id):
        return
    run.answers = {}
    run.notes = None
    run.override_reason = None
    run.signoff_note = None
    if run.evaluation:
        run.evaluation = {k: v for k, v in run.evaluation.items() if k in KEPT_EVALUATION}


def _scrub_contact(contact, cleared):
    if not cleared.once("contacts", contact.id):
        return
    contact.summary = ""
    contact.red_flags = []  # the matched phrases are the person's words; `red_flagged` stays
    contact.referral_reach = None
    contact.call_id = None
    contact.email_sender = None
    contact.email_subject = None
    contact.email_body = None
    contact.email_message_id = None
    for run in db.session.scalars(sa_select(TriageRun).where(TriageRun.contact_id == contact.id)):
        _scrub_run(run, cleared)


def _scrub_mails(condition, cleared):
    for mail in db.session.scalars(sa_select(OutgoingMail).where(condition)):
        if cleared.once("mails", mail.id):
            mail.recipient = ""
            mail.subject = ""
            mail.body = ""
            mail.in_reply_to = None


def _scrub_case(case, cleared):
    """Clear the free text of a case and of everything linked to it."""
    if not cleared.once("cases", case.id):
        return
    for note in db.session.scalars(sa_select(Note).where(Note.case_id == case.id)):
        if cleared.once("notes", note.id):
            note.body = ""
    for referral in db.session.scalars(sa_select(Referral).where(Referral.case_id == case.id)):
        if cleared.once("referrals", referral.id):
            referral.note = None
    for task in db.session.scalars(sa_select(Task).where(Task.case_id == case.id)):
        if task.code is None and cleared.once("tasks", task.id):
            task.title = ANONYMOUS_NAME  # a typed title may name someone
    for event in db.session.scalars(sa_select(CaseEvent).where(CaseEvent.case_id == case.id)):
        if any(key in (event.detail or {}) for key in FREE_TEXT_KEYS):
            event.detail = {k: v for k, v in event.detail.items() if k not in FREE_TEXT_KEYS}
    for run in db.session.scalars(sa_select(TriageRun).where(TriageRun.case_id == case.id)):
        _scrub_run(run, cleared)
    for contact in db.session.scalars(
        sa_select(Contact).join(CaseContact, CaseContact.contact_id == Contact.id)
        .where(CaseContact.case_id == case.id)
    ):
        _scrub_contact(contact, cleared)
    for survey in db.session.scalars(sa_select(Survey).where(Survey.case_id == case.id)):
        if cleared.once("surveys", survey.id):
            survey.comment = None
            survey.token_digest = None
    _scrub_mails(OutgoingMail.case_id == case.id, cleared)


def _scrub_person(person, cleared):
    """Clear the person's details and everything held about them (their cases included)."""
    if not cleared.once("persons", person.id):
        return
    phone = person.phone
    person.name = ANONYMOUS_NAME
    person.affiliate_number = None
    # A number typed for them that belonged to someone else (contacts.claims), and its review.
    person.claimed_affiliate_number = None
    person.possible_duplicate_of_id = None
    person.duplicate_reasons = None
    person.duplicate_status = None
    person.phone = None
    person.phone_valid = False
    person.email = None
    person.name_key = ""
    person.search_text = ""
    person.updated_at = utcnow()
    if phone:
        db.session.execute(delete(ScreenPop).where(ScreenPop.phone == phone))
    for contact in db.session.scalars(sa_select(Contact).where(Contact.person_id == person.id)):
        _scrub_contact(contact, cleared)
    for run in db.session.scalars(sa_select(TriageRun).where(TriageRun.person_id == person.id)):
        _scrub_run(run, cleared)
    for referral in db.session.scalars(
        sa_select(Referral).where(Referral.person_id == person.id)
    ):
        if cleared.once("referrals", referral.id):
            referral.note = None
    for case in db.session.scalars(sa_select(Case).where(Case.person_id == person.id)):
        _scrub_case(case, cleared)
    _scrub_mails(OutgoingMail.person_id == person.id, cleared)
    for loser in db.session.scalars(sa_select(Person).where(Person.merged_into_id == person.id)):
        _scrub_person(loser, cleared)


def _record(object_type, object_id, cause, cleared, actor=None, **extra):
    row = Anonymisation(object_type=object_type, object_id=object_id, cause=cause,
                        by_id=actor.id if actor else None, cleared=dict(cleared.counts), **extra)
    db.session.add(row)
    db.session.flush()
    audit.record("anonymise", object_type, object_id,
                 {"cause": cause, "anonymisation_id": row.id,
                  "forced": bool(extra.get("forced"))}, user=actor)
    return row


def anonymise_case(case, cause="retention", actor=None):
    """Anonymise one case's content (the person stays); return its Anonymisation."""
    cleared = Cleared()
    _scrub_case(case, cleared)
    return _record("case", case.id, cause, cleared, actor)


def anonymise_contact(contact, cause="retention", actor=None):
    cleared = Cleared()
    _scrub_contact(contact, cleared)
    return _record("contact", contact.id, cause, cleared, actor)


def anonymise_person(person, cause, actor=None, reason=None, forced=False, force_reason=None):
    """Anonymise a person, their merged records and all their cases; return the person's
    Anonymisation. Cases already anonymised keep their earlier record."""
    cleared = Cleared()
    _scrub_person(person, cleared)
    for case_id in sorted(i for kind, i in cleared.seen if kind == "cases"):
        if anonymisation_of("case", case_id) is None:
            _record("case", case_id, cause, Cleared(), actor)
    return _record("person", person.id, cause, cleared, actor, reason=reason, forced=forced,
                   force_reason=force_reason)


# --------------------------------------------------------------------------- erasure


class ErasureRefused(Exception):
    """The person has an open case (and the erasure was not forced), or is already erased."""

    def __init__(self, reason, open_case_ids=()):
        super().__init__(reason)
        self.reason = reason
        self.open_case_ids = list(open_case_ids)


def open_case_ids(person):
    return list(db.session.scalars(
        sa_select(Case.id).where(Case.person_id == person.id, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.id)
    ))


def erase_person(person, actor, reason, force=False, force_reason=None):
    """Erase (anonymise) a person on request (GDPR art. 17); the caller commits.

    Refused while a case is open unless `force` with a `force_reason`.
    """
    if anonymisation_of("person", person.id) is not None:
        raise ErasureRefused("already anonymised")
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a reason is required")
    open_ids = open_case_ids(person)
    if open_ids and not force:
        raise ErasureRefused("open case", open_ids)
    if force and open_ids and not (force_reason or "").strip():
        raise ValueError("a reason to force the erasure is required")
    forced = bool(force and open_ids)
    row = anonymise_person(
        person, "erasure", actor, reason=reason, forced=forced,
        force_reason=(force_reason or "").strip() if forced else None,
    )
    log.info("person %s erased by user %s (anonymisation %s, forced %s)", person.id,
             actor.id if actor else None, row.id, row.forced)
    return row


# --------------------------------------------------------------------------- retention


def retention_years(app=None):
    app = app or current_app
    years = app.config.get("CELLULE_RETENTION_YEARS")
    return int(years) if years else None


def cutoff_for(years, now):
    """The instant `years` calendar years before `now` (29 February → 28 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return (now - timedelta(days=1)).replace(year=now.year - years)


@dataclass
class Plan:
    cutoff: object
    cases: list
    persons: list
    contacts: list

    @property
    def empty(self):
        return not (self.cases or self.persons or self.contacts)


def _live_case(cutoff):
    """Cases the policy keeps: open, or closed at or after the cut-off."""
    return or_(Case.status.in_(OPEN_STATUSES), Case.closed_at >= cutoff)


def plan(cutoff, limit=None):
    """Return the ids a retention run at `cutoff` would anonymise (nothing is changed)."""
    cases = sa_select(Case.id).where(
        Case.status == "closed", Case.closed_at < cutoff, _not_done("case", Case.id)
    ).order_by(Case.id)
    persons = sa_select(Person.id).where(
        Person.merged_into_id.is_(None),
        Person.created_at < cutoff,
        _not_done("person", Person.id),
        ~exists().where(Case.person_id == Person.id, _live_case(cutoff)),
        ~exists().where(Contact.person_id == Person.id, Contact.occurred_at >= cutoff),
        ~exists().where(TriageRun.person_id == Person.id, TriageRun.created_at >= cutoff),
    ).order_by(Person.id)
    contacts = sa_select(Contact.id).where(
        Contact.person_id.is_(None),
        Contact.occurred_at < cutoff,
        _not_done("contact", Contact.id),
        ~exists().where(
            CaseContact.contact_id == Contact.id,
            CaseContact.case_id == Case.id,
            _live_case(cutoff),
        ),
    ).order_by(Contact.id)
    if limit:
        cases, persons, contacts = (q.limit(limit) for q in (cases, persons, contacts))
    return Plan(
        cutoff,
        list(db.session.scalars(cases)),
        list(db.session.scalars(persons)),
        list(db.session.scalars(contacts)),
    )


def apply(the_plan):
    """Anonymise what a plan lists, committing every BATCH objects; return the counts."""
    done = {"cases": 0, "persons": 0, "contacts": 0}
    pending = 0

    def step():
        nonlocal pending
        pending += 1
        if pending >= BATCH:
            db.session.commit()
            pending = 0

    for person_id in the_plan.persons:
        person = db.session.get(Person, person_id)
        if person is not None and anonymisation_of("person", person_id) is None:
            anonymise_person(person, "retention")
            done["persons"] += 1
            step()
    for case_id in the_plan.cases:
        case = db.session.get(Case, case_id)
        if case is not None and anonymisation_of("case", case_id) is None:
            anonymise_case(case, "retention")
            done["cases"] += 1
            step()
    for contact_id in the_plan.contacts:
        contact = db.session.get(Contact, contact_id)
        if contact is not None and anonymisation_of("contact", contact_id) is None:
            anonymise_contact(contact, "retention")
            done["contacts"] += 1
            step()
    audit.record("retention_purge", None, None,
                 {"cutoff": the_plan.cutoff.isoformat(), **done})
    db.session.commit()
    log.info("retention purge before %s: %s person(s), %s case(s), %s contact(s) anonymised",
             the_plan.cutoff.isoformat(), done["persons"], done["cases"], done["contacts"])
    return done


@job("purge_expired", timeout=3600, retries=())
def purge_expired():
    """Apply the retention policy; return the counts (None when no period is configured)."""
    years = retention_years()
    if not years:
        log.info("purge_expired: CELLULE_RETENTION_YEARS is not set, nothing to do")
        return None
    return apply(plan(cutoff_for(years, utcnow())))


periodic("purge_expired", every=86400, enabled=lambda app: bool(retention_years(app)))


def configure(app):
    """Read `CELLULE_RETENTION_YEARS` from the environment (unless the config has it)."""
    if "CELLULE_RETENTION_YEARS" not in app.config:
        raw = (os.environ.get("CELLULE_RETENTION_YEARS") or "").strip()
        app.config["CELLULE_RETENTION_YEARS"] = int(raw) if raw else None


# --------------------------------------------------------------------------- command line

retention_cli = AppGroup("retention", help="The retention policy.")


def _ids(label, ids, width=20):
    shown = ", ".join(str(i) for i in ids[:width])
    more = f" … (+{len(ids) - width})" if len(ids) > width else ""
    return f"  {label}: {len(ids)}" + (f" — ids {shown}{more}" if ids else "")


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Show what would be anonymised; change nothing.")
@click.option("--years", type=click.IntRange(min=1),
              help="Retention period (default: CELLULE_RETENTION_YEARS).")
def purge_command(dry_run, years):
    """Anonymise closed cases and people past the retention period."""
    years = years or retention_years()
    if not years:
        raise click.ClickException(
            "no retention period: set CELLULE_RETENTION_YEARS or pass --years"
        )
    cutoff = cutoff_for(years, utcnow())
    the_plan = plan(cutoff)
    click.echo(f"Retention period: {years} year(s); cut-off {cutoff.isoformat()}.")
    click.echo("Would anonymise:" if dry_run else "Anonymising:")
    click.echo(_ids("cases closed before the cut-off", the_plan.cases))
    click.echo(_ids("people with nothing after the cut-off", the_plan.persons))
    click.echo(_ids("anonymous contacts before the cut-off", the_plan.contacts))
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was changed.")
        return
    done = apply(the_plan)
    click.echo(f"Done: {done['persons']} person(s), {done['cases']} case(s), "
               f"{done['contacts']} contact(s) anonymised.")
