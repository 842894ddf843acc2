"""`/api/v1/slots` and `/api/v1/appointments` (DESIGN §10's contract): a psychologist
publishes a slot; the cell's staff list slots (free ones with `free=true`) and book one for
a case. A slot booked already — first, or by a concurrent request (the database's unique
index decides) — is a 409."""

from flask_login import current_user

from cellule import audit, idempotency
from cellule.api import ApiError, api_blueprint, api_roles, idempotent_operation
from cellule.extensions import db
from cellule.permissions import PSYCHOLOGIST
from cellule.roles import STAFF

from ..access import get_case_or_404
from . import operations as appointments
from .models import Slot
from .schemas import (
    APPOINTMENT,
    APPOINTMENT_BODY,
    SLOT,
    SLOT_BODY,
    SLOT_LIST,
    SLOT_QUERY,
    appointment_answer,
    slot_answer,
)

api_bp = api_blueprint("appointments_api", __name__)
_REFUSALS = {"401": "no valid token", "403": "the role may not do this",
             "422": "invalid input"}


def _refused(error, status=422):
    db.session.rollback()
    raise ApiError(status, str(error.message), error.fields)


@api_bp.post("/slots")
@api_bp.operation("Publish a slot (psychologists)",
                  "In the future, within a year, 15 to 180 minutes, not overlapping another "
                  "of the caller's open slots.")
@api_roles(PSYCHOLOGIST)
@idempotency.idempotent
@api_bp.arguments(SLOT_BODY)
@api_bp.response(201, SLOT, description="the slot")
@api_bp.refusals(**_REFUSALS)
def publish_slot(data):
    """Publish one slot of the caller's."""
    try:
        slot = appointments.publish_slot(current_user, data["starts_at"], data["minutes"],
                                         data["mode"], data["languages"])
    except appointments.SlotRefused as error:
        _refused(error)
    return idempotency.commit_answer(SLOT.dump(slot_answer(slot, True)), 201)


@api_bp.get("/slots")
@api_bp.operation("Slots, soonest first (free ones only with `free=true`)")
@api_roles(*STAFF)
@api_bp.arguments(SLOT_QUERY, location="query", error_status_code=400)
@api_bp.response(200, SLOT_LIST, description="the slots")
@api_bp.refusals(**{"401": "no valid token", "403": "the role may not do this",
                    "400": "invalid filter"})
def list_slots(args):
    """List the open slots in the period."""
    query = appointments.free_slots_query(args.get("psychologist_id"), args.get("start"),
                                          args.get("end"), free=args["free"]).limit(500)
    slots = db.session.scalars(query).all()
    booked = appointments.booked_slot_ids([s.id for s in slots])
    audit.listed("appointment_slot", [s.id for s in slots])
    return {"items": [slot_answer(s, s.id not in booked) for s in slots]}


@api_bp.post("/appointments")
@api_bp.operation("Book a slot for a case",
                  "The person gets a confirmation email with an .ics invitation. A slot "
                  "booked already is a 409.")
@api_roles(*STAFF)
@idempotency.idempotent
@api_bp.arguments(APPOINTMENT_BODY)
@api_bp.response(201, APPOINTMENT, description="the appointment")
@api_bp.refusals(**_REFUSALS, **{"404": "no such case, or not visible to the caller",
                                 "409": "the slot is booked already"})
def book(data):
    """Book a free slot for a case naming a person."""
    case = get_case_or_404(data["case_id"], need=appointments.NEED, read=False,
                           forbidden=ApiError(403, "you may not book for this case"))
    slot = db.session.get(Slot, data["slot_id"])
    try:
        appointment = appointments.book(case, slot, current_user)
    except appointments.SlotTaken as error:
        _refused(error, 409)
    except appointments.BookingRefused as error:
        _refused(error)
    return idempotency.commit_answer(APPOINTMENT.dump(appointment_answer(appointment)), 201)


idempotent_operation("/slots")
idempotent_operation("/appointments")
