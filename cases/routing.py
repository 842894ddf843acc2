"""From a triage decision to a case in the right queue (safety-critical: table-tested).

- `psychologist` and `crisis` go to the psychology queue, `coaching` and
  `information` to the advisors' queue;
- `information` opens no case unless the advisor asks for one;
- a person has one open case: a new triage attaches to it and may raise its
  level, route and deadline (the earlier deadline wins), never lower them;
- `imminent` alerts every on-duty supervisor at once (`notify_supervisors`), once per
  run: as soon as a saved section says so (`alert_in_progress`, the run still a draft),
  so the decision or the hang-up that follows never alerts again;
- a downgrade keeps the proposal until a psychologist or supervisor signs off.

Anonymous contacts (no person) still open a case: someone at risk must reach
the queue even when they will not say who they are; the case page lets the
team attach a person later.
"""

import logging
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from cellule import audit, limits
from cellule.extensions import db
from cellule.types import utcnow
from cellule.users import on_duty_supervisors
from triage.calendar import get_calendar
from triage.engine import classify_override, deadline_for
from triage.vocab import LEVELS, ROUTE_FOR_LEVEL, ROUTES

from . import operations as ops
from .followup import operations as followup
from .models import OPEN_STATUSES, QUEUE_FOR_ROUTE, Case, Resource, Task, TriageRun
from .signals import supervisors_alerted

log = logging.getLogger(__name__)

# System task titles, shown translated from the task's code.
TASK_TITLES = {
    "imminent_alert": _l("Imminent danger: crisis protocol running — see the case now"),
    "sign_off": _l("Sign off a downgrade request"),
    "complete_triage": _l("Complete the interrupted triage"),
    "survey": _l("Send the satisfaction survey"),
    # The follow-up protocol's (cases.followup; stored titles: followup.models.TITLES).
    "follow_up": _l("Follow-up contact"),
    "follow_up_unreached": _l("Follow-up: three attempts without reaching the person"),
    # A referral's late step (cases.referrals; stored titles: referrals.models).
    "referral_unconfirmed": _l("Referral: no confirmation from the partner yet"),
    "referral_no_outcome": _l("Referral: no news of the first appointment yet"),
}
# The stored titles (English, for exports and logs); screens show TASK_TITLES.
STORED_TITLES = {
    "imminent_alert": "Imminent danger: crisis protocol running — see the case now",
    "sign_off": "Sign off a downgrade request",
    "complete_triage": "Complete the interrupted triage",
    "survey": "Send the satisfaction survey",
}


@dataclass
class Decision:
    """What the advisor chose on the proposal screen."""

    level: str
    route: str
    reason: str = ""
    resources_given: bool = False
    open_case_anyway: bool = False
    coaching_resource_id: int | None = None  # 0: the person declines a partner
    coaching_consent: bool = False
    info_resource_ids: list = field(default_factory=list)


@dataclass
class Outcome:
    case: Case | None = None
    opened: bool = False
    attached: bool = False
    alerted: bool = False
    changes: dict = field(default_factory=dict)


def max_route(*routes):
    return max(routes, key=ROUTES.index)


def decision_errors(run, decision):
    """Return {field: English message} for a decision that cannot be accepted."""
    errors = {}
    if decision.level not in LEVELS:
        errors["level"] = "unknown level"
    if decision.route not in ROUTES:
        errors["route"] = "unknown route"
    if errors:
        return errors
    kind = classify_override(run.proposed_level, run.proposed_route, decision.level,
                             decision.route)
    if kind == "downgrade" and len((decision.reason or "").strip()) < 10:
        errors["reason"] = "a lower level or route needs a written reason (10 characters or more)"
    elif limits.too_long((decision.reason or "").strip(), limits.REASON):
        errors["reason"] = limits.at_most(limits.REASON)
    if run.crisis_shown and not decision.resources_given:
        errors["resources_given"] = "tick that the crisis resources were given"
    if kind == "downgrade":
        final_route = run.proposed_route
    else:
        final_route = max_route(decision.route, ROUTE_FOR_LEVEL[decision.level])
    if final_route == "coaching":
        if decision.coaching_resource_id is None:
            errors["coaching_resource_id"] = (
                "choose a coaching partner (or that the person declines)"
            )
        elif decision.coaching_resource_id:
            resource = db.session.get(Resource, decision.coaching_resource_id)
            if resource is None or resource.kind != "coaching_partner" or not resource.active:
                errors["coaching_resource_id"] = "unknown coaching partner"
            elif resource.is_paid and not decision.coaching_consent:
                errors["coaching_consent"] = "record that the person accepts the price"
    return errors


