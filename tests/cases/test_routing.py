"""Routing of every level, the one-open-case rule, raising and never lowering."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cases import routing
from cases.models import Case, CaseEvent, Referral, Task
from cellule.extensions import db

from .conftest import LEVEL_ANSWERS

# level → (case opened?, route, queue, deadline set?, supervisors alerted?)
ROUTING_TABLE = [
    ("imminent", True, "crisis", "psychology", True, True),
    ("high", True, "psychologist", "psychology", True, False),
    ("serious", True, "psychologist", "psychology", True, False),
    ("elevated", True, "psychologist", "psychology", True, False),
    ("at_risk", True, "coaching", "advisors", True, False),
    ("low", False, "information", None, False, False),
]

# A Tuesday 10:00 in Brussels (08:00 UTC), far from holidays.
TUESDAY = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("level,opened,route,queue,has_due,alerted", ROUTING_TABLE)
def test_every_level_routes_to_its_queue(triage, make_user, level, opened, route, queue,
                                          has_due, alerted):
    supervisors = [make_user("supervisor"), make_user("supervisor", on_duty=False)]
    run, case = triage(level, at=TUESDAY)
    assert run.proposed_level == level and run.final_level == level
    assert run.final_route == route
    if not opened:
        assert case is None and run.case_id is None
        return
    assert (case.route, case.queue, case.level, case.status) == (route, queue, level, "open")
    assert (case.due_at is not None) == has_due
    assert case.reference.startswith("CEL-2026-")
    alerts = db.session.scalars(
        select(Task).where(Task.case_id == case.id, Task.code == "imminent_alert")).all()
    if alerted:
        # Only the on-duty supervisor, at once (due now).
        assert [t.assignee_id for t in alerts] == [supervisors[0].id]
        assert alerts[0].due_at <= datetime.now(UTC)
    else:
        assert alerts == []


@pytest.mark.parametrize("level,expected_due", [
    ("imminent", datetime(2026, 3, 10, 9, 15, tzinfo=UTC)),  # + the 15-minute grace
    ("high", datetime(2026, 3, 10, 13, 0, tzinfo=UTC)),  # 4 business hours
    ("serious", datetime(2026, 3, 11, 16, 0, tzinfo=UTC)),  # 17:00 next business day
    ("elevated", datetime(2026, 3, 17, 16, 0, tzinfo=UTC)),
    ("at_risk", datetime(2026, 3, 24, 16, 0, tzinfo=UTC)),
])
def test_deadlines_follow_the_spec(triage, level, expected_due):
    _run, case = triage(level, at=TUESDAY)
    assert case.due_at == expected_due


def test_information_opens_a_case_only_when_asked(triage):
    run, case = triage("low", decision=routing.Decision(level="low", route="information",
                                                        open_case_anyway=True))
    assert case is not None and case.queue == "advisors" and case.due_at is None


def test_information_records_resources_sent_without_case(triage, resources):
    leaflet = resources["Fiches « Gérer son stress »"]
    run, case = triage("low", decision=routing.Decision(
        level="low", route="information", info_resource_ids=[leaflet.id]))
    assert case is None
    referral = db.session.scalar(select(Referral).where(Referral.triage_run_id == run.id))
    assert referral.resource_id == leaflet.id and referral.case_id is None


def test_coaching_records_partner_price_and_consent(triage, resources):
    partner = resources["Coach & Go — coaching pour indépendants"]
    run, case = triage("at_risk", decision=routing.Decision(
        level="at_risk", route="coaching", coaching_resource_id=partner.id,
        coaching_consent=True))
    referral = db.session.scalar(select(Referral).where(Referral.case_id == case.id))
    assert referral.price_cents_shown == 4500 and referral.consent_at is not None
    assert case.queue == "advisors"


def test_paid_coaching_without_consent_is_refused(triage, resources, make_user, make_contact):
    from cases.models import TriageRun

    partner = resources["Coach & Go — coaching pour indépendants"]
    run = TriageRun(proposed_level="at_risk", proposed_route="coaching", crisis_shown=False)
    errors = routing.decision_errors(run, routing.Decision(
        level="at_risk", route="coaching", coaching_resource_id=partner.id))
    assert errors == {"coaching_consent": "record that the person accepts the price"}
    errors = routing.decision_errors(run, routing.Decision(level="at_risk", route="coaching"))
    assert "coaching_resource_id" in errors


def test_a_new_triage_attaches_and_raises(triage, make_user, make_contact):
    advisor = make_user("advisor")
    first = make_contact(advisor)
    _run, case = triage("elevated", user=advisor, contact=first, at=TUESDAY)
    second = make_contact(advisor, person=first.person)
    run2, case2 = triage("high", user=advisor, contact=second, at=TUESDAY + timedelta(hours=1))
    assert case2.id == case.id
    db.session.refresh(case)
    assert case.level == "high"
    # The earlier deadline wins: 4 business hours from 11:00 local.
    assert case.due_at == datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    kinds = [e.kind for e in db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]
    assert "level_changed" in kinds and kinds.count("triage_attached") == 2


def test_a_lower_triage_never_lowers_the_case(triage, make_user, make_contact):
    advisor = make_user("advisor")
    first = make_contact(advisor)
    _run, case = triage("high", user=advisor, contact=first, at=TUESDAY)
    due = case.due_at
    second = make_contact(advisor, person=first.person)
    run2, case2 = triage("low", user=advisor, contact=second, at=TUESDAY + timedelta(days=1))
    assert case2.id == case.id and run2.case_id == case.id
    db.session.refresh(case)
    assert (case.level, case.route, case.due_at) == ("high", "psychologist", due)
    attached = db.session.scalars(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "triage_attached")
        .order_by(CaseEvent.id)).all()[-1]
    assert attached.detail["kept_level"] == "high"  # said on the timeline, not silent


def test_one_open_case_per_person_is_enforced_by_the_database(triage, make_user):
    from sqlalchemy.exc import IntegrityError

    from cases import operations as ops

    _run, case = triage("serious")
    with pytest.raises(IntegrityError):
        ops.open_case(person_id=case.person_id, level="low", route="information", due_at=None,
                      actor=None)
        db.session.flush()
    db.session.rollback()


def test_anonymous_contact_opens_a_case_without_person(triage, make_user, make_contact):
    advisor = make_user("advisor")
    contact = make_contact(advisor, person=None)
    run, case = triage("serious", user=advisor, contact=contact)
    assert case.person_id is None and case.queue == "psychology"
    run2, case2 = triage("serious", user=advisor, contact=make_contact(advisor, person=None))
    assert case2.id != case.id  # anonymous cases never collide


def test_references_are_sequential_per_year(triage):
    refs = [triage("serious")[1].reference for _ in range(3)]
    numbers = [int(r.rsplit("-", 1)[1]) for r in refs]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


def test_downgrade_keeps_the_proposal_until_sign_off(triage, make_user):
    run, case = triage("serious", decision=routing.Decision(
        level="elevated", route="psychologist", reason="Déjà suivi par son médecin traitant",
        resources_given=True))
    assert run.decision == "downgrade" and run.signoff_state == "pending"
    assert case.level == "serious" and run.final_level == "serious"
    task = db.session.scalar(select(Task).where(Task.triage_run_id == run.id))
    assert task.kind == "sign_off" and task.assignee_id is None and task.due_at is not None


def test_downgrade_needs_a_reason_and_crisis_tick(app):
    from cases.models import TriageRun

    run = TriageRun(proposed_level="serious", proposed_route="psychologist", crisis_shown=True)
    errors = routing.decision_errors(run, routing.Decision(level="elevated",
                                                           route="psychologist"))
    assert set(errors) == {"reason", "resources_given"}


def test_raise_moves_route_and_deadline_up(triage):
    run, case = triage("at_risk", at=TUESDAY, decision=routing.Decision(
        level="at_risk", route="psychologist"))
    assert run.decision == "raise" and case.queue == "psychology"
    assert case.due_at == datetime(2026, 3, 24, 16, 0, tzinfo=UTC)
    run, case = triage("elevated", at=TUESDAY, decision=routing.Decision(
        level="high", route="psychologist"))
    assert (case.level, case.due_at) == ("high", datetime(2026, 3, 10, 13, 0, tzinfo=UTC))


def test_merge_keeps_one_open_case(triage, make_user, make_contact, app):
    advisor = make_user("advisor")
    _r1, winner_case = triage("elevated", user=advisor)
    _r2, loser_case = triage("high", user=advisor)
    routing.merge_persons(loser_case.person_id, winner_case.person_id, actor=advisor)
    db.session.commit()
    db.session.refresh(winner_case)
    db.session.refresh(loser_case)
    assert loser_case.status == "closed" and loser_case.person_id == winner_case.person_id
    assert winner_case.level == "high" and winner_case.is_open
    open_cases = db.session.scalars(select(Case).where(
        Case.person_id == winner_case.person_id, Case.status != "closed")).all()
    assert open_cases == [winner_case]


def test_routing_answers_are_valid_complete_runs():
    from triage.business_time import BusinessCalendar
    from triage.engine import evaluate
    from triage.loader import get_script

    for level, answers in LEVEL_ANSWERS.items():
        evaluation = evaluate(get_script("cellule-triage"), answers, at=TUESDAY,
                              calendar=BusinessCalendar())
        assert evaluation.level == level
