"""The re-assessment page (`/cases/<id>/reassessment`): the safety screen, PHQ-2, GAD-2 and
CBI personal asked again in the person's language, from a follow-up attempt that reached
the person, from the closing step, or from the case page.

The case's team records it (the `safety_plan` action of `cases.access`); every read and
write is audited.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from cellule.extensions import db
from cellule.permissions import roles_required
from cellule.roles import STAFF
from cellule.security import parse_id

from ..access import get_case_or_404
from ..models import Task
from ..operations import OperationError
from ..triage_views import crisis_lines
from .forms import ReassessmentForm
from .models import COMPARED, OCCASIONS
from .operations import first_run, language_for, record_reassessment, script_for, sections

bp = Blueprint("reassessment", __name__)
NEED = "safety_plan"
OCCASION_LABELS = {"follow_up": _l("At a follow-up contact"), "closing": _l("Before closing"),
                   "other": _l("Another exchange")}
SCORE_LABELS = {"phq2": _l("PHQ-2"), "gad2": _l("GAD-2"), "cbi_personal": _l("CBI personal")}
DIRECTION_LABELS = {"improved": _l("improved"), "same": _l("unchanged"),
                    "worse": _l("worse")}


def _task(case, task_id):
    """The case's follow-up task named (None: none, or not one of the case's)."""
    task = db.session.get(Task, task_id) if task_id else None
    return task if task is not None and task.case_id == case.id and task.kind == "follow_up" \
        else None


def _page(case, occasion, task, answers=None, errors=None, immediate_danger=False,
          status=200):
    run = first_run(case.id)
    script = script_for(run)
    language = language_for(case, run, script)
    ui = str(get_locale())
    safety = script.section_for_scorer("cssrs")
    crisis = immediate_danger or any((answers or {}).get(item.id) == "yes"
                                     for item in safety.items)
    return render_template(
        "cases/reassessment/form.html", case=case, first=run, script=script,
        sections=sections(script), language=language,
        ui_language=ui if ui in script.languages else "en", answers=answers or {},
        errors=errors or {}, occasion=occasion, task=task, immediate_danger=immediate_danger,
        occasion_labels=OCCASION_LABELS, crisis_lines=crisis_lines(script, language)
        if crisis else ()), status


@bp.get("/cases/<int:case_id>/reassessment")
@login_required
@roles_required(*STAFF)
def form_page(case_id):
    """The questions of a re-assessment, in the person's language."""
    case = get_case_or_404(case_id, need=NEED)
    occasion = request.args.get("occasion")
    task = _task(case, parse_id(request.args.get("task")))
    occasion = "follow_up" if task else occasion if occasion in OCCASIONS[1:] else "other"
    return _page(case, occasion, task)


@bp.post("/cases/<int:case_id>/reassessments")
@login_required
@roles_required(*STAFF)
def record(case_id):
    """Record the re-assessment; then the case page (or, before closing, the closing step)."""
    case = get_case_or_404(case_id, need=NEED, read=False)
    form = ReassessmentForm()
    task = _task(case, form.task())
    occasion = "follow_up" if task else form.occasion_code()
    answers, errors, alerted = _record(case, form, occasion, task)
    if errors:
        return _page(case, occasion, task, answers, errors, form.immediate_danger.data, 422)
    flash(_("Re-assessment recorded.") if not alerted else
          _("Re-assessment recorded. Imminent danger: every supervisor on duty has been "
            "alerted."), "success")
    if occasion == "closing":
        return redirect(url_for("cases.close_step", case_id=case_id), 303)
    return redirect(url_for("cases.case_page", case_id=case_id) + "#reassessment-card", 303)


def _record(case, form, occasion, task):
    """Record and commit the re-assessment `form` holds: (answers, None, whether it alerted
    the supervisors), or (answers, the problems by field, False) with nothing written."""
    script = script_for(first_run(case.id))
    answers, errors = form.answers(script, sections(script))
    try:
        if errors:
            raise OperationError("invalid answers", errors)
        row = record_reassessment(case, answers, current_user, occasion=occasion, task=task,
                                  immediate_danger=form.immediate_danger.data)
    except OperationError as error:
        db.session.rollback()
        return answers, errors or {"case": _("The case is closed: it cannot be re-assessed.")
                                   if "case" in error.fields else _("Check the answers.")}, False
    alerted = row.alerted  # read before the commit expires it
    db.session.commit()
    return answers, None, alerted


def register_labels(app):
    """The card's and the timeline's labels (template globals)."""
    app.jinja_env.globals.update(reassessment_score_labels=SCORE_LABELS,
                                 reassessment_direction_labels=DIRECTION_LABELS,
                                 reassessment_occasion_labels=OCCASION_LABELS,
                                 reassessment_compared=COMPARED)