def decide(run, decision, actor, calendar, at=None):
    """Record the advisor's decision on a complete run and route it. Return an Outcome.

    The caller has checked `decision_errors` first; the caller commits.
    """
    at = at or utcnow()
    kind = classify_override(run.proposed_level, run.proposed_route, decision.level,
                             decision.route)
    run.decision = kind
    run.override_reason = (decision.reason or "").strip() or None
    run.resources_given = bool(decision.resources_given)
    if kind == "downgrade":
        # Until a psychologist or supervisor signs off, the proposal stands.
        run.requested_level = decision.level
        run.requested_route = decision.route
        run.signoff_state = "pending"
        run.final_level, run.final_route = run.proposed_level, run.proposed_route
        run.final_due_at = run.proposed_due_at
    elif kind == "raise":
        run.final_level = decision.level
        run.final_route = max_route(decision.route, ROUTE_FOR_LEVEL[decision.level])
        run.final_due_at = _earliest(
            deadline_for(decision.level, at, calendar), run.proposed_due_at
        )
    else:
        run.final_level, run.final_route = run.proposed_level, run.proposed_route
        run.final_due_at = run.proposed_due_at
    run.state = "decided"
    run.decided_by_id = actor.id
    run.decided_at = at
    audit.record("update", "triage_run", run.id,
                 {"decision": kind, "final_level": run.final_level,
                  "final_route": run.final_route}, user=actor)
    log.info("triage run %s decided: %s (%s/%s)", run.id, kind, run.final_level,
             run.final_route)
    outcome = route_run(run, actor, at, open_case_anyway=decision.open_case_anyway)
    case = outcome.case
    if run.final_route == "coaching" and decision.coaching_resource_id:
        resource = db.session.get(Resource, decision.coaching_resource_id)
        ops.add_referral(resource=resource, actor=actor, case=case, run=run,
                         consent=decision.coaching_consent, at=at)
    elif run.final_route == "coaching" and case is not None:
        ops.add_event(case, "referral_added", actor, declined=True,
                      resource_kind="coaching_partner")
    for resource_id in decision.info_resource_ids or ():
        resource = db.session.get(Resource, resource_id)
        if resource is not None and resource.active:
            ops.add_referral(resource=resource, actor=actor, case=case, run=run, consent=True,
                             at=at)
    if kind == "downgrade":
        request_signoff(run, case, actor, calendar, at)
    return outcome


def _earliest(*moments):
    present = [m for m in moments if m is not None]
    return min(present) if present else None


def route_run(run, actor, at, *, open_case_anyway=False, placement=None):
    """Open the person's case or attach the run to their open one; alert when imminent.

    `placement`: (level, route, due) to route by instead of the run's final ones (a run in
    progress whose answers already say imminent).
    """
    level, route, due = placement or (run.final_level, run.final_route, run.final_due_at)
    outcome = Outcome()
    # A run that alerted while in progress already has its case (opened or raised then).
    alerted_case = run.case if run.case is not None and run.case.is_open else None
    case = ops.case_for_run(run)
    if alerted_case is not None:
        case = alerted_case
    if case is None and (route != "information" or open_case_anyway):
        case, outcome.opened = _open_or_find(run, level, route, due, actor, at)
    if case is None:
        log.info("triage run %s: information only, no case", run.id)
        return outcome
    if not outcome.opened:
        outcome.attached = True
        outcome.changes = ops.escalate(case, level=level, route=route, due_at=due,
                                       actor=actor, source="triage")
        ops.add_event(case, "triage_attached", actor, triage_run_id=run.id,
                      proposed_level=run.proposed_level, final_level=level,
                      kept_level=case.level if LEVELS.index(level) < LEVELS.index(case.level)
                      else None)
    else:
        ops.add_event(case, "triage_attached", actor, triage_run_id=run.id,
                      proposed_level=run.proposed_level, final_level=level)
    run.case_id = case.id
    outcome.case = case
    followup.schedule(case, actor, safety_yes=bool(run.crisis_shown), new=outcome.opened,
                      raised="level" in outcome.changes, at=at)  # once per case
    if run.contact is not None:
        ops.link_contact(case, run.contact, actor)
    if level == "imminent" and run.alerted_at is None:
        notify_supervisors(case.id, actor=actor, run=run)
        run.alerted_at = at
        outcome.alerted = True
    return outcome


