"""The cases JSON API (DESIGN §7): triage for a contact, cases, notes, claim, close, tasks.

The same loaders and rules as the HTML views apply; an invisible case is a 404.
"""

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy import select

from cellule import audit, idempotency, limits
from cellule.api import (
    OPENAPI_SCHEMAS,
    ApiError,
    api_blueprint,
    api_roles,
    documented,
    json_body,
)
from cellule.extensions import db
from cellule.permissions import ADVISOR, AMBASSADOR, PSYCHOLOGIST, SUPERVISOR
from cellule.types import utcnow
from contacts.access import get_contact_or_404, survivor
from triage.api import EVALUATE_BODY, KNOWN_KEYS, parse_request, run_evaluation
from triage.blueprint import get_calendar
from triage.vocab import LEVELS, ROUTES

from . import conflicts, queries, routing
from . import operations as ops
from .access import (
    can_view_case,
    case_events,
    get_case_or_404,
    get_task_or_404,
    may_finish_task,
    permissions_for,
    refused_by_state,
    visible_events,
    visible_notes,
)
from .models import (
    NOTE_VISIBILITIES,
    OUTCOMES,
    QUEUES,
    SAFETY_LEVELS,
    SAFETY_OUTCOMES,
    STATUSES,
    TASK_KINDS,
    TASK_STATUSES,
    Task,
    TriageRun,
)

bp = api_blueprint("cases_api", __name__)

CASEWORK = (AMBASSADOR, ADVISOR, PSYCHOLOGIST, SUPERVISOR)


def _iso(value):
    return value.isoformat() if value else None


# A case the caller may not see (an ambassador's person followed by an advisor) is named
# by this only: its existence is the cell's, its id, level and route are not the caller's.
CASE_FOLLOWED = "attached to a case the cell already follows"


def triage_case(case):
    """The case of a contact-triage answer: its summary, or only that the cell follows it
    when the caller may not see it; None when no case."""
    if case is None:
        return None
    if not can_view_case(current_user, case):
        return {"message": CASE_FOLLOWED}
    return case_summary(case)


def case_summary(case):
    """The short case shape of the contact-triage answer."""
    return {
        "id": case.id,
        "reference": case.reference,
        "level": case.level,
        "route": case.route,
        "status": case.status,
        "due_at": _iso(case.due_at),
        "queue": case.queue,
    }


def case_json(case, now=None):
    now = now or utcnow()
    return {
        **case_summary(case),
        "person_id": case.person_id,
        "assignee_id": case.assignee_id,
        "first_response_at": _iso(case.first_response_at),
        "outcome": case.outcome,
        "safety_outcome": case.safety_outcome,
        "opened_at": _iso(case.opened_at),
        "closed_at": _iso(case.closed_at),
        "version": case.version,
        "overdue": queries.case_is_overdue(case, now),
    }


def task_json(task):
    return {
        "id": task.id,
        "title": str(routing.TASK_TITLES[task.code]) if task.code in routing.TASK_TITLES
        else task.title,
        "kind": task.kind,
        "status": task.status,
        "case_id": task.case_id,
        "triage_run_id": task.triage_run_id,
        "assignee_id": task.assignee_id,
        "due_at": _iso(task.due_at),
        "done_at": _iso(task.done_at),
        "overdue": task.is_overdue(utcnow()),
    }


def note_json(note, perms):
    data = {
        "id": note.id,
        "visibility": note.visibility,
        "author_id": note.author_id,
        "created_at": _iso(note.created_at),
    }
    if note.visibility == "team" or "read_clinical_body" in perms:
        data["body"] = note.body
    return data


def case_detail(case):
    perms = permissions_for(current_user, case)
    events = visible_events(current_user, case, db.session.scalars(case_events(case)))
    notes_stmt = visible_notes(current_user, case)
    return {
        **case_json(case),
        "timeline": [
            {"kind": e.kind, "at": _iso(e.at), "actor_id": e.actor_id, "detail": e.detail}
            for e in events
        ],
        "tasks": [task_json(t) for t in db.session.scalars(
            select(Task).where(Task.case_id == case.id).order_by(Task.id))],
        "notes": [note_json(n, perms) for n in db.session.scalars(notes_stmt)],
        "triage_runs": [r.id for r in db.session.scalars(
            select(TriageRun).where(TriageRun.case_id == case.id).order_by(TriageRun.id))],
        "permissions": sorted(perms),
    }


