"""The supervisors' dashboard, its CSV export and `GET /api/v1/reports/summary`.

The dashboard shows exact figures (supervisors see every case anyway); what leaves
the cell — the API answer and the CSV — goes through `reports.anonymised` (no
names, contact details or free text; small counts suppressed).

Filters are plain GET parameters (dates and codes only, no personal data), so
the page works without JavaScript; with htmx each filter re-renders the report
fragment in place and the server pushes the canonical URL of the period.
"""

import logging
import os
from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_htmx import make_response as htmx_response
from flask_login import current_user, login_required
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import select

from cellule import audit, nav
from cellule.api import OPENAPI_SCHEMAS, ApiError, api_blueprint, api_roles, documented
from cellule.extensions import db, htmx
from cellule.outbox import OutboxMessage
from cellule.permissions import SUPERVISOR, roles_required
from cellule.redis_conn import get_redis
from cellule.timeparse import openapi_date
from contacts.labels import CHANNEL_LABELS, DIRECTION_LABELS
from triage.vocab import LEVELS, ROUTES

from . import charts, reports
from .labels import (
    LEVEL_LABELS,
    OUTCOME_LABELS,
    QUEUE_LABELS,
    ROUTE_LABELS,
    TASK_KIND_LABELS,
)
from .models import OUTCOMES, QUEUES, TASK_KINDS
from .survey import Survey

log = logging.getLogger(__name__)

bp = Blueprint("reports", __name__, url_prefix="/reports")
api_bp = api_blueprint("reports_api", __name__)

nav.register("reports.dashboard", _l("Dashboard"), (SUPERVISOR,), 35)

PRESET_LABELS = {
    "last_30_days": _l("Last 30 days"),
    "this_month": _l("This month"),
    "last_month": _l("Last month"),
    "this_quarter": _l("This quarter"),
    "last_quarter": _l("Last quarter"),
    "this_year": _l("This year"),
    "last_year": _l("Last year"),
    "custom": _l("Custom dates"),
}
GRANULARITY_LABELS = {
    "auto": _l("Automatic"),
    "day": _l("Day"),
    "week": _l("Week"),
    "month": _l("Month"),
}
AGE_BAND_LABELS = {
    "lt_1d": _l("less than 1 day"),
    "1_3d": _l("1 to 3 days"),
    "3_7d": _l("3 to 7 days"),
    "ge_7d": _l("7 days or more"),
}
# Survey comments shown on the dashboard (newest first), without any link to a case.
COMMENTS_SHOWN = 20


# --------------------------------------------------------------------------- dashboard


def _bucket_label(first, step):
    if step == "month":
        return format_date(first, "MMM y")
    return format_date(first, "d MMM")


def _percent(value):
    return None if value is None else round(value * 100, 1)


