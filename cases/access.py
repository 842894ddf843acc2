"""Who may see and do what with cases, triage runs and tasks (DESIGN §1).

The rules live here once: the loaders (HTML and API), the listings and the
templates all ask these functions. A case the user may not see is a 404 (its
existence does not leak); an action the user may not take on a case they see
is a 403 — unless only the case's state stands in the way (it was closed, or for a
claim taken, since the user saw it): that is a conflict (409, `cases.conflicts`).
"""

from flask import abort, has_request_context, request
from flask_login import current_user
from sqlalchemy import and_, exists, false, or_, select, true

from cellule import audit
from cellule.extensions import db
from cellule.permissions import ADMIN, ADVISOR, AMBASSADOR, PSYCHOLOGIST, SUPERVISOR
from cellule.roles import CLINICAL_META, STAFF

from .errors import CaseConflict
from .models import Case, CaseEvent, Note, Referral, Task, TriageRun

PSYCHOLOGY_ROUTES = ("psychologist", "crisis")
ADVISOR_ROUTES = ("information", "coaching")

# Every action on a case, for the permission matrix and the templates.
CASE_ACTIONS = (
    "view",
    "claim",
    "reassign",
    "raise_level",
    "set_status",
    "close",
    "record_response",
    "add_team_note",
    "add_clinical_note",
    "read_team_notes",
    "read_clinical_body",
    "see_clinical_meta",
    "add_referral",
    "link_contact",
    "identify_person",
    "add_task",
    "safety_plan",
    "caring_messages",
    "book_appointment",
    "follow_referral",
)


def _pending_signoff(case_id):
    return exists().where(
        Task.case_id == case_id, Task.kind == "sign_off", Task.status == "open"
    )


def can_view_case(user, case):
    """Return whether `user` may see `case` at all."""
    role = user.role
    if role in (ADVISOR, SUPERVISOR):
        return True
    if role == AMBASSADOR:
        return case.opened_by_id == user.id
    if role == PSYCHOLOGIST:
        if case.route in PSYCHOLOGY_ROUTES or case.assignee_id == user.id:
            return True
        # A psychologist asked to sign off a downgrade needs the case to decide.
        return bool(db.session.scalar(select(_pending_signoff(case.id))))
    return False  # admin: no case content


def visible_cases_clause(user):
    """Return a WHERE clause selecting the cases `user` may see."""
    role = user.role
    if role in (ADVISOR, SUPERVISOR):
        return true()
    if role == AMBASSADOR:
        return Case.opened_by_id == user.id
    if role == PSYCHOLOGIST:
        return or_(
            Case.route.in_(PSYCHOLOGY_ROUTES),
            Case.assignee_id == user.id,
            _pending_signoff(Case.id),
        )
    return false()


def case_can(user, case, action):
    """Return whether `user` may take `action` on `case` (visibility included)."""
    if action not in CASE_ACTIONS:
        raise ValueError(f"unknown case action {action!r}")
    if not can_view_case(user, case):
        return False
    return _allowed(user, case, action, case.is_open, case.assignee_id)


def refused_by_state(user, case, action):
    """Whether `user` may not take `action` on `case` only because of its state: the case
    is closed (or, for a claim, taken), and the action was allowed on it open and free."""
    return (can_view_case(user, case) and not case_can(user, case, action)
            and _allowed(user, case, action, True, None))