def _case_id_or_404(case_id):
    return get_case_or_404(case_id, read=False)


def _case_for(case_id, action, verb, expected=None):
    """The case the caller may see (else 404) and `action` (else 403, "your role may not
    <verb> this case"); only its state in the way — closed, taken — is a conflict (409)."""
    case = _case_id_or_404(case_id)
    if action not in permissions_for(current_user, case):
        if refused_by_state(current_user, case, action):
            raise conflicts.CaseConflict(case.id, expected, action)
        audit.denied("case", case_id, {"action": action})
        raise ApiError(403, f"your role may not {verb} this case")
    return case


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


def _triage_input(data, contact, person):
    """The script, the evaluation's arguments and `resources_given` of a contact-triage body
    (422 naming the field); the notes default to the contact's summary."""
    script, kwargs = parse_request(
        data, default_language=person.language if person else "fr",
        allowed=KNOWN_KEYS - {"evaluated_at"} | {"resources_given"},
    )
    resources_given = data.get("resources_given", False)
    if not isinstance(resources_given, bool):
        raise ApiError(422, "invalid triage input", {"resources_given": "must be true or false"})
    if kwargs["notes"] is None:
        kwargs["notes"] = contact.summary or None
    return script, kwargs, resources_given


def _store_run(script, kwargs, evaluation, contact, person):
    """Store the complete run of this evaluation for the contact, with its audit row."""
    run = TriageRun(
        script_id=script.id, script_version=script.version, language=kwargs["language"],
        state="draft", complete=True, answers=dict(evaluation.answers),
        immediate_danger=kwargs["immediate_danger"], notes=kwargs["notes"],
        evaluation=evaluation.to_dict(), proposed_level=evaluation.level,
        proposed_route=evaluation.route, proposed_due_at=evaluation.due_at,
        crisis_shown=evaluation.any_safety_yes or evaluation.immediate_danger,
        contact_id=contact.id, person_id=person.id if person else None,
        created_by_id=current_user.id,
    )
    db.session.add(run)
    db.session.flush()
    audit.record("create", "triage_run", run.id, {"contact_id": contact.id, "via": "api"})
    return run


@bp.post("/contacts/<int:contact_id>/triage")
@api_roles(*CASEWORK)
@idempotency.idempotent
def contact_triage(contact_id):
    """Run a complete triage for a contact, store it and open or attach the case."""
    data = json_body()
    contact = get_contact_or_404(contact_id, audit_read=False)
    person = survivor(contact.person) if contact.person is not None else None
    script, kwargs, resources_given = _triage_input(data, contact, person)
    evaluation = run_evaluation(script, kwargs)
    run = _store_run(script, kwargs, evaluation, contact, person)
    decision = routing.Decision(level=evaluation.level, route=evaluation.route,
                                resources_given=resources_given, coaching_resource_id=0)
    # Attaching may raise the person's open case, which someone may close meanwhile.
    with conflicts.guard(action="triage"):
        outcome = routing.decide(run, decision, current_user, get_calendar())
        body = {**evaluation.to_dict(), "triage_id": run.id, "case": triage_case(outcome.case)}
        return idempotency.commit_answer(body, 201)


# --------------------------------------------------------------------------- cases


@bp.get("/cases/<int:case_id>")
@api_roles(*CASEWORK)
def get_case(case_id):
    """Return a case with its timeline, tasks and the notes the caller may read."""
    case = get_case_or_404(case_id)
    return jsonify(case_detail(case))


@bp.get("/cases")
@api_roles(*CASEWORK)
def list_cases():
    """List the cases the caller may see by deadline, filtered, with a keyset cursor."""
    try:
        filters = queries.parse_case_filters(request.args, current_user)
    except queries.BadFilter as error:
        raise ApiError(422, "invalid filter", error.fields) from None
    stmt = queries.cases_query(current_user, filters)
    rows, next_cursor = queries.keyset_page(stmt, queries.Case, filters.get("cursor"))
    audit.read("case_list", "api", {"ids": [r.id for r in rows]})
    now = utcnow()
    return jsonify({"items": [case_json(c, now) for c in rows], "next_cursor": next_cursor})


