"""The follow-up protocol's changes, each audited: scheduling, attempts, the alert, the end.

Due times (docs/CONVENTIONS.md, "Follow-up contacts"): a contact is planned `hours` after the
case opened or was raised. The cell is closed at night, at weekends and on holidays: a
contact due within `SHORT_DELAY_HOURS` (24 h, 72 h) outside the opening hours moves to the
next opening; a later one (7 days and more) is due at the first opening of its planned day
when that is a business day, else of the next business day. A move later than
`MAX_MOVE_SHARE` of the delay (e.g. a 24 h contact moved from Saturday to Monday) records
the 24/7 crisis line in the person's language given for that gap.
"""

import logging
from datetime import datetime, time, timedelta
from time import monotonic

from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import selectinload

from cellule import audit, limits
from cellule.extensions import db
from cellule.types import utcnow
from cellule.users import on_duty_supervisors
from triage.calendar import get_calendar

from .. import operations as ops
from .. import queries
from ..models import SAFETY_LEVELS, Case, Task
from ..signals import case_closed
from .models import (
    ATTEMPTS_BEFORE_ALERT,
    DELAYS,
    END_STATES,
    MAX_CONTACTS,
    MAX_DELAY_HOURS,
    MAX_MOVE_SHARE,
    OUTCOMES,
    SHORT_DELAY_HOURS,
    TITLES,
    FollowUpAttempt,
    FollowUpDelays,
    FollowUpProtocol,
)

log = logging.getLogger(__name__)


def delays_for(level):
    """The protocol's delays in hours for a level — the one rule: the configuration's row
    (`CELLULE_FOLLOW_UP_DELAYS`, an override) when it names the level, else what an
    administrator set (`follow_up_delays`), else the defaults (`DELAYS`)."""
    configured = current_app.config.get("CELLULE_FOLLOW_UP_DELAYS") or {}
    return tuple(configured.get(level) or stored_delays().get(level) or DELAYS.get(level)
                 or DELAYS["high"])


_STORED = "cellule_follow_up_delays"
# The administrators' delays are read once a minute per process, not once per triage (a
# change shows at once in the process that saved it, within a minute in the others).
STORED_TTL_SECONDS = 60


def stored_delays():
    """{level: hours} as the administrators set them (cached per app, `STORED_TTL_SECONDS`)."""
    cached = current_app.extensions.get(_STORED)
    if cached is not None and monotonic() - cached[0] < STORED_TTL_SECONDS:
        return cached[1]
    with db.session.no_autoflush:  # the triage's rows wait for its one flush
        rows = db.session.execute(select(FollowUpDelays.level, FollowUpDelays.hours)).all()
    table = {level: tuple(hours) for level, hours in rows if hours}
    current_app.extensions[_STORED] = (monotonic(), table)
    return table


def delay_errors(hours):
    """{"hours": English message} when `hours` cannot be a level's contacts, else {}."""
    if not 1 <= len(hours) <= MAX_CONTACTS:
        return {"hours": f"between 1 and {MAX_CONTACTS} contacts"}
    if any(not isinstance(h, int) or not 1 <= h <= MAX_DELAY_HOURS for h in hours):
        return {"hours": f"each from 1 to {MAX_DELAY_HOURS} hours"}
    if list(hours) != sorted(set(hours)):
        return {"hours": "each later than the one before"}
    return {}


def set_delays(level, hours, actor, stored=None):
    """Set a level's follow-up contacts (hours, increasing); `None` goes back to the
    defaults. Cases opened or raised later get them; planned contacts stay as planned.
    `stored`: the table's rows by level, when the caller read them already."""
    if level not in DELAYS:
        raise ops.OperationError("unknown level", {"level": "unknown level"})
    row = stored.get(level) if stored is not None else db.session.get(FollowUpDelays, level)
    before = list(row.hours) if row is not None else None
    if hours is None:
        if row is not None:
            db.session.delete(row)
    else:
        hours = [int(h) for h in hours]
        errors = delay_errors(hours)
        if errors:
            raise ops.OperationError("invalid delays", errors)
        actor_id = actor.id
        if row is None:
            row = FollowUpDelays(level=level, hours=hours)
            db.session.add(row)
        if before != hours:
            row.hours, row.updated_at, row.updated_by_id = hours, utcnow(), actor_id
    if before == hours:
        return False
    audit.record("update", "follow_up_delays", level, {"hours": [before, hours]}, user=actor)
    current_app.extensions.pop(_STORED, None)
    log.info("follow-up delays of %s: %s -> %s", level, before, hours)
    return True


