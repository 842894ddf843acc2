"""A referral's life on the case page (its card: each referral's state, dated steps and
next-step buttons, htmx or plain posts), the handover pack's print page, and the list per
partner for advisors and supervisors.

A step refused — wrong for the referral's state, or a `share_partner` consent missing —
shows the card again (409) saying why, with a link to record the consent.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from cellule import audit, nav
from cellule.extensions import db, htmx
from cellule.forms import LANGUAGE_NAMES
from cellule.permissions import roles_required
from cellule.roles import DESK, STAFF
from cellule.templating import Translated

from .. import labels, queries
from ..access import get_case_or_404, get_referral_or_404
from ..models import Resource
from ..views import case_context, with_timeline
from . import operations as referrals
from .forms import PartnerFilterForm, StepForm, buttons_for

bp = Blueprint("referral_life", __name__)
NEED = "follow_referral"
PAGE_SIZE = 50
nav.register("referral_life.partners", _l("Referrals to partners"), DESK, 45, group=nav.WORK)


def _card(case, status=200, **extra):
    """The card alone (htmx) or the whole case page with it."""
    if htmx:
        return render_template("cases/referrals/_card.html", case=case, perms={NEED},
                               labels=Translated(labels), **extra), status
    return render_template("cases/case.html", **case_context(case, **extra)), status


@bp.post("/referrals/<int:referral_id>/steps")
@login_required
@roles_required(*STAFF)
def step(referral_id):
    """Record a referral's next step (sent: the handover pack by email or on paper)."""
    referral, case = get_referral_or_404(referral_id)
    form = StepForm()
    try:
        form.check()
        state, channel, at, note = form.values()
        referrals.step(referral, state, current_user, at=at, note=note, channel=channel)
    except referrals.ops.OperationError as error:
        db.session.rollback()
        status = 409 if isinstance(error, referrals.WrongStep | referrals.ConsentMissing) else 422
        return _card(case, status, referral_refusal={"id": referral_id, "fields": error.fields})
    db.session.commit()
    if htmx:  # the card, and the timeline with the step's event (a read of the case: audited)
        return with_timeline("cases/referrals/_card.html",
                             get_case_or_404(case.id, acting=False))
    flash(_("Referral step recorded."), "success")
    return redirect(url_for("cases.case_page", case_id=case.id) + "#referrals-card", code=303)


@bp.get("/referrals/<int:referral_id>/pack")
@login_required
@roles_required(*STAFF)
def pack(referral_id):
    """The handover pack to print (only with the person's `share_partner` consent)."""
    referral, case = get_referral_or_404(referral_id)
    try:
        content = referrals.printed(referral, current_user)
    except referrals.ConsentMissing:
        return render_template("cases/referrals/pack.html", referral=referral, case=case,
                               pack=None), 409
    db.session.commit()
    return render_template("cases/referrals/pack.html", referral=referral, case=case,
                           pack=content, language_names=LANGUAGE_NAMES)


@bp.get("/referrals/partners")
@login_required
@roles_required(*DESK)
def partners():
    """The referrals per partner, filtered by partner and state, newest first."""
    resources = db.session.scalars(select(Resource).order_by(Resource.name)).all()
    form = PartnerFilterForm(formdata=request.args).offer(resources)
    rows = referrals.partner_rows(form.resource_id.data, form.state.data, PAGE_SIZE)
    audit.listed("referral", [row.id for row in rows])
    shown = {"form": form, "rows": rows, "labels": Translated(labels)}
    if htmx and htmx.target == "partner-referrals":
        page = render_template("cases/referrals/_partner_rows.html", **shown)
    else:
        page = render_template("cases/referrals/partners.html", **shown)
    return page


def card_context(case, loaded=None):
    """What the case page's card shows (a template global): each referral with its steps,
    its buttons and whether the person's consent allows the handover. `loaded`: the
    page's referrals already read ({id: referral}, with their resources)."""
    rows = (sorted(loaded.values(), key=lambda r: r.id) if loaded is not None
            else queries.case_referrals(case))
    steps = referrals.events_of([r.id for r in rows])
    waiting = [r for r in rows if "sent" in referrals.allowed_next(r)]
    # The consent is read only when a handover is the next step of one of them.
    sharing = bool(waiting) and referrals.consent_refusal(waiting[0], "sent") is None
    return {"items": [{"referral": r, "steps": steps[r.id],
                       "buttons": buttons_for(referrals.allowed_next(r), bool(r.resource.email))}
                      for r in rows],
            "sharing": sharing}
