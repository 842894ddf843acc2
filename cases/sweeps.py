"""Deadlines by mail: reminders before them, escalation to supervisors after them.

`sweep_deadlines` runs every minute (requested by the workers' relay). The
database's `due_at` is the truth: each run reads the open tasks and the cases
still waiting for a first response, and for each deadline decides

- a reminder to the assignee when the deadline is less than
  `CELLULE_REMINDER_MINUTES` away;
- an escalation to the on-duty supervisors (all active supervisors when none is
  on duty) once the deadline has passed.

Each notice is recorded under a key made of its kind, the object and the deadline
(`cellule.mailer.notify_once`), in the transaction that requests its mails: a
rerun, or a second worker, sends nothing again, and a moved deadline gets its own
notices. Mails name the case reference and the kind of work, never a person.

This module also mails the supervisors alerted to an imminent-danger case
(`cases.signals.supervisors_alerted`), and saves incomplete the triage drafts left after an
imminent or high answer for `CELLULE_ABANDONED_DRAFT_MINUTES` (the advisor's browser
closed, the call dropped without "the person hung up"): their case opens at the level
answered, with its alerts, and the run's author gets the follow-up task.
"""

import logging
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from cellule.extensions import db
from cellule.jobs import job, periodic
from cellule.mailer import Notice, notify_once
from cellule.models import User
from cellule.types import utcnow
from cellule.users import on_duty_supervisors
from triage.calendar import get_calendar

from . import routing
from .labels import TASK_KIND_LABELS
from .models import Case, CaseEvent, Task, TriageRun
from .signals import supervisors_alerted

log = logging.getLogger(__name__)

# Deadlines passed longer ago than this are not escalated any more (they were, on time,
# unless every worker was down all that while); it bounds each sweep's reading.
HORIZON = timedelta(days=7)
BATCH = 500
# Tasks that are themselves an alert to the supervisors, mailed when created.
ALERT_CODES = ("imminent_alert",)


def _key(kind, object_type, object_id, due_at):
    return f"{kind}:{object_type}:{object_id}:{due_at.strftime('%Y-%m-%dT%H:%M:%SZ')}"


def _supervisors():
    return on_duty_supervisors()


def _when(user, moment):
    with force_locale(user.language or "fr"):
        return format_datetime(moment, "short")


def _task_what(task):
    kind = str(TASK_KIND_LABELS.get(task.kind, task.kind))
    return kind + (f" · {task.case.reference}" if task.case is not None else f" #{task.id}")


def _messages(kind, object_type, item, users):
    """Return (user, subject, body) for each user, in the user's language."""
    messages = []
    for user in users:
        when = _when(user, item.due_at)
        with force_locale(user.language or "fr"):
            if object_type == "task":
                what = _task_what(item)
                if kind == "reminder":
                    subject = _("Reminder: %(what)s is due %(when)s", what=what, when=when)
                    body = _("Your task %(what)s is due %(when)s.", what=what, when=when)
                else:
                    subject = _("Overdue: %(what)s", what=what)
                    body = _("The task %(what)s was due %(when)s and is still open.",
                             what=what, when=when)
            elif kind == "reminder":
                subject = _("Reminder: first response to %(ref)s due %(when)s",
                            ref=item.reference, when=when)
                body = _("Case %(ref)s needs its first response by %(when)s.",
                         ref=item.reference, when=when)
            else:
                subject = _("Overdue: case %(ref)s has no first response", ref=item.reference)
                body = _("Case %(ref)s needed its first response by %(when)s and has none yet.",
                         ref=item.reference, when=when)
            body += "\n\n" + _("Open Cellule to see it. This message was sent automatically.")
        messages.append((user, str(subject), str(body)))
    return messages


def _known(keys):
    known = set()
    for start in range(0, len(keys), BATCH):
        known.update(
            db.session.scalars(select(Notice.key).where(Notice.key.in_(keys[start:start + BATCH])))
        )
    return known


def _notify(kind, object_type, items, recipients_of):
    """Notify once per item and deadline; one transaction each. Return notices made."""
    keys = {item.id: _key(kind, object_type, item.id, item.due_at) for item in items}
    known = _known(list(keys.values()))
    made = 0
    for item in items:
        key = keys[item.id]
        if key in known:
            continue
        users = recipients_of(item)
        notice = notify_once(key, kind=kind, object_type=object_type, object_id=item.id,
                             due_at=item.due_at,
                             messages=_messages(kind, object_type, item, users))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another sweep recorded it first
            continue
        made += notice is not None
    return made


