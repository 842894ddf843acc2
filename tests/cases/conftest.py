"""Fixtures of the cases tests: contacts, answer sets per level, resources, a triage (people:
`make_person` of tests/conftest.py)."""

import pytest

from cellule.extensions import db
from contacts.models import Contact
from triage.examples import LEVEL_ANSWERS, answers_for  # noqa: F401  (used by the tests)


@pytest.fixture
def make_contact(app, make_person):
    def factory(created_by, person="new", **fields):
        if person == "new":
            person = make_person(created_by=created_by)
        fields.setdefault("channel", "phone")
        fields.setdefault("direction", "in")
        contact = Contact(person_id=person.id if person else None,
                          created_by_id=created_by.id, **fields)
        db.session.add(contact)
        db.session.commit()
        return contact

    return factory


@pytest.fixture
def resources(app):
    from cases.demo import RESOURCES
    from cases.models import Resource

    rows = [Resource(**values) for values in RESOURCES]
    db.session.add_all(rows)
    db.session.commit()
    return {r.name: r for r in rows}


@pytest.fixture
def triage(app, make_user, make_contact):
    """Run an API-equivalent triage as `user` on a new contact; return (run, case)."""
    from cases import routing, triage_runs
    from cellule.types import utcnow
    from triage.calendar import get_calendar
    from triage.engine import evaluate
    from triage.loader import get_script

    def run_triage(level, user=None, contact=None, at=None, decision=None, person="new"):
        user = user or make_user("advisor")
        contact = contact or make_contact(user, person=person)
        at = at or utcnow()
        evaluation = evaluate(get_script("cellule-triage"), LEVEL_ANSWERS[level], language="fr",
                              at=at, calendar=get_calendar())
        run = triage_runs.record_complete(evaluation, user, contact=contact, at=at)
        decision = decision or triage_runs.as_proposed(run, resources_given=True)
        outcome = routing.decide(run, decision, user, get_calendar(), at)
        db.session.commit()
        return run, outcome.case

    return run_triage