def alert_in_progress(run, actor, at=None):
    """Alert now when the answers saved so far say imminent (SPEC "When the alert goes out").

    Called at each section save with the draft's proposal of what is answered. The case is
    opened at `imminent`/`crisis` (or the person's open case raised) in the same
    transaction as the alert tasks and the outbox mails, so that the supervisors have a
    case to open while the call goes on; `run.alerted_at` makes it once per run. Returns
    the Outcome (`alerted` False when nothing was sent now).
    """
    if run.proposed_level != "imminent" or run.alerted_at is not None:
        return Outcome(case=run.case)
    at = at or utcnow()
    outcome = route_run(run, actor, at,
                        placement=("imminent", ROUTE_FOR_LEVEL["imminent"], run.proposed_due_at))
    log.warning("triage run %s in progress: imminent answer, case %s", run.id,
                outcome.case.id if outcome.case else None)
    return outcome


def _open_or_find(run, level, route, due, actor, at):
    """Open a case; if another request opened one for the person meanwhile, use it."""
    case = ops.open_case(person_id=run.person_id, level=level, route=route, due_at=due,
                         actor=actor, at=at, unless_open=True)
    if case is not None:
        return case, True
    case = ops.open_case_for_person(run.person_id)
    if case is None:  # opened and closed again meanwhile: the index refused, nothing is open
        raise ops.StaleCase(None, None)
    return case, False


def notify_supervisors(case_id, actor=None, run=None):
    """Alert every on-duty supervisor at once about an imminent-danger case.

    In-app: one task each, due with the case (the imminent deadline: the triage plus the
    short grace, `triage.engine.deadline_for`), on their "my tasks" list, the home page and
    the board. By mail: the `supervisors_alerted` signal is sent in the same
    transaction; the jobs side connects it to the outbox. `run`: the triage that alerted
    (the tasks link to it, in progress or not).
    """
    case = db.session.get(Case, case_id)
    supervisors = on_duty_supervisors()
    due = case.due_at or deadline_for("imminent", utcnow(), get_calendar())
    for supervisor in supervisors:
        ops.create_task(title=STORED_TITLES["imminent_alert"], kind="custom",
                        code="imminent_alert", actor=actor, assignee=supervisor, case=case,
                        run=run, due_at=due)
    user_ids = [s.id for s in supervisors]
    ops.add_event(case, "supervisors_alerted", actor, user_ids=user_ids)
    supervisors_alerted.send(current_app._get_current_object(), case_id=case_id,
                             user_ids=user_ids)
    log.warning("imminent case %s: %d supervisors alerted", case_id, len(user_ids))
    return user_ids


# --------------------------------------------------------------------------- sign-off


def request_signoff(run, case, actor, calendar, at):
    task = ops.create_task(
        title=STORED_TITLES["sign_off"], kind="sign_off", code="sign_off", actor=actor,
        case=case, run=run, due_at=calendar.end_of_business_day(at, 1),
    )
    if case is not None:
        ops.add_event(case, "signoff_requested", actor, triage_run_id=run.id,
                      requested_level=run.requested_level,
                      requested_route=run.requested_route, task_id=task.id)
    return task


def sign_off(run, approve, actor, calendar, note=None, at=None):
    """Approve (lower to the requested level/route) or reject a downgrade request."""
    if run.signoff_state != "pending":
        raise ops.OperationError("no pending sign-off", {"signoff": "nothing to sign off"})
    if limits.too_long((note or "").strip(), limits.REASON):
        raise ops.OperationError("note too long", {"note": limits.at_most(limits.REASON)})
    at = at or utcnow()
    run.signoff_state = "approved" if approve else "rejected"
    run.signoff_by_id = actor.id
    run.signoff_at = at
    run.signoff_note = (note or "").strip() or None
    case = run.case
    if approve:
        run.final_level, run.final_route = run.requested_level, run.requested_route
        run.final_due_at = deadline_for(run.final_level, run.decided_at or at, calendar)
        if case is not None and case.is_open:
            _lower_case(case, run, actor)
    for task in db.session.scalars(
        select(Task).where(Task.triage_run_id == run.id, Task.kind == "sign_off",
                           Task.status == "open")
    ):
        ops.finish_task(task, actor, "done", at)
    if case is not None:
        ops.add_event(case, "signoff_approved" if approve else "signoff_rejected", actor,
                      triage_run_id=run.id, level=run.final_level, route=run.final_route)
    audit.record("update", "triage_run", run.id, {"signoff": run.signoff_state}, user=actor)
    log.info("triage run %s sign-off %s by user %s", run.id, run.signoff_state, actor.id)


