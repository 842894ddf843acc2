"""Every change to cases, notes, referrals, tasks and resources, each audited and logged.

Operations join the caller's transaction (the view commits). A change to a
case goes through the ORM, whose version counter refuses a concurrent update;
`expect_version` refuses a form that was filled in on an older version. The view
runs the change and its commit inside `conflicts.guard`, which turns either refusal
(raised at a flush or at the commit) into a 409 with the case's current state.
"""

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, ProgrammingError

from cellule import audit, limits
from cellule.extensions import db
from cellule.models import User
from cellule.types import utcnow
from contacts import operations as contact_ops
from contacts.consent import operations as consent_ops
from contacts.models import Contact
from contacts.validation import MAX_SUMMARY
from triage.engine import deadline_for
from triage.vocab import LEVELS, ROUTE_FOR_LEVEL, ROUTES

from .access import can_view_case
from .errors import StaleCase
from .models import (
    OPEN_STATUSES,
    OUTCOMES,
    QUEUE_FOR_ROUTE,
    SAFETY_LEVELS,
    SAFETY_OUTCOMES,
    SYSTEM_TASK_KINDS,
    TASK_KINDS,
    Case,
    CaseContact,
    CaseCounter,
    CaseEvent,
    Note,
    Referral,
    Resource,
    Task,
)
from .signals import case_closed, referral_added

log = logging.getLogger(__name__)


