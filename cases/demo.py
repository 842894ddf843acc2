"""Demo data: the resource directory (order 10), a few cases and tasks (order 30), then four
months of closed cases and surveys for the dashboard (order 40), routed and timed by the
same rules as real cases (`QUEUE_FOR_ROUTE`, `triage.engine.deadline_for`)."""

import logging
from datetime import timedelta

from sqlalchemy import select

from cellule.demo import seeder
from cellule.extensions import db
from cellule.types import utcnow
from contacts.models import Contact, Person
from triage.calendar import get_calendar
from triage.engine import deadline_for, evaluate
from triage.loader import get_script
from triage.vocab import ROUTE_FOR_LEVEL

from . import operations as ops
from . import routing, triage_runs
from .models import QUEUE_FOR_ROUTE, Case, Resource, TriageRun
from .survey.models import Survey

log = logging.getLogger(__name__)

RESOURCES = [
    dict(name="Centre de Prévention du Suicide", kind="crisis_line", phone="0800 32 123",
         url="https://www.preventionsuicide.be", languages=["fr"], hours="24/7",
         descriptions={"fr": "Ligne d'écoute gratuite et anonyme, 24 h/24.",
                       "nl": "Gratis en anonieme hulplijn in het Frans, dag en nacht.",
                       "en": "Free, anonymous suicide prevention line in French, 24/7."}),
    dict(name="Zelfmoordlijn 1813", kind="crisis_line", phone="1813",
         url="https://www.zelfmoord1813.be", languages=["nl"], hours="24/7",
         descriptions={"fr": "Ligne de prévention du suicide en néerlandais, 24 h/24.",
                       "nl": "Gratis en anonieme hulplijn, dag en nacht, ook via chat.",
                       "en": "Suicide prevention line in Dutch, 24/7, chat too."}),
    dict(name="Telefonhilfe 108", kind="crisis_line", phone="108", languages=["de"],
         hours="24/7",
         descriptions={"fr": "Ligne d'écoute en allemand, 24 h/24.",
                       "nl": "Hulplijn in het Duits, dag en nacht.",
                       "en": "Helpline in German, day and night.",
                       "de": "Kostenlose und anonyme Telefonhilfe, Tag und Nacht."}),
    dict(name="Urgences 112", kind="crisis_line", phone="112", languages=["fr", "nl", "de",
                                                                          "en"],
         hours="24/7",
         descriptions={"fr": "Danger immédiat pour la vie : ambulance et police.",
                       "nl": "Acuut levensgevaar: ziekenwagen en politie.",
                       "en": "Immediate danger to life: ambulance and police."}),
    dict(name="Psychologues de la cellule", kind="in_house_psychology",
         languages=["fr", "nl"], hours="Mon-Fri 08:30-17:00",
         descriptions={"fr": "Jusqu'à cinq entretiens gratuits avec les psychologues de la"
                             " cellule d'écoute.",
                       "nl": "Tot vijf gratis gesprekken met de psychologen van de luistercel.",
                       "en": "Up to five free sessions with the listening cell's"
                             " psychologists."}),
    dict(name="Soins psychologiques de première ligne", kind="external_specialist",
         url="https://www.inami.fgov.be", languages=["fr", "nl", "de"],
         price_cents=1100,
         descriptions={"fr": "Psychologues conventionnés de première ligne (réseaux de santé"
                             " mentale), séances remboursées ; 4 € au tarif préférentiel.",
                       "nl": "Eerstelijnspsychologische zorg via de netwerken geestelijke"
                             " gezondheid, terugbetaalde sessies; 4 € met voorkeurtarief.",
                       "en": "First-line psychological care through the mental health"
                             " networks, reimbursed sessions; 4 € at the preferential"
                             " rate."}),
    dict(name="Coach & Go — coaching pour indépendants", kind="coaching_partner",
         url="https://coach-and-go.example.be", languages=["fr"], price_cents=4500,
         cost="par séance d'une heure",
         descriptions={"fr": "Coaching individuel pour indépendants en surcharge.",
                       "nl": "Individuele coaching voor zelfstandigen (in het Frans).",
                       "en": "One-to-one coaching for overloaded self-employed people."}),
    dict(name="Ondernemerscoach Vlaanderen", kind="coaching_partner",
         url="https://ondernemerscoach.example.be", languages=["nl"], price_cents=6000,
         cost="per sessie van 90 minuten",
         descriptions={"fr": "Coaching pour entrepreneurs (en néerlandais).",
                       "nl": "Coaching voor ondernemers in moeilijkheden.",
                       "en": "Coaching for entrepreneurs in difficulty (in Dutch)."}),
    dict(name="Fiches « Gérer son stress »", kind="self_help", languages=["fr", "nl"],
         descriptions={"fr": "Exercices de respiration, sommeil et organisation du travail.",
                       "nl": "Oefeningen rond ademhaling, slaap en werkorganisatie.",
                       "en": "Breathing, sleep and work organisation exercises."}),
    dict(name="Droit passerelle / Overbruggingsrecht", kind="rights_info",
         url="https://www.inasti.be", languages=["fr", "nl", "de"],
         descriptions={"fr": "Revenu de remplacement en cas de cessation forcée ou de"
                             " difficultés économiques.",
                       "nl": "Vervangingsinkomen bij gedwongen stopzetting of economische"
                             " moeilijkheden.",
                       "en": "Replacement income after a forced stop or economic hardship."}),
    dict(name="Dispense de cotisations / Vrijstelling van bijdragen", kind="rights_info",
         url="https://www.inasti.be", languages=["fr", "nl", "de"],
         descriptions={"fr": "Demander une dispense de cotisations sociales en cas de besoin.",
                       "nl": "Vrijstelling van sociale bijdragen aanvragen bij financiële"
                             " nood.",
                       "en": "Ask for an exemption from social contributions."}),
    dict(name="Incapacité de travail / Arbeidsongeschiktheid", kind="rights_info",
         languages=["fr", "nl", "de"],
         descriptions={"fr": "Indemnités de la mutualité en cas d'incapacité de travail.",
                       "nl": "Uitkeringen van het ziekenfonds bij arbeidsongeschiktheid.",
                       "en": "Sickness fund benefits during work incapacity."}),
    dict(name="Webinaire « Tenir le cap »", kind="workshop", languages=["fr", "nl"],
         descriptions={"fr": "Webinaire mensuel sur la charge de travail des indépendants.",
                       "nl": "Maandelijks webinar over werkdruk bij zelfstandigen.",
                       "en": "Monthly webinar on self-employed workload."}),
]


