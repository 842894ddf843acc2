"""The schemas of `GET|POST /api/v1/persons/{id}/consents` (DESIGN §10's contract):
a body `{"purpose","granted","channel","text_version"}`; the answer is the consent row,
and the list each purpose's state with the history."""

from marshmallow import fields
from marshmallow.validate import OneOf

from cellule.schemas import Bool, Schema, Text

from . import texts
from .models import CHANNELS, PURPOSES

STATES = ("granted", "refused", "withdrawn", "none")


class NewConsentSchema(Schema):
    """The body of `POST /persons/{id}/consents`: the person's answer for one purpose.
    `granted: false` while a yes stands withdraws it."""

    ERROR = "invalid consent"

    purpose = fields.String(required=True, validate=OneOf(PURPOSES, error="one of "
                                                          + ", ".join(PURPOSES)),
                            metadata={"enum": list(PURPOSES)})
    granted = Bool(required=True)
    channel = fields.String(required=True, validate=OneOf(CHANNELS, error="one of "
                                                          + ", ".join(CHANNELS)),
                            metadata={"enum": list(CHANNELS)})
    text_version = Text(limit=60, required=True, validate=OneOf(
        tuple(texts.TEXTS), error="not a known text version"), metadata={
            "enum": list(texts.TEXTS),
            "description": "the text shown or read out, e.g. `survey/v1`"})


class ConsentSchema(Schema):
    """One answer of the person for one purpose."""

    COMPONENT = "Consent"

    id = fields.Integer(required=True)
    person_id = fields.Integer(required=True)
    purpose = fields.String(required=True, metadata={"enum": list(PURPOSES)})
    granted = fields.Boolean(required=True, metadata={"description": "the answer given"})
    state = fields.String(required=True, metadata={"enum": list(STATES[:3])})
    channel = fields.String(required=True, metadata={"enum": list(CHANNELS)})
    text_version = fields.String(required=True)
    detail = fields.String(required=True, allow_none=True,
                           metadata={"description": "e.g. the coaching price shown"})
    recorded_at = fields.DateTime(required=True)
    recorded_by_id = fields.Integer(required=True)
    withdrawn_at = fields.DateTime(required=True, allow_none=True)
    withdrawn_by_id = fields.Integer(required=True, allow_none=True)
    withdrawal_channel = fields.String(required=True, allow_none=True,
                                       metadata={"enum": list(CHANNELS)})


class PurposeStateSchema(Schema):
    """Where one purpose stands, in the contract's words: `granted` is true only for a yes
    not withdrawn; the other fields are those of the newest answer (null: never asked)."""

    purpose = fields.String(required=True, metadata={"enum": list(PURPOSES)})
    granted = fields.Boolean(required=True)
    state = fields.String(required=True, metadata={"enum": list(STATES)})
    channel = fields.String(required=True, allow_none=True, metadata={"enum": list(CHANNELS)})
    text_version = fields.String(required=True, allow_none=True)
    recorded_at = fields.DateTime(required=True, allow_none=True)
    recorded_by_id = fields.Integer(required=True, allow_none=True)
    withdrawn_at = fields.DateTime(required=True, allow_none=True)
    consent_id = fields.Integer(required=True, allow_none=True)


class ConsentsSchema(Schema):
    """A person's consents: each purpose's state, then every answer, newest first."""

    person_id = fields.Integer(required=True)
    items = fields.List(fields.Nested(PurposeStateSchema), required=True)
    history = fields.List(fields.Nested(ConsentSchema), required=True)


def _state(purpose, row):
    if row is None:
        return {"purpose": purpose, "granted": False, "state": "none", "channel": None,
                "text_version": None, "recorded_at": None, "recorded_by_id": None,
                "withdrawn_at": None, "consent_id": None}
    return {"purpose": purpose, "granted": row.active, "state": row.state,
            "channel": row.channel, "text_version": row.text_version,
            "recorded_at": row.recorded_at, "recorded_by_id": row.recorded_by_id,
            "withdrawn_at": row.withdrawn_at, "consent_id": row.id}


def consents_answer(person_id, history, state):
    """The answer of `GET /persons/{id}/consents`."""
    return {"person_id": person_id, "history": history,
            "items": [_state(purpose, row) for purpose, row in state.items()]}


NEW_CONSENT = NewConsentSchema()
CONSENT = ConsentSchema()
CONSENTS = ConsentsSchema()
