"""The right of access (GDPR art. 15): everything held about one person, as plain data."""

from datetime import date, datetime

from sqlalchemy import func, or_, select

from cellule.extensions import db
from cellule.mailer import OutgoingMail
from cellule.types import utcnow
from contacts.consent.models import Consent
from contacts.models import Contact, Person

from ..caring.models import CaringMessage, CaringSeries
from ..models import (
    OPEN_STATUSES,
    Case,
    CaseContact,
    CaseEvent,
    Note,
    Referral,
    Resource,
    Task,
    TriageRun,
)
from ..reassessment.models import Reassessment
from ..survey.models import Survey
from .models import Anonymisation


def record_ids(person):
    """The person and the records merged into it (one person, several rows)."""
    ids, queue = [person.id], [person.id]
    while queue:
        merged = list(db.session.scalars(
            select(Person.id).where(Person.merged_into_id.in_(queue))))
        queue = [i for i in merged if i not in ids]
        ids += queue
    return ids


def counts_for(person):
    """How many rows of each kind hold data about the person (no content)."""
    ids = record_ids(person)
    case_ids = select(Case.id).where(Case.person_id.in_(ids))

    def n(stmt):
        return db.session.scalar(select(func.count()).select_from(stmt.subquery()))

    return {
        "records": len(ids),
        "contacts": n(select(Contact.id).where(Contact.person_id.in_(ids))),
        "triage_runs": n(select(TriageRun.id).where(TriageRun.person_id.in_(ids))),
        "cases": n(case_ids),
        "open_cases": n(select(Case.id).where(Case.person_id.in_(ids),
                                              Case.status.in_(OPEN_STATUSES))),
        "notes": n(select(Note.id).where(Note.case_id.in_(case_ids))),
        "mails": n(select(OutgoingMail.id).where(or_(OutgoingMail.person_id.in_(ids),
                                                     OutgoingMail.case_id.in_(case_ids)))),
        "surveys": n(select(Survey.id).where(Survey.case_id.in_(case_ids))),
    }


def _iso(value):
    return value.isoformat() if isinstance(value, datetime | date) else value


def _identity(p):
    return {
        "id": p.id, "name": p.name, "affiliate_number": p.affiliate_number,
        # typed for them, but another person's: kept aside for the advisors' review
        "claimed_affiliate_number": p.claimed_affiliate_number, "phone": p.phone,
        "email": p.email, "language": p.language, "starter": p.starter, "sector": p.sector,
        "created_at": _iso(p.created_at), "updated_at": _iso(p.updated_at),
        "merged_into_id": p.merged_into_id, "merged_at": _iso(p.merged_at),
    }


def _contact(c):
    return {
        "id": c.id, "occurred_at": _iso(c.occurred_at), "channel": c.channel,
        "direction": c.direction, "duration_minutes": c.duration_minutes,
        "reasons": list(c.reasons or []), "summary": c.summary,
        "red_flagged": c.red_flagged,
        "red_flags": [f.get("phrase") if isinstance(f, dict) else f for f in c.red_flags or []],
        "referral_reach": c.referral_reach, "consent_to_contact": c.consent_to_contact,
        "email_sender": c.email_sender, "email_subject": c.email_subject,
        "email_body": c.email_body,
    }


def _run(r):
    evaluation = r.evaluation or {}
    return {
        "id": r.id, "created_at": _iso(r.created_at), "script": r.script_id,
        "script_version": r.script_version, "language": r.language, "state": r.state,
        "complete": r.complete, "answers": dict(r.answers or {}),
        "immediate_danger": r.immediate_danger, "notes": r.notes,
        "scores": evaluation.get("scores"), "proposed_level": r.proposed_level,
        "proposed_route": r.proposed_route, "final_level": r.final_level,
        "final_route": r.final_route, "decision": r.decision,
        "override_reason": r.override_reason, "signoff_state": r.signoff_state,
        "decided_at": _iso(r.decided_at), "case_id": r.case_id,
    }


def _case(case):
    notes = db.session.scalars(select(Note).where(Note.case_id == case.id).order_by(Note.id))
    referrals = db.session.execute(
        select(Referral, Resource).join(Resource, Referral.resource_id == Resource.id)
        .where(Referral.case_id == case.id).order_by(Referral.id)).all()
    survey = db.session.scalar(select(Survey).where(Survey.case_id == case.id))
    team, clinical = [], []
    for note in notes:
        if note.visibility == "clinical":
            clinical.append({"created_at": _iso(note.created_at), "body": None,
                             "withheld": True})
        else:
            team.append({"created_at": _iso(note.created_at), "body": note.body})
    return {
        "id": case.id, "reference": case.reference, "status": case.status,
        "level": case.level, "route": case.route, "queue": case.queue,
        "opened_at": _iso(case.opened_at), "due_at": _iso(case.due_at),
        "first_response_at": _iso(case.first_response_at), "closed_at": _iso(case.closed_at),
        "outcome": case.outcome,
        "timeline": [{"at": _iso(e.at), "kind": e.kind} for e in db.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))],
        "team_notes": team,
        "clinical_notes": clinical,
        "referrals": [{"created_at": _iso(r.created_at), "resource": res.name,
                       "kind": res.kind, "price_cents_shown": r.price_cents_shown,
                       "consent_at": _iso(r.consent_at), "note": r.note}
                      for r, res in referrals],
        "tasks": [{"kind": t.kind, "title": t.title, "due_at": _iso(t.due_at),
                   "status": t.status, "done_at": _iso(t.done_at)}
                  for t in db.session.scalars(
                      select(Task).where(Task.case_id == case.id).order_by(Task.id))],
        "contact_ids": list(db.session.scalars(
            select(CaseContact.contact_id).where(CaseContact.case_id == case.id)
            .order_by(CaseContact.id))),
        "survey": None if survey is None else {
            "status": survey.status, "sent_at": _iso(survey.sent_at),
            "expires_at": _iso(survey.expires_at), "answered_at": _iso(survey.answered_at),
            "score": survey.score, "comment": survey.comment},
    }