def _allowed(user, case, action, is_open, assignee_id):
    """The rule of `action` for a case that is open (or not) and assigned (or not)."""
    role = user.role
    staff = role in STAFF
    if action in ("view", "read_team_notes"):
        return True
    if action == "claim":
        return (
            is_open
            and assignee_id is None
            and (
                (role == PSYCHOLOGIST and case.queue == "psychology")
                or (role == ADVISOR and case.queue == "advisors")
            )
        )
    if action == "reassign":
        return is_open and role == SUPERVISOR
    if action == "raise_level":
        return is_open and staff
    if action == "set_status":
        return is_open and (role == SUPERVISOR or (staff and case.assignee_id == user.id))
    if action == "close":
        if not is_open:
            return False
        if role in (SUPERVISOR, PSYCHOLOGIST):
            return True
        return role == ADVISOR and case.route in ADVISOR_ROUTES
    if action == "record_response":
        return is_open and staff
    if action == "add_team_note":
        return staff  # a closing summary may come after the close
    if action in ("add_referral", "link_contact", "add_task"):
        return is_open and staff
    if action == "identify_person":
        return is_open and staff and case.person_id is None
    if action in ("add_clinical_note", "read_clinical_body"):
        return role == PSYCHOLOGIST
    if action == "safety_plan":
        return staff  # the case's team reads, writes and gives it; ambassadors do not
    if action == "caring_messages":
        return staff and case.person_id is not None  # start and stop them (cases.caring)
    if action == "book_appointment":  # a psychologist's slot for the person (cases.appointments)
        return is_open and staff and case.person_id is not None
    if action == "follow_referral":
        return staff  # its steps and handover pack (cases.referrals), after a close too
    if action == "see_clinical_meta":
        return role in CLINICAL_META
    return False


def permissions_for(user, case):
    """Return the set of actions `user` may take on `case` (for templates)."""
    return {action for action in CASE_ACTIONS if case_can(user, case, action)}


def _refuse(forbidden):
    """Answer a refused action: 403, or `forbidden` — the exception the caller answers with
    instead (the API's `ApiError`, whose JSON body says why)."""
    if forbidden is not None:
        raise forbidden
    abort(403)


def get_case_or_404(case_id, need="view", read=True, user=None, acting=None, expected=None,
                    forbidden=None):
    """Load a case the user may see (else 404) and may `need` (else 403); audit the read.

    `acting` (default: a POST): asking to change the case, so an action refused only by
    the case's state (closed, taken) is a CaseConflict (409), not a 403; `expected`: the
    version the caller read, which the conflict names. `forbidden`: the exception raised in
    place of the 403 (the API's JSON error); a case the user may not see stays a 404.
    """
    user = user or current_user
    case = db.session.get(Case, case_id) if isinstance(case_id, int) else None
    if case is None or not can_view_case(user, case):
        audit.denied("case", case_id)
        abort(404)
    if need != "view" and not case_can(user, case, need):
        if acting is None:
            acting = has_request_context() and request.method not in ("GET", "HEAD")
        if acting and refused_by_state(user, case, need):
            raise CaseConflict(case.id, expected, need)
        audit.denied("case", case_id, {"action": need})
        _refuse(forbidden)
    if read:
        audit.read("case", case.id)
    return case


# --------------------------------------------------------------------------- notes, events


def is_clinical_event(event):
    """An event that tells a clinical note was written (its existence is clinical meta)."""
    return event.kind == "note_added" and event.detail.get("visibility") == "clinical"


def visible_events(user, case, events):
    """The case events `user` may see: a clinical note's event only with clinical meta."""
    if case_can(user, case, "see_clinical_meta"):
        return list(events)
    return [e for e in events if not is_clinical_event(e)]


def visible_notes(user, case, newest_first=False):
    """The statement of the case's notes `user` may see (clinical ones only with meta)."""
    order = Note.id.desc() if newest_first else Note.id
    stmt = select(Note).where(Note.case_id == case.id).order_by(order)
    if not case_can(user, case, "see_clinical_meta"):
        stmt = stmt.where(Note.visibility == "team")
    return stmt


def case_events(case):
    """The statement of a case's events, oldest first."""
    return select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)


# --------------------------------------------------------------------------- triage runs


def can_view_run(user, run):
    """Return whether `user` may see a triage run."""
    role = user.role
    if role == ADMIN:
        return False
    if run.created_by_id == user.id or role in (ADVISOR, SUPERVISOR):
        return True
    if role == PSYCHOLOGIST:
        if run.signoff_state is not None:
            return True
        return run.case is not None and can_view_case(user, run.case)
    return False


# Why someone may not sign off a downgrade; the last two are the four-eyes rule (DESIGN §9).
SIGNOFF_REFUSALS = ("role", "not_pending", "requester", "ran_triage")


