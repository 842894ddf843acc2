"""The cases JSON API (DESIGN §7): triage for a contact, cases, notes, claim, close, tasks.

The same loaders and rules as the HTML views apply; an invisible case is a 404. Bodies,
query strings and answers are described by `cases.schemas`.
"""

from flask import jsonify
from flask_login import current_user
from sqlalchemy import String, cast, func, select

from cellule import audit, idempotency
from cellule.api import (
    ApiError,
    api_blueprint,
    api_components,
    api_roles,
    idempotent_operation,
    json_body,
    load_body,
)
from cellule.extensions import db
from cellule.permissions import ADVISOR, PSYCHOLOGIST, SUPERVISOR
from cellule.roles import CASEWORK, ROLES
from contacts.access import get_contact_or_404, survivor
from triage import crisis
from triage.api import evaluation_arguments, run_evaluation
from triage.calendar import get_calendar

from . import conflicts, queries, routing, triage_runs
from . import operations as ops
from .access import (
    can_view_case,
    get_case_or_404,
    get_task_or_404,
    permissions_for,
    visible_events,
    visible_notes,
)
from .models import SAFETY_LEVELS, Case, CaseEvent, Task, TriageRun
from .schemas import (
    CASE,
    CASE_ATTACHED,
    CASE_DETAIL,
    CASE_FILTERS,
    CASE_FOLLOWED,
    CASE_PAGE,
    CASE_SUMMARY,
    CLOSE,
    CONFLICT,
    CONTACT_TRIAGE,
    NEW_NOTE,
    NOTE,
    RESOURCE_FILTERS,
    RESOURCE_LIST,
    TASK,
    TASK_FILTERS,
    TASK_LIST,
    TRIAGE_RESULT,
    CaseDetail,
    NoteView,
)

bp = api_blueprint("cases_api", __name__)
# Named in the contact triage's answer (`case`: one or the other) by reference only.
api_components(CASE_SUMMARY, CASE_ATTACHED)


_REFUSALS = {"401": "no valid token", "403": "the role may not do this",
             "404": "no such object, or not visible to the caller"}
_INVALID = {"422": "invalid input; `fields` names each problem"}
# The 409 of a versioned change of a case (cases.conflicts), with the case as it is now.
_CASE_CONFLICT = ("the case changed since the caller read it (another change came first: a "
                  "close, a claim, a reassignment…), or it is closed: nothing was changed; "
                  "`current` says what the case is now, `fields.version` the current version "
                  "when the request named one")


def triage_case(case):
    """The case of a contact-triage answer: its summary, or only that the cell follows it
    when the caller may not see it; None when no case."""
    if case is None:
        return None
    if not can_view_case(current_user, case):
        return {"message": CASE_FOLLOWED}
    return CASE_SUMMARY.dump(case)


def load_case_page(case_id):
    """The case with its timeline and its triage runs' ids, in one query (the case row
    repeated beside each event, the ids aggregated once): return (case, events, run ids),
    oldest first; the case (None when there is none), which the loader that checks it then
    finds in the session while the caller holds it."""
    run_ids = (select(func.aggregate_strings(cast(TriageRun.id, String), ","))
               .where(TriageRun.case_id == case_id).scalar_subquery())
    rows = db.session.execute(
        select(Case, CaseEvent, run_ids).outerjoin(CaseEvent, CaseEvent.case_id == Case.id)
        .where(Case.id == case_id).order_by(CaseEvent.id)).all()
    events = [event for _case, event, _ids in rows if event is not None]
    case, ids = (rows[0][0], rows[0][2]) if rows else (None, None)
    return case, events, sorted(int(i) for i in ids.split(",")) if ids else []


def case_detail(case, events, run_ids):
    """What the caller sees of `case` (its `events` and `run_ids` from `load_case_page`):
    its timeline, tasks, the notes and bodies they may read, its triage runs and what they
    may do."""
    perms = permissions_for(current_user, case)
    return CaseDetail(
        case=case,
        timeline=visible_events(current_user, case, events),
        tasks=db.session.scalars(
            select(Task).where(Task.case_id == case.id).order_by(Task.id)).all(),
        notes=[NoteView.of(n, perms)
               for n in db.session.scalars(visible_notes(current_user, case))],
        triage_runs=run_ids,
        permissions=sorted(perms),
    )


def _case_for(case_id, action, verb, expected=None):
    """The case the caller may see (else 404) and `action` (else 403, "your role may not
    <verb> this case"); only its state in the way — closed, taken — is a conflict (409)."""
    return get_case_or_404(case_id, need=action, read=False, acting=True, expected=expected,
                           forbidden=ApiError(403, f"your role may not {verb} this case"))


def conflict_response(conflict):
    """The 409 of a refused change (cases.conflicts): the usual error body, plus `current`,
    what the case is now (status, version, assignee, closed_at, closed_by)."""
    if conflict.case_id is None:
        return ApiError(409, "the case changed meanwhile: read it again").response()
    case = conflicts.current_case(conflict)
    body = {"error": conflicts.describe(case), "current": conflicts.current_state(case)}
    if conflict.expected is not None:
        body["fields"] = {"version": f"stale: current version is {case.version}"}
    return jsonify(body), 409


