"""Demo data of the follow-up protocol (order 35, after the cases): the demo's risk cases
show a running protocol — attempts logged on one (and a safety plan written with the
person), three failed attempts on another, which alerted the supervisors — so that a
newcomer sees them from the psychologist's and the supervisor's home pages."""

import logging

from sqlalchemy import select

from cellule.demo import seeder
from cellule.extensions import db

from ..models import Case
from . import operations as followup
from .models import FollowUpProtocol

log = logging.getLogger(__name__)

DEMO_PLAN = {
    "warning_signs": ["Je ne dors plus avant 3 h", "Je n'ouvre plus le courrier"],
    "coping": ["Marcher vingt minutes", "Écrire ce qui tourne en boucle"],
    "distractions": ["Le café du village", "Appeler mon frère pour parler d'autre chose"],
    "people": ["Mon frère Luc", "Mon associée Sarah"],
    "professionals": ["Centre de Prévention du Suicide — 0800 32 123",
                      "Mon médecin traitant"],
    "environment": ["Confier les médicaments à Luc"],
    "reasons_for_living": ["Mes deux filles", "L'atelier que j'ai construit"],
}


@seeder(35)
def seed_follow_ups(users_by_role):
    """Attempts on the first protocol (a safety plan too), three failures on the second."""
    advisor = (users_by_role.get("advisor") or [None])[0]
    psychologist = (users_by_role.get("psychologist") or [None])[0]
    if advisor is None:
        return
    protocols = db.session.scalars(select(FollowUpProtocol).order_by(FollowUpProtocol.id)
                                   .limit(2)).all()
    if not protocols:
        return
    first = protocols[0]
    worker = psychologist or advisor
    case = db.session.get(Case, first.case_id)
    tasks = followup.open_follow_ups(case.id)
    _safety_plan(case, worker)
    if tasks:
        followup.log_attempt(tasks[0], "no_answer", "Pas de réponse, rappel dans l'heure.",
                             worker)
        followup.log_attempt(tasks[0], "reached",
                             "Joint. Nuit difficile mais le plan l'aide ; rappel prévu.", worker)
    if len(protocols) > 1:
        case = db.session.get(Case, protocols[1].case_id)
        tasks = followup.open_follow_ups(case.id)
        for outcome, note in (("no_answer", "Sonne dans le vide."),
                              ("voicemail", "Message laissé : nous rappelons demain."),
                              ("no_answer", "Toujours rien ; courrier à proposer.")):
            if tasks:
                followup.log_attempt(tasks[0], outcome, note, advisor)
    db.session.flush()
    log.info("demo follow-ups seeded")


def _safety_plan(case, actor):
    from ..safety.operations import save_plan  # the safety slice, beside this one

    save_plan(case, DEMO_PLAN, "fr", actor, 0)
