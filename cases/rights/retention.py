"""The retention policy: `purge_expired`, each day, and `flask retention purge`.

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
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import exists, or_
from sqlalchemy import select as sa_select

from cellule import audit
from cellule.extensions import db
from cellule.jobs import job, periodic
from cellule.types import utcnow
from contacts.models import Contact, Person

from ..models import OPEN_STATUSES, Case, CaseContact, TriageRun
from .erasure import anonymisation_of, anonymise_case, anonymise_contact, anonymise_person
from .models import Anonymisation

log = logging.getLogger(__name__)

BATCH = 200


def _not_done(object_type, id_column):
    return ~exists().where(
        Anonymisation.object_type == object_type, Anonymisation.object_id == id_column
    )


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
    # Persons, then cases, then contacts, in that order (as the plan lists them).
    steps = (("persons", "person", Person, the_plan.persons, anonymise_person),
             ("cases", "case", Case, the_plan.cases, anonymise_case),
             ("contacts", "contact", Contact, the_plan.contacts, anonymise_contact))
    for count, kind, model, ids, anonymise in steps:
        for object_id in ids:
            row = db.session.get(model, object_id)
            if row is None or anonymisation_of(kind, object_id) is not None:
                continue
            anonymise(row, "retention")
            done[count] += 1
            pending += 1
            if pending >= BATCH:
                db.session.commit()
                pending = 0
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


