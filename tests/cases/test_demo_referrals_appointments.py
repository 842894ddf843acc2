"""`flask demo` shows a referral's life and the psychologists' appointments (issue 20):
referrals of the demo's cases at each step, dated, to the directory's partners; each
psychologist's weekly slots for the coming weeks; two upcoming appointments and a missed
one — made by the packages' operations, skipped where a partner is missing, and not
doubled by a second run."""

import re

from sqlalchemy import func, select

from cellule.extensions import db
from cellule.types import utcnow
from tests.cases.test_directory import run_seed

# What the demo's people's referrals went through, step by step.
REFERRAL_STEPS = {
    "Koen Wouters": ("Dyzo", ["proposed", "accepted", "sent", "confirmed", "attended"]),
    "Nathalie Dubois": ("Soins psychologiques de première ligne",
                        ["proposed", "accepted", "sent", "confirmed"]),
    "Pieter Van den Bossche": ("Huis van de Veerkracht", ["proposed", "accepted", "sent"]),
    "Bénédicte Lambert": ("Un pass dans l'impasse", ["proposed", "declined"]),
}


def run_demo(app):
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output


def referrals_by_person():
    """{person's name: (partner, state, [step states], [step times])}."""
    from cases.models import Referral
    from cases.referrals.operations import events_of
    from contacts.models import Person

    rows = db.session.execute(select(Referral, Person.name).join(
        Person, Person.id == Referral.person_id).order_by(Referral.id)).all()
    steps = events_of([r.id for r, _ in rows])
    return {name: (r.resource.name, r.state, [e.state for e in steps[r.id]],
                   [e.at for e in steps[r.id]]) for r, name in rows}


def appointments_by_person():
    """{person's name: (state, starts_at, psychologist's email)}."""
    from cases.appointments.models import Appointment, Slot
    from cases.models import Case
    from contacts.models import Person

    rows = db.session.execute(
        select(Person.name, Appointment.state, Slot.starts_at, Slot.psychologist_id)
        .join(Case, Case.person_id == Person.id).join(Appointment, Appointment.case_id == Case.id)
        .join(Slot, Slot.id == Appointment.slot_id)).all()
    return {name: (state, starts, psychologist) for name, state, starts, psychologist in rows}


def psychologists():
    from cellule.models import User

    return db.session.scalars(select(User).where(User.role == "psychologist")
                              .order_by(User.email)).all()


def test_the_demo_walks_referrals_to_each_step_with_the_consent_it_needs(app, client,
                                                                         login_as):
    from contacts.consent.operations import has_consent
    from contacts.models import Person

    run_seed()
    run_demo(app)
    now = utcnow()
    seen = referrals_by_person()
    assert {name: (partner, states[-1]) for name, (partner, _, states, _) in seen.items()} == {
        name: (partner, states[-1]) for name, (partner, states) in REFERRAL_STEPS.items()}
    for name, (_, state, states, times) in seen.items():
        assert states == REFERRAL_STEPS[name][1] and state == states[-1]
        assert times == sorted(times) and times[-1] <= now
        person = db.session.scalar(select(Person).where(Person.name == name))
        assert has_consent(person.id, "share_partner") is ("sent" in states)

    # What a newcomer sees: the list per partner, and the case page's card.
    login_as("supervisor")
    client.post_form("/language", {"language": "en"})
    page = client.get("/referrals/partners").get_data(as_text=True)
    shown = set(re.findall(r'class="badge referral-state" data-state="(\w+)"', page))
    assert shown == {"sent", "confirmed", "attended", "declined"}
    assert "Huis van de Veerkracht" in page and "Dyzo" in page
    # The referral waiting for the partner's confirmation, on its case's page.
    case_id = re.search(r'href="/cases/(\d+)#referrals-card">[^<]*</a></td>\s*'
                        r'<td><span class="badge referral-state" data-state="sent"', page)[1]
    card = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Huis van de Veerkracht" in card and "Sent to the partner (on paper)" in card
    assert 'id="appointments-card"' in card and "Booked" in card


def test_the_demo_publishes_weekly_slots_and_books_appointments(app, api_client):
    run_seed()
    run_demo(app)
    now = utcnow()
    client, _ = api_client("advisor")
    for psychologist in psychologists():
        answer = client.get(f"/api/v1/slots?psychologist_id={psychologist.id}"
                            f"&from={now.isoformat().replace('+', '%2B')}")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        slots = answer.get_json()["items"]
        # Three weekly slots over four weeks, less those of today already past.
        assert len(slots) >= 9
        assert {s["mode"] for s in slots} == {"video", "phone", "on_site"}
        assert len({lang for s in slots for lang in s["languages"]}) >= 2
        assert sum(not s["free"] for s in slots) == 1  # one upcoming appointment each
    booked = appointments_by_person()
    assert {name: state for name, (state, _, _) in booked.items()} == {
        "Bénédicte Lambert": "booked", "Pieter Van den Bossche": "booked",
        "Nathalie Dubois": "no_show"}
    assert booked["Nathalie Dubois"][1] < now < booked["Pieter Van den Bossche"][1]
    assert booked["Bénédicte Lambert"][1] > now
    assert booked["Bénédicte Lambert"][2] != booked["Pieter Van den Bossche"][2]


def test_the_demo_skips_referrals_to_partners_the_directory_lacks(app):
    """Without migration 0028's partners only the referral to the demo's own entry is
    made; the rest of the demo runs."""
    run_demo(app)
    seen = referrals_by_person()
    assert {name: states[-1] for name, (_, _, states, _) in seen.items()} == {
        "Nathalie Dubois": "confirmed"}
    assert len(appointments_by_person()) == 3


def test_the_demo_seeds_referrals_and_appointments_once(app):
    from cases.appointments.demo import seed_appointments
    from cases.appointments.models import Appointment, Slot
    from cases.models import Referral
    from cases.referrals.demo import seed_referrals
    from cellule.models import User

    run_seed()
    run_demo(app)

    def counts():
        return [db.session.scalar(select(func.count(model.id)))
                for model in (Referral, Slot, Appointment)]

    first = counts()
    run_demo(app)
    assert counts() == first
    users = {}
    for user in db.session.scalars(select(User).order_by(User.id)):
        users.setdefault(user.role, []).append(user)
    seed_referrals(users)
    seed_appointments(users)
    assert counts() == first
