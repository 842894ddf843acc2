"""POST /api/v1/triage/evaluate: validate and score a run, store nothing (DESIGN §7)."""

from flask import jsonify

from cellule import limits
from cellule.api import (
    OPENAPI_SCHEMAS,
    ApiError,
    api_blueprint,
    api_roles,
    documented,
    json_body,
)
from cellule.roles import CASEWORK
from cellule.timeparse import RANGE_TEXT, BadTime, openapi_instant, parse_instant
from cellule.types import utcnow

from .blueprint import get_calendar
from .engine import TriageValidationError, evaluate
from .loader import UnknownScriptError, get_script
from .model import TEXT_MAX_LENGTH

bp = api_blueprint("triage_api", __name__)

DEFAULT_SCRIPT = "cellule-triage"
KNOWN_KEYS = {"script", "version", "language", "answers", "immediate_danger", "notes",
              "evaluated_at"}


def parse_request(data, *, default_language="fr", allowed=KNOWN_KEYS):
    """Return (script, kwargs for `evaluate`) from a JSON body, or raise a 422 naming fields."""
    errors = {}
    for key in sorted(set(data) - allowed):
        errors[key] = "unknown field"
    script_id = data.get("script", DEFAULT_SCRIPT)
    version = data.get("version")
    script = None
    if not isinstance(script_id, str):
        errors["script"] = "must be a script id"
    elif version is not None and (type(version) is not int or version < 1):
        errors["version"] = "must be a positive integer"
    else:
        try:
            script = get_script(script_id, version)
        except UnknownScriptError:
            errors["version" if version is not None else "script"] = "unknown script or version"
    language = data.get("language", default_language)
    if not isinstance(language, str):
        errors["language"] = "must be a language code"
    answers = data.get("answers")
    if "answers" not in data:
        errors["answers"] = "required"
    elif not isinstance(answers, dict):
        errors["answers"] = "must be an object mapping item ids to answers"
    immediate_danger = data.get("immediate_danger", False)
    if not isinstance(immediate_danger, bool):
        errors["immediate_danger"] = "must be true or false"
    notes = data.get("notes")
    if notes is not None and not isinstance(notes, str):
        errors["notes"] = "must be text"
    elif limits.too_long(notes, limits.SUMMARY):
        errors["notes"] = limits.at_most(limits.SUMMARY)
    at = utcnow()
    if data.get("evaluated_at") is not None:
        try:
            at = parse_instant(data["evaluated_at"])  # an offset is required (no tz given)
        except BadTime as error:
            errors["evaluated_at"] = (
                f"must be {RANGE_TEXT}" if error.out_of_range
                else "must be an ISO-8601 date-time with a time zone offset")
    if errors:
        raise ApiError(422, "invalid triage input", errors)
    return script, {
        "answers": answers,
        "immediate_danger": immediate_danger,
        "notes": notes,
        "language": language,
        "at": at,
    }


def run_evaluation(script, kwargs, complete=True):
    """Evaluate, turning the engine's validation errors into a 422."""
    try:
        return evaluate(script, calendar=get_calendar(), complete=complete, **kwargs)
    except TriageValidationError as error:
        raise ApiError(422, "invalid triage input", error.fields) from None


@bp.post("/triage/evaluate")
@api_roles(*CASEWORK)
def evaluate_api():
    """Score a triage run and propose level, route and deadline; store nothing."""
    script, kwargs = parse_request(json_body())
    return jsonify(run_evaluation(script, kwargs).to_dict())


EVALUATION_SCHEMA = {
    "type": "object",
    "required": ["level", "route", "due_at", "scores", "signals", "text_red_flags",
                 "crisis_resources", "reasons"],
    "properties": {
        "level": {"type": "string",
                  "enum": ["low", "at_risk", "elevated", "serious", "high", "imminent"]},
        "route": {"type": "string", "enum": ["information", "coaching", "psychologist", "crisis"]},
        "due_at": {"type": ["string", "null"], "format": "date-time"},
        "scores": {
            "type": "object",
            "properties": {
                "cssrs": {"type": ["object", "null"],
                          "properties": {"category": {"type": "string"}}},
                "phq2": {"type": ["object", "null"],
                         "properties": {"total": {"type": "integer"},
                                        "positive": {"type": "boolean"}}},
                "gad2": {"type": ["object", "null"],
                         "properties": {"total": {"type": "integer"},
                                        "positive": {"type": "boolean"}}},
                "cbi_personal": {"type": ["object", "null"],
                                 "properties": {"score": {"type": "number"},
                                                "band": {"type": "string"}}},
            },
        },
        "signals": {"type": "array", "items": {"type": "string"}},
        "text_red_flags": {"type": "array", "items": {"type": "object"}},
        "crisis_resources": {"type": "array", "items": {"type": "object"}},
        "reasons": {"type": "array", "items": {"type": "object"}},
        "any_safety_yes": {"type": "boolean"},
        "complete": {"type": "boolean"},
    },
}

OPENAPI_SCHEMAS["TriageEvaluation"] = EVALUATION_SCHEMA

SCRIPT_ID_MAX = 60  # TriageRun.script_id is String(60); a longer id names no script
ANSWERS_SCHEMA = {
    "type": "object",
    "description": "item id → answer: \"yes\"/\"no\", an integer, or for a text item a "
    f"text of at most its `max_length` (never more than {TEXT_MAX_LENGTH})",
    "additionalProperties": {"oneOf": [{"type": "integer"},
                                       limits.text(TEXT_MAX_LENGTH)]},
}

EVALUATE_BODY = {
    "type": "object",
    "required": ["answers"],
    "properties": {
        "script": limits.text(SCRIPT_ID_MAX, default=DEFAULT_SCRIPT),
        "version": {"type": "integer"},
        "language": {"type": "string", "enum": ["fr", "nl", "en", "de"]},
        "answers": ANSWERS_SCHEMA,
        "immediate_danger": {"type": "boolean", "default": False},
        "notes": limits.text(limits.SUMMARY),
        "evaluated_at": openapi_instant(),
    },
}

documented(
    "/triage/evaluate",
    {
        "post": {
            "summary": "Score a triage run and propose level, route and deadline (stores nothing)",
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": EVALUATE_BODY}}},
            "responses": {
                "200": {"description": "the evaluation",
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/TriageEvaluation"}}}},
                "400": {"description": "the body is not a JSON object"},
                "401": {"description": "no valid token"},
                "403": {"description": "the role may not run triage"},
                "422": {"description": "invalid input; `fields` names each problem",
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }
    },
)
