"""The schemas of `GET /api/v1/reports/summary`: its query string and the anonymised
figures it answers (`ReportSummary`)."""

from marshmallow import fields

from cellule.schemas import Schema
from cellule.timeparse import openapi_date
from contacts.labels import CHANNEL_LABELS, DIRECTION_LABELS
from triage.vocab import LEVELS, ROUTES

from ..models import OUTCOMES, QUEUES, TASK_KINDS
from .figures import AGE_BANDS, SCORES


class PeriodQuerySchema(Schema):
    """`from` and `to`, checked by `periods.parse_period` (as the dashboard's); any other
    parameter is refused."""

    ERROR = "unknown parameter"
    error_messages = {"unknown": "not a parameter"}

    from_ = fields.String(data_key="from", metadata={
        **openapi_date(), "description": "first local date of the period: "
        + openapi_date()["description"]})
    to = fields.String(metadata={
        **openapi_date(), "description": "last local date of the period, included: "
        + openapi_date()["description"]})


def _count():
    return fields.Integer(allow_none=True, metadata={
        "description": "null when suppressed (below the threshold)"})


def _number():
    return fields.Raw(allow_none=True, metadata={"type": "number"})


def _counts(keys):
    """An object of counts by `keys` (a label, a level, a band…)."""
    return fields.Nested(Schema.from_dict({str(k): _count() for k in keys}))


def _line():
    return fields.Nested(Schema.from_dict({
        "responded": _count(), "median_hours": _number(), "p90_hours": _number(),
        "on_time": _count(), "late": _count(), "pending": _count(),
        "share_on_time": _number()}))


def _object(required=False, **members):
    return fields.Nested(Schema.from_dict(members), required=required)


class ReportSummarySchema(Schema):
    """The anonymised report without its time series (`api.summary_json`)."""

    COMPONENT = "ReportSummary"

    period = _object(**{"from": fields.String(metadata={"format": "date"}),
                        "to": fields.String(metadata={"format": "date"}),
                        "timezone": fields.String(), "granularity": fields.String()},
                     required=True)
    generated_at = fields.String(required=True, metadata={"format": "date-time"})
    suppression_threshold = fields.Integer(required=True)
    contacts = _object(total=_count(), by_channel=_counts(CHANNEL_LABELS),
                       by_direction=_counts(DIRECTION_LABELS), required=True)
    cases = _object(opened=_count(), closed=_count(), by_level=_counts(LEVELS),
                    by_route=_counts(ROUTES), outcomes=_counts(OUTCOMES), required=True)
    first_response = _object(levels=_object(**{k: _line() for k in LEVELS}), all=_line(),
                             required=True)
    overdue = _object(
        tasks_due=_count(), tasks_on_time=_count(), tasks_late=_count(),
        tasks_by_kind=fields.Dict(),
        now=_object(tasks=_count(), tasks_by_kind=_counts(TASK_KINDS), cases=_count(),
                    cases_by_route=_counts(ROUTES)), required=True)
    queues = _object(**{q: _object(waiting=_count(), oldest_hours=_number(),
                                   median_hours=_number(),
                                   bands=_counts(b for b, _x, _y in AGE_BANDS))
                        for q in QUEUES}, required=True)
    satisfaction = _object(sent=_count(), answered=_count(), response_rate=_number(),
                           mean_score=_number(), satisfied=_count(), share_satisfied=_number(),
                           target=fields.Raw(metadata={"type": "number"}),
                           scores=_counts(SCORES), required=True)
    # reassess19: the cases re-assessed in the period, and the share that improved
    reassessment = _object(
        by_route=_object(**{r: _object(reassessed=_count(), compared=_count(),
                                       improved=_count(), share_improved=_number())
                            for r in ROUTES}),
        all=_object(reassessed=_count(), compared=_count(), improved=_count(),
                    share_improved=_number()), required=True)
    # appoint20: the psychologists' slots starting in the period and their appointments
    appointments = _object(offered=_count(), booked=_count(), attended=_count(),
                           missed=_count(), cancelled=_count(), required=True)

    class Meta:
        ordered = True
        description = ("Anonymised figures: no names, contact details or free text; counts "
                       "from 1 to suppression_threshold - 1 are null, and so are times and "
                       "shares that rest on fewer cases.")


PERIOD_QUERY = PeriodQuerySchema()
REPORT_SUMMARY = ReportSummarySchema()
