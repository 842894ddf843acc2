"""Anonymisation, for the retention policy (`retention.py`) and for erasure on request.

Anonymising keeps every row and every figure the reports count (dates, channel,
direction, duration, reasons, level, route, outcome, scores, survey scores, the
person's language, sector and starter flag) and clears what identifies or
describes the person: name, affiliate number, phone, email, search text; the
free text of contacts, emails, triage runs, notes, referrals, task titles and
survey comments; the mail log's addresses and bodies. Nothing is deleted, so the
statistics, the timelines' shape and the append-only audit log (which holds ids,
never values) stay consistent. Each anonymised person, case and anonymous contact
gets one `Anonymisation` row (why, when, by whom) and an audit row.
"""

import logging
from dataclasses import dataclass, field

from sqlalchemy import delete
from sqlalchemy import select as sa_select

from cellule import audit
from cellule.extensions import db
from cellule.mailer import OutgoingMail
from cellule.types import utcnow
from contacts.models import Contact, Person, ScreenPop

from ..caring.models import CaringSeries
from ..models import OPEN_STATUSES, Case, CaseContact, CaseEvent, Note, Referral, Task, TriageRun
from ..reassessment.models import Reassessment
from ..survey.models import Survey
from .models import Anonymisation

log = logging.getLogger(__name__)

# Placeholder name of an anonymised person (the column is required; no language's word).
ANONYMOUS_NAME = "—"
# Keys of timeline details that could hold typed text.
FREE_TEXT_KEYS = ("reason", "note", "comment", "summary", "body", "title", "text")
# What a triage run keeps of its evaluation: the figures, not the answers or matched text.
KEPT_EVALUATION = ("level", "route", "scores")


def anonymisation_of(object_type, object_id):
    return db.session.scalar(
        sa_select(Anonymisation).where(
            Anonymisation.object_type == object_type, Anonymisation.object_id == object_id
        )
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
    # reassess19: a re-assessment keeps its figures (scores, change), as a run does, not
    # the answers.
    for row in db.session.scalars(sa_select(Reassessment).where(
            Reassessment.case_id == case.id)):
        row.store({}, row.scores, row.first_scores, row.change)
    # caring19: why a series stopped may be typed text; its state, reason code and dates stay.
    for series in db.session.scalars(sa_select(CaringSeries).where(
            CaringSeries.case_id == case.id, CaringSeries.stop_note.is_not(None))):
        if cleared.once("caring_series", series.id):
            series.stop_note = None
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
