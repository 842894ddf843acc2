"""The mail quarantine page: the messages that could not be ingested, retry and discard.

Who sees it, and what (decided for issue 12): **admins only**, and **metadata only** —
when it was quarantined, its size, the mailbox and UID it came from, why it failed
(an error class or a limit, written by the code, never quoted from the message), and
what became of it. A quarantined email is personal content (it may be a distress
message) while admins see no case content (DESIGN §1): so no sender, subject, body or
attachment is shown to anyone here, and the raw bytes are never rendered, only fed
back to the ingestion. An admin acts technically — retry once the cause is fixed, or
discard — and a message that still cannot be read stays in the cell's mailbox (flagged
read) for whoever keeps it to open in a mail client. Supervisors are not offered the
page: there is nothing clinical to see in it, and a retried message reaches them the
ordinary way, as an inbox contact. Every action is audited (`mail_message`).
"""

import logging

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField
from wtforms.validators import InputRequired

from cellule import nav
from cellule.extensions import db
from cellule.mailbox import QuarantinedMessage
from cellule.permissions import ADMIN, roles_required

from . import mail_ingest

log = logging.getLogger(__name__)

bp = Blueprint("mail_quarantine", __name__, url_prefix="/admin/mail-quarantine")

nav.register("mail_quarantine.index", _l("Mail quarantine"), (ADMIN,), order=92,
             group=nav.ADMIN)

HANDLED_SHOWN = 50


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (retry)."""


class DiscardForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand that the message will be deleted and cannot be retried."),
        validators=[InputRequired(_l("Tick the box to confirm."))],
    )


def _row_or_404(row_id):
    row = db.session.get(QuarantinedMessage, row_id)
    if row is None or row.status != QuarantinedMessage.PENDING:
        abort(404)
    return row


@bp.get("/")
@login_required
@roles_required(ADMIN)
def index():
    """List the quarantined messages awaiting action, then the last ones handled."""
    kept = QuarantinedMessage.raw.isnot(None).label("kept")
    pending = db.session.execute(
        select(QuarantinedMessage, kept)
        .where(QuarantinedMessage.status == QuarantinedMessage.PENDING)
        .order_by(QuarantinedMessage.id)
    ).all()
    handled = db.session.scalars(
        select(QuarantinedMessage)
        .where(QuarantinedMessage.status != QuarantinedMessage.PENDING)
        .order_by(QuarantinedMessage.id.desc())
        .limit(HANDLED_SHOWN)
    ).all()
    return render_template("contacts/mail_quarantine.html", pending=pending,
                           handled=handled, form=ActionForm())


@bp.post("/<int:row_id>/retry")
@login_required
@roles_required(ADMIN)
def retry(row_id):
    """Ingest a quarantined message again, through the same path as the poll."""
    row = _row_or_404(row_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if row.raw is None:
        flash(_("This message was too large to keep: it can only be discarded here."), "error")
        return redirect(url_for(".index"), 303)
    try:
        mail_ingest.retry_quarantined(row, current_user)
    except mail_ingest.RetryFailed as failure:
        flash(_("The message still cannot be read: %(reason)s.", reason=failure.reason),
              "error")
        return redirect(url_for(".index"), 303)
    flash(_("The message was read and filed as an email contact in the inbox."), "success")
    return redirect(url_for(".index"), 303)


@bp.get("/<int:row_id>/discard")
@login_required
@roles_required(ADMIN)
def confirm_discard(row_id):
    """Ask before discarding a quarantined message."""
    row = _row_or_404(row_id)
    return render_template("contacts/mail_quarantine_discard.html", row=row, form=DiscardForm())


@bp.post("/<int:row_id>/discard")
@login_required
@roles_required(ADMIN)
def discard(row_id):
    """Delete a quarantined message's bytes; the row stays for the audit."""
    row = _row_or_404(row_id)
    form = DiscardForm()
    if not form.validate_on_submit():
        return render_template("contacts/mail_quarantine_discard.html", row=row,
                               form=form), 422
    mail_ingest.discard_quarantined(row, current_user)
    flash(_("The message was discarded."), "success")
    return redirect(url_for(".index"), 303)


def register(app):
    app.register_blueprint(bp)
