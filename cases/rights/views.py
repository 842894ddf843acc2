"""The rights pages (`/rights/…`): find a record, see what is held, export it, erase it.

See the package's docstring for who may do what.
"""

import json
import logging

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from cellule import audit, nav
from cellule.extensions import db
from cellule.permissions import SUPERVISOR, roles_required
from cellule.roles import OVERSIGHT
from cellule.security import recent_auth_required
from contacts import labels as contact_labels
from contacts.access import survivor
from contacts.models import Person
from contacts.person_page import Section

from .. import labels
from ..models import OPEN_STATUSES, Case
from .erasure import ErasureRefused, anonymisation_of, erase_person
from .export import counts_for, person_data, record_ids
from .forms import EraseForm, FindForm

log = logging.getLogger(__name__)

bp = Blueprint("rights", __name__, url_prefix="/rights")
RIGHTS_ROLES = OVERSIGHT

nav.register("rights.index", _l("Data rights"), RIGHTS_ROLES, 70, group=nav.ADMIN)


def get_person_for_rights_or_404(person_id, user=None):
    """Load a person for a rights action (supervisors, administrators), else 404."""
    user = user or current_user
    person = db.session.get(Person, person_id) if isinstance(person_id, int) else None
    if person is None or user.role not in RIGHTS_ROLES:
        audit.denied("person", person_id, {"purpose": "rights"})
        abort(404)
    return person


def full_view(user=None):
    """Whether the user may see the person's details and content (not administrators)."""
    return (user or current_user).role == SUPERVISOR


# --------------------------------------------------------------------------- views


@bp.route("/", methods=["GET", "POST"])
@login_required
@roles_required(*RIGHTS_ROLES)
def index():
    """Find a person's record by its number, for a rights request."""
    form = FindForm()
    if form.validate_on_submit():
        return redirect(url_for("rights.person", person_id=form.person_id.data), 303)
    return render_template("cases/rights/index.html", form=form), 422 if form.errors else 200


def _page(person, erase_form=None, status=200, refused=None):
    if person.merged_into_id is not None:
        return redirect(url_for("rights.person", person_id=survivor(person).id), 303)
    return render_template(
        "cases/rights/person.html",
        person=person,
        full=full_view(),
        counts=counts_for(person),
        open_cases=list(db.session.scalars(select(Case).where(
            Case.person_id.in_(record_ids(person)), Case.status.in_(OPEN_STATUSES))
            .order_by(Case.id))) if full_view() else [],
        anonymisation=anonymisation_of("person", person.id),
        form=erase_form or EraseForm(),
        refused=refused,
    ), status


@bp.get("/people/<int:person_id>")
@login_required
@roles_required(*RIGHTS_ROLES)
def person(person_id):
    """Show what is held about a person and the rights actions (by role)."""
    person = get_person_for_rights_or_404(person_id)
    audit.read("person", person.id, {"purpose": "rights", "view": "full" if full_view()
                                     else "counts"})
    return _page(person)


def _export_audit(person, fmt, data):
    audit.record("export", "person", person.id, {
        "format": fmt, "purpose": "access_request",
        "cases": [c["id"] for c in data["cases"]],
    })
    db.session.commit()
    log.info("person %s exported (%s) by user %s", person.id, fmt, current_user.id)


@bp.get("/people/<int:person_id>/export")
@login_required
@roles_required(SUPERVISOR)
@recent_auth_required
def export_html(person_id):
    """Everything held about a person, as a page to print or save."""
    person = get_person_for_rights_or_404(person_id)
    if person.merged_into_id is not None:
        return redirect(url_for("rights.export_html", person_id=survivor(person).id), 303)
    data = person_data(person)
    _export_audit(person, "html", data)
    return render_template("cases/rights/export.html", data=data, labels=labels,
                           contact_labels=contact_labels, person=person)


@bp.get("/people/<int:person_id>/export.json")
@login_required
@roles_required(SUPERVISOR)
@recent_auth_required
def export_json(person_id):
    """Everything held about a person, as a JSON file."""
    person = get_person_for_rights_or_404(person_id)
    if person.merged_into_id is not None:
        return redirect(url_for("rights.export_json", person_id=survivor(person).id), 303)
    data = person_data(person)
    _export_audit(person, "json", data)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True),
        mimetype="application/json",
        headers={"Content-Disposition":
                 f'attachment; filename="cellule-person-{person.id}.json"'},
    )


def _force_requested(form):
    """Whether a supervisor asked to erase despite the open cases."""
    return bool(form.force.data) and current_user.role == SUPERVISOR


def _erase_form_valid(form):
    """Validate the erase form; a forced erasure needs its reason (the error on the field)."""
    if not form.validate_on_submit():
        return False
    if _force_requested(form) and not (form.force_reason.data or "").strip():
        form.force_reason.errors.append(_("Say why the open case may be dropped."))
        return False
    return True


def _erase_refused(person, form, refusal):
    """Nothing erased: audit the refusal and show the page again saying why (409)."""
    db.session.rollback()
    audit.record("erase_refused", "person", person.id,
                 {"why": refusal.reason, "open_cases": refusal.open_case_ids})
    db.session.commit()
    return _page(person, form, 409, refused=refusal.reason)


@bp.post("/people/<int:person_id>/erase")
@login_required
@roles_required(*RIGHTS_ROLES)
@recent_auth_required
def erase(person_id):
    """Erase (anonymise) a person on request, with a reason."""
    person = survivor(get_person_for_rights_or_404(person_id))
    form = EraseForm()
    if not _erase_form_valid(form):
        return _page(person, form, 422)
    try:
        row = erase_person(person, current_user, form.reason.data,
                           force=_force_requested(form), force_reason=form.force_reason.data)
    except ErasureRefused as refusal:
        return _erase_refused(person, form, refusal)
    db.session.commit()
    flash(_("The person's data was erased (anonymised)."), "success")
    log.info("erasure %s of person %s committed", row.id, person.id)
    return redirect(url_for("rights.person", person_id=person.id), 303)


# --------------------------------------------------------------------------- wiring


def person_section(person, user):
    """A link from the person page to the rights actions (supervisors)."""
    if user.role != SUPERVISOR:
        return None
    body = render_template("cases/rights/_person_section.html", person=person)
    # body: an autoescaped template's output.
    return Section(title=_("Data protection"), body=Markup(body), order=90)  # nosec B704