@seeder(10)
def seed_resources(users_by_role):
    """Add the demo's directory entries that the database does not hold yet (a fresh one
    holds the crisis lines and partners of migration 0028: not listed twice)."""
    admin = (users_by_role.get("admin") or [None])[0]
    held = set(db.session.scalars(select(Resource.name)))
    for values in RESOURCES:
        if values["name"] not in held:
            ops.save_resource(None, dict(values), admin)
    db.session.flush()


DEMO_ANSWERS = [
    # (answers, immediate_danger) — one per level, most urgent first.
    ({"cssrs_1_wish_dead": "yes", "cssrs_2_thoughts": "yes", "cssrs_3_method": "yes",
      "cssrs_4_intent": "yes", "cssrs_5_plan": "no", "cssrs_6_behaviour": "no",
      "acute_now": "no"}, False),
    ({"cssrs_1_wish_dead": "yes", "cssrs_2_thoughts": "no", "cssrs_6_behaviour": "no",
      "acute_now": "no"}, False),
    ({"cssrs_1_wish_dead": "no", "cssrs_2_thoughts": "no", "cssrs_6_behaviour": "no",
      "phq_1_interest": 2, "phq_2_down": 2}, False),
    ({"cssrs_1_wish_dead": "no", "cssrs_2_thoughts": "no", "cssrs_6_behaviour": "no",
      "cbi_1_tired": 3, "cbi_2_physical": 2, "cbi_3_emotional": 2}, False),
]