class OperationError(ValueError):
    """A refused change, with field names mapped to English messages."""

    def __init__(self, message, fields=None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


def expect_version(case, expected):
    """Refuse (StaleCase) unless the caller worked on the case's current version."""
    if expected is None:
        raise OperationError("version required", {"version": "required"})
    if int(expected) != case.version:
        raise StaleCase(case.id, expected)


# --------------------------------------------------------------------------- references


def allocate_reference(at=None):
    """Return the next reference `CEL-YYYY-NNNNNN`; two cases never get the same number.

    PostgreSQL: one `nextval` of the year's sequence (`case_reference_YYYY`) in the
    request's own transaction — no second connection, and nothing serialises concurrent
    triages (a sequence is never locked until commit). A request that fails afterwards
    leaves a gap in the numbering, as any sequence does: references are identifiers, not
    invoice numbers, and the gaps are documented (docs/CONVENTIONS.md). The sequence is
    made at the year's first case (`_year_sequence`). SQLite serialises writers anyway:
    there one upsert of the year's counter row joins the request's transaction.
    """
    year = (at or utcnow()).year
    bind = db.session.get_bind()
    if bind.dialect.name == "postgresql":
        name = _year_sequence(bind.engine, year)
        number = db.session.execute(select(func.nextval(name))).scalar_one()
    else:
        number = db.session.execute(
            sqlite.insert(CaseCounter).values(year=year, last=1)
            .on_conflict_do_update(index_elements=[CaseCounter.year],
                                   set_={"last": CaseCounter.last + 1})
            .returning(CaseCounter.last)
        ).scalar_one()
    return f"CEL-{year}-{number:06d}"


_SEQUENCES = set()  # (engine url, year) whose sequence this process knows to exist


def _year_sequence(engine, year):
    """The name of `year`'s reference sequence, created if it is missing.

    Once per process and year, on a connection of its own in autocommit: `CREATE SEQUENCE IF
    NOT EXISTS` (two processes racing at the year's first case: the loser's duplicate error
    is ignored), then moved past the year's `case_counters` row, which numbered that year's
    cases before the sequences existed, so that an upgrade mid-year goes on from there.
    """
    name = f"case_reference_{int(year)}"
    key = (str(engine.url), year)
    if key in _SEQUENCES:
        return name
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        try:
            connection.exec_driver_sql(f"CREATE SEQUENCE IF NOT EXISTS {name}")
        except (IntegrityError, ProgrammingError):
            pass  # made meanwhile by another process
        connection.execute(text(
            "SELECT setval(CAST(:sequence AS regclass), c.last) FROM case_counters c"
            " WHERE c.year = :year AND c.last > coalesce((SELECT s.last_value FROM pg_sequences s"
            " WHERE s.schemaname = current_schema() AND s.sequencename = :name), 0)"),
            {"sequence": name, "name": name, "year": year})
    _SEQUENCES.add(key)
    return name


# --------------------------------------------------------------------------- timeline


def add_event(case, kind, actor=None, **detail):
    """Append a timeline event to a case, carrying the case's version after the change.

    Nothing is flushed (but a new case, for its id): the event joins the request's next
    flush with its other rows (one INSERT of them all on PostgreSQL). A case with changes
    not yet sent moves to the next version at that flush, once however many changes wait:
    the event carries that one."""
    if case.id is None:
        db.session.flush()
    pending = db.session.is_modified(case, include_collections=False)
    event = CaseEvent(
        case_id=case.id,
        kind=kind,
        actor_id=actor.id if actor is not None else None,
        case_version=case.version + 1 if pending else case.version,
        detail={k: v for k, v in detail.items() if v is not None},
    )
    db.session.add(event)
    return event


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


# --------------------------------------------------------------------------- cases


def open_case(*, person_id, level, route, due_at, actor, at=None, unless_open=False):
    """Open a case in the queue of its route, in one INSERT that returns it.

    The database keeps one open case per person: a second one raises IntegrityError, or,
    `unless_open`, returns None (another request opened the person's case meanwhile: the
    caller attaches to it) — `ON CONFLICT DO NOTHING` on that index, no savepoint; the
    reference taken is then a gap.
    """
    at = at or utcnow()
    with db.session.no_autoflush:  # the request's other rows wait for its one flush
        stmt = _insert_for_dialect()(Case).values(
            reference=allocate_reference(at), person_id=person_id, status="open",
            level=level, route=route, queue=QUEUE_FOR_ROUTE[route], due_at=due_at,
            opened_at=at, opened_by_id=actor.id if actor else None, updated_at=at, version=1)
        if unless_open:
            stmt = stmt.on_conflict_do_nothing(index_elements=[Case.person_id],
                                               index_where=text(_OPEN_PERSON_INDEX_WHERE))
        case = db.session.scalars(stmt.returning(Case)).one_or_none()
    if case is None:
        return None
    _links_made_here(case, opened=True)
    add_event(case, "opened", actor, level=level, route=route, due_at=_iso(due_at))
    add_event(case, "routed", actor, queue=case.queue, route=route)
    audit.record("create", "case", case.id, {"level": level, "route": route}, user=actor)
    log.info("case %s opened (level %s, route %s)", case.id, level, route)
    return case


# The predicate of the `uq_cases_open_person` index (cases.models), which an
# `ON CONFLICT` names to use it.
_OPEN_PERSON_INDEX_WHERE = "status <> 'closed' AND person_id IS NOT NULL"


def _insert_for_dialect():
    """The `insert` of the session's dialect (both have `on_conflict_do_nothing`)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def open_case_for_person(person_id):
    """Return the person's open case, if any."""
    if person_id is None:
        return None
    return db.session.scalar(
        select(Case).where(Case.person_id == person_id, Case.status.in_(OPEN_STATUSES))
    )


def case_for_run(run):
    """The open case a run belongs to: the person's open case; for an anonymous run, the
    anonymous case its contact was logged on (a re-assessment from the case page)."""
    if run.person_id is not None or run.contact_id is None:
        with db.session.no_autoflush:  # the run's pending changes do not decide it
            return open_case_for_person(run.person_id)
    return db.session.scalar(
        select(Case).join(CaseContact, CaseContact.case_id == Case.id)
        .where(CaseContact.contact_id == run.contact_id, Case.person_id.is_(None),
               Case.status.in_(OPEN_STATUSES))
        .order_by(Case.id.desc()).limit(1))


def escalate(case, *, level, route, due_at, actor, source):
    """Raise a case's level, route and deadline to at least these; never lower anything.

    Returns the list of changes made (empty when the case already was as urgent).
    """
    changes = {}
    if LEVELS.index(level) > LEVELS.index(case.level):
        changes["level"] = (case.level, level)
        case.level = level
    if ROUTES.index(route) > ROUTES.index(case.route):
        changes["route"] = (case.route, route)
        case.route = route
        queue = QUEUE_FOR_ROUTE[route]
        if queue != case.queue:
            changes["queue"] = (case.queue, queue)
            case.queue = queue
            # A psychologist must claim it: an advisor's assignment does not follow.
            if case.assignee is not None and case.assignee.role != "psychologist":
                changes["assignee_id"] = (case.assignee_id, None)
                case.assignee_id = None
    current_due = case.due_at if case.first_response_at is None else None
    if due_at is not None and (current_due is None or due_at < current_due):
        changes["due_at"] = (_iso(case.due_at), _iso(due_at))
        case.due_at = due_at
    if changes:
        if "level" in changes:
            add_event(case, "level_changed", actor, before=changes["level"][0],
                      after=changes["level"][1], source=source)
        if "route" in changes:
            add_event(case, "routed", actor, route=case.route, queue=case.queue, source=source)
        audit.record("update", "case", case.id,
                     {k: list(v) for k, v in changes.items()}, user=actor)
        log.info("case %s escalated by %s: %s", case.id, source, sorted(changes))
    return changes


def claim_case(case_id, user, *, call=False, at=None):
    """Take an unassigned case; exactly one of concurrent claims wins. Return True if won.

    A conditional UPDATE (assignee still empty) decides atomically in the
    database, so two psychologists clicking at once cannot both get it.
    """
    at = at or utcnow()
    values = {
        "assignee_id": user.id,
        "status": "in_progress",
        "version": Case.version + 1,
        "updated_at": at,
    }
    result = db.session.execute(
        update(Case)
        .where(Case.id == case_id, Case.assignee_id.is_(None), Case.status.in_(OPEN_STATUSES))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        log.info("claim of case %s by user %s lost", case_id, user.id)
        return False
    # The follow-up contacts planned for the queue (cases.followup) go with the case.
    db.session.execute(
        update(Task).where(Task.case_id == case_id, Task.kind == "follow_up",
                           Task.status == "open", Task.assignee_id.is_(None))
        .values(assignee_id=user.id).execution_options(synchronize_session=False))
    case = db.session.get(Case, case_id, populate_existing=True)
    add_event(case, "claimed", user)
    audit.record("update", "case", case_id, {"claimed_by": user.id}, user=user)
    if call:
        record_first_response(case, user, at, how="claim_and_call")
    log.info("case %s claimed by user %s", case_id, user.id)
    return True


def reassign_case(case, assignee, actor, expected):
    expect_version(case, expected)
    if assignee is not None and (not assignee.active or assignee.role not in
                                 ("advisor", "psychologist", "supervisor")):
        raise OperationError("assignee cannot take cases", {"assignee_id": "not a case worker"})
    before = case.assignee_id
    case.assignee_id = assignee.id if assignee else None
    if assignee is not None and case.status == "open":
        case.status = "in_progress"
    add_event(case, "reassigned", actor, before=before, after=case.assignee_id)
    audit.record("update", "case", case.id, {"assignee_id": [before, case.assignee_id]})
    moved = _move_follow_ups(case, actor)
    log.info("case %s reassigned from %s to %s (%d follow-ups)", case.id, before,
             case.assignee_id, moved)


def _move_follow_ups(case, actor):
    """The case's open follow-up contacts (cases.followup) go with it to its new assignee
    (back to its queue when it has none), each audited as a task reassigned."""
    rows = db.session.execute(
        select(Task.id, Task.assignee_id).where(
            Task.case_id == case.id, Task.kind == "follow_up", Task.status == "open",
            Task.assignee_id.is_distinct_from(case.assignee_id))).all()
    if not rows:
        return 0
    db.session.execute(update(Task).where(Task.id.in_([r.id for r in rows]))
                       .values(assignee_id=case.assignee_id))
    audit.record_each("update", "task", {
        task_id: {"assignee_id": [before, case.assignee_id]} for task_id, before in rows},
        user=actor)
    return len(rows)


def identify_person(case, person, actor, expected):
    """Say who the anonymous caller of an open case is.

    The case and its anonymous linked contacts become the person's. Refused when the case
    already has a person, or when the person has another open case (one open case per
    person: link the contacts to that case instead).
    """
    expect_version(case, expected)
    if case.person_id is not None:
        raise OperationError("not anonymous", {"person_id": "the case already has a person"})
    if person is None or person.merged_into_id is not None:
        raise OperationError("no person", {"person_id": "choose a person"})
    other = open_case_for_person(person.id)
    if other is not None:
        raise OperationError("open case", {"person_id": f"already has open case {other.reference}"})
    case.person_id = person.id
    contact_ids = db.session.scalars(
        select(CaseContact.contact_id).where(CaseContact.case_id == case.id)
    ).all()
    claimed = db.session.execute(
        update(Contact).where(Contact.id.in_(contact_ids), Contact.person_id.is_(None))
        .values(person_id=person.id).returning(Contact.id)
    ).scalars().all() if contact_ids else []
    add_event(case, "person_identified", actor, person_id=person.id, contacts=sorted(claimed))
    audit.record("update", "case", case.id, {"person_id": [None, person.id],
                                             "contacts": sorted(claimed)}, user=actor)
    log.info("case %s: person %s identified (%d contacts)", case.id, person.id, len(claimed))


def raise_level(case, level, actor, expected, calendar=None, at=None):
    """Raise a case's level by hand (never lower: lowering needs the sign-off flow)."""
    expect_version(case, expected)
    if level not in LEVELS:
        raise OperationError("unknown level", {"level": "unknown level"})
    if LEVELS.index(level) <= LEVELS.index(case.level):
        raise OperationError("not higher", {"level": "choose a higher level than the current"})

    due = deadline_for(level, at or utcnow(), calendar) if calendar else None
    escalate(case, level=level, route=ROUTE_FOR_LEVEL[level], due_at=due, actor=actor,
             source="manual")
    from .followup.operations import schedule  # deferred: cases.followup builds on this module

    schedule(case, actor, raised=True, at=at)


def set_status(case, status, actor, expected):
    expect_version(case, expected)
    if status not in OPEN_STATUSES:
        raise OperationError("unknown status", {"status": "choose open, in progress or waiting"})
    before = case.status
    if before == status:
        return
    case.status = status
    add_event(case, "status_changed", actor, before=before, after=status)
    audit.record("update", "case", case.id, {"status": [before, status]})
    log.info("case %s status %s -> %s", case.id, before, status)


class TasksChanged(Exception):
    """Open tasks of the case the closing form did not list (added since it was shown)."""

    def __init__(self, case_id, task_ids):
        super().__init__(f"case {case_id}: open tasks {task_ids} not confirmed")
        self.case_id = case_id
        self.task_ids = task_ids


SAFETY_NOTE_MAX = limits.REASON


def open_tasks_of(case):
    """The case's open tasks, by deadline (what closing it resolves). The follow-up
    protocol's contacts outlive the closing: only ending the protocol ends them."""
    return db.session.scalars(
        select(Task).where(Task.case_id == case.id, Task.status == "open",
                           Task.kind != "follow_up")
        .order_by(Task.due_at.asc().nulls_last(), Task.id)
    ).all()


def closing_choices(task):
    """What closing may do with an open task: a sign-off lapses (only signing it is done)."""
    return ("cancelled",) if task.kind == "sign_off" else ("cancelled", "done")


# Whether a case has a safety plan (issue 19): the safety slice registers its check
# (cases.safety), which the core does not import.
_SAFETY_PLAN_CHECKS = []


def register_safety_plan_check(check):
    """Register `check(case_id) -> bool`, whether the case has a safety plan."""
    if check not in _SAFETY_PLAN_CHECKS:
        _SAFETY_PLAN_CHECKS.append(check)


def asks_no_plan_reason(case):
    """Whether closing `case` needs a reason for having no safety plan: an imminent or
    high case without one (issue 19; `close_errors` refuses the closing without it)."""
    return (case.level in SAFETY_LEVELS and bool(_SAFETY_PLAN_CHECKS)
            and not any(check(case.id) for check in _SAFETY_PLAN_CHECKS))


def close_errors(case, outcome, safety_outcome, safety_note, no_safety_plan_reason=None):
    """Return {field: English message} for a closing that cannot be accepted."""
    errors = {}
    if no_safety_plan_reason and len(no_safety_plan_reason) > SAFETY_NOTE_MAX:
        errors["no_safety_plan_reason"] = f"at most {SAFETY_NOTE_MAX} characters"
    elif not no_safety_plan_reason and asks_no_plan_reason(case):
        errors["no_safety_plan_reason"] = (
            f"required to close a {case.level} case without a safety plan: say why")
    if outcome not in OUTCOMES:
        errors["outcome"] = "must be one of " + ", ".join(OUTCOMES)
    if safety_outcome is None:
        if case.level in SAFETY_LEVELS:
            errors["safety_outcome"] = (
                f"required to close a {case.level} case: one of " + ", ".join(SAFETY_OUTCOMES)
            )
    elif safety_outcome not in SAFETY_OUTCOMES:
        errors["safety_outcome"] = "must be one of " + ", ".join(SAFETY_OUTCOMES)
    elif safety_outcome == "other" and not safety_note:
        errors["safety_note"] = "say what was done (required with other)"
    if safety_note and len(safety_note) > SAFETY_NOTE_MAX:
        errors["safety_note"] = f"at most {SAFETY_NOTE_MAX} characters"
    return errors


def close_case(case, outcome, actor, expected, at=None, *, safety_outcome=None,
               safety_note=None, tasks=None, default_task_status=None,
               no_safety_plan_reason=None):
    """Close a case and resolve every open task of it, in the caller's transaction.

    `tasks` maps task ids to "done" or "cancelled"; an open task it does not name gets
    `default_task_status`, or, when that is None (the closing form), TasksChanged is
    raised: the closer confirms what they saw. An imminent/high case needs a safety
    outcome (DESIGN §9); `no_safety_plan_reason` says why it has no safety plan (issue
    19). Return the tasks resolved.
    """
    expect_version(case, expected)
    if not case.is_open:
        raise OperationError("already closed", {"status": "the case is already closed"})
    safety_outcome = safety_outcome or None
    safety_note = (safety_note or "").strip() or None
    no_safety_plan_reason = (no_safety_plan_reason or "").strip() or None
    errors = close_errors(case, outcome, safety_outcome, safety_note, no_safety_plan_reason)
    tasks = tasks or {}
    open_tasks = open_tasks_of(case)
    resolutions = {}
    for task in open_tasks:
        status = tasks.get(task.id, default_task_status)
        if status is None:
            continue
        if status not in closing_choices(task):
            errors[f"tasks.{task.id}"] = ("a sign-off can only be cancelled" if status == "done"
                                          else "done or cancelled")
        resolutions[task.id] = status
    if errors:
        raise OperationError("cannot close", errors)
    missing = [t.id for t in open_tasks if t.id not in resolutions]
    if missing:
        raise TasksChanged(case.id, missing)
    at = at or utcnow()
    case.status = "closed"
    case.outcome = outcome
    case.safety_outcome = safety_outcome
    case.safety_note = safety_note
    case.no_safety_plan_reason = no_safety_plan_reason
    case.closed_at = at
    case.closed_by_id = actor.id
    # The case's versioned UPDATE goes first: of two people closing at once, the one who
    # lost learns it from the case (a 409 with its state), not from a task the winner
    # already resolved.
    db.session.flush()
    for task in open_tasks:
        finish_task(task, actor, resolutions[task.id], at)
    add_event(case, "closed", actor, outcome=outcome, safety_outcome=safety_outcome,
              no_safety_plan=bool(no_safety_plan_reason) or None,
              tasks_done=sum(s == "done" for s in resolutions.values()) or None,
              tasks_cancelled=sum(s == "cancelled" for s in resolutions.values()) or None)
    audit.record("update", "case", case.id,
                 {"status": "closed", "outcome": outcome, "safety_outcome": safety_outcome,
                  "tasks": {str(k): v for k, v in resolutions.items()}}, user=actor)
    case_closed.send(current_app._get_current_object(), case_id=case.id)
    log.info("case %s closed (%s, safety %s, %d tasks resolved)", case.id, outcome,
             safety_outcome, len(resolutions))
    return open_tasks


def record_first_response(case, actor, at=None, how="call"):
    """Set `first_response_at` once: the first outbound contact or claim-and-call."""
    if case.first_response_at is not None:
        return False
    case.first_response_at = at or utcnow()
    add_event(case, "first_response", actor, how=how)
    audit.record("update", "case", case.id, {"first_response_at": _iso(case.first_response_at)})
    log.info("case %s first response (%s)", case.id, how)
    return True


def link_contact(case, contact, actor, *, response=True):
    """Link a contact to a case; an outbound one counts as the first response (unless
    `response` is false: an automatic message, e.g. a caring message, answers nobody)."""
    if contact.person_id is not None and case.person_id not in (None, contact.person_id):
        raise OperationError("other person", {"contact_id": "this contact is about someone else"})
    if not _new_link(case, contact, actor):
        return False
    add_event(case, "contact_linked", actor, contact_id=contact.id, channel=contact.channel,
              direction=contact.direction)
    audit.record("update", "case", case.id, {"contact_linked": contact.id}, user=actor)
    if contact.direction == "out" and response:
        record_first_response(case, actor, contact.occurred_at, how="outbound_contact")
    log.info("contact %s linked to case %s", contact.id, case.id)
    return True


def _links_made_here(case, opened=False):
    """The contact ids linked to `case` in this transaction, when the transaction opened
    the case (`opened`: it just did) — no other can have linked any yet; else None."""
    transaction = db.session().get_transaction()
    known = db.session.info.get("cellule_cases_opened")
    if known is None or known[0] is not transaction:
        known = db.session.info["cellule_cases_opened"] = (transaction, {})
    if opened:
        known[1][case.id] = set()
    return known[1].get(case.id)


def _new_link(case, contact, actor):
    """Link the pair unless it is linked already; return whether it was new.

    A case this request opened has only the links it made (no need to ask the database:
    the row joins the request's one flush); another case's link is one INSERT that does
    nothing when the pair exists (`uq_case_contacts_pair`), without flushing the rest.
    """
    made_here = _links_made_here(case)
    if made_here is not None:
        if contact.id in made_here:
            return False
        made_here.add(contact.id)
        db.session.add(CaseContact(case_id=case.id, contact_id=contact.id,
                                   linked_by_id=actor.id if actor else None))
        return True
    with db.session.no_autoflush:
        linked = db.session.scalar(
            _insert_for_dialect()(CaseContact)
            .values(case_id=case.id, contact_id=contact.id, linked_at=utcnow(),
                    linked_by_id=actor.id if actor else None)
            .on_conflict_do_nothing(index_elements=[CaseContact.case_id,
                                                    CaseContact.contact_id])
            .returning(CaseContact.id))
    return linked is not None


# How a re-assessment's exchange takes place: (channel, direction).
REASSESS_EXCHANGES = {"phone_out": ("phone", "out"), "phone_in": ("phone", "in"),
                      "walk_in": ("walk_in", "in")}


def start_reassessment(case, exchange, actor, summary=""):
    """Log the exchange in which an open case is re-assessed, linked to the case; return the
    contact. The triage run started on it attaches to this case (`routing.case_for_run`)."""
    if exchange not in REASSESS_EXCHANGES:
        raise OperationError("unknown exchange", {"exchange": "choose how you are in touch"})
    if not case.is_open:
        raise OperationError("closed case", {"case": "the case is closed"})
    if len(summary or "") > MAX_SUMMARY:
        raise OperationError("summary too long", {"summary": f"at most {MAX_SUMMARY} characters"})
    channel, direction = REASSESS_EXCHANGES[exchange]
    contact = contact_ops.create_contact(actor, person=case.person, channel=channel,
                                         direction=direction, summary=(summary or "").strip())
    link_contact(case, contact, actor)
    log.info("case %s re-assessment started on contact %s", case.id, contact.id)
    return contact


# --------------------------------------------------------------------------- notes, referrals


def add_note(case, body, visibility, actor):
    body = (body or "").strip()
    fields = {}
    if not body:
        fields["body"] = "required"
    elif len(body) > limits.NOTE:
        fields["body"] = limits.at_most(limits.NOTE)
    if visibility not in ("team", "clinical"):
        fields["visibility"] = "must be team or clinical"
    if fields:
        raise OperationError("invalid note", fields)
    note = Note(case_id=case.id, body=body, visibility=visibility, author_id=actor.id)
    db.session.add(note)
    db.session.flush()
    # The timeline names the note, never its content.
    add_event(case, "note_added", actor, note_id=note.id, visibility=visibility)
    audit.record("create", "case_note", note.id, {"case_id": case.id, "visibility": visibility})
    log.info("note %s (%s) added to case %s", note.id, visibility, case.id)
    return note


def add_referral(*, resource, actor, case=None, run=None, consent=False, note=None, at=None):
    """Refer a case (or a triage run) to a resource; a paid one needs recorded consent."""
    if not resource.active:
        raise OperationError("inactive resource", {"resource_id": "this resource is inactive"})
    note = (note or "").strip() or None
    if limits.too_long(note, limits.REASON):
        raise OperationError("note too long", {"note": limits.at_most(limits.REASON)})
    if resource.is_paid and not consent:
        raise OperationError(
            "consent required", {"consent": "the person must accept the price first"}
        )
    at = at or utcnow()
    referral = Referral(
        case_id=case.id if case else None,
        triage_run_id=run.id if run else None,
        person_id=(case.person_id if case else None) or (run.person_id if run else None),
        resource_id=resource.id,
        price_cents_shown=resource.price_cents,
        consent_at=at if resource.is_paid else None,
        consent_by_id=actor.id if resource.is_paid else None,
        note=note,
        created_by_id=actor.id,
        created_at=at,
        # A paid one's price accepted is the person's agreement (cases.referrals).
        state="accepted" if resource.is_paid else "proposed",
        state_at=at,
    )
    db.session.add(referral)
    db.session.flush()
    referral_added.send(referral=referral, actor=actor)
    person = (case.person if case else None) or (run.person if run else None)
    if resource.is_paid and person is not None:  # the price accepted: a consent (issue 20)
        consent_ops.record_paid_coaching(person, resource_name=resource.name, actor=actor,
                                         price_cents=resource.price_cents, at=at)
    if case is not None:
        add_event(case, "referral_added", actor, referral_id=referral.id,
                  resource=resource.name, resource_kind=resource.kind,
                  price_cents=resource.price_cents, consent=bool(referral.consent_at))
    audit.record("create", "referral", referral.id,
                 {"case_id": referral.case_id, "resource_id": resource.id}, user=actor)
    log.info("referral %s to resource %s", referral.id, resource.id)
    return referral


# --------------------------------------------------------------------------- tasks


def create_task(*, title, kind, actor, assignee=None, case=None, run=None, due_at=None,
                code=None, by_hand=False):
    """Create a task; `by_hand`: asked for by a user (a form, an API call), who may not
    create the kinds the application creates itself (DESIGN §9)."""
    title = (title or "").strip()
    fields = {}
    if not title:
        fields["title"] = "required"
    elif len(title) > limits.TASK_TITLE:
        fields["title"] = limits.at_most(limits.TASK_TITLE)
    if kind not in TASK_KINDS:
        fields["kind"] = "unknown kind"
    elif by_hand and (kind in SYSTEM_TASK_KINDS or code is not None):
        fields["kind"] = "created by the application only: choose another kind"
    # The application's own follow-ups (an interrupted run's, for its author) are not
    # refused here: only a task a user asks for.
    refusal = (assignee_refusal(assignee, case if by_hand else None)
               if assignee is not None else None)
    if refusal:
        fields["assignee_id"] = refusal
    if fields:
        raise OperationError("invalid task", fields)
    task = Task(
        title=title,
        kind=kind,
        code=code,
        case_id=case.id if case else None,
        triage_run_id=run.id if run else None,
        assignee_id=assignee.id if assignee else None,
        due_at=due_at,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(task)
    db.session.flush()
    if case is not None:
        add_event(case, "task_added", actor, task_id=task.id, task_kind=kind,
                  assignee_id=task.assignee_id)
    audit.record("create", "task", task.id, {"kind": kind, "case_id": task.case_id}, user=actor)
    log.info("task %s (%s) created", task.id, kind)
    return task


class TaskNotOpen(OperationError):
    """The task was done or cancelled already — perhaps a moment ago, by someone else."""

    def __init__(self, task):
        super().__init__("task not open", {"status": "the task is already " + task.status})
        self.task = task


def finish_task(task, actor, status="done", at=None):
    """Mark an open task done or cancelled. Two people finishing one task at once: the
    UPDATE only applies while it is open, so exactly one wins; the other gets TaskNotOpen
    with the task as the winner left it (a 409 where it surfaces)."""
    if status not in ("done", "cancelled"):
        raise OperationError("invalid status", {"status": "done or cancelled"})
    if task.status != "open":
        raise TaskNotOpen(task)
    won = db.session.execute(
        update(Task).where(Task.id == task.id, Task.status == "open")
        .values(status=status, done_by_id=actor.id, done_at=at or utcnow())
        .execution_options(synchronize_session="evaluate")
    ).rowcount
    if not won:
        db.session.refresh(task)
        raise TaskNotOpen(task)
    if task.case is not None:
        add_event(task.case, "task_done" if status == "done" else "task_cancelled", actor,
                  task_id=task.id, task_kind=task.kind)
    audit.record("update", "task", task.id, {"status": status}, user=actor)
    log.info("task %s %s", task.id, status)


def assignee_refusal(assignee, case=None):
    """Why `assignee` may not take a task (on `case`), or None: inactive users and
    admins take no tasks, and a task on a case goes only to someone who may see the case
    (its title and reference would show in their list)."""
    if not assignee.active or assignee.role == "admin":
        return "cannot take tasks"
    if case is not None and not can_view_case(assignee, case):
        return "may not see this case"
    return None


def reassign_task(task, assignee, actor):
    refusal = "cannot take tasks" if assignee is None else assignee_refusal(assignee, task.case)
    if refusal:
        raise OperationError("invalid assignee", {"assignee_id": refusal})
    before = task.assignee_id
    task.assignee_id = assignee.id
    audit.record("update", "task", task.id, {"assignee_id": [before, assignee.id]})
    log.info("task %s reassigned from %s to %s", task.id, before, assignee.id)


# --------------------------------------------------------------------------- resources


RESOURCE_FIELDS = ("name", "kind", "phone", "url", "languages", "hours", "price_cents", "cost",
                   "descriptions", "active", "email")


def save_resource(resource, values, actor):
    """Create (resource None) or update a directory entry."""
    creating = resource is None
    if creating:
        resource = Resource()
        db.session.add(resource)
    for key in RESOURCE_FIELDS:
        if key in values:
            setattr(resource, key, values[key])
    db.session.flush()
    audit.record("create" if creating else "update", "resource", resource.id,
                 {"name": resource.name}, user=actor)
    log.info("resource %s %s", resource.id, "created" if creating else "updated")
    return resource


# --------------------------------------------------------------------------- helpers


def case_workers(roles=("advisor", "psychologist", "supervisor")):
    """Active users who may be given cases or tasks, by name: rows of (id, name, role) for
    the select lists (a few hundred users: plain rows, not ORM objects, are cheap)."""
    return db.session.execute(
        select(User.id, User.name, User.role).where(User.active.is_(True),
                                                    User.role.in_(roles)).order_by(
            func.lower(User.name), User.id
        )
    ).all()