def build_charts(report, step):
    """The dashboard's SVG charts from a report's figures."""
    contacts, cases = report["contacts"], report["cases"]
    first, overdue = report["first_response"], report["overdue"]
    satisfaction, queues = report["satisfaction"], report["queues"]
    labels = [_bucket_label(date.fromisoformat(s["from"]), step) for s in contacts["series"]]
    out = {}
    out["contacts"] = charts.column_chart(
        "chart-contacts", _("Contacts by channel"),
        _("%(n)s contacts in the period: %(detail)s.", n=contacts["total"], detail=", ".join(
            f"{CHANNEL_LABELS[c]} {contacts['by_channel'][c]}" for c in contacts["by_channel"])),
        labels,
        [(c, str(CHANNEL_LABELS[c]), [s["counts"][c] for s in contacts["series"]])
         for c in contacts["by_channel"]],
    )
    out["cases"] = charts.column_chart(
        "chart-cases", _("Cases opened and closed"),
        _("%(opened)s cases opened and %(closed)s closed in the period.",
          opened=cases["opened"], closed=cases["closed"]),
        labels,
        [("opened", _("Opened"), [s["counts"]["opened"] for s in cases["series"]]),
         ("closed", _("Closed"), [s["counts"]["closed"] for s in cases["series"]])],
        stacked=False,
    )
    out["levels"] = charts.bar_chart(
        "chart-levels", _("Cases opened by level"),
        ", ".join(f"{LEVEL_LABELS[k]} {v}" for k, v in cases["by_level"].items()),
        [str(LEVEL_LABELS[k]) for k in LEVELS],
        [("opened", _("Cases"), [cases["by_level"][k] for k in LEVELS])],
    )
    out["routes"] = charts.bar_chart(
        "chart-routes", _("Cases opened by route"),
        ", ".join(f"{ROUTE_LABELS[k]} {v}" for k, v in cases["by_route"].items()),
        [str(ROUTE_LABELS[k]) for k in ROUTES],
        [("opened", _("Cases"), [cases["by_route"][k] for k in ROUTES])],
    )
    levels = first["levels"]
    out["response"] = charts.bar_chart(
        "chart-response", _("Time to first response (hours)"),
        _("Median and 90th percentile of the hours from opening to first response, per "
          "level; overall median %(median)s h.", median=charts.fmt(first["all"]["median_hours"])),
        [str(LEVEL_LABELS[k]) for k in LEVELS],
        [("median", _("Median"), [levels[k]["median_hours"] for k in LEVELS]),
         ("p90", _("90th percentile"), [levels[k]["p90_hours"] for k in LEVELS])],
        unit=" h", integer=False,
    )
    out["on_time"] = charts.bar_chart(
        "chart-on-time", _("First responses on time (%)"),
        _("Share of first responses given before the deadline, per level; overall "
          "%(share)s %%.", share=charts.fmt(_percent(first["all"]["share_on_time"]))),
        [str(LEVEL_LABELS[k]) for k in LEVELS],
        [("on_time", _("On time"), [_percent(levels[k]["share_on_time"]) for k in LEVELS])],
        unit=" %", maximum=100,
    )
    out["overdue"] = charts.bar_chart(
        "chart-overdue", _("Tasks due in the period"),
        _("%(due)s tasks due: %(on_time)s done on time, %(late)s late.",
          due=overdue["tasks_due"], on_time=overdue["tasks_on_time"],
          late=overdue["tasks_late"]),
        [str(TASK_KIND_LABELS[k]) for k in TASK_KINDS],
        [("on_time", _("On time"), [overdue["tasks_by_kind"][k]["on_time"] for k in TASK_KINDS]),
         ("late", _("Late"), [overdue["tasks_by_kind"][k]["late"] for k in TASK_KINDS])],
    )
    out["queues"] = charts.bar_chart(
        "chart-queues", _("Waiting in the queues now"),
        _("Unclaimed open cases by how long they have waited: %(detail)s.", detail="; ".join(
            f"{QUEUE_LABELS[q]} {queues[q]['waiting']}" for q in QUEUES)),
        [str(AGE_BAND_LABELS[b]) for b, _x, _y in reports.AGE_BANDS],
        [(q, str(QUEUE_LABELS[q]), [queues[q]["bands"][b] for b, _x, _y in reports.AGE_BANDS])
         for q in QUEUES],
    )
    share = satisfaction["share_satisfied"]
    out["satisfaction"] = charts.share_chart(
        "chart-satisfaction", _("Satisfied answers (4 or 5 out of 5)"),
        _("%(share)s %% of %(n)s answers were 4 or 5; the target is %(target)s %%.",
          share=charts.fmt(_percent(share)), n=satisfaction["answered"],
          target=charts.fmt(_percent(satisfaction["target"]))),
        share, satisfaction["target"], _("Satisfied"), _("Target"),
    )
    out["scores"] = charts.bar_chart(
        "chart-scores", _("Survey answers by score"),
        ", ".join(f"{k}: {v}" for k, v in satisfaction["scores"].items()),
        [str(k) for k in reports.SCORES],
        [("answers", _("Answers"), [satisfaction["scores"][str(k)] for k in reports.SCORES])],
    )
    return out


def _comments(period):
    return db.session.scalars(
        select(Survey.comment)
        .where(Survey.comment.is_not(None), period.contains(Survey.answered_at))
        .order_by(Survey.answered_at.desc())
        .limit(COMMENTS_SHOWN)
    ).all()