def signoff_refusal(user, run):
    """Return why `user` may not sign off `run`'s downgrade (one of SIGNOFF_REFUSALS), or
    None when they may: a psychologist or supervisor who neither asked for the downgrade
    nor ran the triage."""
    if user.role not in (PSYCHOLOGIST, SUPERVISOR):
        return "role"
    if run.signoff_state != "pending":
        return "not_pending"
    if run.decided_by_id == user.id:
        return "requester"
    if run.created_by_id == user.id:
        return "ran_triage"
    return None


def can_sign_off(user, run):
    return signoff_refusal(user, run) is None


def get_run_or_404(run_id, read=True, user=None, draft_owner=False):
    """Load a triage run the user may see (else 404); audit the read.

    `draft_owner`: the run must be a draft of this user (filling in the script).
    """
    user = user or current_user
    run = db.session.get(TriageRun, run_id) if isinstance(run_id, int) else None
    if run is None or not can_view_run(user, run):
        audit.denied("triage_run", run_id)
        abort(404)
    if draft_owner and (run.state != "draft" or run.created_by_id != user.id):
        audit.denied("triage_run", run_id, {"action": "edit"})
        abort(409 if run.created_by_id == user.id else 404)
    if read:
        audit.read("triage_run", run.id)
    return run


# --------------------------------------------------------------------------- tasks


def can_view_task(user, task):
    role = user.role
    if role == ADMIN:
        return False
    if task.assignee_id == user.id or task.created_by_id == user.id:
        return True
    if task.kind == "sign_off" and role in (PSYCHOLOGIST, SUPERVISOR):
        return True
    if task.case is not None:
        return role in (ADVISOR, SUPERVISOR) and can_view_case(user, task.case)
    return role in (ADVISOR, SUPERVISOR)


def can_finish_task(user, task):
    """Done/cancel (the buttons): an open task that `may_finish_task`."""
    return task.status == "open" and may_finish_task(user, task)


def may_finish_task(user, task):
    """The right to finish a task whatever its state — the assignee, or an advisor or
    supervisor; never a sign-off by hand. A task finished already is then a 409 (by whom),
    not a 403, as for a closed case."""
    if task.kind == "sign_off" or not can_view_task(user, task):
        return False
    return task.assignee_id == user.id or user.role in (ADVISOR, SUPERVISOR)


def can_reassign_task(user, task):
    return task.status == "open" and user.role in (ADVISOR, SUPERVISOR) and can_view_task(
        user, task
    )


def visible_tasks_clause(user):
    """Tasks in "my tasks": mine, plus the open sign-off pool for psychologists/supervisors."""
    mine = Task.assignee_id == user.id
    if user.role in (PSYCHOLOGIST, SUPERVISOR):
        return or_(mine, and_(Task.kind == "sign_off", Task.assignee_id.is_(None)))
    return mine


# What a task loader may be asked for besides seeing it: the rule of each.
TASK_NEEDS = {
    "done": may_finish_task,
    "cancel": may_finish_task,
    "reassign": can_reassign_task,
}


def get_task_or_404(task_id, user=None, need="view", forbidden=None):
    """Load a task the user may see (else 404) and may `need` — done, cancel, reassign —
    (else 403, or `forbidden` raised: the API's JSON error); refusals are audited."""
    user = user or current_user
    task = db.session.get(Task, task_id) if isinstance(task_id, int) else None
    if task is None or not can_view_task(user, task):
        audit.denied("task", task_id)
        abort(404)
    if need != "view" and not TASK_NEEDS[need](user, task):
        audit.denied("task", task_id, {"action": need})
        _refuse(forbidden)
    return task


def get_referral_or_404(referral_id, need="follow_referral", user=None, forbidden=None):
    """Load a referral of a case the user may see (else 404) and may `need` on (else 403,
    or `forbidden` raised); the referral's read is audited (cases.referrals)."""
    referral = db.session.get(Referral, referral_id) if isinstance(referral_id, int) else None
    if referral is None or referral.case_id is None:
        audit.denied("referral", referral_id)
        abort(404)
    case = get_case_or_404(referral.case_id, need=need, read=False, user=user,
                           acting=False, forbidden=forbidden)
    audit.read("referral", referral.id)
    return referral, case
