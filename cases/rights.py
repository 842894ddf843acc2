"""The person's rights (GDPR art. 15, 16, 17): access, rectification, erasure.

- Access (art. 15): everything held about one person — details, merged records,
  contacts and emails, triage runs with their answers, cases with timeline, team
  notes, referrals, tasks, survey, mails sent — as JSON and as a printable page.
  Supervisors only. Clinical note bodies are listed (date) but withheld: only
  psychologists read them (DESIGN §1), and practitioners' personal notes may be
  kept out of a direct access request; a psychologist releases them on request.
- Rectification (art. 16): the normal person form (`contacts.edit_person`).
- Erasure (art. 17): irreversible anonymisation (`retention.erase_person`) with a
  recorded reason, refused while a case is open unless a supervisor forces it with
  a second reason.

Who: a supervisor sees the person and may do everything. An administrator, who
sees no case content, may carry out an erasure request on a record identified by
its number: the page shows them only the number, how many records of each kind
will be cleared, whether a case is open and whether it was already anonymised —
no name, contact detail or content. They may not export (the export *is* the
content) nor force past an open case (judging whether a case can be dropped is
a clinical decision).

Export and erasure ask for a recent re-authentication. The reason of an erasure
is kept on its Anonymisation row, never in the append-only audit log, which
only gets ids (a reason may well contain the person's name).
"""

import json
import logging
from datetime import date, datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import func, or_, select
from wtforms import BooleanField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from cellule import audit, limits, nav
from cellule.extensions import db
from cellule.mailer import OutgoingMail
from cellule.permissions import SUPERVISOR, roles_required
from cellule.roles import OVERSIGHT
from cellule.security import recent_auth_required
from cellule.types import utcnow
from contacts import labels as contact_labels
from contacts.access import survivor
from contacts.models import Contact, Person

from . import labels
from .models import (
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
from .retention import Anonymisation, ErasureRefused, anonymisation_of, erase_person
from .survey import Survey

log = logging.getLogger(__name__)

bp = Blueprint("rights", __name__, url_prefix="/rights")
RIGHTS_ROLES = OVERSIGHT

nav.register("rights.index", _l("Data rights"), RIGHTS_ROLES, 70)


class FindForm(FlaskForm):
    person_id = IntegerField(_l("Person number"), validators=[InputRequired(),
                                                              NumberRange(min=1)])


class EraseForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        description=_l("E.g. the request's date and reference. Do not write the person's name."),
        validators=[InputRequired(), Length(min=5, max=limits.ERASURE_REASON)],
    )
    force = BooleanField(_l("Erase even though a case is open"))
    force_reason = TextAreaField(_l("Why the open case may be dropped"),
                                 validators=[Optional(), Length(max=limits.ERASURE_REASON)])
    confirm = BooleanField(_l("I understand that this cannot be undone."),
                           validators=[InputRequired()])


def get_person_for_rights_or_404(person_id, user=None):
    """Load a person for a rights action (supervisors, administrators), else 404."""
    user = user or current_user
    person = db.session.get(Person, person_id) if isinstance(person_id, int) else None
    if person is None or user.role not in RIGHTS_ROLES:
        audit.denied("person", person_id, {"purpose": "rights"})
        abort(404)
    return person


def full_view(user=None):
    """Whether the user may see the person's details and content (not administrators)."""
    return (user or current_user).role == SUPERVISOR


# --------------------------------------------------------------------------- gathering


def _records(person):
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
    ids = _records(person)
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


def person_data(person):
    """Everything held about a person (and the records merged into it), as plain data."""
    ids = _records(person)
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
        "mails": [{"created_at": _iso(m.created_at), "sent_at": _iso(m.sent_at),
                   "recipient": m.recipient, "subject": m.subject, "body": m.body,
                   "status": m.status} for m in mails],
        "anonymisations": [{"object_type": a.object_type, "object_id": a.object_id,
                            "cause": a.cause, "at": _iso(a.at), "forced": a.forced}
                           for a in anonymisations],
        "withheld": {"clinical_note_bodies": clinical},
    }


# --------------------------------------------------------------------------- views


@bp.route("/", methods=["GET", "POST"])
@login_required
@roles_required(*RIGHTS_ROLES)
def index():
    """Find a person's record by its number, for a rights request."""
    form = FindForm()
    if form.validate_on_submit():
        return redirect(url_for("rights.person", person_id=form.person_id.data), 303)
    return render_template("cases/rights/index.html", form=form), 422 if form.errors else 200