def _lower_case(case, run, actor):
    """Lower a case to the approved level, but never below another run attached to it."""
    others = db.session.scalars(
        select(TriageRun).where(TriageRun.case_id == case.id, TriageRun.id != run.id,
                                TriageRun.state != "draft")
    ).all()
    level = max([run.final_level, *[r.final_level for r in others if r.final_level]],
                key=LEVELS.index)
    route = max_route(run.final_route, *[r.final_route for r in others if r.final_route])
    dues = [r.final_due_at for r in (run, *others) if r.final_due_at is not None]
    before = (case.level, case.route)
    case.level = level
    case.route = route
    case.due_at = min(dues) if dues else None
    if QUEUE_FOR_ROUTE[route] != case.queue:
        case.queue = QUEUE_FOR_ROUTE[route]
        assignee = case.assignee
        if assignee is not None and assignee.role == "psychologist" and case.queue != "psychology":
            case.assignee_id = None
    if before != (level, route):
        ops.add_event(case, "level_changed", actor, before=before[0], after=level,
                      route_before=before[1], route_after=route, approved_by=actor.id,
                      source="signoff")
        audit.record("update", "case", case.id,
                     {"level": [before[0], level], "route": [before[1], route]}, user=actor)


# --------------------------------------------------------------------------- incomplete runs


def save_incomplete(run, actor, calendar, at=None, assignee=None):
    """Close an interrupted run: the proposal of what was answered, routed, and a follow-up.

    What was answered decides the level: an imminent or high answer opens (or raises) the
    case at that level with its alert tasks, whoever hangs up. `actor` None: the deadline
    sweep saves a draft left untouched; the follow-up goes to `assignee` (its author).
    """
    at = at or utcnow()
    assignee = assignee or actor
    run.state = "incomplete"
    run.complete = False
    run.decision = "confirm"
    run.final_level, run.final_route = run.proposed_level, run.proposed_route
    run.final_due_at = run.proposed_due_at
    run.decided_by_id = actor.id if actor is not None else None
    run.decided_at = at
    audit.record("update", "triage_run", run.id,
                 {"state": "incomplete", "final_level": run.final_level}, user=actor)
    outcome = route_run(run, actor, at)
    # The follow-up is its author's own work on their own run. When the run joined a case
    # they may not see (an ambassador's caller whom an advisor already follows), the task
    # stays on the run alone: the case's reference must not show in their list.
    case = outcome.case
    if case is not None and assignee is not None and ops.assignee_refusal(assignee, case):
        case = None
    ops.create_task(
        title=STORED_TITLES["complete_triage"], kind="complete_triage",
        code="complete_triage", actor=actor, assignee=assignee, case=case, run=run,
        due_at=calendar.end_of_business_day(at, 1),
    )
    log.info("triage run %s saved incomplete at level %s", run.id, run.final_level)
    return outcome


# --------------------------------------------------------------------------- merges


def merge_persons(loser_id, winner_id, actor=None):
    """Re-point the loser's cases and runs to the winner, keeping one open case.

    When both have an open case, the loser's is merged into the winner's: the
    winner's case is raised to the more urgent level/route/deadline, the
    loser's open tasks move over, and the loser's case closes as merged.
    """
    winner_case = ops.open_case_for_person(winner_id)
    loser_case = ops.open_case_for_person(loser_id)
    if winner_case is not None and loser_case is not None:
        ops.escalate(winner_case, level=loser_case.level, route=loser_case.route,
                     due_at=loser_case.due_at if loser_case.first_response_at is None else None,
                     actor=actor, source="merge")
        for task in db.session.scalars(
            select(Task).where(Task.case_id == loser_case.id, Task.status == "open")
        ):
            task.case_id = winner_case.id
        loser_case.status = "closed"
        loser_case.outcome = "other"
        loser_case.closed_at = utcnow()
        loser_case.closed_by_id = actor.id if actor else None
        ops.add_event(loser_case, "merged", actor, into=winner_case.reference)
        ops.add_event(winner_case, "merged", actor, absorbed=loser_case.reference)
        db.session.flush()
    for case in db.session.scalars(select(Case).where(Case.person_id == loser_id)):
        case.person_id = winner_id
        audit.record("update", "case", case.id, {"person_id": [loser_id, winner_id]}, user=actor)
    for run in db.session.scalars(select(TriageRun).where(TriageRun.person_id == loser_id)):
        run.person_id = winner_id
    db.session.flush()
    log.info("person %s merged into %s: cases and triage runs re-pointed", loser_id, winner_id)


def open_cases_for_persons(person_ids, where=()):
    """The telephony screen-pop's view of open cases (no clinical content); `where` adds
    conditions (the caller's visibility clause)."""
    if not person_ids:
        return []
    cases = db.session.scalars(
        select(Case).where(Case.person_id.in_(person_ids), Case.status.in_(OPEN_STATUSES),
                           *where).order_by(Case.id)
    ).all()
    return [
        {"id": c.id, "reference": c.reference, "person_id": c.person_id, "level": c.level,
         "route": c.route, "status": c.status,
         "due_at": c.due_at.isoformat() if c.due_at else None}
        for c in cases
    ]