def dashboard_context(period, errors=None):
    report = reports.build_report(period).to_dict()
    return {
        "period": period,
        "report": report,
        "charts": build_charts(report, period.step),
        "comments": _comments(period),
        "errors": errors or {},
        "labels": {
            "channel": CHANNEL_LABELS, "direction": DIRECTION_LABELS, "level": LEVEL_LABELS,
            "route": ROUTE_LABELS, "outcome": OUTCOME_LABELS, "queue": QUEUE_LABELS,
            "task_kind": TASK_KIND_LABELS, "preset": PRESET_LABELS,
            "granularity": GRANULARITY_LABELS, "age_band": AGE_BAND_LABELS,
        },
        "codes": {"levels": LEVELS, "routes": ROUTES, "outcomes": OUTCOMES, "queues": QUEUES,
                  "task_kinds": TASK_KINDS, "presets": reports.PRESETS,
                  "granularities": reports.GRANULARITIES, "age_bands": reports.AGE_BANDS},
        "percent": _percent,
        "bucket_label": lambda s: _bucket_label(date.fromisoformat(s["from"]), period.step),
        "report_threshold": reports.suppression_threshold(),
    }


def _fields_to_refresh(trigger, errors):
    """The filter fields whose state the server changed, re-sent out of band.

    Never the field the user may be typing in next: a preset sets both dates; an edited date
    turns the preset to "custom" and gets (or loses) its own invalid mark.
    """
    if trigger in ("from", "to"):
        marked = {trigger} | ({"from", "to"} & set(errors))
        return marked if errors else marked | {"preset"}
    if trigger == "preset" and not errors:
        return {"from", "to"}
    return set()


@bp.get("/")
@login_required
@roles_required(SUPERVISOR)
def dashboard():
    """Show the figures of a period, as charts with their tables."""
    date_edited = bool(htmx) and htmx.trigger_name in ("from", "to")
    errors = {}
    try:
        period = reports.parse_period(request.args, custom_trigger=date_edited)
    except reports.BadPeriod as error:
        errors = error.fields
        period = reports.parse_period({})
    context = dashboard_context(period, errors)
    context["raw_dates"] = {name: request.args.get(name, "") for name in ("from", "to")}
    if htmx and htmx.target == "report":
        page = render_template("cases/reports/_report.html", oob_export=True, **context)
        fields = _fields_to_refresh(htmx.trigger_name, errors)
        if fields:
            page += render_template("cases/reports/_filters.html", oob_fields=fields, **context)
        push = url_for("reports.dashboard", **period.query_args())
        return htmx_response(page, push_url=push)
    return render_template("cases/reports/dashboard.html", **context), 422 if errors else 200


# --------------------------------------------------------------------------- CSV export


def get_export_or_404(export_id):
    """An export of the current user (an export is its requester's), else 404."""
    export = db.session.get(reports.ReportExport, export_id)
    if export is None or export.requested_by_id != current_user.id:
        audit.denied("report_export", export_id)
        abort(404)
    return export


def export_progress(export):
    """Return (state, percent): queued, running, done or failed."""
    if export.status == "done":
        return "done", 100
    row = db.session.get(OutboxMessage, export.outbox_id) if export.outbox_id else None
    if row is not None and row.status == "failed":
        return "failed", 0
    try:
        job = Job.fetch(str(export.outbox_id), connection=get_redis())
        percent = int(job.meta.get("progress") or 0)
    except (NoSuchJobError, RedisError):
        percent = 0
    return ("running" if percent else "queued"), percent


def _export_fragment(export):
    state, percent = export_progress(export)
    return render_template("cases/reports/_export_status.html", export=export, state=state,
                           percent=percent)


@bp.post("/exports")
@login_required
@roles_required(SUPERVISOR)
def create_export():
    """Start building the anonymised CSV of a period."""
    try:
        period = reports.parse_period(request.form)
    except reports.BadPeriod as error:
        message = _("Invalid period: %(fields)s", fields=", ".join(error.fields))
        if htmx:
            return render_template("cases/reports/_export_status.html", export=None,
                                   state="invalid", percent=0, message=message), 422
        flash(message, "error")
        return redirect(url_for("reports.dashboard"), 303)
    export = reports.request_export(period, current_user)
    db.session.commit()
    if htmx:
        return _export_fragment(export)
    return redirect(url_for("reports.export_page", export_id=export.id), 303)


