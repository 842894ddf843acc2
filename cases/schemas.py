"""The request and response schemas of the cases API (cases/api.py): contact triage,
cases, notes, claim, close and tasks.

Responses dump the models; what depends on the caller is decided by the view before the
dump — which notes' bodies they may read (`NoteView`), whether they may see the case a
triage attached (`triage_case`).
"""

from typing import Any, NamedTuple

import marshmallow as ma
from marshmallow import ValidationError, fields

from cellule import limits
from cellule.schemas import Bool, Checked, Choice, ErrorSchema, Int, Raw, Schema
from cellule.types import utcnow
from contacts.models import LANGUAGES
from triage.schemas import EvaluationSchema, ScriptSchema
from triage.vocab import LEVELS, ROUTES

from . import queries, routing
from .models import (
    NOTE_VISIBILITIES,
    OUTCOMES,
    QUEUES,
    RESOURCE_KINDS,
    SAFETY_LEVELS,
    SAFETY_OUTCOMES,
    STATUSES,
    TASK_KINDS,
    TASK_STATUSES,
)

# A case the caller may not see (an ambassador's person followed by an advisor) is named
# by this only: its existence is the cell's, its id, level and route are not the caller's.
CASE_FOLLOWED = "attached to a case the cell already follows"

# --- Requests ----------------------------------------------------------------


class ContactTriageSchema(ScriptSchema):
    """The body of `POST /contacts/{id}/triage`: the evaluation's less `evaluated_at`."""

    resources_given = Bool(load_default=False)


class CaseFilterSchema(Schema):
    """The query string of `GET /cases`, checked by `queries.parse_case_filters` (as the
    board's)."""

    ERROR = "invalid filter"

    class Meta:
        unknown = ma.EXCLUDE

    status = fields.String()
    route = fields.String()
    level = fields.String()
    queue = fields.String()
    overdue = fields.String()
    assignee = fields.String()
    cursor = fields.String()


def _me(value):
    if value != "me":
        raise ValueError('only "me" is supported')
    return value


def _flag(value):
    value = value.lower()
    if value not in ("true", "false", "1", "0"):
        raise ValueError("true or false")
    return value in ("true", "1")


class TaskFilterSchema(Schema):
    """The query string of `GET /tasks`."""

    ERROR = "invalid filter"

    class Meta:
        unknown = ma.EXCLUDE

    assignee = Raw(_me, load_default="me", metadata={"enum": ["me"]})
    overdue = Raw(_flag, load_default=False, metadata={"type": "boolean"})


def _body(value):
    if not isinstance(value, str):
        raise ValueError("required text")
    return value


def _visibility(value):
    value = "team" if value is None else value
    if value not in ("team", "clinical"):
        raise ValueError("must be team or clinical")
    return value


class NewNoteSchema(Schema):
    """The body of `POST /cases/{id}/notes` (its length is the operation's check)."""

    ERROR = "invalid note"

    class Meta:
        unknown = ma.EXCLUDE

    body = Checked(_body, required=True, metadata=limits.text(limits.NOTE))
    visibility = Checked(_visibility, metadata={"type": "string", "enum": ["team", "clinical"]})


def _outcome(value):
    if value not in OUTCOMES:
        raise ValueError("must be one of " + ", ".join(OUTCOMES))
    return value


def _safety_outcome(value):
    if value is not None and value not in SAFETY_OUTCOMES:
        raise ValueError("one of " + ", ".join(SAFETY_OUTCOMES) + " (or null)")
    return value


def _safety_note(value):
    if value is not None and not isinstance(value, str):
        raise ValueError("text (or null)")
    return value


