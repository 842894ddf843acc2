"""The schemas of `GET|PUT /api/v1/cases/{id}/safety-plan` (DESIGN §10's contract): the
seven lists of strings and the language; the answer adds `version` and `updated_at`."""

import marshmallow as ma
from marshmallow import fields
from marshmallow.validate import Length, OneOf

from cellule.schemas import Int, Schema, Text

from .models import LANGUAGES, MAX_ITEM, MAX_ITEMS, STEPS

STEP_DESCRIPTIONS = {
    "warning_signs": "step 1: warning signs of a crisis",
    "coping": "step 2: internal coping strategies",
    "distractions": "step 3: people and places that distract",
    "people": "step 4: people to ask for help",
    "professionals": "step 5: professionals and crisis lines",
    "environment": "step 6: making the environment safe",
    "reasons_for_living": "reasons for living",
}


def _lines(step, **kwargs):
    return fields.List(Text(limit=MAX_ITEM), validate=Length(max=MAX_ITEMS),
                       metadata={"description": STEP_DESCRIPTIONS[step]}, **kwargs)


class SafetyPlanBodySchema(Schema):
    """The body of `PUT /cases/{id}/safety-plan`: the whole plan (a list left out is
    empty); `version`, the version read (0: no plan yet), makes a save made meanwhile a
    409 instead of overwriting it."""

    COMPONENT = "SafetyPlanBody"

    warning_signs = _lines("warning_signs", load_default=list)
    coping = _lines("coping", load_default=list)
    distractions = _lines("distractions", load_default=list)
    people = _lines("people", load_default=list)
    professionals = _lines("professionals", load_default=list)
    environment = _lines("environment", load_default=list)
    reasons_for_living = _lines("reasons_for_living", load_default=list)
    language = fields.String(required=True, validate=OneOf(LANGUAGES),
                             metadata={"enum": list(LANGUAGES)})
    version = Int(metadata={"minimum": 0, "description": "the version read (optional)"})


class SafetyPlanSchema(Schema):
    """A case's newest safety plan."""

    COMPONENT = "SafetyPlan"

    class Meta:
        unknown = ma.RAISE
        ordered = True

    case_id = fields.Integer(required=True)
    version = fields.Integer(required=True, metadata={"minimum": 1})
    updated_at = fields.DateTime(required=True)
    written_by_id = fields.Integer(required=True)
    language = fields.String(required=True, metadata={"enum": list(LANGUAGES)})
    warning_signs = _lines("warning_signs", required=True)
    coping = _lines("coping", required=True)
    distractions = _lines("distractions", required=True)
    people = _lines("people", required=True)
    professionals = _lines("professionals", required=True)
    environment = _lines("environment", required=True)
    reasons_for_living = _lines("reasons_for_living", required=True)


def plan_answer(plan):
    """The answer's dict of a SafetyPlan row."""
    return {"case_id": plan.case_id, "version": plan.version, "updated_at": plan.created_at,
            "written_by_id": plan.written_by_id, "language": plan.language, **plan.steps}


assert set(STEPS) == set(STEP_DESCRIPTIONS)
SAFETY_PLAN_BODY = SafetyPlanBodySchema()
SAFETY_PLAN = SafetyPlanSchema()
