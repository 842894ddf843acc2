"""The follow-up API's schemas: an attempt's body and the answer."""

import marshmallow as ma
from marshmallow import fields

from cellule import limits
from cellule.schemas import Checked, Schema

from .models import OUTCOMES


def _outcome(value):
    if value not in OUTCOMES:
        raise ValueError("must be one of " + ", ".join(OUTCOMES))
    return value


def _note(value):
    if value is not None and not isinstance(value, str):
        raise ValueError("text or null")
    return value


class NewAttemptSchema(Schema):
    """The body of `POST /tasks/{id}/attempts`."""

    ERROR = "invalid attempt"

    class Meta:
        unknown = ma.EXCLUDE

    outcome = Checked(_outcome, required=True,
                      metadata={"type": "string", "enum": list(OUTCOMES)})
    note = Checked(_note, metadata={"type": ["string", "null"], **limits.text(limits.REASON)})


class AttemptSchema(Schema):
    """An attempt, and where the protocol stands after it."""

    COMPONENT = "FollowUpAttempt"

    id = fields.Integer(required=True)
    task_id = fields.Integer(required=True)
    outcome = fields.String(required=True, metadata={"enum": list(OUTCOMES)})
    note = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    task_status = fields.String(required=True)
    failures_in_a_row = fields.Integer(required=True)
    supervisors_alerted = fields.Boolean(required=True)


NEW_ATTEMPT = NewAttemptSchema()
ATTEMPT = AttemptSchema()