def due_for(planned, hours, calendar):
    """When a contact planned at `planned` (`hours` after the start) is due, and whether
    the move exceeds what the protocol allows (the crisis line then covers the gap)."""
    if hours <= SHORT_DELAY_HOURS:
        due = calendar.next_opening(planned)
    else:
        day = planned.astimezone(calendar.tz).date()
        while not calendar.is_business_day(day):
            day += timedelta(days=1)
        due = calendar.next_opening(datetime.combine(day, time(0), calendar.tz))
    return due, due - planned > timedelta(hours=hours * MAX_MOVE_SHARE)


def crisis_line(language):
    """The 24/7 crisis line of the directory for the language (the most specific first)."""
    fitting = [r for r in queries.active_crisis_lines()
               if language in (r.languages or []) and "24" in (r.hours or "")]
    fitting.sort(key=lambda r: (len(r.languages or []), r.id))
    return {"id": fitting[0].id, "name": fitting[0].name, "phone": fitting[0].phone} \
        if fitting else None


def protocol_of(case_id):
    return db.session.scalar(select(FollowUpProtocol).where(FollowUpProtocol.case_id == case_id))


def schedule(case, actor, *, safety_yes=False, new=False, raised=False, at=None):
    """Plan the case's follow-up contacts when it opens (`new`) or is `raised` with a
    safety yes or at high or imminent — once per case: a re-assessment that keeps the level
    plans nothing, and a case has one protocol (its unique row). Return the number of
    contacts planned (None: none).

    Cheap, as it runs inside the triage's request (issue 17): the tasks and the protocol
    one statement on PostgreSQL (`_insert_plan`), the event and audit row join that
    request's flush, the delays come from a cache (`stored_delays`), the crisis line is one
    SELECT only when a contact moves past what the protocol allows (a raised case's
    protocol one more)."""
    if case is None or not (new or raised) or not (safety_yes or case.level in SAFETY_LEVELS):
        return None
    if not new and protocol_of(case.id) is not None:
        return None
    at, calendar = at or utcnow(), get_calendar()
    language = case.person.language if case.person is not None else "fr"
    assignee_id = case.assignee_id if case.assignee is not None and not ops.assignee_refusal(
        case.assignee, case) else None
    actor_id = actor.id if actor else None
    rows, tasks = [], []
    for hours in delays_for(case.level):
        planned = at + timedelta(hours=hours)
        due, too_late = due_for(planned, hours, calendar)
        tasks.append({"title": TITLES["follow_up"], "kind": "follow_up", "code": "follow_up",
                      "case_id": case.id, "assignee_id": assignee_id, "due_at": due,
                      "status": "open", "created_by_id": actor_id, "created_at": at,
                      "done_at": None, "done_by_id": None})
        rows.append({"hours": hours, "planned_at": planned.isoformat(), "due_at": due.isoformat(),
                     "crisis_line": too_late})
    # Only a gap the cell leaves needs the line (one SELECT then, none otherwise).
    line = (crisis_line(language) or {}) if any(row["crisis_line"] for row in rows) else None
    for row in rows:
        row["crisis_line"] = line if row["crisis_line"] else None
    protocol = {"case_id": case.id, "level": case.level, "language": language,
                "state": "active", "schedule": rows, "started_at": at,
                "started_by_id": actor_id}
    _insert_plan(tasks, protocol)
    ops.add_event(case, "follow_up_scheduled", actor, contacts=len(rows))
    audit.record("update", "case", case.id, {"follow_up_contacts": len(rows)}, user=actor)
    log.info("case %s: follow-up protocol, %d contacts", case.id, len(rows))
    return len(rows)


