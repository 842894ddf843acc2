"""The schemas of `/api/v1/slots` and `/api/v1/appointments`."""

import marshmallow as ma
from marshmallow import fields
from marshmallow.validate import Length, OneOf, Range

from cellule.schemas import Schema

from .models import LANGUAGES, MAX_MINUTES, MIN_MINUTES, MODES, STATES


class SlotBodySchema(Schema):
    """A slot to publish (the caller is the psychologist)."""

    ERROR = "invalid slot"

    class Meta:
        unknown = ma.RAISE

    starts_at = fields.AwareDateTime(required=True, metadata={
        "description": "with its UTC offset; in the future, within a year"})
    minutes = fields.Integer(required=True, strict=True,
                             validate=Range(MIN_MINUTES, MAX_MINUTES))
    mode = fields.String(required=True, validate=OneOf(MODES), metadata={"enum": list(MODES)})
    languages = fields.List(fields.String(validate=OneOf(LANGUAGES)), required=True,
                            validate=Length(min=1, max=len(LANGUAGES)))


class SlotSchema(Schema):
    """A published slot."""

    COMPONENT = "Slot"

    class Meta:
        ordered = True

    id = fields.Integer(required=True)
    psychologist_id = fields.Integer(required=True)
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True)
    minutes = fields.Integer(required=True)
    mode = fields.String(required=True, metadata={"enum": list(MODES)})
    languages = fields.List(fields.String(), required=True)
    free = fields.Boolean(required=True)


class SlotListSchema(Schema):
    items = fields.List(fields.Nested(SlotSchema), required=True)


class SlotQuerySchema(Schema):
    """`GET /slots`' filters."""

    class Meta:
        unknown = ma.RAISE

    psychologist_id = fields.Integer(validate=Range(1, 2**31 - 1))
    # `from` is a Python keyword: the attribute is `start`, the parameter `from`.
    start = fields.AwareDateTime(data_key="from")
    end = fields.AwareDateTime(data_key="to")
    free = fields.Boolean(load_default=False)


class AppointmentBodySchema(Schema):
    """A slot to book for a case."""

    ERROR = "invalid appointment"

    class Meta:
        unknown = ma.RAISE

    case_id = fields.Integer(required=True, strict=True, validate=Range(1, 2**31 - 1))
    slot_id = fields.Integer(required=True, strict=True, validate=Range(1, 2**31 - 1))


class AppointmentSchema(Schema):
    """A booked appointment."""

    COMPONENT = "Appointment"

    class Meta:
        ordered = True

    id = fields.Integer(required=True)
    case_id = fields.Integer(required=True)
    slot_id = fields.Integer(required=True)
    starts_at = fields.DateTime(required=True)
    psychologist_id = fields.Integer(required=True)
    mode = fields.String(required=True, metadata={"enum": list(MODES)})
    state = fields.String(required=True, metadata={"enum": list(STATES)})


def slot_answer(slot, free):
    return {"id": slot.id, "psychologist_id": slot.psychologist_id,
            "starts_at": slot.starts_at, "ends_at": slot.ends_at, "minutes": slot.minutes,
            "mode": slot.mode, "languages": slot.language_list, "free": free}


def appointment_answer(appointment):
    slot = appointment.slot
    return {"id": appointment.id, "case_id": appointment.case_id, "slot_id": slot.id,
            "starts_at": slot.starts_at, "psychologist_id": slot.psychologist_id,
            "mode": slot.mode, "state": appointment.state}


SLOT_BODY = SlotBodySchema()
SLOT = SlotSchema()
SLOT_LIST = SlotListSchema()
SLOT_QUERY = SlotQuerySchema()
APPOINTMENT_BODY = AppointmentBodySchema()
APPOINTMENT = AppointmentSchema()
