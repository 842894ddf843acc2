"""Demo consents: the people the demo's advisor spoke with agreed to a few purposes
orally during their calls (one withdrew the survey since)."""

from datetime import timedelta

from cellule.demo import seeder
from cellule.extensions import db
from cellule.types import utcnow

from ..models import Person
from .operations import record_consent, withdraw_consent
from .texts import CURRENT

AGREED = {
    "Bénédicte Lambert": ("cell_processing", "survey", "caring_messages"),
    "Pieter Van den Bossche": ("cell_processing", "share_psychologist", "survey"),
    "Koen Wouters": ("cell_processing", "share_psychologist"),
}


@seeder(25)
def seed(users_by_role):
    """Record the demo people's oral consents (after the people, order 20)."""
    advisor = users_by_role["advisor"][0]
    # Weeks ago: before the caring messages the demo started after a case closed (cases.caring).
    at = utcnow().replace(second=0, microsecond=0) - timedelta(days=40)
    for name, purposes in AGREED.items():
        person = db.session.scalar(db.select(Person).where(Person.name == name).limit(1))
        if person is None:
            continue
        for purpose in purposes:
            record_consent(person, purpose, granted=True, channel="oral",
                           text_version=CURRENT[purpose], actor=advisor, at=at)
        if name == "Pieter Van den Bossche":
            withdraw_consent(person, "survey", actor=advisor, channel="written")
