"""Fixtures of the reporting tests: a small activity with known timestamps.

`activity` builds March 2025 in Brussels (CET until 30 March, CEST after) with
figures worked out by hand in the comments, seen from NOW (15 April 2025, noon UTC).
Contacts near midnight check that days are local days.
"""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from cellule.extensions import db
from contacts.models import Contact

NOW = datetime(2025, 4, 15, 12, 0, tzinfo=UTC)
MARCH = {"preset": "custom", "from": "2025-03-01", "to": "2025-03-31", "granularity": "day"}

# Personal data of the fixtures: none of it may leave the cell in a report.
SECRETS = {
    "name": "Zoë Geheimnis-Testperson",
    "phone": "+32470123456",
    "email": "zoe.secret@example.org",
    "affiliate_number": "AFF-998877",
    "summary": "secret summary about a burnout and the bank",
    "email_subject": "secret subject help me",
    "email_body": "secret email body, I cannot sleep",
    "note": "secret team note about the family",
    "comment": "secret survey comment thank you Bram",
    "triage_note": "secret triage note",
    "task_title": "Call back Zoë about her debts",
}


def at(text):
    """An aware UTC instant from 'YYYY-MM-DD HH:MM' (UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def make_case(app):
    counter = iter(range(1, 10_000))

    def factory(level="elevated", route="coaching", opened="2025-03-01 10:00", due=None,
                response=None, closed=None, outcome=None, person=None, assignee=None,
                queue=None, status=None):
        from cases.models import QUEUE_FOR_ROUTE, Case

        n = next(counter)
        case = Case(
            reference=f"CEL-2025-{n:06d}",
            person_id=person.id if person else None,
            level=level,
            route=route,
            queue=queue or QUEUE_FOR_ROUTE[route],
            status=status or ("closed" if closed else "open"),
            opened_at=at(opened),
            due_at=at(due) if due else None,
            first_response_at=at(response) if response else None,
            closed_at=at(closed) if closed else None,
            outcome=outcome or ("resolved" if closed else None),
            assignee_id=assignee.id if assignee else None,
        )
        db.session.add(case)
        db.session.commit()
        return case

    return factory


@pytest.fixture
def activity(app, make_user, make_person, make_case):
    """March 2025: 9 contacts, 8 cases opened, 3 closed, 3 tasks due, 6 surveys sent."""
    from cases.models import Note, Task, TriageRun
    from cases.survey.models import Survey

    advisor = make_user("advisor")
    secret = make_person(name=SECRETS["name"], phone=SECRETS["phone"], email=SECRETS["email"],
                         affiliate_number=SECRETS["affiliate_number"], language="nl")

    def contact(channel, when, direction="in", **fields):
        row = Contact(channel=channel, direction=direction, occurred_at=at(when),
                      person_id=secret.id, created_by_id=advisor.id, **fields)
        db.session.add(row)
        return row

    # Local days: phone 1/3 (2), 3/3 … see the expectations in test_figures.
    contact("phone", "2025-02-28 23:30", summary=SECRETS["summary"])  # 1 March 00:30 local
    contact("phone", "2025-03-03 09:00", direction="out")
    contact("phone", "2025-03-03 10:00")
    contact("phone", "2025-03-10 23:30")  # 11 March 00:30 local
    contact("phone", "2025-03-20 12:00")
    contact("phone", "2025-03-31 21:30")  # 31 March 23:30 CEST: inside
    contact("email", "2025-03-05 08:00", email_subject=SECRETS["email_subject"],
            email_body=SECRETS["email_body"], email_sender=SECRETS["email"])
    contact("email", "2025-03-05 09:00")
    contact("email", "2025-03-31 22:30")  # 1 April 00:30 CEST: outside
    contact("web", "2025-03-15 10:00")
    contact("phone", "2025-02-28 22:30")  # 28 February 23:30 CET: outside
    db.session.commit()

    k = SimpleNamespace()
    # Response hours: elevated 2, 4, 30, 8; serious 1 (and one never answered); high 3.
    k.k1 = make_case("elevated", "coaching", "2025-03-03 09:00", "2025-03-04 09:00",
                     "2025-03-03 11:00", closed="2025-03-20 10:00", person=secret)
    k.k2 = make_case("elevated", "coaching", "2025-03-05 08:00", "2025-03-06 08:00",
                     "2025-03-05 12:00", closed="2025-03-31 22:30")  # closed 1 April local
    k.k3 = make_case("elevated", "coaching", "2025-03-10 10:00", "2025-03-11 10:00",
                     "2025-03-11 16:00", assignee=advisor)
    k.k4 = make_case("elevated", "information", "2025-03-12 10:00", "2025-03-13 10:00",
                     "2025-03-12 18:00", assignee=advisor)
    k.k5 = make_case("serious", "psychologist", "2025-03-15 10:00", "2025-03-15 14:00",
                     "2025-03-15 11:00", closed="2025-03-18 10:00", outcome="referred_external")
    k.k6 = make_case("serious", "psychologist", "2025-03-20 12:00", "2025-03-20 16:00")
    k.k7 = make_case("high", "psychologist", "2025-03-31 21:00", "2025-04-01 01:00",
                     "2025-04-01 00:00", assignee=advisor)
    k.k8 = make_case("at_risk", "information", "2025-02-20 10:00", "2025-02-21 10:00",
                     "2025-02-20 15:00", closed="2025-03-02 10:00")
    k.k9 = make_case("elevated", "coaching", "2025-04-02 10:00", "2025-04-03 10:00")
    k.k10 = make_case("elevated", "coaching", "2025-03-25 10:00", "2025-04-20 10:00")
    k.k11 = make_case("elevated", "information", "2025-04-15 06:00", "2025-04-16 10:00")

    def task(kind, due, status="open", done=None, case=None, title="Task"):
        row = Task(title=title, kind=kind, due_at=at(due), status=status,
                   done_at=at(done) if done else None, case_id=case.id if case else None)
        db.session.add(row)
        return row

    task("callback", "2025-03-05 10:00", "done", "2025-03-05 09:00", case=k.k1,
         title=SECRETS["task_title"])
    task("callback", "2025-03-06 10:00", "done", "2025-03-07 10:00")
    task("check_in", "2025-03-20 10:00")
    task("check_in", "2025-03-25 10:00", "cancelled", "2025-03-24 10:00")
    task("custom", "2025-04-20 10:00")
    task("custom", "2025-04-10 10:00")
    db.session.add(Note(case_id=k.k1.id, body=SECRETS["note"], visibility="team"))
    db.session.add(TriageRun(script_id="cellule-triage", script_version=1, language="nl",
                             state="decided", complete=True, answers={"sleep_problems": "yes"},
                             notes=SECRETS["triage_note"], person_id=secret.id,
                             case_id=k.k1.id))

    def survey(case, sent, score=None, comment=None):
        row = Survey(case_id=case.id, language="fr", status="answered" if score else "sent",
                     sent_at=at(sent), expires_at=at("2025-05-30 00:00"),
                     answered_at=at(sent) if score else None, score=score, comment=comment)
        db.session.add(row)
        return row

    # Sent in March: 6, answered 5 (5, 4, 4, 2, 3): mean 3.6, satisfied 3/5 = 60 %.
    survey(k.k1, "2025-03-20 11:00", 5, SECRETS["comment"])
    survey(k.k2, "2025-03-21 11:00", 4)
    survey(k.k3, "2025-03-22 11:00", 4)
    survey(k.k4, "2025-03-23 11:00", 2)
    survey(k.k5, "2025-03-24 11:00", 3)
    survey(k.k8, "2025-03-25 11:00")
    survey(k.k9, "2025-04-02 11:00", 1)  # outside
    db.session.commit()
    return SimpleNamespace(advisor=advisor, person=secret, cases=k)


@pytest.fixture
def march(app):
    from cases.reporting.periods import parse_period

    return parse_period(MARCH, now=NOW)
