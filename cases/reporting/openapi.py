"""The OpenAPI description of `GET /api/v1/reports/summary` (registered by `api.py`)."""

from cellule.timeparse import openapi_date
from contacts.labels import CHANNEL_LABELS, DIRECTION_LABELS
from triage.vocab import LEVELS, ROUTES

from ..models import OUTCOMES, QUEUES, TASK_KINDS
from .figures import AGE_BANDS, SCORES, SECTIONS

_COUNT = {"type": ["integer", "null"], "description": "null when suppressed (below the threshold)"}
_NUMBER = {"type": ["number", "null"]}


def _counts(keys):
    return {"type": "object", "properties": {str(k): _COUNT for k in keys}}


_LINE = {"type": "object", "properties": {
    "responded": _COUNT, "median_hours": _NUMBER, "p90_hours": _NUMBER, "on_time": _COUNT,
    "late": _COUNT, "pending": _COUNT, "share_on_time": _NUMBER}}

REPORT_SUMMARY = {
    "type": "object",
    "description": "Anonymised figures: no names, contact details or free text; counts from 1 "
                   "to suppression_threshold - 1 are null, and so are times and shares that "
                   "rest on fewer cases.",
    "required": ["period", "generated_at", "suppression_threshold", *SECTIONS],
    "properties": {
        "period": {"type": "object", "properties": {
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "timezone": {"type": "string"}, "granularity": {"type": "string"}}},
        "generated_at": {"type": "string", "format": "date-time"},
        "suppression_threshold": {"type": "integer"},
        "contacts": {"type": "object", "properties": {
            "total": _COUNT, "by_channel": _counts(CHANNEL_LABELS),
            "by_direction": _counts(DIRECTION_LABELS)}},
        "cases": {"type": "object", "properties": {
            "opened": _COUNT, "closed": _COUNT, "by_level": _counts(LEVELS),
            "by_route": _counts(ROUTES), "outcomes": _counts(OUTCOMES)}},
        "first_response": {"type": "object", "properties": {
            "levels": {"type": "object", "properties": {k: _LINE for k in LEVELS}},
            "all": _LINE}},
        "overdue": {"type": "object", "properties": {
            "tasks_due": _COUNT, "tasks_on_time": _COUNT, "tasks_late": _COUNT,
            "tasks_by_kind": {"type": "object"},
            "now": {"type": "object", "properties": {
                "tasks": _COUNT, "tasks_by_kind": _counts(TASK_KINDS), "cases": _COUNT,
                "cases_by_route": _counts(ROUTES)}}}},
        "queues": {"type": "object", "properties": {q: {"type": "object", "properties": {
            "waiting": _COUNT, "oldest_hours": _NUMBER, "median_hours": _NUMBER,
            "bands": _counts(b for b, _x, _y in AGE_BANDS)}} for q in QUEUES}},
        "satisfaction": {"type": "object", "properties": {
            "sent": _COUNT, "answered": _COUNT, "response_rate": _NUMBER,
            "mean_score": _NUMBER, "satisfied": _COUNT, "share_satisfied": _NUMBER,
            "target": {"type": "number"}, "scores": _counts(SCORES)}},
    },
}

SUMMARY_OPERATION = {"get": {
    "summary": "Anonymised activity figures of a period (supervisors)",
    "description": "Counts and times only. Without from/to: the last 30 days.",
    "parameters": [
        {"name": "from", "in": "query", "schema": openapi_date(),
         "description": "first local date of the period (YYYY-MM-DD)"},
        {"name": "to", "in": "query", "schema": openapi_date(),
         "description": "last local date of the period, included"},
    ],
    "responses": {
        "200": {"description": "the figures", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ReportSummary"}}}},
        **{code: {"description": text, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}
           for code, text in (("400", "malformed parameter"), ("401", "no valid token"),
                              ("403", "not a supervisor"),
                              ("422", "to before from, or a period longer than 5 years"))},
    },
}}
