"""`GET /api/v1/reports/summary`: the anonymised figures of a period, for supervisors."""

from flask import jsonify, request

from cellule.api import OPENAPI_SCHEMAS, ApiError, api_blueprint, api_roles, documented
from cellule.permissions import SUPERVISOR

from .anonymise import anonymised
from .figures import build_report
from .openapi import REPORT_SUMMARY, SUMMARY_OPERATION
from .periods import BadPeriod, parse_period

api_bp = api_blueprint("reports_api", __name__)

OPENAPI_SCHEMAS["ReportSummary"] = REPORT_SUMMARY
documented("/reports/summary", SUMMARY_OPERATION)


def summary_json(report_dict):
    """The API's summary: the anonymised report without the time series."""
    data = anonymised(report_dict)
    for name in ("contacts", "cases"):
        data[name].pop("series", None)
    return data


@api_bp.get("/reports/summary")
@api_roles(SUPERVISOR)
def summary():
    """Return the anonymised figures of a period (from/to: local dates, both included)."""
    unknown = sorted(set(request.args) - {"from", "to"})
    if unknown:
        raise ApiError(400, "unknown parameter", {name: "not a parameter" for name in unknown})
    try:
        period = parse_period(request.args)
    except BadPeriod as error:
        raise ApiError(error.status, "invalid period", error.fields) from None
    return jsonify(summary_json(build_report(period).to_dict()))