@bp.post("/cases/<int:case_id>/claim")
@api_roles(PSYCHOLOGIST, ADVISOR)
def claim_case(case_id):
    """Claim an unassigned case; taken or closed (first, or meanwhile) is a 409 with
    the case's current state."""
    case = _case_for(case_id, "claim", "claim")
    with conflicts.guard(case.id, action="claim"):
        if not ops.claim_case(case.id, current_user):
            raise ops.StaleCase(case.id, None)  # lost the race inside the database
        db.session.commit()
    return jsonify(case_json(get_case_or_404(case_id, read=False)))


def _note_input(data):
    """The body and visibility of a note body (422 naming each bad field)."""
    visibility = data.get("visibility", "team")
    body = data.get("body")
    fields = {}
    if not isinstance(body, str):
        fields["body"] = "required text"
    if visibility not in ("team", "clinical"):
        fields["visibility"] = "must be team or clinical"
    if fields:
        raise ApiError(422, "invalid note", fields)
    return body, visibility


@bp.post("/cases/<int:case_id>/notes")
@api_roles(ADVISOR, PSYCHOLOGIST, SUPERVISOR)
@idempotency.idempotent
def add_note(case_id):
    """Add a team or clinical note."""
    body, visibility = _note_input(json_body())
    case = _case_id_or_404(case_id)
    need = "add_clinical_note" if visibility == "clinical" else "add_team_note"
    if need not in permissions_for(current_user, case):
        audit.denied("case", case_id, {"action": need})
        raise ApiError(403, "your role may not write this note")
    try:
        note = ops.add_note(case, body, visibility, current_user)
    except ops.OperationError as error:
        raise ApiError(422, "invalid note", error.fields) from None
    return idempotency.commit_answer(note_json(note, permissions_for(current_user, case)), 201)


def _close_input(data):
    """The outcome, version and keyword arguments of a close body (422 naming each bad
    field)."""
    fields = {}
    outcome = data.get("outcome")
    version = data.get("version")
    if outcome not in ops.OUTCOMES:
        fields["outcome"] = "must be one of " + ", ".join(ops.OUTCOMES)
    if type(version) is not int:
        fields["version"] = "required integer (the version you read)"
    safety_outcome = data.get("safety_outcome")
    if safety_outcome is not None and safety_outcome not in SAFETY_OUTCOMES:
        fields["safety_outcome"] = "one of " + ", ".join(SAFETY_OUTCOMES) + " (or null)"
    safety_note = data.get("safety_note")
    if safety_note is not None and not isinstance(safety_note, str):
        fields["safety_note"] = "text (or null)"
    tasks = _closing_tasks(data.get("tasks"), fields)
    if fields:
        raise ApiError(422, "invalid input", fields)
    return outcome, version, {"safety_outcome": safety_outcome, "safety_note": safety_note,
                              "tasks": tasks}


@bp.post("/cases/<int:case_id>/close")
@api_roles(ADVISOR, PSYCHOLOGIST, SUPERVISOR)
def close_case(case_id):
    """Close a case; `version` must be the case's current version (else 409)."""
    outcome, version, options = _close_input(json_body())
    case = _case_for(case_id, "close", "close", version)
    try:
        with conflicts.guard(case.id, version, "close"):
            # Open tasks the body does not name are cancelled with the case.
            ops.close_case(case, outcome, current_user, version, **options,
                           default_task_status="cancelled")
            db.session.commit()
    except ops.OperationError as error:
        db.session.rollback()
        raise ApiError(422, "cannot close", error.fields) from None
    return jsonify(case_json(get_case_or_404(case_id, read=False)))


