"""`/api/v1/cases/{id}/caring-messages`: read, start and stop a case's caring messages (the
case's team: advisors, psychologists, supervisors who see the case). A missing consent is
a 409 naming it (DESIGN §10), a series already there a 409; other refusals are 422."""

from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import select

from cellule import audit, idempotency
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

from ..access import get_case_or_404
from . import operations as caring
from .models import CaringMessage
from .schemas import CARING_SERIES, START_BODY, STOP_BODY, series_answer

api_bp = api_blueprint("caring_api", __name__)
_REFUSALS = {"401": "no valid token", "403": "the role may not do this",
             "404": "no such case, not visible to the caller, or no caring messages yet"}
_CONFLICTS = ("consent", "series")


def _case(case_id):
    return get_case_or_404(case_id, need=caring.NEED, read=False,
                           forbidden=ApiError(403, "your role may not use caring messages"))


def _answer(series):
    """The answer's plain values (dumped: the row expires at the commit)."""
    return CARING_SERIES.dump(series_answer(series, _messages(series)))


def _messages(series):
    return db.session.scalars(select(CaringMessage).where(
        CaringMessage.series_id == series.id).order_by(CaringMessage.number)).all()


def _series(case):
    series = caring.series_of(case.id)
    if series is None:
        raise ApiError(404, "no caring messages yet")
    return series


@api_bp.route("/cases/<int:id>/caring-messages")
class CaringSeriesView(MethodView):
    """One rule for both methods: a huge id is then a 404 for either (IdConverter)."""

    @api_bp.operation("The case's caring messages")
    @api_roles(*STAFF)
    @api_bp.response(200, CARING_SERIES, description="the series and its messages")
    @api_bp.refusals(**_REFUSALS)
    def get(self, id):
        """Return the case's caring messages series (404 before one was started)."""
        series = _series(_case(id))
        audit.read("caring_series", series.id)
        return series_answer(series, _messages(series))

    @api_bp.operation("Start the case's caring messages",
                      "Needs the person's `caring_messages` consent and an email address.")
    @api_roles(*STAFF)
    @idempotency.idempotent
    @api_bp.body(START_BODY)
    @api_bp.response(201, CARING_SERIES, description="the series planned")
    @api_bp.refusals(**_REFUSALS, **{
        "409": "no `caring_messages` consent, or a series already", "422": "invalid input"})
    def post(self, id):
        """Plan the case's caring messages."""
        raw = json_body()
        case = _case(id)
        data = load_body(START_BODY, raw)
        try:
            series = caring.start_series(case, current_user, language=data.get("language"))
        except caring.SeriesRefused as error:
            db.session.rollback()
            status = 409 if set(error.fields) & set(_CONFLICTS) else 422
            raise ApiError(status, "cannot start caring messages", error.fields) from None
        return idempotency.commit_answer(_answer(series), 201)


idempotent_operation("/cases/{id}/caring-messages")


@api_bp.post("/cases/<int:id>/caring-messages/stop")
@api_bp.operation("Stop the case's caring messages", "The messages still planned are cancelled.")
@api_roles(*STAFF)
@api_bp.body(STOP_BODY)
@api_bp.response(200, CARING_SERIES, description="the series stopped")
@api_bp.refusals(**_REFUSALS, **{"409": "the series is not running", "422": "invalid input"})
def stop_series(id):
    """Stop the case's caring messages."""
    raw = json_body()
    series = _series(_case(id))
    data = load_body(STOP_BODY, raw)
    try:
        caring.stop_series(series, data["reason"], data.get("note"), current_user)
    except caring.SeriesRefused as error:
        db.session.rollback()
        status = 409 if "series" in error.fields else 422
        raise ApiError(status, "cannot stop caring messages", error.fields) from None
    answer = series_answer(series, _messages(series))  # read before the commit expires them
    db.session.commit()
    return answer
