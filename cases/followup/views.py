"""The follow-up page of a `follow_up` task: the plan, the attempts, their forms."""

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from cellule import audit, limits, nav
from cellule.extensions import db
from cellule.formatting import duration
from cellule.permissions import (
    ADMIN,
    ADVISOR,
    AMBASSADOR,
    PSYCHOLOGIST,
    SUPERVISOR,
    roles_required,
)
from cellule.types import utcnow

from .. import operations as ops
from .. import routing
from ..access import can_finish_task, get_task_or_404
from ..labels import LEVEL_LABELS, TASK_STATUS_LABELS
from . import operations as followup
from .forms import MAX_INPUT, AttemptForm, DelaysForm, EndForm
from .models import ATTEMPTS_BEFORE_ALERT, END_STATES, OUTCOMES

bp = Blueprint("followup", __name__)
nav.register("followup.delays", _l("Follow-up delays"), (ADMIN,), 61, group=nav.ADMIN)

CASEWORK = (AMBASSADOR, ADVISOR, PSYCHOLOGIST, SUPERVISOR)
OUTCOME_LABELS = {"reached": _l("Reached"), "no_answer": _l("No answer"),
                  "voicemail": _l("Voicemail"), "refused": _l("Refused")}
STATE_LABELS = {"active": _l("Running"), "completed": _l("Completed"),
                "declined": _l("Declined by the person"),
                "handed_over": _l("Handed to another service")}
FIELD_MESSAGES = {"outcome": _l("Choose how the attempt went."),
                  "note": _l("Check the note: name the service when handing over; at most "
                             "%(n)s characters.", n=limits.REASON),
                  "state": _l("Choose how the follow-up ends.")}


def _follow_up_task(task_id, need="view"):
    """The follow-up task the user may see (else 404) and may `need` (else 403)."""
    task = get_task_or_404(task_id, need=need)
    protocol = followup.protocol_of(task.case_id) if task.kind == "follow_up" else None
    if protocol is None:
        audit.denied("task", task_id, {"action": "follow_up"})
        abort(404)
    return task, protocol


def page_context(task, protocol, errors=None, form=None):
    return dict(task=task, protocol=protocol, case=protocol.case,
                contacts=followup.planned_contacts(protocol),
                attempts=followup.attempts_of(protocol), errors=errors or {},
                form=form or {}, failures=followup.failures_in_a_row(protocol),
                threshold=ATTEMPTS_BEFORE_ALERT, outcomes=OUTCOMES, end_states=END_STATES,
                outcome_labels=OUTCOME_LABELS, state_labels=STATE_LABELS, limits=limits,
                can_act=can_finish_task(current_user, task) and protocol.state == "active",
                task_status_labels=TASK_STATUS_LABELS,
                title=routing.TASK_TITLES["follow_up"], now=utcnow())


@bp.get("/tasks/<int:task_id>/follow-up")
@login_required
@roles_required(*CASEWORK)
def page(task_id):
    """The follow-up protocol seen from one of its tasks."""
    task, protocol = _follow_up_task(task_id)
    audit.read("follow_up_protocol", protocol.id, {"task_id": task.id})
    return render_template("cases/followup.html", **page_context(task, protocol))


def _refused(task_id, error, status):
    """The page again naming what was refused (422), or what changed meanwhile (409)."""
    db.session.rollback()
    task, protocol = _follow_up_task(task_id)
    errors = {name: FIELD_MESSAGES.get(name, _("This follow-up has ended or the task is done."))
              for name in error.fields}
    return render_template("cases/followup.html", **page_context(
        task, protocol, errors, {"outcome": "", "note": ""})), status


def _change(task_id, form, change, done_message):
    """Load -> check -> operate: one attempt or the protocol's end, then the page again."""
    task, protocol = _follow_up_task(task_id, need="done")
    try:
        change(task, protocol)
    except (ops.TaskNotOpen, followup.ProtocolEnded) as error:
        return _refused(task_id, error, 409)
    except ops.OperationError as error:
        return _refused(task_id, error, 422)
    db.session.commit()
    flash(done_message, "success")
    return redirect(url_for("followup.page", task_id=task_id))


@bp.post("/tasks/<int:task_id>/attempts")
@login_required
@roles_required(*CASEWORK)
def log_attempt(task_id):
    """Log an attempt to reach the person."""
    form = AttemptForm()
    return _change(task_id, form, lambda task, _p: followup.log_attempt(
        task, form.outcome.data, form.note.data, current_user), _("Attempt logged."))


@bp.post("/tasks/<int:task_id>/follow-up/end")
@login_required
@roles_required(*CASEWORK)
def end(task_id):
    """End the follow-up protocol: completed, declined, handed to another service."""
    form = EndForm()
    return _change(task_id, form, lambda _t, protocol: followup.end_protocol(
        protocol, form.state.data, form.note.data, current_user), _("Follow-up ended."))


# --------------------------------------------------------------------------- delays


def _in_words(hours):
    """24, 72, 168 → "1 day · 3 days · 1 week" in the user's language."""
    return " · ".join(duration(timedelta(hours=h)) for h in hours)


def _render_delays(form, rows, status=200):
    return render_template("cases/follow_up_delays.html", form=form, rows=rows,
                           level_labels=LEVEL_LABELS, in_words=_in_words,
                           defaults=_in_words(followup.DELAYS["high"]),
                           max_input=MAX_INPUT), status


@bp.route("/admin/follow-up-delays", methods=["GET", "POST"])
@login_required
@roles_required(ADMIN)
def delays():
    """Set the follow-up contacts of each level (for cases opened or raised from now)."""
    rows = followup.delays_rows()
    form = DelaysForm(data={level: list(hours) if source == "admin" else None
                            for level, hours, source, _row in rows})
    if not form.is_submitted():
        return _render_delays(form, rows)
    try:
        form.check()
        changed = followup.set_all_delays(form.values(), current_user, rows)
    except ops.OperationError as error:
        db.session.rollback()
        form.show_refusal(error.fields)
        return _render_delays(form, followup.delays_rows(), 422)
    db.session.commit()
    flash(_("Follow-up delays saved.") if changed else _("Nothing changed."), "success")
    return redirect(url_for("followup.delays"))
