"""The schemas of `POST /api/v1/cases/{id}/reassessments` (DESIGN §10's contract): the
answers in, the scores and the change to the first run out."""

import marshmallow as ma
from marshmallow import fields

from cellule.schemas import Bool, Checked, Id, Raw, Schema
from triage.schemas import ANSWERS, EvaluationSchema

from .models import COMPARED, OCCASIONS


def _answers(value):
    if not isinstance(value, dict):
        raise ValueError("must be an object mapping item ids to answers")
    return value


def _occasion(value):
    if value is None:
        return "other"
    if value not in OCCASIONS:
        raise ValueError("must be one of " + ", ".join(OCCASIONS))
    return value


class NewReassessmentSchema(Schema):
    """The body: the answers to the safety screen, PHQ-2, GAD-2 and CBI personal (the
    script's item ids, the first run's script version), where it was taken and, at a
    follow-up contact, its task."""

    ERROR = "invalid re-assessment"

    answers = Raw(_answers, required=True, metadata=ANSWERS, error_messages={
        "required": "required", "null": "must be an object mapping item ids to answers"})
    occasion = Checked(_occasion, metadata={"type": "string", "enum": list(OCCASIONS),
                                            "default": "other"})
    task_id = Id(metadata={"description": "the follow-up task (occasion follow_up)"})
    immediate_danger = Bool(load_default=False)


_SCORES = EvaluationSchema._declared_fields["scores"].metadata
_CHANGE = {"type": "object", "description": "now minus the first run (lower is better); "
           "null where either has no score",
           "properties": {name: {"type": ["number", "null"]} for name in COMPARED}}


class ReassessmentSchema(Schema):
    """A re-assessment: its scores, the first run's, and the change between them."""

    COMPONENT = "Reassessment"

    class Meta:
        unknown = ma.RAISE
        ordered = True

    id = fields.Integer(required=True)
    case_id = fields.Integer(required=True)
    first_run_id = fields.Integer(required=True, allow_none=True)
    occasion = fields.String(required=True, metadata={"enum": list(OCCASIONS)})
    task_id = fields.Integer(required=True, allow_none=True)
    language = fields.String(required=True)
    level = fields.String(required=True, metadata={
        "description": "the level these answers alone say (the case is raised to it, "
        "never lowered)"})
    scores = fields.Dict(required=True, metadata=_SCORES)
    first_scores = fields.Dict(required=True, metadata={
        **_SCORES, "description": "the first run's scores (empty: no first run)"})
    change = fields.Dict(required=True, metadata=_CHANGE)
    improved = fields.Boolean(required=True, allow_none=True, metadata={
        "description": "a score lower and none higher; null: nothing to compare"})
    safety_yes = fields.Boolean(required=True)
    supervisors_alerted = fields.Boolean(required=True)
    created_by_id = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)


def reassessment_answer(row, alerted=False):
    """The answer's dict of a Reassessment row."""
    scores = dict(row.scores)
    level = scores.pop("level", None)
    return {"id": row.id, "case_id": row.case_id, "first_run_id": row.first_run_id,
            "occasion": row.occasion, "task_id": row.task_id, "language": row.language,
            "level": level, "scores": scores, "first_scores": row.first_scores,
            "change": row.change, "improved": row.improved, "safety_yes": row.safety_yes,
            "supervisors_alerted": alerted, "created_by_id": row.created_by_id,
            "created_at": row.created_at}


NEW_REASSESSMENT = NewReassessmentSchema()
REASSESSMENT = ReassessmentSchema()