# --------------------------------------------------------------------------- triage


def _contact_evaluation_arguments(data, contact, person):
    """The evaluation's arguments for a contact's triage: the person's language by default,
    and the contact's summary as the notes when the body gives none."""
    kwargs = evaluation_arguments(data, person.language if person else "fr")
    if kwargs["notes"] is None:
        kwargs["notes"] = contact.summary or None
    return kwargs


@bp.post("/contacts/<int:id>/triage")
@bp.operation("Run and store a triage for a contact; open or attach the person's case")
@api_roles(*CASEWORK)
@idempotency.idempotent
@bp.body(CONTACT_TRIAGE)
@bp.response(201, TRIAGE_RESULT,
             description='the evaluation plus "triage_id" and "case" (null when no case)')
@bp.refusals(**_REFUSALS, **_INVALID)
@bp.alt_response(409, schema=CONFLICT, description=_CASE_CONFLICT)
def contact_triage(id):
    """Run a complete triage for a contact, store it and open or attach the case."""
    raw = json_body()  # a malformed body first (400), then the contact, then the fields
    contact = get_contact_or_404(id, audit_read=False, with_person=True)
    data = load_body(CONTACT_TRIAGE, raw)
    person = survivor(contact.person) if contact.person is not None else None
    kwargs = _contact_evaluation_arguments(data, contact, person)
    evaluation = run_evaluation(data["script"], kwargs)
    run = triage_runs.record_complete(evaluation, current_user, contact=contact, person=person,
                                      notes=kwargs["notes"], via="api")
    decision = triage_runs.as_proposed(run, data["resources_given"])
    # Attaching may raise the person's open case, which someone may close meanwhile.
    with conflicts.guard(action="triage"):
        outcome = routing.decide(run, decision, current_user, get_calendar())
        body = {**crisis.answer(evaluation, data["script"]), "triage_id": run.id,
                "case": triage_case(outcome.case)}
        return idempotency.commit_answer(TRIAGE_RESULT.dump(body), 201)


# --------------------------------------------------------------------------- cases


@bp.get("/cases/<int:id>")
@bp.operation("A case with its timeline, tasks and the notes the caller may read")
@api_roles(*CASEWORK)
@bp.response(200, CASE_DETAIL, description="the case")
@bp.refusals(**_REFUSALS)
def get_case(id):
    """Return a case with its timeline, tasks and the notes the caller may read."""
    _loaded, events, run_ids = load_case_page(id)  # held: the loader below finds it
    return case_detail(get_case_or_404(id), events, run_ids)


@bp.get("/cases")
@bp.operation("Cases the caller may see, by deadline (keyset pagination)")
@api_roles(*CASEWORK)
@bp.arguments(CASE_FILTERS, location="query")
@bp.response(200, CASE_PAGE, description="a page of cases")
@bp.refusals(**_REFUSALS, **_INVALID)
def list_cases(args):
    """List the cases the caller may see by deadline, filtered, with a keyset cursor."""
    try:
        filters = queries.parse_case_filters(args, current_user)
    except queries.BadFilter as error:
        raise ApiError(422, "invalid filter", error.fields) from None
    stmt = queries.cases_query(current_user, filters)
    rows, next_cursor = queries.keyset_page(stmt, queries.Case, filters.get("cursor"))
    audit.read("case_list", "api", {"ids": [r.id for r in rows]})
    return {"items": rows, "next_cursor": next_cursor}


@bp.post("/cases/<int:id>/claim")
@bp.operation("Claim an unassigned case (psychologists: psychology queue)",
              "Taken (first, or meanwhile) or closed: 409 with `current`, who has it or who "
              "closed it and when.")
@api_roles(PSYCHOLOGIST, ADVISOR)
@bp.response(200, CASE, description="the case, now yours")
@bp.refusals(**_REFUSALS)
@bp.alt_response(409, schema=CONFLICT, description=_CASE_CONFLICT)
def claim_case(id):
    """Claim an unassigned case; taken or closed (first, or meanwhile) is a 409 with
    the case's current state."""
    case = _case_for(id, "claim", "claim")
    with conflicts.guard(case.id, action="claim"):
        if not ops.claim_case(case.id, current_user):
            raise ops.StaleCase(case.id, None)  # lost the race inside the database
        db.session.commit()
    return get_case_or_404(id, read=False)