def _closing_tasks(value, fields):
    """{task id: status} from the close body's `tasks` object; problems go into `fields`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        fields["tasks"] = 'an object {"<task id>": "done" | "cancelled"}'
        return {}
    tasks = {}
    for key, status in value.items():
        if not (isinstance(key, str) and key.isascii() and key.isdigit() and len(key) <= 12):
            fields["tasks"] = "keys are task ids"
        elif status not in ("done", "cancelled"):
            fields[f"tasks.{key}"] = "done or cancelled"
        else:
            tasks[int(key)] = status
    return tasks


# --------------------------------------------------------------------------- tasks


@bp.get("/tasks")
@api_roles(*CASEWORK)
def list_tasks():
    """The caller's open tasks (and sign-off pool), overdue first."""
    fields = {}
    assignee = request.args.get("assignee", "me")
    if assignee != "me":
        fields["assignee"] = 'only "me" is supported'
    overdue = request.args.get("overdue", "false").lower()
    if overdue not in ("true", "false", "1", "0"):
        fields["overdue"] = "true or false"
    if fields:
        raise ApiError(422, "invalid filter", fields)
    tasks = db.session.scalars(
        queries.tasks_query(current_user, overdue=overdue in ("true", "1")).limit(500)
    ).all()
    audit.read("task_list", "api", {"ids": [t.id for t in tasks]})
    return jsonify({"items": [task_json(t) for t in tasks]})


def _check_may_finish(task):
    """A sign-off is not done here (422); a task the caller may not finish is a 403."""
    if task.kind == "sign_off":
        raise ApiError(422, "a sign-off is done by approving or rejecting it",
                       {"kind": "sign-off tasks close with the sign-off"})
    if not may_finish_task(current_user, task):
        audit.denied("task", task.id, {"action": "done"})
        raise ApiError(403, "you may not finish this task")


def _task_conflict(task_id):
    """The 409 of a task finished a moment ago by someone else, with the task as it is."""
    task = get_task_or_404(task_id)
    return jsonify({"error": f"the task is already {task.status}",
                    "fields": {"status": f"the task is already {task.status}"},
                    "current": task_json(task)}), 409


@bp.post("/tasks/<int:task_id>/done")
@api_roles(*CASEWORK)
def task_done(task_id):
    """Mark a task done."""
    task = get_task_or_404(task_id)
    _check_may_finish(task)
    try:
        ops.finish_task(task, current_user, "done")
    except ops.TaskNotOpen:  # finished a moment ago by someone else
        db.session.rollback()
        return _task_conflict(task_id)
    db.session.commit()
    return jsonify(task_json(task))


# --------------------------------------------------------------------------- OpenAPI


_ERRORS = {
    "401": "no valid token",
    "403": "the role may not do this",
    "404": "no such object, or not visible to the caller",
    "409": "conflict (stale version or already claimed)",
    "422": "invalid input; `fields` names each problem",
}


# The 409 of a versioned change of a case (cases.conflicts), with the case as it is now.
_CASE_CONFLICT = {
    "description": "the case changed since the caller read it (another change came first: "
                   "a close, a claim, a reassignment…), or it is closed: nothing was "
                   "changed; `current` says what the case is now, `fields.version` the "
                   "current version when the request named one",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Conflict"}}},
}


