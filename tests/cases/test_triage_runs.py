"""The operations of a triage run before its decision (cases.triage_runs): each writes its own
audit rows, in the caller's transaction, whoever calls it (the screen, the API, the demo)."""

import json

from sqlalchemy import select

from cases import triage_runs
from cases.models import TriageRun
from cellule.extensions import db
from cellule.models import AuditEvent
from cellule.types import utcnow
from triage.calendar import get_calendar
from triage.engine import evaluate
from triage.loader import get_script

from .conftest import LEVEL_ANSWERS


def _audit(run):
    rows = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "triage_run", AuditEvent.object_id == str(run.id))
        .order_by(AuditEvent.id)).all()
    return [(row.action, json.loads(row.detail) if row.detail else None) for row in rows]


def test_a_started_draft_is_the_contacts_and_audited(app, make_user, make_contact):
    advisor = make_user("advisor")
    contact = make_contact(advisor, summary="Works 70 hours a week")
    run = triage_runs.start_run(get_script("cellule-triage"), contact, advisor)
    db.session.commit()
    assert (run.state, run.answers, run.notes) == ("draft", {}, "Works 70 hours a week")
    assert (run.contact_id, run.person_id, run.language) == (contact.id, contact.person_id, "fr")
    assert _audit(run) == [("create", {"contact_id": contact.id})]


def test_a_section_sent_back_is_kept_but_not_audited_as_saved(app, make_user, make_contact):
    advisor = make_user("advisor")
    script = get_script("cellule-triage")
    run = triage_runs.start_run(script, make_contact(advisor), advisor)
    safety = script.section("safety")
    triage_runs.put_answers(run, script, safety, {"cssrs_1_wish_dead": "no"},
                            immediate_danger=False, resources_given=False)
    triage_runs.record_section(run, script, safety, advisor, accepted=False)
    assert run.answers == {"cssrs_1_wish_dead": "no"} and run.updated_at is not None
    assert [action for action, _ in _audit(run)] == ["create"]
    triage_runs.record_section(run, script, safety, advisor)
    db.session.commit()
    assert _audit(run)[-1] == ("update", {"section": "safety"})


def test_a_complete_run_is_recorded_at_its_proposal(app, make_user, make_contact):
    advisor = make_user("advisor")
    contact = make_contact(advisor)
    evaluation = evaluate(get_script("cellule-triage"), LEVEL_ANSWERS["serious"],
                          language="fr", at=utcnow(), calendar=get_calendar())
    run = triage_runs.record_complete(evaluation, advisor, contact=contact, notes="n",
                                      via="api")
    db.session.commit()
    run = db.session.get(TriageRun, run.id)
    assert (run.state, run.complete, run.proposed_level) == ("draft", True, "serious")
    assert run.crisis_shown and run.notes == "n" and run.person_id == contact.person_id
    assert _audit(run) == [("create", {"contact_id": contact.id, "via": "api"})]
    decision = triage_runs.as_proposed(run, resources_given=True)
    assert (decision.level, decision.route, decision.coaching_resource_id) == (
        "serious", "psychologist", 0)