@bp.post("/cases/<int:id>/notes")
@bp.operation("Add a team or clinical note")
@api_roles(ADVISOR, PSYCHOLOGIST, SUPERVISOR)
@idempotency.idempotent
@bp.arguments(NEW_NOTE)
@bp.response(201, NOTE, description="the note")
@bp.refusals(**_REFUSALS, **_INVALID)
def add_note(values, id):
    """Add a team or clinical note."""
    body, visibility = values["body"], values["visibility"]
    need = "add_clinical_note" if visibility == "clinical" else "add_team_note"
    case = get_case_or_404(id, need=need, read=False,
                           forbidden=ApiError(403, "your role may not write this note"))
    try:
        note = ops.add_note(case, body, visibility, current_user)
    except ops.OperationError as error:
        raise ApiError(422, "invalid note", error.fields) from None
    answer = NOTE.dump(NoteView.of(note, permissions_for(current_user, case)))
    return idempotency.commit_answer(answer, 201)


@bp.post("/cases/<int:id>/close")
@bp.operation(
    "Close a case and resolve its open tasks (send the version you read)",
    "Every open task of the case ends in the same step: `tasks` says which are done; the "
    "others are cancelled (a sign-off can only be cancelled). A case at level "
    + " or ".join(SAFETY_LEVELS) + " closes only with a `safety_outcome` (422 naming it "
    "otherwise); `other` needs a `safety_note`; such a case without a safety plan needs a "
    "`no_safety_plan_reason` (422 naming it otherwise). A `version` older than the case's, "
    "a change that commits first, or a case closed already is a 409 whose `current` says what the "
    "case is now (closed by whom and when, taken by whom).")
@api_roles(ADVISOR, PSYCHOLOGIST, SUPERVISOR)
@bp.arguments(CLOSE)
@bp.response(200, CASE, description="the closed case")
@bp.refusals(**_REFUSALS, **_INVALID)
@bp.alt_response(409, schema=CONFLICT, description=_CASE_CONFLICT)
def close_case(values, id):
    """Close a case; `version` must be the case's current version (else 409)."""
    outcome, version = values.pop("outcome"), values.pop("version")
    case = _case_for(id, "close", "close", version)
    try:
        with conflicts.guard(case.id, version, "close"):
            # Open tasks the body does not name are cancelled with the case.
            ops.close_case(case, outcome, current_user, version, **values,
                           default_task_status="cancelled")
            db.session.commit()
    except ops.OperationError as error:
        db.session.rollback()
        raise ApiError(422, "cannot close", error.fields) from None
    return get_case_or_404(id, read=False)


# --------------------------------------------------------------------------- tasks


@bp.get("/tasks")
@bp.operation("The caller's open tasks, overdue first")
@api_roles(*CASEWORK)
@bp.arguments(TASK_FILTERS, location="query")
@bp.response(200, TASK_LIST, description="the open tasks")
@bp.refusals(**_REFUSALS, **_INVALID)
def list_tasks(args):
    """The caller's open tasks (and sign-off pool), overdue first."""
    tasks = db.session.scalars(
        queries.tasks_query(current_user, overdue=args["overdue"]).limit(500)
    ).all()
    audit.read("task_list", "api", {"ids": [t.id for t in tasks]})
    return {"items": tasks}


def _task_to_finish(task_id):
    """The task the caller may see (else 404) and finish (else 403); a sign-off is not done
    here (422, before the right to finish it is asked)."""
    task = get_task_or_404(task_id)
    if task.kind == "sign_off":
        raise ApiError(422, "a sign-off is done by approving or rejecting it",
                       {"kind": "sign-off tasks close with the sign-off"})
    return get_task_or_404(task_id, need="done",
                           forbidden=ApiError(403, "you may not finish this task"))


def _task_conflict(task_id):
    """The 409 of a task finished a moment ago by someone else, with the task as it is."""
    task = get_task_or_404(task_id)
    return jsonify({"error": f"the task is already {task.status}",
                    "fields": {"status": f"the task is already {task.status}"},
                    "current": TASK.dump(task)}), 409


@bp.post("/tasks/<int:id>/done")
@bp.operation("Mark a task done")
@api_roles(*CASEWORK)
@bp.response(200, TASK, description="the task")
@bp.refusals(**_REFUSALS, **{"409": "conflict (stale version or already claimed)"}, **_INVALID)
def task_done(id):
    """Mark a task done."""
    task = _task_to_finish(id)
    try:
        ops.finish_task(task, current_user, "done")
    except ops.TaskNotOpen:  # finished a moment ago by someone else
        db.session.rollback()
        return _task_conflict(id)
    db.session.commit()
    return task


# --------------------------------------------------------------------------- directory


@bp.get("/resources")
@bp.operation("The directory's active entries: crisis lines, partners, information",
              "By kind, then name; `language` keeps the entries offered in that language.")
@api_roles(*ROLES)
@bp.arguments(RESOURCE_FILTERS, location="query")
@bp.response(200, RESOURCE_LIST, description="the entries")
@bp.refusals(**{"401": _REFUSALS["401"]}, **_INVALID)
def list_resources(args):
    """List the directory's active entries, of a kind and in a language when asked."""
    language = args.get("language")
    rows = [r for r in queries.active_resources(args.get("kind"))
            if language is None or language in (r.languages or ())]
    return {"items": rows}


idempotent_operation("/contacts/{id}/triage")
idempotent_operation("/cases/{id}/notes")
