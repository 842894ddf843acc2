"""`GET /api/v1/reports/summary`: the anonymised figures of a period, for supervisors.

Its query string and answer are described by `reporting.schemas`.
"""


from cellule.api import ApiError, api_blueprint, api_roles
from cellule.permissions import SUPERVISOR

from .anonymise import anonymised
from .figures import build_report
from .periods import BadPeriod, parse_period
from .schemas import PERIOD_QUERY, REPORT_SUMMARY

api_bp = api_blueprint("reports_api", __name__)


def summary_json(report_dict):
    """The API's summary: the anonymised report without the time series."""
    data = anonymised(report_dict)
    for name in ("contacts", "cases"):
        data[name].pop("series", None)
    return data


@api_bp.get("/reports/summary")
@api_bp.operation("Anonymised activity figures of a period (supervisors)",
                  "Counts and times only. Without from/to: the last 30 days.")
@api_roles(SUPERVISOR)
@api_bp.arguments(PERIOD_QUERY, location="query", error_status_code=400)
@api_bp.response(200, REPORT_SUMMARY, description="the figures")
@api_bp.refusals(**{"400": "malformed parameter", "401": "no valid token",
                    "403": "not a supervisor",
                    "422": "to before from, or a period longer than 5 years"})
def summary(query):
    """Return the anonymised figures of a period (from/to: local dates, both included)."""
    try:
        period = parse_period({"from": query.get("from_"), "to": query.get("to")})
    except BadPeriod as error:
        raise ApiError(error.status, "invalid period", error.fields) from None
    return summary_json(build_report(period).to_dict())
