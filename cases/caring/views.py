"""The caring messages' actions on the case page card: start the series, stop it.

The case's team (advisors, psychologists, supervisors who see the case: the
`caring_messages` action of `cases.access`) starts and stops; the card shows the series,
its next message and how many were sent. A refusal shows the case page again (422) with
the card saying why (no consent, no email address, a series already).
"""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from cellule import limits
from cellule.extensions import db
from cellule.permissions import roles_required
from cellule.roles import STAFF

from ..access import case_can, get_case_or_404
from ..operations import OperationError
from ..views import case_context
from . import operations as caring
from .forms import STOP_LABELS, StartForm, StopForm

bp = Blueprint("caring", __name__)
NEED = "caring_messages"
FIELD_MESSAGES = {
    "consent": _l("The person has not given their consent to caring messages: record it on "
                  "their page first."),
    "email": _l("The person has no email address: add one on their page first."),
    "person": _l("The case names nobody yet: identify the person first."),
    "series": _l("This case's caring messages were started already."),
    "language": _l("Choose the language of the messages."),
    "reason": _l("Choose why the messages stop."),
    "note": _l("Say why in the note (at most %(n)s characters).", n=limits.REASON),
}


def _refused(case_id, error):
    """The case page again, its card naming what stands in the way (422)."""
    db.session.rollback()
    case = get_case_or_404(case_id, read=False)
    errors = [str(FIELD_MESSAGES.get(name, name)) for name in error.fields]
    return render_template("cases/case.html", **case_context(case, caring_errors=errors)), 422


@bp.post("/cases/<int:case_id>/caring")
@login_required
@roles_required(*STAFF)
def start(case_id):
    """Start the case's caring messages."""
    case = get_case_or_404(case_id, need=NEED)
    form = StartForm()
    try:
        form.check()
        caring.start_series(case, current_user, language=form.language.data)
    except OperationError as error:
        return _refused(case_id, error)
    db.session.commit()
    flash(_("Caring messages planned."), "success")
    return redirect(url_for("cases.case_page", case_id=case_id) + "#caring-card", code=303)


@bp.post("/cases/<int:case_id>/caring/stop")
@login_required
@roles_required(*STAFF)
def stop(case_id):
    """Stop the case's caring messages: the ones still planned are cancelled."""
    case = get_case_or_404(case_id, need=NEED)
    form, series = StopForm(), caring.series_of(case.id)
    try:
        form.check()
        if series is None:
            raise caring.SeriesRefused("no series", {"series": "none"})
        caring.stop_series(series, form.reason.data, form.note.data, current_user)
    except OperationError as error:
        return _refused(case_id, error)
    db.session.commit()
    flash(_("Caring messages stopped."), "success")
    return redirect(url_for("cases.case_page", case_id=case_id) + "#caring-card", code=303)


def offered(case):
    """Whether the signed-in user is to offer caring messages for `case` now (the follow-up
    page's link to the card): they may start them and the card offers them first."""
    return case_can(current_user, case, NEED) and caring.card(case)["offered"]


def card_context(case):
    """What the case page's card shows (a template global): the series and its figures
    (`operations.card`), its forms, how many messages a series has."""
    start_form = StartForm().offer(case.person.language if case.person else None)
    return {**caring.card(case), "start_form": start_form, "stop_form": StopForm(),
            "count": len(caring.months_for()), "stop_labels": STOP_LABELS}
