"""Demo data of the caring messages (order 45, after the history): the demo person who
agreed to them (contacts.consent.demo) gets a series on her case closed over a month ago,
its first message sent, so that a newcomer sees a running series on the case page."""

import logging
from datetime import timedelta

from sqlalchemy import select

from cellule.demo import seeder
from cellule.extensions import db
from cellule.types import utcnow
from contacts.models import Person

from ..models import Case
from . import operations as caring
from .models import CaringMessage

log = logging.getLogger(__name__)

PERSON = "Bénédicte Lambert"  # her caring messages consent is the demo's


def demo_series_case(person_id, now):
    """The person's newest case closed more than a month and a day ago (None: none)."""
    return db.session.scalar(
        select(Case).where(Case.person_id == person_id, Case.status == "closed",
                           Case.closed_at <= now - timedelta(days=32))
        .order_by(Case.closed_at.desc(), Case.id.desc()).limit(1))


@seeder(45)
def seed_caring(users_by_role):
    """Start the series the day after the close, then send its first message when due."""
    advisor = (users_by_role.get("advisor") or [None])[0]
    person = db.session.scalar(select(Person).where(Person.name == PERSON).limit(1))
    if advisor is None or person is None:
        return
    now = utcnow()
    case = demo_series_case(person.id, now)
    if case is None or caring.start_refusals(case):
        return
    series = caring.start_series(case, advisor, at=case.closed_at + timedelta(days=1))
    db.session.flush()
    first = db.session.scalar(select(CaringMessage).where(
        CaringMessage.series_id == series.id).order_by(CaringMessage.number).limit(1))
    if first is not None and first.due_at <= now:
        caring.send_message(first.id, now=first.due_at)
    db.session.flush()
    log.info("demo caring messages seeded")
