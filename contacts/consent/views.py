"""The consent pages: `/people/<id>/consents` (each purpose's state, its text to read out,
the record and withdraw forms, the history) and the same panel inside a call (the
contact page, the triage screen), whose forms answer htmx with the panel again, so that
the advisor never leaves the call.

The cell's professionals (advisors, psychologists, supervisors) only; every read and
write is audited on the person.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from cellule import audit
from cellule.extensions import db, htmx
from cellule.permissions import roles_required
from cellule.roles import STAFF
from cellule.security import parse_id

from .. import person_page
from ..access import get_contact_or_404, get_person_or_404
from ..labels import LANGUAGE_LABELS
from . import texts
from .forms import (
    CHANNEL_LABELS,
    PURPOSE_LABELS,
    RECORDED_HERE,
    STATE_LABELS,
    ConsentForm,
    WithdrawForm,
)
from .models import PURPOSES
from .operations import ConsentError, consents_of, history_of, record_consent, withdraw_consent

bp = Blueprint("consent", __name__)
CONSENT_ROLES = STAFF  # ambassadors and admins never see consents


def may_see_consents(user):
    return user.is_authenticated and user.role in CONSENT_ROLES


def _call(person):
    """The contact of the call the advisor came from (`?contact=`), if it is this person's."""
    contact_id = parse_id(request.args.get("contact"))
    if contact_id is None:
        return None
    contact = get_contact_or_404(contact_id, audit_read=False)
    return contact if contact.person_id == person.id else None


def panel_context(person, call=None, errors=None, posted=None, saved=None, history=None):
    """What `_panel.html` shows: the state and forms of each purpose, fresh unless posted
    (`history`: the person's rows already read)."""
    state = consents_of(person.id, history)
    forms = {p: ConsentForm(formdata=None, prefix=p, text_version=texts.CURRENT[p])
             for p in RECORDED_HERE}
    withdraw = {p: WithdrawForm(formdata=None, prefix=f"w-{p}")
                for p, row in state.items() if row is not None and row.active}
    if posted is not None:
        (withdraw if isinstance(posted[1], WithdrawForm) else forms)[posted[0]] = posted[1]
    return {"person": person, "state": state, "forms": forms, "withdraw_forms": withdraw,
            "call": call, "errors": errors or {}, "saved": saved, "texts": texts,
            "purposes": PURPOSES,
            "purpose_labels": PURPOSE_LABELS, "channel_labels": CHANNEL_LABELS,
            "state_labels": STATE_LABELS}


def consent_panel(person, contact=None, in_card=False):
    """The panel of a call (contact page, triage screen) for a user who may see it."""
    if person is None or not may_see_consents(current_user):
        return Markup("")
    audit.read("person", person.id)  # its consents, shown in the call (one INSERT with the page's)
    # an autoescaped template's output
    return Markup(render_template("contacts/consent/_call_panel.html",  # nosec B704
                                  in_card=in_card, **panel_context(person, call=contact)))


def person_section(person, user):
    """The person page's "Consents" card: each purpose's state (professionals only)."""
    if not may_see_consents(user):
        return None
    body = render_template("contacts/consent/_person_card.html", **panel_context(person))
    # body: an autoescaped template's output.
    return person_page.Section(title=_("Consents"), body=Markup(body), order=40)  # nosec B704


def contact_section(contact, user):
    """The contact page's panel: record a consent during the call."""
    if contact.person is None or not may_see_consents(user):
        return None
    return person_page.Section(title=_("Consents"), order=60,
                               body=consent_panel(contact.person, contact, in_card=True))


def _page(person, call=None, status=200, **kwargs):
    history = history_of(person.id)
    return render_template("contacts/consent/page.html", history=history,
                           language_name=LANGUAGE_LABELS.get(person.language),
                           **panel_context(person, call=call, history=history, **kwargs)), status


def _answer(person, call, purpose, form=None, error=None):
    """After a post: the panel again (htmx) or back to the call or the consents page."""
    if error is not None:
        db.session.rollback()
        kwargs = {"errors": {purpose: error.fields}, "posted": (purpose, form)}
        if htmx:
            return render_template("contacts/consent/_panel.html",
                                   **panel_context(person, call=call, **kwargs)), 422
        return _page(person, call=call, status=422, **kwargs)
    db.session.commit()
    if htmx:
        return render_template("contacts/consent/_panel.html",
                               **panel_context(person, call=call, saved=purpose))
    flash(_("The consent was recorded."), "success")
    if call is not None:
        return redirect(url_for("contacts.contact", contact_id=call.id), 303)
    return redirect(url_for("consent.page", person_id=person.id), 303)


@bp.get("/people/<int:person_id>/consents")
@login_required
@roles_required(*CONSENT_ROLES)
def page(person_id):
    """A person's consents: each purpose's state, its text, the forms, the history."""
    person = get_person_or_404(person_id, audit_read=False)
    audit.read("person", person.id, {"consents": True})
    return _page(person, call=_call(person))


@bp.post("/people/<int:person_id>/consents/<purpose>")
@login_required
@roles_required(*CONSENT_ROLES)
def record(person_id, purpose):
    """Record the person's yes or no for a purpose, as heard or read on the text shown."""
    person = get_person_or_404(person_id, audit_read=False)
    if purpose not in RECORDED_HERE:
        abort(404)
    call, form = _call(person), ConsentForm(prefix=purpose)
    try:
        if not form.validate() or not (form.agree.data or form.refuse.data):
            raise ConsentError("invalid form", {k: " ".join(v) for k, v in form.errors.items()}
                               or {"answer": _("Choose agrees or refuses.")})
        record_consent(person, purpose, actor=current_user, **form.values())
    except ConsentError as error:
        return _answer(person, call, purpose, form, error)
    return _answer(person, call, purpose)


@bp.post("/people/<int:person_id>/consents/<purpose>/withdraw")
@login_required
@roles_required(*CONSENT_ROLES)
def withdraw(person_id, purpose):
    """Withdraw the person's standing yes for a purpose."""
    person = get_person_or_404(person_id, audit_read=False)
    if purpose not in PURPOSES:
        abort(404)
    call, form = _call(person), WithdrawForm(prefix=f"w-{purpose}")
    try:
        if not form.validate():
            raise ConsentError("invalid form", {k: " ".join(v) for k, v in form.errors.items()})
        withdraw_consent(person, purpose, actor=current_user, channel=form.channel.data)
    except ConsentError as error:
        return _answer(person, call, purpose, form, error)
    return _answer(person, call, purpose)
