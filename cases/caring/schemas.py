"""The schemas of `/api/v1/cases/{id}/caring-messages`: a series with its messages, the
body that starts one (its language) and the one that stops it (why)."""

import marshmallow as ma
from marshmallow import fields
from marshmallow.validate import OneOf

from cellule import limits
from cellule.schemas import Schema, Text

from .models import LANGUAGES, MESSAGE_STATES, SERIES_STATES, STOP_REASONS

HAND_STOP_REASONS = [r for r in STOP_REASONS if r != "consent_withdrawn"]


class CaringMessageSchema(Schema):
    """One message of a series."""

    COMPONENT = "CaringMessage"

    class Meta:
        ordered = True

    number = fields.Integer(required=True, metadata={"minimum": 1})
    months = fields.Integer(required=True, metadata={"description": "months after the start"})
    due_at = fields.DateTime(required=True)
    sent_at = fields.DateTime(allow_none=True)
    state = fields.String(required=True, metadata={"enum": list(MESSAGE_STATES)})


class CaringSeriesSchema(Schema):
    """A case's caring messages: the series and each message."""

    COMPONENT = "CaringSeries"

    class Meta:
        unknown = ma.RAISE
        ordered = True

    case_id = fields.Integer(required=True)
    state = fields.String(required=True, metadata={"enum": list(SERIES_STATES)})
    language = fields.String(required=True, metadata={"enum": list(LANGUAGES)})
    started_at = fields.DateTime(required=True)
    started_by_id = fields.Integer(allow_none=True)
    stopped_at = fields.DateTime(allow_none=True)
    stop_reason = fields.String(allow_none=True, metadata={"enum": list(STOP_REASONS)})
    messages = fields.List(fields.Nested(CaringMessageSchema), required=True)


class StartBodySchema(Schema):
    """The body of `POST /cases/{id}/caring-messages`: the language (default: the
    person's)."""

    language = fields.String(validate=OneOf(LANGUAGES), metadata={"enum": list(LANGUAGES)})


class StopBodySchema(Schema):
    """The body of `POST /cases/{id}/caring-messages/stop`: why (`other` needs a note)."""

    reason = fields.String(required=True, validate=OneOf(HAND_STOP_REASONS),
                           metadata={"enum": HAND_STOP_REASONS})
    note = Text(limit=limits.REASON, allow_none=True)


def series_answer(series, messages):
    return {"case_id": series.case_id, "state": series.state, "language": series.language,
            "started_at": series.started_at, "started_by_id": series.started_by_id,
            "stopped_at": series.stopped_at, "stop_reason": series.stop_reason,
            "messages": [{"number": m.number, "months": m.months, "due_at": m.due_at,
                          "sent_at": m.sent_at, "state": m.state} for m in messages]}


CARING_SERIES = CaringSeriesSchema()
START_BODY = StartBodySchema()
STOP_BODY = StopBodySchema()