class ClosingTasks(fields.Field):
    """`tasks` of a close: {"<task id>": "done" | "cancelled"}, as {task id: status}."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value is ma.missing or value is None:
            return {}
        if not isinstance(value, dict):
            raise ValidationError('an object {"<task id>": "done" | "cancelled"}')
        tasks, errors = {}, {}
        for key, status in value.items():
            if not (isinstance(key, str) and key.isascii() and key.isdigit() and len(key) <= 12):
                errors["_schema"] = ["keys are task ids"]
            elif status not in ("done", "cancelled"):
                errors[key] = ["done or cancelled"]
            else:
                tasks[int(key)] = status
        if errors:
            raise ValidationError(errors)
        return tasks


class CloseSchema(Schema):
    """The body of `POST /cases/{id}/close`."""

    class Meta:
        unknown = ma.EXCLUDE

    outcome = Checked(_outcome, required=True,
                      metadata={"type": "string", "enum": list(OUTCOMES)})
    version = Int(required=True, error_messages={
        "invalid": "required integer (the version you read)",
        "required": "required integer (the version you read)"})
    safety_outcome = Checked(_safety_outcome, metadata={
        "type": ["string", "null"], "enum": [*SAFETY_OUTCOMES, None],
        "description": "required when the case is " + " or ".join(SAFETY_LEVELS)})
    safety_note = Checked(_safety_note, metadata={
        "type": ["string", "null"], "maxLength": limits.REASON,
        "description": "required with safety_outcome `other`"})
    no_safety_plan_reason = Checked(_safety_note, metadata={
        "type": ["string", "null"], "maxLength": limits.REASON,
        "description": "why an " + " or ".join(SAFETY_LEVELS) + " case closes without a "
        "safety plan (required then)"})
    tasks = ClosingTasks(metadata={
        "type": "object", "description": "task id → done | cancelled",
        "additionalProperties": {"type": "string", "enum": ["done", "cancelled"]}})


# --- Responses ---------------------------------------------------------------

_TIME = {"format": "date-time"}


class CaseSummarySchema(Schema):
    """The short case shape of the contact-triage answer."""

    COMPONENT = "CaseSummary"

    id = fields.Integer(required=True)
    reference = fields.String(required=True, metadata={"description": "CEL-YYYY-NNNNNN"})
    level = fields.String(required=True, metadata={"enum": list(LEVELS)})
    route = fields.String(required=True, metadata={"enum": list(ROUTES)})
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    due_at = fields.DateTime(required=True, allow_none=True)
    queue = fields.String(required=True, metadata={"enum": list(QUEUES)})


def _case(obj):
    """The case of a `CaseDetail` (or the case itself)."""
    return getattr(obj, "case", obj)


class CaseSchema(CaseSummarySchema):
    """A case as lists and changes answer it."""

    COMPONENT = "Case"

    person_id = fields.Integer(required=True, allow_none=True)
    assignee_id = fields.Integer(required=True, allow_none=True)
    first_response_at = fields.DateTime(required=True, allow_none=True)
    outcome = fields.String(required=True, allow_none=True,
                            metadata={"enum": [*OUTCOMES, None]})
    safety_outcome = fields.String(required=True, allow_none=True, metadata={
        "enum": [*SAFETY_OUTCOMES, None],
        "description": "how the person's safety was left at closing"})
    opened_at = fields.DateTime(required=True)
    closed_at = fields.DateTime(required=True, allow_none=True)
    version = fields.Integer(required=True)
    overdue = fields.Method("_overdue", required=True, metadata={"type": "boolean"})

    def _overdue(self, obj):
        return queries.case_is_overdue(_case(obj), utcnow())

    def dump_source(self, obj):
        return _case(obj)

    def get_attribute(self, obj, attr, default):
        return super().get_attribute(_case(obj), attr, default)


class CaseAttachedSchema(Schema):
    """A case the caller may not see: no id, level or route."""

    COMPONENT = "CaseAttached"

    message = fields.String(required=True, metadata={"enum": [CASE_FOLLOWED]})

    class Meta:
        ordered = True
        unknown = ma.RAISE
        description = "attached to a case the caller may not see: no id, level or route"


class TaskSchema(Schema):
    """A task, its title in the caller's language when it is one of the routing's."""

    COMPONENT = "Task"

    id = fields.Integer(required=True)
    title = fields.Method("_title", required=True, metadata={"type": "string"})
    kind = fields.String(required=True, metadata={"enum": list(TASK_KINDS)})
    status = fields.String(required=True, metadata={"enum": list(TASK_STATUSES)})
    case_id = fields.Integer(required=True, allow_none=True)
    triage_run_id = fields.Integer(required=True, allow_none=True)
    assignee_id = fields.Integer(required=True, allow_none=True,
                                 metadata={"description": "null: the sign-off pool"})
    due_at = fields.DateTime(required=True, allow_none=True)
    done_at = fields.DateTime(required=True, allow_none=True)
    overdue = fields.Method("_overdue", required=True, metadata={"type": "boolean"})

    def _title(self, task):
        if task.code in routing.TASK_TITLES:
            return str(routing.TASK_TITLES[task.code])
        return task.title

    def _overdue(self, task):
        return task.is_overdue(utcnow())


class NoteView(NamedTuple):
    """A note and whether the caller may read its body (a team note, or a clinical one
    with `read_clinical_body`)."""

    note: Any
    readable: bool

    @classmethod
    def of(cls, note, perms):
        return cls(note, note.visibility == "team" or "read_clinical_body" in perms)


class NoteSchema(Schema):
    """A note (`NoteView`)."""

    COMPONENT = "Note"

    id = fields.Integer(required=True)
    visibility = fields.String(required=True, metadata={"enum": list(NOTE_VISIBILITIES)})
    author_id = fields.Integer(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    body = fields.Method("_body", metadata={"type": "string"})

    class Meta:
        ordered = True
        unknown = ma.RAISE
        description = "`body` is left out of a clinical note the caller may not read."

    def _body(self, view):
        return view.note.body if view.readable else ma.missing

    def get_attribute(self, obj, attr, default):
        return super().get_attribute(obj.note, attr, default)


class EventSchema(Schema):
    kind = fields.String(required=True)
    at = fields.DateTime(required=True)
    actor_id = fields.Integer(required=True, allow_none=True)
    detail = fields.Dict(required=True)


class CaseDetail(NamedTuple):
    """What `GET /cases/{id}` shows of a case to the caller."""

    case: Any
    timeline: list
    tasks: list
    notes: list  # of NoteView
    triage_runs: list
    permissions: list


class CaseDetailSchema(CaseSchema):
    """A case with its timeline, tasks and the notes the caller may read (`CaseDetail`)."""

    COMPONENT = "CaseDetail"

    timeline = fields.List(fields.Nested(EventSchema), required=True)
    tasks = fields.List(fields.Nested(TaskSchema), required=True)
    notes = fields.List(fields.Nested(NoteSchema), required=True)
    triage_runs = fields.List(fields.Integer(), required=True,
                              metadata={"description": "triage run ids"})
    permissions = fields.List(fields.String(), required=True,
                              metadata={"description": "what the caller may do on this case"})

    dump_source = None  # its lists are the CaseDetail's own, the rest its case's

    def get_attribute(self, obj, attr, default):
        if attr in CaseDetail._fields and attr != "case":
            return getattr(obj, attr)
        return super().get_attribute(obj, attr, default)


class TriageResultSchema(EvaluationSchema):
    """The evaluation plus the stored run's id and the case opened or attached."""

    COMPONENT = "TriageResult"

    triage_id = fields.Integer(required=True)
    case = fields.Raw(required=True, allow_none=True, metadata={
        "anyOf": [{"$ref": "#/components/schemas/CaseSummary"},
                  {"$ref": "#/components/schemas/CaseAttached"}, {"type": "null"}],
        "description": "the case opened or attached; null when no case"})


class UserRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class CaseStateSchema(Schema):
    """What a case is now, as a 409 tells it (cases.conflicts.current_state)."""

    COMPONENT = "CaseState"

    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    version = fields.Integer(required=True)
    assignee = fields.Nested(UserRefSchema, required=True, allow_none=True,
                             metadata={"description": "who has the case (taken by)"})
    closed_at = fields.DateTime(required=True, allow_none=True)
    closed_by = fields.Nested(UserRefSchema, required=True, allow_none=True,
                              metadata={"description": "who closed it"})

    class Meta:
        ordered = True
        unknown = ma.RAISE
        description = "What a case is now, as a 409 tells it (cases.conflicts.current_state)"


class ConflictSchema(ErrorSchema):
    """The 409 of a refused change, with the case as it is now."""

    COMPONENT = "Conflict"

    current = fields.Nested(CaseStateSchema, required=True)


class CasePageSchema(Schema):
    items = fields.List(fields.Nested(CaseSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class TaskListSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema), required=True)


class ResourceFilterSchema(Schema):
    """The query string of `GET /resources`: both filters optional."""

    ERROR = "invalid filter"

    class Meta:
        unknown = ma.EXCLUDE

    kind = Choice(RESOURCE_KINDS, "one of " + ", ".join(RESOURCE_KINDS), "unknown kind",
                  metadata={"description": "only this kind"})
    language = Choice(LANGUAGES, "one of " + ", ".join(LANGUAGES), "unknown language",
                      metadata={"description": "only the entries offered in this language"})


class ResourceSchema(Schema):
    """An active entry of the directory (DESIGN §10 "Directory")."""

    COMPONENT = "Resource"

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": list(RESOURCE_KINDS)})
    phone = fields.String(required=True, allow_none=True)
    url = fields.String(required=True, allow_none=True)
    languages = fields.List(fields.String(metadata={"enum": list(LANGUAGES)}), required=True)
    cost = fields.String(required=True, allow_none=True,
                         metadata={"description": "the cost in words, as the directory "
                                   "holds it (null: see price_cents)"})
    price_cents = fields.Integer(required=True, allow_none=True,
                                 metadata={"description": "euro cents a session; null or 0: "
                                           "free"})
    hours = fields.String(required=True, allow_none=True,
                          metadata={"description": "e.g. 24/7"})


class ResourceListSchema(Schema):
    items = fields.List(fields.Nested(ResourceSchema), required=True)


CONTACT_TRIAGE = ContactTriageSchema()
CASE_FILTERS = CaseFilterSchema()
TASK_FILTERS = TaskFilterSchema()
NEW_NOTE = NewNoteSchema()
CLOSE = CloseSchema()
CASE_SUMMARY = CaseSummarySchema()
CASE = CaseSchema()
CASE_DETAIL = CaseDetailSchema()
CASE_ATTACHED = CaseAttachedSchema()
TASK = TaskSchema()
NOTE = NoteSchema()
TRIAGE_RESULT = TriageResultSchema()
CONFLICT = ConflictSchema()
CASE_PAGE = CasePageSchema()
TASK_LIST = TaskListSchema()
RESOURCE_FILTERS = ResourceFilterSchema()
RESOURCE_LIST = ResourceListSchema()
