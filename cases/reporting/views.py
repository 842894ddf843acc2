"""The supervisors' dashboard and its CSV export.

The dashboard shows exact figures (supervisors see every case anyway); what leaves
the cell — the API answer (`api.py`) and the CSV — goes through
`anonymise.anonymised` (no names, contact details or free text; small counts
suppressed).

Filters are plain GET parameters (dates and codes only, no personal data), so
the page works without JavaScript; with htmx each filter re-renders the report
fragment in place and the server pushes the canonical URL of the period.
"""

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_htmx import make_response as htmx_response
from flask_login import current_user, login_required
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import select

from cellule import audit, nav
from cellule.extensions import db, htmx
from cellule.outbox import OutboxMessage
from cellule.permissions import SUPERVISOR, roles_required
from cellule.redis_conn import get_redis
from contacts.labels import CHANNEL_LABELS, DIRECTION_LABELS
from triage.vocab import LEVELS, ROUTES

from ..labels import (
    LEVEL_LABELS,
    OUTCOME_LABELS,
    QUEUE_LABELS,
    ROUTE_LABELS,
    TASK_KIND_LABELS,
)
from ..models import OUTCOMES, QUEUES, TASK_KINDS
from ..survey.models import Survey
from . import charts
from .anonymise import anonymised, suppression_threshold
from .export import request_export
from .figures import AGE_BANDS, build_report
from .forms import ExportForm
from .labels import AGE_BAND_LABELS, GRANULARITY_LABELS, PRESET_LABELS
from .models import ReportExport
from .periods import GRANULARITIES, PRESETS, BadPeriod, parse_period

bp = Blueprint("reports", __name__, url_prefix="/reports")

nav.register("reports.dashboard", _l("Dashboard"), (SUPERVISOR,), 35, group=nav.TEAM)

# Survey comments shown on the dashboard (newest first), without any link to a case.
COMMENTS_SHOWN = 20


# --------------------------------------------------------------------------- dashboard


def _comments(period):
    return db.session.scalars(
        select(Survey.comment)
        .where(Survey.comment.is_not(None), period.contains(Survey.answered_at))
        .order_by(Survey.answered_at.desc())
        .limit(COMMENTS_SHOWN)
    ).all()


def dashboard_context(period, errors=None):
    report = build_report(period).to_dict()
    return {
        "period": period,
        "report": report,
        "charts": charts.build_charts(report, period.step),
        "comments": _comments(period),
        "errors": errors or {},
        "labels": {
            "channel": CHANNEL_LABELS, "direction": DIRECTION_LABELS, "level": LEVEL_LABELS,
            "route": ROUTE_LABELS, "outcome": OUTCOME_LABELS, "queue": QUEUE_LABELS,
            "task_kind": TASK_KIND_LABELS, "preset": PRESET_LABELS,
            "granularity": GRANULARITY_LABELS, "age_band": AGE_BAND_LABELS,
        },
        "codes": {"levels": LEVELS, "routes": ROUTES, "outcomes": OUTCOMES, "queues": QUEUES,
                  "task_kinds": TASK_KINDS, "presets": PRESETS,
                  "granularities": GRANULARITIES, "age_bands": AGE_BANDS},
        "percent": charts.percent,
        "bucket_label": lambda s: charts.bucket_label(date.fromisoformat(s["from"]), period.step),
        "report_threshold": suppression_threshold(),
        # reassess19: the share improved, suppressed below the threshold as the export is
        "reassessment": anonymised({"reassessment": report["reassessment"]})["reassessment"],
        # appoint20: the appointments' counts, suppressed below the threshold likewise
        "appointments": anonymised({"appointments": report["appointments"]})["appointments"],
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


def _requested_period():
    """The period the query string names and no errors; an invalid one: the default period
    and the errors."""
    date_edited = bool(htmx) and htmx.trigger_name in ("from", "to")
    try:
        return parse_period(request.args, custom_trigger=date_edited), {}
    except BadPeriod as error:
        return parse_period({}), error.fields


def _report_in_place(period, errors, context):
    """The report fragment (htmx), the filter fields the server changed out of band, and the
    period's canonical URL pushed."""
    page = render_template("cases/reports/_report.html", oob_export=True, **context)
    fields = _fields_to_refresh(htmx.trigger_name, errors)
    if fields:
        page += render_template("cases/reports/_filters.html", oob_fields=fields, **context)
    push = url_for("reports.dashboard", **period.query_args())
    return htmx_response(page, push_url=push)


@bp.get("/")
@login_required
@roles_required(SUPERVISOR)
def dashboard():
    """Show the figures of a period, as charts with their tables."""
    period, errors = _requested_period()
    context = dashboard_context(period, errors)
    context["raw_dates"] = {name: request.args.get(name, "") for name in ("from", "to")}
    if htmx and htmx.target == "report":
        return _report_in_place(period, errors, context)
    return render_template("cases/reports/dashboard.html", **context), 422 if errors else 200


# --------------------------------------------------------------------------- CSV export


def get_export_or_404(export_id):
    """An export of the current user (an export is its requester's), else 404."""
    export = db.session.get(ReportExport, export_id)
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
        period = ExportForm().period()
    except BadPeriod as error:
        message = _("Invalid period: %(fields)s", fields=", ".join(error.fields))
        if htmx:
            return render_template("cases/reports/_export_status.html", export=None,
                                   state="invalid", percent=0, message=message), 422
        flash(message, "error")
        return redirect(url_for("reports.dashboard"), 303)
    export = request_export(period, current_user)
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