def _insert_plan(tasks, protocol):
    """Write the contacts' tasks and the protocol row at once: on PostgreSQL one statement
    (the protocol's INSERT a CTE of the tasks' multi-row INSERT), elsewhere two. Outside
    the ORM's flush: the request's other rows wait for theirs."""
    with db.session.no_autoflush:
        if db.session.get_bind().dialect.name == "postgresql":
            plan = insert(FollowUpProtocol).values(**protocol).cte("protocol")
            db.session.execute(insert(Task).values(tasks).add_cte(plan))
        else:
            db.session.execute(insert(Task), tasks)
            db.session.execute(insert(FollowUpProtocol).values(**protocol))


def stored_rows():
    """The table's rows by level, read now (not the cache)."""
    return {row.level: row for row in db.session.scalars(select(FollowUpDelays))}


def delays_rows(stored=None):
    """The admin page's rows: (level, hours in effect, where they come from — "config",
    "admin" or "default" —, the stored row or None)."""
    stored = stored_rows() if stored is None else stored
    configured = current_app.config.get("CELLULE_FOLLOW_UP_DELAYS") or {}
    rows = []
    for level in DELAYS:
        row = stored.get(level)
        if configured.get(level):
            rows.append((level, tuple(configured[level]), "config", row))
        elif row is not None and row.hours:
            rows.append((level, tuple(row.hours), "admin", row))
        else:
            rows.append((level, tuple(DELAYS[level]), "default", row))
    return rows


def set_all_delays(values, actor, rows=None):
    """Set every level's contacts from {level: hours or None}; return the levels changed.
    A refusal names the level's field. `rows`: `delays_rows()` when the caller has them."""
    stored = stored_rows() if rows is None else {
        level: row for level, _hours, _source, row in rows if row is not None}
    configured = current_app.config.get("CELLULE_FOLLOW_UP_DELAYS") or {}
    changed = []
    for level, hours in values.items():
        if configured.get(level):  # the page shows it set by the server: nothing posted
            continue
        try:
            if set_delays(level, hours, actor, stored):
                changed.append(level)
        except ops.OperationError as error:
            raise ops.OperationError("invalid delays", {level: error.fields.get(
                "hours", "invalid")}) from None
    return changed


class ProtocolEnded(ops.OperationError):
    """The protocol was ended already (a 409 where it surfaces)."""

    def __init__(self, protocol):
        super().__init__("protocol ended", {"state": "the follow-up is already " + protocol.state})
        self.protocol = protocol


def log_attempt(task, outcome, note, actor, at=None):
    """Record an attempt on an open follow-up task; `reached` or `refused` ends the task.
    The third attempt in a row without `reached` alerts the supervisors (once a row)."""
    protocol = protocol_of(task.case_id) if task.kind == "follow_up" else None
    fields = {}
    if protocol is None:
        fields["task"] = "not a follow-up contact"
    if outcome not in OUTCOMES:
        fields["outcome"] = "choose one of " + ", ".join(OUTCOMES)
    note = (note or "").strip() or None
    if limits.too_long(note, limits.REASON):
        fields["note"] = limits.at_most(limits.REASON)
    if fields:
        raise ops.OperationError("invalid attempt", fields)
    if task.status != "open":
        raise ops.TaskNotOpen(task)
    if protocol.state != "active":
        raise ProtocolEnded(protocol)
    at = at or utcnow()
    attempt = FollowUpAttempt(protocol_id=protocol.id, task_id=task.id, outcome=outcome,
                              note=note, created_by_id=actor.id, created_at=at)
    db.session.add(attempt)
    db.session.flush()
    ops.add_event(task.case, "follow_up_attempt", actor, task_id=task.id, outcome=outcome)
    audit.record("create", "follow_up_attempt", attempt.id,
                 {"task_id": task.id, "outcome": outcome}, user=actor)
    if outcome in ("reached", "refused"):
        ops.finish_task(task, actor, "done", at=at)
    if failures_in_a_row(protocol) == ATTEMPTS_BEFORE_ALERT:
        alert_supervisors(protocol, actor, at)
    return attempt


