"""Demo data of a referral's life (order 50, after the people's consents and the cases):
four of the demo's open cases each refer their person to a partner of the directory (the
partners migration 0028 seeds), each at another step — declined, sent and waiting for the
partner's confirmation, confirmed, attended — every step dated and recorded by
`operations.step`, the handover's `share_partner` consent recorded first
(contacts.consent), so that a newcomer sees the case page's card and
`/referrals/partners`. A person without an open case, or a partner the directory does not
hold (an administrator removed or renamed it), skips that referral."""

import logging
from datetime import timedelta

from sqlalchemy import select

from cellule.demo import seeder
from cellule.extensions import db
from cellule.types import utcnow
from contacts.consent.operations import current_text_version, has_consent, record_consent
from contacts.models import Person

from .. import operations as ops
from ..models import OPEN_STATUSES, Case, Referral, Resource
from . import operations as referrals

log = logging.getLogger(__name__)

# person, partner, the referral's note, its steps as (state, hours before now); the first
# step is the referral's creation. A paid partner's referral is accepted at once (the
# price accepted): its own "accepted" step is then already there.
PLANS = [
    ("Koen Wouters", "Dyzo", "Begeleiding bij de werkdruk van zijn kantoor.",
     (("proposed", 70), ("accepted", 69), ("sent", 68), ("confirmed", 50),
      ("attended", 3))),
    ("Nathalie Dubois", "Soins psychologiques de première ligne",
     "Séances près de Liège ; préfère le matin.",
     (("proposed", 46), ("accepted", 46), ("sent", 45), ("confirmed", 20))),
    ("Pieter Van den Bossche", "Huis van de Veerkracht",
     "Slaapt slecht sinds het faillissement van zijn klant.",
     (("proposed", 22), ("accepted", 21), ("sent", 20))),
    ("Bénédicte Lambert", "Un pass dans l'impasse",
     "Proposé en plus des entretiens avec la psychologue de la cellule.",
     (("proposed", 1), ("declined", 0.5))),
]


@seeder(50)
def seed_referrals(users_by_role):
    """Refer the planned people's open cases and walk each referral to its step."""
    advisor = (users_by_role.get("advisor") or [None])[0]
    if advisor is None:
        return
    now = utcnow()
    for person_name, partner, note, steps in PLANS:
        case, resource = _open_case(person_name), _partner(partner)
        if case is None or resource is None or _referred(case, resource):
            log.info("demo referral to %s skipped", partner)
            continue
        _walk(case, resource, note, steps, case.assignee or advisor, now)
    db.session.flush()
    log.info("demo referrals seeded")


def _open_case(person_name):
    """The named person's newest open case (None: no such person or case)."""
    return db.session.scalar(
        select(Case).join(Person, Person.id == Case.person_id)
        .where(Person.name == person_name, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.opened_at.desc(), Case.id.desc()).limit(1))


def _partner(name):
    return db.session.scalar(select(Resource).where(
        Resource.name == name, Resource.active.is_(True)).order_by(Resource.id).limit(1))


def _referred(case, resource):
    """The case refers to this partner already (the demo seeded it before)."""
    return db.session.scalar(select(Referral.id).where(
        Referral.case_id == case.id, Referral.resource_id == resource.id).limit(1)) is not None


def _walk(case, resource, note, steps, actor, now):
    """Create the referral at its first step's time, then record each following step
    (never before the case opened); the consent the handover needs comes just before."""
    times = [max(case.opened_at, now - timedelta(hours=hours)) for _, hours in steps]
    referral = ops.add_referral(resource=resource, actor=actor, case=case,
                                consent=resource.is_paid, note=note, at=times[0])
    previous = times[0]
    for (state, _), at in zip(steps[1:], times[1:], strict=True):
        if state == "sent":
            _share_consent(case.person, actor, previous)
        if state != referral.state:
            referrals.step(referral, state, actor, at=at)
        previous = at
    return referral


def _share_consent(person, actor, at):
    """The person agreed orally, when accepting the referral, to the handover pack."""
    if not has_consent(person.id, "share_partner"):
        record_consent(person, "share_partner", granted=True, channel="oral",
                       text_version=current_text_version("share_partner"), actor=actor,
                       at=at)