def _page(person, erase_form=None, status=200, refused=None):
    if person.merged_into_id is not None:
        return redirect(url_for("rights.person", person_id=survivor(person).id), 303)
    return render_template(
        "cases/rights/person.html",
        person=person,
        full=full_view(),
        counts=counts_for(person),
        open_cases=list(db.session.scalars(select(Case).where(
            Case.person_id.in_(_records(person)), Case.status.in_(OPEN_STATUSES))
            .order_by(Case.id))) if full_view() else [],
        anonymisation=anonymisation_of("person", person.id),
        form=erase_form or EraseForm(),
        refused=refused,
    ), status


@bp.get("/people/<int:person_id>")
@login_required
@roles_required(*RIGHTS_ROLES)
def person(person_id):
    """Show what is held about a person and the rights actions (by role)."""
    person = get_person_for_rights_or_404(person_id)
    audit.read("person", person.id, {"purpose": "rights", "view": "full" if full_view()
                                     else "counts"})
    return _page(person)


def _export_audit(person, fmt, data):
    audit.record("export", "person", person.id, {
        "format": fmt, "purpose": "access_request",
        "cases": [c["id"] for c in data["cases"]],
    })
    db.session.commit()
    log.info("person %s exported (%s) by user %s", person.id, fmt, current_user.id)


@bp.get("/people/<int:person_id>/export")
@login_required
@roles_required(SUPERVISOR)
@recent_auth_required
def export_html(person_id):
    """Everything held about a person, as a page to print or save."""
    person = get_person_for_rights_or_404(person_id)
    if person.merged_into_id is not None:
        return redirect(url_for("rights.export_html", person_id=survivor(person).id), 303)
    data = person_data(person)
    _export_audit(person, "html", data)
    return render_template("cases/rights/export.html", data=data, labels=labels,
                           contact_labels=contact_labels, person=person)


@bp.get("/people/<int:person_id>/export.json")
@login_required
@roles_required(SUPERVISOR)
@recent_auth_required
def export_json(person_id):
    """Everything held about a person, as a JSON file."""
    person = get_person_for_rights_or_404(person_id)
    if person.merged_into_id is not None:
        return redirect(url_for("rights.export_json", person_id=survivor(person).id), 303)
    data = person_data(person)
    _export_audit(person, "json", data)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True),
        mimetype="application/json",
        headers={"Content-Disposition":
                 f'attachment; filename="cellule-person-{person.id}.json"'},
    )


@bp.post("/people/<int:person_id>/erase")
@login_required
@roles_required(*RIGHTS_ROLES)
@recent_auth_required
def erase(person_id):
    """Erase (anonymise) a person on request, with a reason."""
    person = survivor(get_person_for_rights_or_404(person_id))
    form = EraseForm()
    if not form.validate_on_submit():
        return _page(person, form, 422)
    force = bool(form.force.data) and current_user.role == SUPERVISOR
    if force and not (form.force_reason.data or "").strip():
        form.force_reason.errors.append(_("Say why the open case may be dropped."))
        return _page(person, form, 422)
    try:
        row = erase_person(person, current_user, form.reason.data, force=force,
                           force_reason=form.force_reason.data)
    except ErasureRefused as refusal:
        db.session.rollback()
        audit.record("erase_refused", "person", person.id,
                     {"why": refusal.reason, "open_cases": refusal.open_case_ids})
        db.session.commit()
        return _page(person, form, 409, refused=refusal.reason)
    db.session.commit()
    flash(_("The person's data was erased (anonymised)."), "success")
    log.info("erasure %s of person %s committed", row.id, person.id)
    return redirect(url_for("rights.person", person_id=person.id), 303)


# --------------------------------------------------------------------------- wiring


def person_section(person, user):
    """A link from the person page to the rights actions (supervisors)."""
    if user.role != SUPERVISOR:
        return None
    from contacts.person_page import Section

    body = render_template("cases/rights/_person_section.html", person=person)
    # body: an autoescaped template's output.
    return Section(title=_("Data protection"), body=Markup(body), order=90)  # nosec B704


def register(app):
    from contacts import person_page

    person_page.register_section(person_section)
