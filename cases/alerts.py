"""The supervisors' live alert: an imminent answer shows on whatever page they have open.

Every page a supervisor sees carries a `#live-alerts` region (templates/base.html),
rendered with the page and refreshed by htmx from `GET /alerts/live` every 10 seconds:
polling rather than server-sent events, so that no worker thread is held per open tab and
nothing but htmx and the CSP-safe attributes is needed. The alert itself is written once,
in the transaction that saved the safety answers (`routing.alert_in_progress`): one
`imminent_alert` task per alerted supervisor; this view lists their own ringing ones
(`queries.alert_tasks`), with a link to the case and to the triage that alerted.

Cheap by design: one indexed query (the open tasks of the user, a partial index), and an
unchanged list answers 204 (htmx swaps nothing, so screen readers do not hear it again).
The poll is `passive`: it does not keep an unattended session alive. No personal data:
case references and task ids only.
"""

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user, login_required

from cellule.extensions import db
from cellule.permissions import SUPERVISOR, roles_required
from cellule.sessions import passive

from .models import Case, Task, TriageRun
from .queries import alert_tasks
from .routing import TASK_TITLES

bp = Blueprint("alerts", __name__)

ALERT_CODE = "imminent_alert"
POLL_SECONDS = 10
LIMIT = 20


def open_alerts(user):
    """The user's ringing alerts (`queries.alert_tasks`: open tasks, open cases at an alert
    level), newest first: plain rows, one query."""
    return db.session.execute(
        alert_tasks(user)
        .with_only_columns(Task.id, Task.case_id, Task.triage_run_id, Task.code, Task.title,
                           Case.reference, TriageRun.state.label("run_state"))
        .outerjoin(TriageRun, TriageRun.id == Task.triage_run_id)
        .limit(LIMIT)
    ).all()


def signature(alerts):
    """What the region shows, as the page sends it back: unchanged means nothing to swap."""
    return ",".join(f"{a.id}:{a.run_state or ''}" for a in alerts)


@bp.get("/alerts/live")
@passive
@login_required
@roles_required(SUPERVISOR)
def live():
    """The live alert region's content; 204 when it is what the page already shows."""
    alerts = open_alerts(current_user)
    shown = signature(alerts)
    if request.args.get("shown", "") == shown:
        return "", 204
    return render_template("cases/_live_alerts.html", alerts=alerts, shown=shown)


def region():
    """The live region of the base template for a signed-in supervisor (else None): the URL
    it polls and its first content, rendered with the page (no extra round trip). It is
    the one alert banner: the home page and the board show no copy of it."""
    user = current_user
    if (not user or not user.is_authenticated or user.role != SUPERVISOR
            or user.must_change_password):
        return None
    alerts = open_alerts(user)
    return {"url": url_for("alerts.live"), "alerts": alerts, "shown": signature(alerts)}


def register(app):
    app.register_blueprint(bp)
    app.context_processor(lambda: {"live_alerts": region, "live_alerts_every": POLL_SECONDS,
                                   "alert_title": _title})


def _title(alert):
    return TASK_TITLES[alert.code] if alert.code in TASK_TITLES else alert.title
