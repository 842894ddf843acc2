"""`/api/v1/cases/{id}/referrals` (refer a case to a resource of the directory) and
`/api/v1/referrals/{id}/events` (a referral's next step), for the case's team. A step
that may not follow the referral's state is a 409 naming the allowed ones
(`fields.state`); a step that needs a consent the person has not given is a 409 naming
it (`fields.consent`: `share_partner`); other refusals are 422."""

from flask_login import current_user

from cellule import idempotency
from cellule.api import (
    ApiError,
    api_blueprint,
    api_roles,
    idempotent_operation,
    json_body,
    load_body,
)
from cellule.extensions import db
from cellule.roles import STAFF

from .. import operations as ops
from ..access import get_case_or_404, get_referral_or_404
from ..models import Resource
from . import operations as referrals
from .schemas import EVENT_BODY, REFERRAL, REFERRAL_BODY, referral_answer

api_bp = api_blueprint("referrals_api", __name__)
_REFUSALS = {"401": "no valid token", "403": "the role may not do this",
             "404": "no such case or referral, or not visible to the caller"}


def _answer(referral):
    return REFERRAL.dump(referral_answer(referral, referrals.events_of([referral.id])[referral.id]))


@api_bp.post("/cases/<int:id>/referrals")
@api_bp.operation("Refer the case to a resource of the directory",
                  "A paid resource needs `consent`: the person accepts the price shown.")
@api_roles(*STAFF)
@idempotency.idempotent
@api_bp.body(REFERRAL_BODY)
@api_bp.response(201, REFERRAL, description="the referral, proposed (accepted: a paid one)")
@api_bp.refusals(**_REFUSALS, **{"422": "invalid input, inactive resource or price not "
                                         "accepted"})
def add_referral(id):
    """Record a referral of the case."""
    raw = json_body()
    case = get_case_or_404(id, need="add_referral", read=False,
                           forbidden=ApiError(403, "your role may not refer this case"))
    data = load_body(REFERRAL_BODY, raw)
    resource = db.session.get(Resource, data["resource_id"])
    if resource is None:
        raise ApiError(422, "no such resource", {"resource_id": "no such resource"})
    try:
        referral = ops.add_referral(resource=resource, actor=current_user, case=case,
                                    consent=data.get("consent", False), note=data.get("note"))
    except ops.OperationError as error:
        db.session.rollback()
        raise ApiError(422, "cannot refer", error.fields) from None
    return idempotency.commit_answer(_answer(referral), 201)


idempotent_operation("/cases/{id}/referrals")


@api_bp.post("/referrals/<int:id>/events")
@api_bp.operation("Record a referral's next step",
                  "`sent` hands the pack to the partner and needs the person's "
                  "`share_partner` consent.")
@api_roles(*STAFF)
@idempotency.idempotent
@api_bp.body(EVENT_BODY)
@api_bp.response(201, REFERRAL, description="the referral at its new step")
@api_bp.refusals(**_REFUSALS, **{
    "409": "a step that may not follow the current one, or a missing consent",
    "422": "invalid input"})
def add_event(id):
    """Record the referral's next step."""
    raw = json_body()
    referral, _case = get_referral_or_404(
        id, forbidden=ApiError(403, "your role may not follow this referral"))
    data = load_body(EVENT_BODY, raw)
    try:
        referrals.step(referral, data["state"], current_user, at=data.get("at"),
                       note=data.get("note"), channel=data.get("channel"))
    except (referrals.WrongStep, referrals.ConsentMissing, ops.OperationError) as error:
        db.session.rollback()
        raise _step_refused(error) from None
    return idempotency.commit_answer(_answer(referral), 201)


def _step_refused(error):
    """The ApiError of a refused step: out of order or without the person's consent (409),
    or invalid (422)."""
    if isinstance(error, referrals.WrongStep):
        return ApiError(409, str(error), error.fields)
    if isinstance(error, referrals.ConsentMissing):
        return ApiError(409, "the person's consent is missing", error.fields)
    return ApiError(422, "invalid step", error.fields)


idempotent_operation("/referrals/{id}/events")
