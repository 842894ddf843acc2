"""The failed-jobs page: jobs that failed after their retries, and a button to run them again."""

import logging

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_htmx import make_response as htmx_response
from flask_login import login_required

from . import audit, nav
from .extensions import db, htmx
from .outbox import OutboxMessage, failed_rows, retry
from .permissions import ADMIN, SUPERVISOR, roles_required

log = logging.getLogger(__name__)

bp = Blueprint("jobs", __name__)

nav.register("jobs.failed", _l("Failed jobs"), (SUPERVISOR, ADMIN), order=91,
             group=nav.ADMIN)


@bp.get("/jobs/failed")
@login_required
@roles_required(SUPERVISOR, ADMIN)
def failed():
    """List the jobs that failed after their retries."""
    return render_template("cellule/failed_jobs.html", rows=failed_rows())


@bp.post("/jobs/failed/<int:row_id>/retry")
@login_required
@roles_required(SUPERVISOR, ADMIN)
def retry_job(row_id):
    """Run a failed job again."""
    row = db.session.get(OutboxMessage, row_id)
    if row is None or row.status != "failed":
        abort(404)
    retry(row)
    audit.record("retry", "job", row.id, {"job": row.job_name})
    db.session.commit()
    if htmx:
        return htmx_response(render_template("cellule/_failed_job.html", row=row))
    flash(_("The job will run again."), "success")
    return redirect(url_for("jobs.failed"))


def register(app):
    app.register_blueprint(bp)
