"""The request and response schemas of `POST /api/v1/triage/evaluate` (and of the contact
triage of cases/api.py, which takes the same body less `evaluated_at`).

The body is checked here — types, limits, the script and version — and the answers by
the engine (`triage.engine.evaluate`), which knows each item; both answer a 422 naming
the fields.
"""

from marshmallow import ValidationError, fields, post_load, validates_schema

from cellule import limits
from cellule.schemas import Bool, Int, Raw, Schema, Text
from cellule.timeparse import RANGE_TEXT, BadTime, openapi_instant, parse_instant

from .loader import UnknownScriptError, get_script
from .model import TEXT_MAX_LENGTH

DEFAULT_SCRIPT = "cellule-triage"
SCRIPT_ID_MAX = 60  # TriageRun.script_id is String(60); a longer id names no script
LANGUAGES = ["fr", "nl", "en", "de"]

ANSWERS = {
    "type": "object",
    "description": "item id → answer: \"yes\"/\"no\", an integer, or for a text item a "
    f"text of at most its `max_length` (never more than {TEXT_MAX_LENGTH})",
    "additionalProperties": {"oneOf": [{"type": "integer"}, limits.text(TEXT_MAX_LENGTH)]},
}


def _answers(value):
    if not isinstance(value, dict):
        raise ValueError("must be an object mapping item ids to answers")
    return value


def _instant(value):
    """An aware instant (an offset is required: no time zone is assumed)."""
    if value is None:
        return None
    try:
        return parse_instant(value)
    except BadTime as error:
        raise ValueError(f"must be {RANGE_TEXT}" if error.out_of_range
                         else "must be an ISO-8601 date-time with a time zone offset") from None


class ScriptSchema(Schema):
    """The fields of a body that runs a script; `load` gives them with `script` the
    Script itself (`language` absent: the caller's default)."""

    ERROR = "invalid triage input"
    error_messages = {"unknown": "unknown field"}

    script = Text(load_default=DEFAULT_SCRIPT, error_messages={"invalid": "must be a script id"},
                  metadata={"maxLength": SCRIPT_ID_MAX})
    version = Int(allow_none=True, error_messages={"invalid": "must be a positive integer"})
    language = Text(error_messages={"invalid": "must be a language code"},
                    metadata={"enum": LANGUAGES})
    answers = Raw(_answers, required=True, metadata=ANSWERS, error_messages={
        "required": "required", "null": "must be an object mapping item ids to answers"})
    immediate_danger = Bool(load_default=False)
    notes = Text(limits.SUMMARY, allow_none=True)

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _known_script(self, data, original, **kwargs):
        """The script (and version) must exist; not looked up when either is malformed."""
        if "script" not in data or ("version" in original and "version" not in data):
            return
        version = data.get("version")
        if version is not None and version < 1:
            raise ValidationError("must be a positive integer", "version")
        try:
            data["script"] = get_script(data["script"], version)
        except UnknownScriptError:
            raise ValidationError("unknown script or version",
                                  "version" if version is not None else "script") from None

    @post_load
    def _script(self, data, **kwargs):
        data.pop("version", None)  # read with the script
        return data


class EvaluateSchema(ScriptSchema):
    """The body of `POST /triage/evaluate`."""

    evaluated_at = Raw(_instant, allow_none=True, metadata=openapi_instant())


class EvaluationSchema(Schema):
    """The engine's proposal (`Evaluation.to_dict()`), dumped as it is."""

    COMPONENT = "TriageEvaluation"

    level = fields.String(required=True, metadata={"enum": [
        "low", "at_risk", "elevated", "serious", "high", "imminent"]})
    route = fields.String(required=True, metadata={"enum": [
        "information", "coaching", "psychologist", "crisis"]})
    due_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    scores = fields.Dict(required=True, metadata={"properties": {
        "cssrs": {"type": ["object", "null"], "properties": {"category": {"type": "string"}}},
        "phq2": {"type": ["object", "null"], "properties": {
            "total": {"type": "integer"}, "positive": {"type": "boolean"}}},
        "gad2": {"type": ["object", "null"], "properties": {
            "total": {"type": "integer"}, "positive": {"type": "boolean"}}},
        "cbi_personal": {"type": ["object", "null"], "properties": {
            "score": {"type": "number"}, "band": {"type": "string"}}},
    }})
    signals = fields.List(fields.String(), required=True)
    text_red_flags = fields.List(fields.Dict(), required=True)
    crisis_resources = fields.List(fields.Dict(), required=True)
    reasons = fields.List(fields.Dict(), required=True)
    any_safety_yes = fields.Boolean()
    complete = fields.Boolean()


EVALUATE = EvaluateSchema()
EVALUATION = EvaluationSchema()
