"""Demo data of the psychologists' appointments (order 55, after the cases): each demo
psychologist publishes a weekly availability for the coming weeks (video, phone and on
site; their languages) as "My availability" does, two of the demo's open cases have an
upcoming appointment, and a third had one yesterday that the psychologist recorded as a
no-show — all through `operations`, so that a newcomer sees the slots, the case page's
card and the psychology queue's next free slot. A psychologist who has slots already, or
a case with an appointment, is left as it is."""

import logging
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from cellule.demo import seeder
from cellule.extensions import db
from cellule.types import utcnow
from contacts.models import Person
from triage.calendar import get_calendar

from ..models import OPEN_STATUSES, Case
from . import operations as appointments
from .models import LANGUAGES, Appointment, Slot

log = logging.getLogger(__name__)

WEEKS = 4
# Per demo psychologist, in their order: (weekday, local start, minutes, mode, languages).
PATTERNS = [
    [(0, time(9, 0), 50, "video", ["fr", "en"]),
     (2, time(14, 0), 50, "on_site", ["fr"]),
     (3, time(10, 30), 30, "phone", ["fr", "nl"])],
    [(1, time(10, 0), 50, "video", ["nl", "en"]),
     (3, time(14, 0), 50, "on_site", ["nl"]),
     (4, time(9, 0), 30, "phone", ["nl", "fr"])],
]
# (person, index of the psychologist): booked on their next free slot in the person's
# language a day ahead or later.
UPCOMING = [("Bénédicte Lambert", 0), ("Pieter Van den Bossche", 1)]
# (person, index of the psychologist): a video call yesterday at 10:00, booked the day the
# case opened, missed.
MISSED = ("Nathalie Dubois", 0)


@seeder(55)
def seed_appointments(users_by_role):
    """Publish the weekly patterns, then book the planned appointments."""
    psychologists = users_by_role.get("psychologist") or []
    advisor = (users_by_role.get("advisor") or [None])[0]
    if not psychologists or advisor is None:
        return
    now = utcnow()
    for psychologist, pattern in zip(psychologists, PATTERNS, strict=False):
        _publish_weeks(psychologist, pattern, now)
    for person_name, index in UPCOMING:
        if index < len(psychologists):
            _book_upcoming(_open_case(person_name), psychologists[index], advisor, now)
    if MISSED[1] < len(psychologists):
        _book_missed(_open_case(MISSED[0]), psychologists[MISSED[1]], advisor, now)
    db.session.flush()
    log.info("demo appointments seeded")


def _publish_weeks(psychologist, pattern, now):
    """The psychologist's weekly slots from today for `WEEKS` weeks (none: has slots)."""
    if db.session.scalar(select(Slot.id).where(Slot.psychologist_id == psychologist.id)
                         .limit(1)) is not None:
        return
    first = now.astimezone(get_calendar().tz).date()
    last = first + timedelta(days=7 * WEEKS - 1)
    for weekday, start, minutes, mode, languages in pattern:
        appointments.publish_weekly(psychologist, weekday, start, minutes, mode, languages,
                                    first, last, now=now)


def _open_case(person_name):
    """The named person's newest open case without an appointment (None: none)."""
    case = db.session.scalar(
        select(Case).join(Person, Person.id == Case.person_id)
        .where(Person.name == person_name, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.opened_at.desc(), Case.id.desc()).limit(1))
    if case is None or db.session.scalar(select(Appointment.id).where(
            Appointment.case_id == case.id).limit(1)) is not None:
        return None
    return case


def _book_upcoming(case, psychologist, advisor, now):
    """Book the psychologist's next free slot in the person's language, a day ahead or
    later (so that the reminder 24 hours before is planned)."""
    if case is None:
        return None
    slot = db.session.scalar(appointments.free_slots_query(
        psychologist_id=psychologist.id, start=now + timedelta(days=1),
        language=case.person.language).limit(1))
    if slot is None:
        return None
    return appointments.book(case, slot, case.assignee or advisor, now=now)


def _book_missed(case, psychologist, advisor, now):
    """Yesterday's 10:00 video call, published and booked an hour after the case opened,
    recorded as a no-show by the psychologist."""
    if case is None:
        return None
    tz = get_calendar().tz
    yesterday = (now - timedelta(days=1)).astimezone(tz).date()
    starts = datetime.combine(yesterday, time(10, 0), tz).astimezone(UTC)
    booked_at = case.opened_at + timedelta(hours=1)
    if not booked_at < starts < now:
        return None
    language = case.person.language if case.person.language in LANGUAGES else "fr"
    slot = appointments.publish_slot(psychologist, starts, 50, "video", [language],
                                     now=booked_at - timedelta(minutes=5))
    appointment = appointments.book(case, slot, case.assignee or advisor, now=booked_at)
    appointments.record_outcome(appointment, "no_show", psychologist, now=now)
    return appointment