def _responses(ok, extra=(), conflict=False):
    """The success response(s), then every refusal with the JSON `Error` body (`conflict`:
    the case-conflict 409 with `current`)."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    responses = {**ok, **{code: {"description": _ERRORS[code], "content": error}
                          for code in ("401", "403", "404", *extra)}}
    if conflict:
        responses["409"] = _CASE_CONFLICT
    return responses


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema):
    return {"application/json": {"schema": schema}}


_INT = {"type": "integer"}
_INT_OR_NULL = {"type": ["integer", "null"]}
_TIME = {"type": "string", "format": "date-time"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}

# The bodies of the handlers above: case_summary, case_json, case_detail, task_json,
# note_json and the contact-triage answer.
OPENAPI_SCHEMAS["CaseSummary"] = {
    "type": "object",
    "required": ["id", "reference", "level", "route", "status", "due_at", "queue"],
    "properties": {
        "id": _INT,
        "reference": {"type": "string", "description": "CEL-YYYY-NNNNNN"},
        "level": {"type": "string", "enum": list(LEVELS)},
        "route": {"type": "string", "enum": list(ROUTES)},
        "status": {"type": "string", "enum": list(STATUSES)},
        "due_at": _TIME_OR_NULL,
        "queue": {"type": "string", "enum": list(QUEUES)},
    },
}
OPENAPI_SCHEMAS["CaseAttached"] = {
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string", "enum": [CASE_FOLLOWED]}},
    "description": "attached to a case the caller may not see: no id, level or route",
}
OPENAPI_SCHEMAS["Case"] = {"allOf": [_ref("CaseSummary"), {
    "type": "object",
    "required": ["person_id", "assignee_id", "first_response_at", "outcome", "safety_outcome",
                 "opened_at", "closed_at", "version", "overdue"],
    "properties": {
        "person_id": _INT_OR_NULL,
        "assignee_id": _INT_OR_NULL,
        "first_response_at": _TIME_OR_NULL,
        "outcome": {"type": ["string", "null"], "enum": [*OUTCOMES, None]},
        "safety_outcome": {"type": ["string", "null"], "enum": [*SAFETY_OUTCOMES, None],
                           "description": "how the person's safety was left at closing"},
        "opened_at": _TIME,
        "closed_at": _TIME_OR_NULL,
        "version": _INT,
        "overdue": {"type": "boolean"},
    },
}]}
OPENAPI_SCHEMAS["Task"] = {
    "type": "object",
    "required": ["id", "title", "kind", "status", "case_id", "triage_run_id", "assignee_id",
                 "due_at", "done_at", "overdue"],
    "properties": {
        "id": _INT,
        "title": {"type": "string"},
        "kind": {"type": "string", "enum": list(TASK_KINDS)},
        "status": {"type": "string", "enum": list(TASK_STATUSES)},
        "case_id": _INT_OR_NULL,
        "triage_run_id": _INT_OR_NULL,
        "assignee_id": {**_INT_OR_NULL, "description": "null: the sign-off pool"},
        "due_at": _TIME_OR_NULL,
        "done_at": _TIME_OR_NULL,
        "overdue": {"type": "boolean"},
    },
}
OPENAPI_SCHEMAS["Note"] = {
    "type": "object",
    "description": "`body` is left out of a clinical note the caller may not read.",
    "required": ["id", "visibility", "author_id", "created_at"],
    "properties": {
        "id": _INT,
        "visibility": {"type": "string", "enum": list(NOTE_VISIBILITIES)},
        "author_id": _INT_OR_NULL,
        "created_at": _TIME,
        "body": {"type": "string"},
    },
}
OPENAPI_SCHEMAS["CaseDetail"] = {"allOf": [_ref("Case"), {
    "type": "object",
    "required": ["timeline", "tasks", "notes", "triage_runs", "permissions"],
    "properties": {
        "timeline": {"type": "array", "items": {
            "type": "object",
            "required": ["kind", "at", "actor_id", "detail"],
            "properties": {
                "kind": {"type": "string"},
                "at": _TIME,
                "actor_id": _INT_OR_NULL,
                "detail": {"type": "object"},
            },
        }},
        "tasks": {"type": "array", "items": _ref("Task")},
        "notes": {"type": "array", "items": _ref("Note")},
        "triage_runs": {"type": "array", "items": _INT, "description": "triage run ids"},
        "permissions": {"type": "array", "items": {"type": "string"},
                        "description": "what the caller may do on this case"},
    },
}]}
OPENAPI_SCHEMAS["TriageResult"] = {"allOf": [_ref("TriageEvaluation"), {
    "type": "object",
    "required": ["triage_id", "case"],
    "properties": {
        "triage_id": _INT,
        "case": {"anyOf": [_ref("CaseSummary"), _ref("CaseAttached"), {"type": "null"}],
                 "description": "the case opened or attached; null when no case"},
    },
}]}

_USER_REF = {"anyOf": [{"type": "object", "required": ["id", "name"],
                         "properties": {"id": _INT, "name": {"type": "string"}}},
                        {"type": "null"}]}
OPENAPI_SCHEMAS["CaseState"] = {
    "type": "object",
    "description": "What a case is now, as a 409 tells it (cases.conflicts.current_state)",
    "required": ["status", "version", "assignee", "closed_at", "closed_by"],
    "properties": {
        "status": {"type": "string", "enum": list(STATUSES)},
        "version": _INT,
        "assignee": {**_USER_REF, "description": "who has the case (taken by)"},
        "closed_at": _TIME_OR_NULL,
        "closed_by": {**_USER_REF, "description": "who closed it"},
    },
}
OPENAPI_SCHEMAS["Conflict"] = {"allOf": [_ref("Error"), {
    "type": "object",
    "required": ["current"],
    "properties": {"current": _ref("CaseState")},
}]}

_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}

documented("/contacts/{id}/triage", {"post": {
    "summary": "Run and store a triage for a contact; open or attach the person's case",
    "parameters": [_ID],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["answers"],
        # The evaluation's body (same checks, same limits) less `evaluated_at`.
        "properties": {**{k: v for k, v in EVALUATE_BODY["properties"].items()
                          if k != "evaluated_at"},
                       "resources_given": {"type": "boolean"}}}}}},
    "responses": _responses({"201": {
        "description": 'the evaluation plus "triage_id" and "case" (null when no case)',
        "content": _json(_ref("TriageResult"))}}, ("422",), conflict=True),
}})
documented("/cases", {"get": {
    "summary": "Cases the caller may see, by deadline (keyset pagination)",
    "parameters": [{"name": n, "in": "query", "schema": {"type": "string"}}
                   for n in ("status", "route", "level", "overdue", "assignee", "cursor")],
    "responses": _responses({"200": {"description": "a page of cases", "content": _json({
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {"items": {"type": "array", "items": _ref("Case")},
                       "next_cursor": {"type": ["string", "null"]}},
    })}}, ("422",)),
}})
documented("/cases/{id}", {"get": {
    "summary": "A case with its timeline, tasks and the notes the caller may read",
    "parameters": [_ID],
    "responses": _responses({"200": {"description": "the case",
                                     "content": _json(_ref("CaseDetail"))}}),
}})
documented("/cases/{id}/claim", {"post": {
    "summary": "Claim an unassigned case (psychologists: psychology queue)",
    "parameters": [_ID],
    "description": "Taken (first, or meanwhile) or closed: 409 with `current`, who has "
                   "it or who closed it and when.",
    "responses": _responses({"200": {"description": "the case, now yours",
                                     "content": _json(_ref("Case"))}}, conflict=True),
}})
documented("/cases/{id}/notes", {"post": {
    "summary": "Add a team or clinical note",
    "parameters": [_ID],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["body"],
        "properties": {"body": limits.text(limits.NOTE),
                       "visibility": {"type": "string", "enum": ["team", "clinical"]}}}}}},
    "responses": _responses({"201": {"description": "the note", "content": _json(_ref("Note"))}},
                            ("422",)),
}})
documented("/cases/{id}/close", {"post": {
    "summary": "Close a case and resolve its open tasks (send the version you read)",
    "description": "Every open task of the case ends in the same step: `tasks` says which "
                   "are done; the others are cancelled (a sign-off can only be cancelled). "
                   "A case at level " + " or ".join(SAFETY_LEVELS) + " closes only with a "
                   "`safety_outcome` (422 naming it otherwise); `other` needs a "
                   "`safety_note`. A `version` older than the case's, a change that "
                   "commits first, or a case closed already is a 409 whose `current` "
                   "says what the case is now (closed by whom and when, taken by whom).",
    "parameters": [_ID],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["outcome", "version"],
        "properties": {
            "outcome": {"type": "string", "enum": list(ops.OUTCOMES)},
            "version": {"type": "integer"},
            "safety_outcome": {
                "type": ["string", "null"], "enum": [*SAFETY_OUTCOMES, None],
                "description": "required when the case is " + " or ".join(SAFETY_LEVELS)},
            "safety_note": {"type": ["string", "null"], "maxLength": limits.REASON,
                            "description": "required with safety_outcome `other`"},
            "tasks": {"type": "object", "description": "task id → done | cancelled",
                      "additionalProperties": {"type": "string",
                                               "enum": ["done", "cancelled"]}},
        }}}}},
    "responses": _responses({"200": {"description": "the closed case",
                                     "content": _json(_ref("Case"))}}, ("422",),
                            conflict=True),
}})
documented("/tasks", {"get": {
    "summary": "The caller's open tasks, overdue first",
    "parameters": [{"name": "assignee", "in": "query", "schema": {"enum": ["me"]}},
                   {"name": "overdue", "in": "query", "schema": {"type": "boolean"}}],
    "responses": _responses({"200": {"description": "the open tasks", "content": _json({
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref("Task")}},
    })}}, ("422",)),
}})
documented("/tasks/{id}/done", {"post": {
    "summary": "Mark a task done",
    "parameters": [_ID],
    "responses": _responses({"200": {"description": "the task", "content": _json(_ref("Task"))}},
                            ("409", "422")),
}})
idempotency.document("/contacts/{id}/triage")
idempotency.document("/cases/{id}/notes")
