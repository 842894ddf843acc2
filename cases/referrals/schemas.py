"""The schemas of `/api/v1/cases/{id}/referrals` and `/api/v1/referrals/{id}/events`: a
new referral (a resource, a note, the price accepted for a paid one), a step (its state,
when, a note, how the pack went) and the referral as answered."""

import marshmallow as ma
from marshmallow import fields
from marshmallow.validate import OneOf

from cellule import limits
from cellule.schemas import Bool, Id, Schema, Text

from .models import CHANNELS, NEXT, STATES


class ReferralBodySchema(Schema):
    """The body of `POST /cases/{id}/referrals`."""

    resource_id = Id(required=True)
    note = Text(limit=limits.REASON, allow_none=True)
    consent = Bool(metadata={"description": "the person accepts the price shown (a paid "
                                            "resource needs it)"})


class ReferralStepSchema(Schema):
    """One dated step of a referral."""

    COMPONENT = "ReferralStep"

    class Meta:
        ordered = True

    state = fields.String(required=True, metadata={"enum": list(STATES)})
    at = fields.DateTime(required=True)
    note = fields.String(allow_none=True)
    channel = fields.String(allow_none=True, metadata={"enum": list(CHANNELS)})


class ReferralSchema(Schema):
    """A referral: its state and its steps; `next` lists the steps that may follow."""

    COMPONENT = "Referral"

    class Meta:
        unknown = ma.RAISE
        ordered = True

    id = fields.Integer(required=True)
    state = fields.String(required=True, metadata={"enum": list(STATES)})
    case_id = fields.Integer(allow_none=True)
    resource_id = fields.Integer(required=True)
    price_cents_shown = fields.Integer(allow_none=True)
    consent_at = fields.DateTime(allow_none=True)
    next = fields.List(fields.String(), required=True)
    steps = fields.List(fields.Nested(ReferralStepSchema), required=True)


class EventBodySchema(Schema):
    """The body of `POST /referrals/{id}/events`: the step reached, when (default now), a
    note; for `sent`, how the pack goes (default: email when the partner has an address)."""

    state = fields.String(required=True, validate=OneOf(STATES),
                          metadata={"enum": list(STATES)})
    at = fields.AwareDateTime(allow_none=True)
    note = Text(limit=limits.REASON, allow_none=True)
    channel = fields.String(allow_none=True, validate=OneOf(CHANNELS),
                            metadata={"enum": list(CHANNELS)})


def referral_answer(referral, steps):
    return {"id": referral.id, "state": referral.state, "case_id": referral.case_id,
            "resource_id": referral.resource_id, "price_cents_shown": referral.price_cents_shown,
            "consent_at": referral.consent_at, "next": list(NEXT[referral.state]),
            "steps": [{"state": s.state, "at": s.at, "note": s.note, "channel": s.channel}
                      for s in steps]}


REFERRAL_BODY = ReferralBodySchema()
EVENT_BODY = EventBodySchema()
REFERRAL = ReferralSchema()
