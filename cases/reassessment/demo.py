"""Demo data of the re-assessment (order 45, after the cases): the demo's open case whose
first triage measured distress (PHQ-2) is asked again a day later and shows an improvement
on the case page's card."""

import logging
from datetime import timedelta

from sqlalchemy import select

from cellule.demo import seeder
from cellule.extensions import db
from cellule.types import utcnow

from ..models import OPEN_STATUSES, Case, TriageRun
from . import operations as reassessment

log = logging.getLogger(__name__)

# Calmer than the first triage (PHQ-2 of 4): no safety answer yes, distress and burnout low.
ANSWERS = {"cssrs_1_wish_dead": "no", "cssrs_2_thoughts": "no", "cssrs_6_behaviour": "no",
           "phq_1_interest": 1, "phq_2_down": 0, "gad_1_nervous": 1, "gad_2_worry": 1,
           "cbi_1_tired": 2, "cbi_2_physical": 1, "cbi_3_emotional": 1, "cbi_4_cant_take": 1,
           "cbi_5_worn_out": 1, "cbi_6_weak_ill": 0}


def demo_case():
    """The first open case whose first run has the PHQ-2 answered (None: none)."""
    rows = db.session.execute(
        select(Case, TriageRun).join(TriageRun, TriageRun.case_id == Case.id)
        .where(Case.status.in_(OPEN_STATUSES)).order_by(Case.id, TriageRun.id)).all()
    firsts = {}
    for case, run in rows:
        firsts.setdefault(case.id, (case, run))
    for case, run in firsts.values():
        if "phq_1_interest" in (run.answers or {}):
            return case, run
    return None, None


@seeder(45)
def seed_reassessment(users_by_role):
    """Re-assess the case a day after its first triage (or an hour ago, if sooner)."""
    advisor = (users_by_role.get("advisor") or [None])[0]
    case, run = demo_case()
    if advisor is None or case is None:
        return
    actor = case.assignee or advisor
    at = max(run.created_at, min(run.created_at + timedelta(days=1),
                                 utcnow() - timedelta(hours=1)))
    reassessment.record_reassessment(case, ANSWERS, actor, occasion="other", at=at)
    db.session.flush()
    log.info("demo re-assessment seeded")
