"""The safety plan's pages (`/cases/<id>/safety-plan…`): write and review it, read its
older versions, print it, download its PDF, email it to the person with their consent.

The case's team (advisors, psychologists, supervisors who see the case: the
`safety_plan` action of `cases.access`) reads and writes; ambassadors and admins do not.
Every read and write is audited.
"""

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from cellule import audit
from cellule.extensions import db
from cellule.permissions import roles_required
from cellule.roles import STAFF

from .. import queries
from ..access import get_case_or_404
from ..operations import OperationError
from .forms import SafetyPlanForm, SendPlanForm
from .labels import STEP_HINTS, STEP_LABELS
from .models import SafetyPlan
from .operations import StalePlan, email_plan, latest_plan, plan_versions, save_plan
from .pdf import plan_pdf

bp = Blueprint("safety", __name__)
NEED = "safety_plan"


def directory_lines(case):
    """The directory's active entries in the person's language (all without a person)."""
    language = case.person.language if case.person else None
    return [r for r in queries.active_resources()
            if language is None or language in (r.languages or [])]


def _page(case, form=None, send_form=None, status=200, errors=None, conflict=None):
    """The plan page: the newest version (first of `versions`) and its forms."""
    versions = plan_versions(case.id)
    plan = versions[0] if versions else None
    if form is None:
        form = SafetyPlanForm()
        form.fill(plan, case.person.language if case.person else "fr")
    if plan is not None:
        audit.read("safety_plan", plan.id)
    return render_template(
        "cases/safety/plan.html", case=case, plan=plan, form=form,
        send_form=send_form or SendPlanForm(), versions=versions,
        resources=directory_lines(case), errors=errors or {}, conflict=conflict,
        step_labels=STEP_LABELS, step_hints=STEP_HINTS), status


def _plan_version(case, version):
    plan = db.session.scalar(db.select(SafetyPlan).where(
        SafetyPlan.case_id == case.id, SafetyPlan.version == version))
    if plan is None:
        abort(404)
    audit.read("safety_plan", plan.id)
    return plan


@bp.get("/cases/<int:case_id>/safety-plan")
@login_required
@roles_required(*STAFF)
def plan_page(case_id):
    """The newest plan, its form to write or review it, its versions and its sending."""
    return _page(get_case_or_404(case_id, need=NEED))


@bp.post("/cases/<int:case_id>/safety-plan")
@login_required
@roles_required(*STAFF)
def save(case_id):
    """Save the plan as its next version (409 when another save came first)."""
    case = get_case_or_404(case_id, need=NEED, read=False)
    form = SafetyPlanForm()
    try:
        form.check()
        saved = save_plan(case, form.steps(directory_lines(case)), form.language.data,
                             current_user, form.version.data)[1]
    except (OperationError, StalePlan) as error:
        db.session.rollback()
        return _refused(case, form, error)
    db.session.commit()
    flash(_("Safety plan saved.") if saved else _("Nothing changed in the plan."), "success")
    return redirect(url_for("safety.plan_page", case_id=case_id), 303)


def _refused(case, form, error):
    """The plan's page again: the form's problems (422), or the newer version another save
    made first (409)."""
    if isinstance(error, StalePlan):
        form.version.data = error.current  # saving again replaces the newer version
        return _page(case, form=form, status=409, conflict=error)
    return _page(case, form=form, status=422, errors=error.fields)


@bp.get("/cases/<int:case_id>/safety-plan/versions/<int:version>")
@login_required
@roles_required(*STAFF)
def version_page(case_id, version):
    """One version of the plan, as it was saved (printable)."""
    case = get_case_or_404(case_id, need=NEED)
    return render_template("cases/safety/print.html", case=case,
                           plan=_plan_version(case, version), step_labels=STEP_LABELS)


@bp.get("/cases/<int:case_id>/safety-plan/print")
@login_required
@roles_required(*STAFF)
def print_page(case_id):
    """The newest plan to print and give to the person, in the plan's language."""
    case = get_case_or_404(case_id, need=NEED)
    plan = latest_plan(case.id) or abort(404)
    audit.read("safety_plan", plan.id)
    with force_locale(plan.language):
        return render_template("cases/safety/print.html", case=case, plan=plan,
                               step_labels=STEP_LABELS, for_person=True)


@bp.get("/cases/<int:case_id>/safety-plan/pdf")
@login_required
@roles_required(*STAFF)
def pdf(case_id):
    """The newest plan as a PDF, in the plan's language."""
    case = get_case_or_404(case_id, need=NEED)
    plan = latest_plan(case.id) or abort(404)
    audit.read("safety_plan", plan.id, {"format": "pdf"})
    return Response(plan_pdf(plan), mimetype="application/pdf", headers={
        "Content-Disposition": 'attachment; filename="safety-plan.pdf"',
        "Cache-Control": "no-store"})


@bp.post("/cases/<int:case_id>/safety-plan/email")
@login_required
@roles_required(*STAFF)
def email(case_id):
    """Email the newest plan's PDF to the person, their consent recorded on the send."""
    case = get_case_or_404(case_id, need=NEED, read=False)
    plan = latest_plan(case.id) or abort(404)
    form = SendPlanForm()
    try:
        form.check()
        email_plan(plan, current_user, form.consent.data)
    except OperationError as error:
        db.session.rollback()
        return _page(case, send_form=form, status=422, errors=error.fields)
    db.session.commit()
    flash(_("The safety plan is on its way to the person's email address."), "success")
    return redirect(url_for("safety.plan_page", case_id=case.id), 303)
