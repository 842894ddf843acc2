"""Who may see which person and contact, and the loaders that check it.

- ambassadors: only the people and contacts they created;
- advisors, supervisors: every person and contact;
- psychologists: every person and contact too (they take calls, find repeat
  callers and log their own contacts; contacts hold no clinical notes), but no
  inbox and no merge;
- admins: no person or contact content at all.

A person or contact the user may not see is a 404 (its existence does not
leak), and the refusal is audited.
"""

from flask import abort
from flask_login import current_user
from sqlalchemy.orm import joinedload

from cellule import audit
from cellule.extensions import db
from cellule.roles import CASEWORK, DESK, STAFF
from cellule.security import MAX_ID

from .models import Contact, Person

# Roles that work with people and contacts at all.
PEOPLE_ROLES = CASEWORK
# Roles that see every person and contact (not only their own).
SEE_ALL_ROLES = STAFF
# Roles that work the inbox (mark email contacts and referrals handled).
INBOX_ROLES = DESK
# Roles that may merge two records of one person.
MERGE_ROLES = DESK


def sees_all(user):
    return user.role in SEE_ALL_ROLES


def can_see_person(user, person):
    if user.role not in PEOPLE_ROLES or person is None:
        return False
    return sees_all(user) or person.created_by_id == user.id


def can_see_contact(user, contact):
    if user.role not in PEOPLE_ROLES or contact is None:
        return False
    return sees_all(user) or contact.created_by_id == user.id


def visible_persons(user, include_merged=False):
    """Return a SELECT of the people `user` may see (active ones unless asked)."""
    stmt = db.select(Person)
    if user.role not in PEOPLE_ROLES:
        return stmt.where(db.false())
    if not include_merged:
        stmt = stmt.where(Person.merged_into_id.is_(None))
    if not sees_all(user):
        stmt = stmt.where(Person.created_by_id == user.id)
    return stmt


def visible_contacts(user):
    """Return a SELECT of the contacts `user` may see."""
    stmt = db.select(Contact)
    if user.role not in PEOPLE_ROLES:
        return stmt.where(db.false())
    if not sees_all(user):
        stmt = stmt.where(Contact.created_by_id == user.id)
    return stmt


def get_person_or_404(person_id, user=None, audit_read=True):
    """Load a person the user may see (merged records included), or 404 and audit."""
    user = user or current_user
    person = db.session.get(Person, person_id) if _is_id(person_id) else None
    if not can_see_person(user, person):
        audit.denied("person", person_id)
        abort(404)
    if audit_read:
        audit.read("person", person.id)
    return person


def get_contact_or_404(contact_id, user=None, audit_read=True, with_person=False):
    """Load a contact the user may see, or 404 and audit; `with_person` loads its person
    in the same query (a triage needs both: one round trip fewer)."""
    user = user or current_user
    options = (joinedload(Contact.person),) if with_person else ()
    contact = db.session.get(Contact, contact_id, options=options) if _is_id(contact_id) \
        else None
    if not can_see_contact(user, contact):
        audit.denied("contact", contact_id)
        abort(404)
    if audit_read:
        audit.read("contact", contact.id)
    return contact


def survivor(person, user=None):
    """Follow merge pointers to the record that survives.

    With `user`, the survivor is one they may see, or a 404 (audited) as for any person
    they may not see: an ambassador's merged person does not lead to someone else's
    record. Without, the pointer is followed for the application's own use (routing a
    triage run to the right person), never to show the survivor.
    """
    seen = set()
    while person.merged_into_id is not None and person.id not in seen:
        seen.add(person.id)
        person = db.session.get(Person, person.merged_into_id)
    if user is not None and not can_see_person(user, person):
        audit.denied("person", person.id)
        abort(404)
    return person


def _is_id(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID
