"""Four eyes (DESIGN §9): a downgrade is signed off by a psychologist or supervisor who is
neither its requester nor the one who ran the triage."""

import json

import pytest
from sqlalchemy import select

from cases import routing
from cases.models import Case, Task, TriageRun
from cellule.extensions import db
from cellule.models import AuditEvent

DOWNGRADE = routing.Decision(level="at_risk", route="coaching",
                             reason="Suivi déjà en place chez un coach.",
                             coaching_resource_id=0)


def _run(run_id):
    db.session.expire_all()
    return db.session.get(TriageRun, run_id)


def _denials(run_id):
    return [json.loads(d) for d in db.session.scalars(select(AuditEvent.detail).where(
        AuditEvent.action == "denied", AuditEvent.object_type == "triage_run",
        AuditEvent.object_id == str(run_id)))]


@pytest.mark.parametrize("role", ["psychologist", "supervisor"])
def test_the_requester_cannot_sign_off_their_own_downgrade(client, make_user, triage, role):
    requester = make_user(role)
    run, case = triage("elevated", user=requester, decision=DOWNGRADE)
    assert run.signoff_state == "pending" and run.decided_by_id == requester.id
    client.sign_in(requester)
    record = client.get(f"/triage/runs/{run.id}").get_data(as_text=True)
    assert f'action="/triage/runs/{run.id}/signoff"' not in record
    assert "You asked for this downgrade" in record
    response = client.post_form(f"/triage/runs/{run.id}/signoff", {"decision": "approve"})
    assert response.status_code == 403
    assert "You asked for this downgrade" in response.get_data(as_text=True)
    run = _run(run.id)
    assert run.signoff_state == "pending"
    assert db.session.get(Case, case.id).level == "elevated"  # not lowered
    assert _denials(run.id)[-1] == {"action": "signoff", "reason": "requester"}


def test_the_one_who_ran_the_triage_cannot_sign_off_and_a_third_person_can(
        client, make_user, triage):
    runner = make_user("supervisor")
    requester = make_user("psychologist")
    run, case = triage("elevated", user=runner, decision=DOWNGRADE)
    # The run was filled in by the supervisor; the downgrade was asked for by another.
    with db.engine.begin() as conn:
        conn.execute(db.update(TriageRun).where(TriageRun.id == run.id)
                     .values(decided_by_id=requester.id))
    client.sign_in(runner)
    record = client.get(f"/triage/runs/{run.id}").get_data(as_text=True)
    assert "You ran this triage" in record
    assert client.post_form(f"/triage/runs/{run.id}/signoff",
                            {"decision": "approve"}).status_code == 403
    assert _denials(run.id)[-1]["reason"] == "ran_triage"
    client.post_form("/logout")
    client.sign_in(requester)
    assert client.post_form(f"/triage/runs/{run.id}/signoff",
                            {"decision": "approve"}).status_code == 403
    assert _denials(run.id)[-1]["reason"] == "requester"
    assert _run(run.id).signoff_state == "pending"

    client.post_form("/logout")
    third = make_user("psychologist")
    client.sign_in(third)
    record = client.get(f"/triage/runs/{run.id}").get_data(as_text=True)
    assert f'action="/triage/runs/{run.id}/signoff"' in record
    assert "four eyes" not in record
    response = client.post_form(f"/triage/runs/{run.id}/signoff", {"decision": "approve"})
    assert response.status_code == 302
    run = _run(run.id)
    assert run.signoff_state == "approved" and run.signoff_by_id == third.id
    assert db.session.get(Case, case.id).level == "at_risk"
    assert db.session.scalar(select(Task.status).where(Task.kind == "sign_off")) == "done"
