"""Pages of the core: the home page and the audit log."""

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from . import audit, limits, nav
from .permissions import ROLES, SUPERVISOR, roles_required

bp = Blueprint("main", __name__)

nav.register("main.home", _l("Home"), ROLES, order=0)
nav.register("main.audit_log", _l("Audit log"), (SUPERVISOR,), order=80,
             group=nav.ADMIN)


@bp.get("/")
@login_required
def home():
    """Show the user's starting page for their role."""
    return render_template("cellule/home.html", role=current_user.role)


@bp.get("/audit")
@login_required
@roles_required(SUPERVISOR)
def audit_log():
    """List the audit events of one object for a supervisor."""
    # A lookup, stored nowhere: longer than the columns matches nothing, so cut it there.
    object_type = request.args.get("object_type", "").strip()[:limits.LOOKUP]
    object_id = request.args.get("object_id", "").strip()[:limits.LOOKUP]
    events = audit.events_for(object_type, object_id) if object_type and object_id else []
    return render_template(
        "cellule/audit.html", events=events, object_type=object_type, object_id=object_id,
        action_label=audit.action_label,
    )