@bp.get("/exports/<int:export_id>")
@login_required
@roles_required(SUPERVISOR)
def export_page(export_id):
    """Show where an export stands (the page behind the progress bar)."""
    export = get_export_or_404(export_id)
    state, percent = export_progress(export)
    return render_template("cases/reports/export.html", export=export, state=state,
                           percent=percent)


@bp.get("/exports/<int:export_id>/progress")
@login_required
@roles_required(SUPERVISOR)
def export_status(export_id):
    """The progress fragment that htmx polls until the export is ready."""
    return _export_fragment(get_export_or_404(export_id))


@bp.get("/exports/<int:export_id>/download")
@login_required
@roles_required(SUPERVISOR)
def download_export(export_id):
    """Download a finished export as CSV."""
    export = get_export_or_404(export_id)
    if export.status != "done":
        abort(409)
    audit.record("download", "report_export", export.id)
    db.session.commit()
    return Response(
        export.content,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


# --------------------------------------------------------------------------- API


def summary_json(report_dict):
    """The API's summary: the anonymised report without the time series."""
    data = reports.anonymised(report_dict)
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
        period = reports.parse_period(request.args)
    except reports.BadPeriod as error:
        raise ApiError(error.status, "invalid period", error.fields) from None
    return jsonify(summary_json(reports.build_report(period).to_dict()))


_COUNT = {"type": ["integer", "null"], "description": "null when suppressed (below the threshold)"}
_NUMBER = {"type": ["number", "null"]}


def _counts(keys):
    return {"type": "object", "properties": {str(k): _COUNT for k in keys}}


_LINE = {"type": "object", "properties": {
    "responded": _COUNT, "median_hours": _NUMBER, "p90_hours": _NUMBER, "on_time": _COUNT,
    "late": _COUNT, "pending": _COUNT, "share_on_time": _NUMBER}}

OPENAPI_SCHEMAS["ReportSummary"] = {
    "type": "object",
    "description": "Anonymised figures: no names, contact details or free text; counts from 1 "
                   "to suppression_threshold - 1 are null, and so are times and shares that "
                   "rest on fewer cases.",
    "required": ["period", "generated_at", "suppression_threshold", *reports.SECTIONS],
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
            "bands": _counts(b for b, _x, _y in reports.AGE_BANDS)}} for q in QUEUES}},
        "satisfaction": {"type": "object", "properties": {
            "sent": _COUNT, "answered": _COUNT, "response_rate": _NUMBER,
            "mean_score": _NUMBER, "satisfied": _COUNT, "share_satisfied": _NUMBER,
            "target": {"type": "number"}, "scores": _counts(reports.SCORES)}},
    },
}

documented("/reports/summary", {"get": {
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
}})


# --------------------------------------------------------------------------- wiring


# Settings of this module: environment variable (same name), else the default.
SETTINGS = (
    # Counts below this are suppressed in the API and the CSV export.
    ("CELLULE_REPORT_MIN_COUNT", int, 5),
    # Share of satisfied survey answers (4 or 5) the cell aims at (the pilots' target).
    ("CELLULE_SATISFACTION_TARGET", float, 0.7),
    # Days a survey link stays valid.
    ("CELLULE_SURVEY_DAYS", int, 14),
    # Public address of the application in mailed links (e.g. https://cellule.fund.be).
    ("CELLULE_BASE_URL", str, ""),
)


def _hours_filter(value):
    return "—" if value is None else f"{format_decimal(round(value, 1))} h"


def register(app):
    """Register the reporting, survey and rights pieces (called from cases' `register`)."""
    from . import retention, rights, survey

    for name, kind, default in SETTINGS:
        if name not in app.config:
            raw = (os.environ.get(name) or "").strip()
            app.config[name] = kind(raw) if raw else default
    retention.configure(app)
    app.jinja_env.filters["format_day"] = lambda d: format_date(d, "medium") if d else ""
    app.jinja_env.filters["hours"] = _hours_filter
    app.jinja_env.filters["pct"] = lambda v: "—" if v is None else f"{format_decimal(v)} %"
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(survey.bp)
    app.register_blueprint(rights.bp)
    app.cli.add_command(retention.retention_cli)
    rights.register(app)


