"""Emails on cases: the cases a reply from Cellule may be filed on, the link of a reply
to the case chosen, and the link of the person's answer to the case of the thread.

Filled into the contacts domain's hooks (`contacts.replies.register_reply_cases`,
`contacts.signals.reply_filed` / `email_threaded`) from `cases.blueprint.register`.
"""

import logging

from sqlalchemy import select

from cellule import audit
from cellule.extensions import db
from contacts import replies
from contacts.replies import CaseChoice
from contacts.signals import email_threaded, reply_filed

from . import labels
from . import operations as ops
from .access import case_can, visible_cases_clause
from .models import OPEN_STATUSES, Case, CaseContact

log = logging.getLogger(__name__)


def reply_cases(person, user, parent):
    """The person's open cases `user` may link a contact to; marked when the email
    answered (`parent`) is linked to them."""
    cases = db.session.scalars(
        select(Case).where(Case.person_id == person.id, Case.status.in_(OPEN_STATUSES),
                           visible_cases_clause(user))
        .order_by(Case.id.desc()).limit(20)).all()
    linked = set()
    if parent is not None and cases:
        linked = set(db.session.scalars(select(CaseContact.case_id).where(
            CaseContact.contact_id == parent.id,
            CaseContact.case_id.in_([c.id for c in cases]))))
    choices = [CaseChoice(id=c.id, label=_label(c), linked=c.id in linked)
               for c in cases if case_can(user, c, "link_contact")]
    audit.listed("case", [choice.id for choice in choices])  # shown in the form's list
    return choices


def _label(case):
    return f"{case.reference} · {labels.ROUTE_LABELS[case.route]}"


def on_reply_filed(sender, contact, case_id, user, **extra):
    """Link a reply written from Cellule to the case its writer chose (the writer's
    right to the case checked again: the form offered only those cases)."""
    if case_id is None:
        return
    case = db.session.get(Case, case_id)
    if case is None or not case_can(user, case, "link_contact"):
        log.warning("reply contact %s: case %s refused, not linked", contact.id, case_id)
        return
    ops.link_contact(case, contact, user)


def on_email_threaded(sender, contact, parent, **extra):
    """Link an incoming email that answers one sent from Cellule to the open cases that
    email is linked to. A closed case stays closed and gets nothing: the email stays in
    the inbox, on the person's timeline, for an advisor to take up (a new triage
    attaches to the person's open case or opens one)."""
    cases = db.session.scalars(
        select(Case).join(CaseContact, CaseContact.case_id == Case.id)
        .where(CaseContact.contact_id == parent.id, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.id)).all()
    for case in cases:
        if contact.person_id is None or case.person_id in (None, contact.person_id):
            ops.link_contact(case, contact, None)


def register():
    replies.register_reply_cases(reply_cases)
    reply_filed.connect(on_reply_filed, weak=False)
    email_threaded.connect(on_email_threaded, weak=False)