def _caring_series(case_ids):
    """caring19: the caring messages' series of the cases, each with its messages (the texts
    sent are in the mails)."""
    series = list(db.session.scalars(select(CaringSeries).where(
        CaringSeries.case_id.in_(case_ids or [0])).order_by(CaringSeries.id)))
    messages = {}
    for m in db.session.scalars(select(CaringMessage).where(
            CaringMessage.series_id.in_([s.id for s in series] or [0]))
            .order_by(CaringMessage.series_id, CaringMessage.number)):
        messages.setdefault(m.series_id, []).append(
            {"number": m.number, "months": m.months, "state": m.state,
             "due_at": _iso(m.due_at), "sent_at": _iso(m.sent_at),
             "skip_reason": m.skip_reason})
    return [{"id": s.id, "case_id": s.case_id, "state": s.state, "language": s.language,
             "started_at": _iso(s.started_at), "stopped_at": _iso(s.stopped_at),
             "stop_reason": s.stop_reason, "stop_note": s.stop_note,
             "messages": messages.get(s.id, [])} for s in series]


def person_data(person):
    """Everything held about a person (and the records merged into it), as plain data."""
    ids = record_ids(person)
    persons = {p.id: p for p in db.session.scalars(select(Person).where(Person.id.in_(ids)))}
    cases = list(db.session.scalars(
        select(Case).where(Case.person_id.in_(ids)).order_by(Case.id)))
    case_ids = [c.id for c in cases]
    mails = db.session.scalars(select(OutgoingMail).where(or_(
        OutgoingMail.person_id.in_(ids), OutgoingMail.case_id.in_(case_ids or [0])
    )).order_by(OutgoingMail.id))
    anonymisations = db.session.scalars(select(Anonymisation).where(or_(
        (Anonymisation.object_type == "person") & Anonymisation.object_id.in_(ids),
        (Anonymisation.object_type == "case") & Anonymisation.object_id.in_(case_ids or [0]),
    )).order_by(Anonymisation.id))
    cases_data = [_case(c) for c in cases]
    clinical = sum(len(c["clinical_notes"]) for c in cases_data)
    return {
        "generated_at": _iso(utcnow()),
        "person": _identity(person),
        "merged_records": [_identity(persons[i]) for i in ids[1:] if i in persons],
        "contacts": [_contact(c) for c in db.session.scalars(
            select(Contact).where(Contact.person_id.in_(ids)).order_by(Contact.occurred_at,
                                                                        Contact.id))],
        "triage_runs": [_run(r) for r in db.session.scalars(
            select(TriageRun).where(TriageRun.person_id.in_(ids)).order_by(TriageRun.id))],
        "cases": cases_data,
        # reassess19: the re-assessments of their cases (answers, scores, the change)
        "reassessments": [
            {"id": r.id, "case_id": r.case_id, "created_at": _iso(r.created_at),
             "occasion": r.occasion, "language": r.language, "answers": r.answers,
             "scores": r.scores, "first_scores": r.first_scores, "change": r.change}
            for r in db.session.scalars(select(Reassessment).where(
                Reassessment.case_id.in_(case_ids or [0])).order_by(Reassessment.id))],
        "caring_series": _caring_series(case_ids),
        "consents": [{"purpose": c.purpose, "granted": c.granted, "channel": c.channel,
                      "text_version": c.text_version, "detail": c.detail,
                      "recorded_at": _iso(c.recorded_at), "withdrawn_at": _iso(c.withdrawn_at),
                      "withdrawal_channel": c.withdrawal_channel}
                     for c in db.session.scalars(select(Consent).where(
                         Consent.person_id.in_(ids)).order_by(Consent.recorded_at, Consent.id))],
        "mails": [{"created_at": _iso(m.created_at), "sent_at": _iso(m.sent_at),
                   "recipient": m.recipient, "subject": m.subject, "body": m.body,
                   "status": m.status} for m in mails],
        "anonymisations": [{"object_type": a.object_type, "object_id": a.object_id,
                            "cause": a.cause, "at": _iso(a.at), "forced": a.forced}
                           for a in anonymisations],
        "withheld": {"clinical_note_bodies": clinical},
    }