def failures_in_a_row(protocol):
    """Attempts without `reached` since the last `reached` (all of them if none)."""
    last = db.session.scalar(select(func.max(FollowUpAttempt.id)).where(
        FollowUpAttempt.protocol_id == protocol.id, FollowUpAttempt.outcome == "reached"))
    return db.session.scalar(select(func.count(FollowUpAttempt.id)).where(
        FollowUpAttempt.protocol_id == protocol.id, FollowUpAttempt.outcome != "reached",
        FollowUpAttempt.id > (last or 0)))


def alert_supervisors(protocol, actor, at):
    """A task for each on-duty supervisor: the person was not reached three times."""
    case = protocol.case
    supervisors = on_duty_supervisors()
    for supervisor in supervisors:
        ops.create_task(title=TITLES["follow_up_unreached"], kind="custom",
                        code="follow_up_unreached", actor=actor, assignee=supervisor,
                        case=case, due_at=at)
    protocol.alerted_at = at
    ops.add_event(case, "follow_up_unreached", actor, user_ids=[s.id for s in supervisors])
    log.warning("case %s: follow-up unreached, %d supervisors alerted", case.id,
                len(supervisors))


def end_protocol(protocol, state, note, actor, at=None):
    """End the protocol (completed, declined, handed to another service: `note` names it);
    its open follow-up tasks are cancelled."""
    note = (note or "").strip() or None
    fields = {}
    if state not in END_STATES:
        fields["state"] = "choose one of " + ", ".join(END_STATES)
    elif state == "handed_over" and not note:
        fields["note"] = "name the service"
    if limits.too_long(note, limits.REASON):
        fields["note"] = limits.at_most(limits.REASON)
    if fields:
        raise ops.OperationError("invalid end", fields)
    if protocol.state != "active":
        raise ProtocolEnded(protocol)
    at = at or utcnow()
    protocol.state, protocol.end_note = state, note
    protocol.ended_at, protocol.ended_by_id = at, actor.id
    for task in open_follow_ups(protocol.case_id):
        ops.finish_task(task, actor, "cancelled", at=at)
    ops.add_event(protocol.case, "follow_up_ended", actor, state=state)
    audit.record("update", "follow_up_protocol", protocol.id, {"state": state}, user=actor)
    log.info("follow-up protocol %s %s", protocol.id, state)


@case_closed.connect
def on_case_closed(sender, case_id, **extra):
    """Closing the case ends its follow-up (the contacts still planned are cancelled): a
    case stays open, waiting, while its follow-up runs. In the closing transaction."""
    protocol = protocol_of(case_id)
    if protocol is None or protocol.state != "active":
        return
    case = db.session.get(Case, case_id)
    at, actor_id = case.closed_at or utcnow(), case.closed_by_id
    protocol.state, protocol.end_note = "completed", "case closed"
    protocol.ended_at, protocol.ended_by_id = at, actor_id
    cancelled = db.session.execute(
        update(Task).where(Task.case_id == case_id, Task.kind == "follow_up",
                           Task.status == "open")
        .values(status="cancelled", done_at=at, done_by_id=actor_id)
        .execution_options(synchronize_session="fetch")).rowcount
    ops.add_event(case, "follow_up_ended", case.closed_by, state="completed",
                  cancelled=cancelled, reason="case_closed")
    audit.record("update", "follow_up_protocol", protocol.id,
                 {"state": "completed", "reason": "case_closed"}, user=case.closed_by)


def open_follow_ups(case_id):
    return db.session.scalars(select(Task).where(
        Task.case_id == case_id, Task.kind == "follow_up", Task.status == "open")
        .order_by(Task.due_at, Task.id)).all()


def planned_contacts(protocol):
    """(row of the plan, its task) pairs: the tasks in due order are the plan's rows."""
    tasks = db.session.scalars(select(Task).where(
        Task.case_id == protocol.case_id, Task.kind == "follow_up")
        .order_by(Task.due_at, Task.id)).all()
    return list(zip(protocol.schedule, tasks, strict=False))


def attempts_of(protocol):
    return db.session.scalars(select(FollowUpAttempt).where(
        FollowUpAttempt.protocol_id == protocol.id).order_by(FollowUpAttempt.id)
        .options(selectinload(FollowUpAttempt.created_by))).all()