@seeder(30)
def seed_cases(users_by_role):
    advisor = (users_by_role.get("advisor") or [None])[0]
    psychologist = (users_by_role.get("psychologist") or [None])[0]
    if advisor is None:
        return
    script = get_script("cellule-triage")
    calendar = get_calendar()
    persons = db.session.scalars(select(Person).where(Person.merged_into_id.is_(None))
                                 .order_by(Person.id).limit(len(DEMO_ANSWERS))).all()
    now = utcnow()
    for index, (answers, danger) in enumerate(DEMO_ANSWERS):
        person = persons[index] if index < len(persons) else None
        contact = db.session.scalar(select(Contact).where(Contact.person_id == person.id)
                                    .order_by(Contact.id)) if person else None
        at = now - timedelta(days=index)
        evaluation = evaluate(script, answers, immediate_danger=danger, language="fr", at=at,
                              calendar=calendar, complete=False)
        run = triage_runs.record_complete(evaluation, advisor, contact=contact, person=person,
                                          at=at, via="demo")
        routing.decide(run, triage_runs.as_proposed(run, resources_given=True), advisor,
                       calendar, at)
    db.session.flush()
    first = db.session.scalar(select(TriageRun).where(TriageRun.case_id.is_not(None))
                              .order_by(TriageRun.id))
    if psychologist is not None and first is not None:
        ops.claim_case(first.case_id, psychologist)
        ops.create_task(title="Rappeler pour un deuxième entretien", kind="callback",
                        actor=psychologist, assignee=psychologist, case=first.case,
                        due_at=now + timedelta(days=2))
    ops.create_task(title="Vérifier le suivi des dossiers de la semaine", kind="check_in",
                    actor=advisor, assignee=advisor, due_at=now - timedelta(hours=2))
    log.info("demo cases seeded")


# --------------------------------------------------------------------------- history

DEMO_DAYS = 120
DEMO_LEVELS = ("elevated", "at_risk", "serious", "elevated", "high", "at_risk", "elevated",
               "serious")
DEMO_RESPONSE_HOURS = (2, 5, 1, 26, 3, 8, 30, 4, 6, 2, 50, 1)
DEMO_SCORES = (5, 4, 4, 3, 5, 2, 4, 5, 1, 4, 5, 4)
DEMO_CHANNELS = ("phone", "phone", "email", "internal_referral", "phone", "web")


@seeder(40)
def seed_history(users_by_role):
    """Four months of closed cases, contacts and answered surveys for the dashboard."""
    calendar = get_calendar()
    advisor = (users_by_role.get("advisor") or [None])[0]
    people = db.session.scalars(select(Person).where(Person.merged_into_id.is_(None))
                                .order_by(Person.id)).all()
    if advisor is None or not people:
        return
    now = utcnow()
    for i in range(40):
        opened = now - timedelta(days=DEMO_DAYS - 3 * i, hours=i % 7)
        level = DEMO_LEVELS[i % len(DEMO_LEVELS)]
        hours = DEMO_RESPONSE_HOURS[i % len(DEMO_RESPONSE_HOURS)]
        closed = opened + timedelta(days=5 + i % 9)
        if closed > now:
            continue
        person = people[i % len(people)]
        db.session.add(Contact(person_id=person.id, channel=DEMO_CHANNELS[i % 6],
                               direction="in", occurred_at=opened - timedelta(minutes=30),
                               reasons=["stress"], created_by_id=advisor.id,
                               handled_by_id=advisor.id, handled_at=opened))
        route = ROUTE_FOR_LEVEL[level]
        case = Case(reference=ops.allocate_reference(opened), person_id=person.id,
                    status="closed", level=level, route=route,
                    queue=QUEUE_FOR_ROUTE[route], opened_at=opened, opened_by_id=advisor.id,
                    due_at=deadline_for(level, opened, calendar),
                    first_response_at=opened + timedelta(hours=hours), assignee_id=advisor.id,
                    closed_at=closed, closed_by_id=advisor.id,
                    outcome=("resolved", "referred_external", "resolved", "declined")[i % 4])
        db.session.add(case)
        db.session.flush()
        ops.add_event(case, "opened", advisor, level=level, route=route)
        ops.add_event(case, "closed", advisor, outcome=case.outcome)
        if i % 3 != 2:
            score = DEMO_SCORES[i % len(DEMO_SCORES)]
            sent = closed + timedelta(hours=1)
            answered = i % 5 != 4
            db.session.add(Survey(case_id=case.id, language=person.language, sent_at=sent,
                                  expires_at=sent + timedelta(days=14),
                                  status="answered" if answered else "sent",
                                  answered_at=sent + timedelta(hours=20) if answered else None,
                                  score=score if answered else None))
    db.session.flush()
    log.info("demo history seeded")
