"""`flask demo` shows the follow-up protocol (issue 19): running protocols with attempts,
one escalated to the supervisors, and a safety plan."""

from sqlalchemy import func, select

from cellule.extensions import db


def test_the_demo_has_running_follow_ups_an_escalation_and_a_safety_plan(app):
    from cases.followup.models import FollowUpAttempt, FollowUpProtocol
    from cases.models import Task
    from cases.safety.models import SafetyPlan

    result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    protocols = db.session.scalars(select(FollowUpProtocol).order_by(FollowUpProtocol.id)).all()
    assert len(protocols) >= 2 and {p.state for p in protocols} == {"active"}
    attempts = db.session.scalars(select(FollowUpAttempt)).all()
    assert {a.outcome for a in attempts} >= {"reached", "no_answer", "voicemail"}
    assert sum(p.alerted_at is not None for p in protocols) == 1
    assert db.session.scalar(select(func.count(Task.id)).where(
        Task.code == "follow_up_unreached", Task.status == "open")) >= 1
    plan = db.session.scalar(select(SafetyPlan))
    assert plan is not None and plan.case_id == protocols[0].case_id