def _open_tasks(start, end):
    return db.session.scalars(
        select(Task)
        .where(
            Task.status == "open",
            Task.due_at > start,
            Task.due_at <= end,
            or_(Task.code.is_(None), Task.code.not_in(ALERT_CODES)),
        )
        .options(selectinload(Task.assignee), selectinload(Task.case))
        .order_by(Task.due_at, Task.id)
        .limit(BATCH)
    ).all()


def _waiting_cases(start, end):
    return db.session.scalars(
        select(Case)
        .where(
            Case.status != "closed",
            Case.first_response_at.is_(None),
            Case.due_at > start,
            Case.due_at <= end,
        )
        .options(selectinload(Case.assignee))
        .order_by(Case.due_at, Case.id)
        .limit(BATCH)
    ).all()


def _assignee(item):
    user = item.assignee
    return [user] if user is not None and user.active else []


# The answers whose draft must not stay a draft (SPEC: hanging up never lowers them).
ABANDONED_LEVELS = ("imminent", "high")


def close_abandoned_runs(now=None):
    """Save incomplete each draft left untouched after an imminent or high answer.

    Idempotent: a conditional UPDATE (still a draft) claims each run, so a rerun or a
    second worker saves nothing twice. One transaction per run. Returns the runs saved.
    """
    now = now or utcnow()
    cutoff = now - timedelta(minutes=current_app.config["CELLULE_ABANDONED_DRAFT_MINUTES"])
    ids = db.session.scalars(
        select(TriageRun.id)
        .where(TriageRun.state == "draft", TriageRun.updated_at <= cutoff,
               TriageRun.proposed_level.in_(ABANDONED_LEVELS))
        .order_by(TriageRun.id)
        .limit(BATCH)
    ).all()
    saved = 0
    for run_id in ids:
        claimed = db.session.execute(
            db.update(TriageRun)
            .where(TriageRun.id == run_id, TriageRun.state == "draft")
            .values(state="incomplete")
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            db.session.rollback()
            continue
        run = db.session.get(TriageRun, run_id)
        db.session.refresh(run)
        routing.save_incomplete(run, None, get_calendar(), at=now, assignee=run.created_by)
        db.session.commit()
        saved += 1
        log.warning("triage run %s left after a %s answer: saved incomplete", run_id,
                    run.final_level)
    return saved


@job("sweep_deadlines", timeout=300, retries=())
def sweep_deadlines():
    """Send the reminders and escalations due now; return how many notices were made."""
    now = utcnow()
    # First, so that a case opened for an abandoned draft is escalated in the same sweep.
    close_abandoned_runs(now)
    lead = timedelta(minutes=current_app.config["CELLULE_REMINDER_MINUTES"])
    supervisors = _supervisors()
    made = 0
    made += _notify("reminder", "task", _open_tasks(now, now + lead), _assignee)
    made += _notify("reminder", "case", _waiting_cases(now, now + lead), _assignee)
    made += _notify("escalation", "task", _open_tasks(now - HORIZON, now),
                    lambda item: supervisors)
    made += _notify("escalation", "case", _waiting_cases(now - HORIZON, now),
                    lambda item: supervisors)
    if made:
        log.info("deadline sweep: %s notice(s)", made)
    return made


periodic("sweep_deadlines", every=60)


@supervisors_alerted.connect
def mail_alerted_supervisors(sender, case_id, user_ids, **extra):
    """Mail the supervisors alerted to an imminent-danger case (same transaction)."""
    case = db.session.get(Case, case_id)
    event = db.session.scalar(
        select(CaseEvent)
        .where(CaseEvent.case_id == case_id, CaseEvent.kind == "supervisors_alerted")
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    users = db.session.scalars(select(User).where(User.id.in_(user_ids)).order_by(User.id)).all()
    messages = []
    for user in users:
        with force_locale(user.language or "fr"):
            subject = _("Imminent danger: case %(ref)s", ref=case.reference)
            body = _("Case %(ref)s is at imminent danger level: the crisis protocol is running. "
                     "Open Cellule now.", ref=case.reference)
        messages.append((user, str(subject), str(body)))
    notify_once(f"alert:case:{case_id}:event:{event.id if event else 'none'}",
                kind="alert", object_type="case", object_id=case_id, messages=messages)
