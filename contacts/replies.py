"""Email from Cellule: answer a person's email in its thread, or write them a new one.

An advisor, psychologist or supervisor writes a plain-text email, optionally from a
reply template (`contacts.reply_templates`), on an incoming email contact ("Reply")
or on a person with an address ("Write an email"). `send_reply` sends it through the
outbox with the thread's headers (In-Reply-To, References; the cell's From and
Reply-To come from `cellule.mailer`) and files it at once as an outbound email contact
of the same person, handled, carrying the mail's Message-ID — so that the person's
answer finds it (`contacts.mail_thread`) and the case it was filed on. The case is the
writer's choice among the person's open cases they may work on, which the cases domain
provides (`register_reply_cases`) and links (`signals.reply_filed`).
"""

import logging
import re
from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from cellule import audit
from cellule.extensions import db
from cellule.mailer import OutgoingMail, send_mail
from cellule.permissions import roles_required
from cellule.roles import STAFF

from . import mail_decode, operations, person_page, reply_templates
from .access import get_contact_or_404, get_person_or_404
from .signals import reply_filed

log = logging.getLogger(__name__)

bp = Blueprint("replies", __name__)

# Who writes to people (ambassadors hand over to the cell; admins see no content).
REPLY_ROLES = STAFF
MAX_BODY = 20_000
MAX_SUBJECT = 500
# "Re:" and its translations that mail programs put before a subject, maybe repeated.
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|antw|sv|wg)(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)


# --- The cases a reply may be filed on (filled by the cases domain) ------------------


@dataclass(frozen=True)
class CaseChoice:
    """An open case of the person that the user may file an email on."""

    id: int
    label: str
    linked: bool = False  # the replied-to email is linked to it


_CASE_PROVIDERS = []


def register_reply_cases(provider):
    """Add `provider(person, user, parent)` returning the `CaseChoice`s an email to
    `person` may be filed on (`parent`: the email answered, or None)."""
    if provider not in _CASE_PROVIDERS:
        _CASE_PROVIDERS.append(provider)
    return provider


def reply_cases(person, user, parent=None):
    if person is None:
        return []
    return [c for p in _CASE_PROVIDERS for c in (p(person, user, parent) or ())]


def default_case(cases, asked=None):
    """The case the replied-to email is on, else the one asked for (`?case=`, coming
    from the case page), else the only one; "" (none) otherwise."""
    ids = [str(c.id) for c in cases]
    linked = [str(c.id) for c in cases if c.linked]
    if linked:
        return linked[0]
    if asked in ids:
        return asked
    return ids[0] if len(ids) == 1 else ""


# --- The form ----------------------------------------------------------------------


def reply_subject(subject):
    """`Re: <subject>`, without piling up "Re:", "AW:", "Antw:"… prefixes."""
    rest = _REPLY_PREFIX.sub("", subject or "").strip()
    return f"Re: {rest}" if rest else "Re:"


class ReplyForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[
        DataRequired(_l("Give your email a subject.")), Length(max=MAX_SUBJECT)])
    body = TextAreaField(_l("Your message"), render_kw={"rows": 14}, validators=[
        DataRequired(_l("Write the text of your email.")), Length(max=MAX_BODY)])
    template = SelectField(_l("Start from a template"), choices=[], default="")
    use_template = SubmitField(_l("Use this template"))
    case = SelectField(_l("File on case"), choices=[], default="")
    send = SubmitField(_l("Send"))

    def offer(self, templates, cases):
        self.template.choices = [SelectChoice("", _("— no template —"))] + [
            SelectChoice(str(t.id), f"{t.name} ({t.language})") for t in templates]
        self.case.choices = [SelectChoice("", _("No case"))] + [
            SelectChoice(str(c.id), c.label) for c in cases]

    def template_chosen(self):
        """Validate the "Use this template" submission (token and choice only)."""
        ok = self.csrf_token.validate(self) and self.template.validate(self)
        if ok and not self.template.data:
            self.template.errors = [_("Choose a template first.")]
            ok = False
        return ok

    def apply_template(self, template, person, user):
        subject, body = reply_templates.apply(template, person=person, user=user)
        if subject and not (self.subject.data or "").strip():
            self.subject.data = subject
        typed = (self.body.data or "").rstrip()
        self.body.data = f"{typed}\n\n{body}" if typed else body


# --- The operation -------------------------------------------------------------------


def thread_headers(parent):
    """(In-Reply-To, References) of an answer to the incoming email `parent`: none for a
    message known only by the hash of its bytes (its id was never on the wire)."""
    if parent is None:
        return None, None
    ids = (parent.email_references or "").split()
    message_id = parent.email_message_id
    if mail_decode.is_real_message_id(message_id):
        return message_id, " ".join([*(i for i in ids if i != message_id), message_id])
    return None, " ".join(ids) or None


def send_reply(user, *, person, recipient, subject, body, parent=None, case_id=None):
    """Send an email to a person (an answer to `parent`, or a new one) and file it as an
    outbound email contact, linked to case `case_id` by the cases domain; in the
    caller's transaction. Return the contact. The answered email leaves the inbox."""
    in_reply_to, references = thread_headers(parent)
    mail = send_mail(recipient, subject, body, person_id=person.id if person else None,
                     case_id=case_id, created_by_id=user.id, in_reply_to=in_reply_to,
                     references=references)
    contact = operations.create_contact(
        user, channel="email", person=person, direction="out", handled=True,
        email_sender=current_app.config["MAIL_DEFAULT_SENDER"][:320],
        email_subject=mail.subject, email_body=mail.body,
        email_message_id=mail.message_id, email_references=references)
    mail.contact_id = contact.id  # filed now: `log_sent_mail` leaves it
    audit.record("send", "contact", contact.id,
                 {"mail": mail.id, "answers": parent.id if parent else None}, user=user)
    if parent is not None:
        operations.mark_handled(parent, user)
    reply_filed.send(current_app._get_current_object(), contact=contact, case_id=case_id,
                     user=user)
    log.info("email contact %s (mail %s) written by user %s%s", contact.id, mail.id, user.id,
             f" in answer to contact {parent.id}" if parent else "")
    return contact


# --- The views -----------------------------------------------------------------------


@bp.route("/contacts/<int:contact_id>/reply", methods=["GET", "POST"])
@login_required
@roles_required(*REPLY_ROLES)
def reply(contact_id):
    """Answer an incoming email, in its thread."""
    parent = get_contact_or_404(contact_id)
    if parent.channel != "email" or parent.direction != "in":
        abort(404)
    return _compose(parent.person, parent.email_sender, parent)


@bp.route("/people/<int:person_id>/email", methods=["GET", "POST"])
@login_required
@roles_required(*REPLY_ROLES)
def new_email(person_id):
    """Write a new email to a person."""
    person = get_person_or_404(person_id)
    if person.merged_into_id is not None:
        abort(404)
    return _compose(person, person.email, None)


def _compose(person, recipient, parent):
    """The form: apply a template, or send; re-rendered (422) with what is wrong."""
    if not recipient or not _plain_address(recipient):
        return render_template("contacts/reply.html", person=person, parent=parent,
                               form=None, recipient=recipient), 422
    form, templates = _form(person, parent)
    if form.use_template.data:
        if form.template_chosen():
            form.apply_template(templates[form.template.data], person, current_user)
    elif form.validate_on_submit():
        contact = send_reply(current_user, person=person, recipient=recipient,
                             subject=form.subject.data.strip(), body=form.body.data,
                             parent=parent, case_id=int(form.case.data or 0) or None)
        db.session.commit()
        flash(_("Your email is on its way."), "success")
        return redirect(url_for("contacts.contact", contact_id=contact.id), code=303)
    status = 422 if form.errors else 200
    return render_template("contacts/reply.html", person=person, parent=parent, form=form,
                           recipient=recipient, asked_case=_asked_case()), status


def _form(person, parent):
    """The form with its choices and, on a first display, its defaults."""
    templates = reply_templates.templates_for(person.language if person else None)
    cases = reply_cases(person, current_user, parent)
    defaults = {}
    if request.method == "GET":
        defaults = {"subject": reply_subject(parent.email_subject) if parent else "",
                    "case": default_case(cases, _asked_case())}
    form = ReplyForm(**defaults)
    form.offer(templates, cases)
    return form, {str(t.id): t for t in templates}


def _asked_case():
    asked = request.args.get("case", "")
    return asked if asked.isascii() and asked.isdigit() and len(asked) < 19 else None


def _plain_address(address):
    return address.count("@") == 1 and not any(c in address for c in " <>,;\"'")


# --- On the pages -------------------------------------------------------------------


@bp.app_template_global()
def can_reply(contact):
    """Whether the signed-in user may answer this contact from Cellule."""
    return (contact.channel == "email" and contact.direction == "in"
            and current_user.role in REPLY_ROLES)


@bp.app_template_global()
def can_write_email(person):
    """Whether the signed-in user may write an email to this person from Cellule."""
    return bool(person is not None and person.email and person.merged_into_id is None
                and current_user.role in REPLY_ROLES)


DELIVERY_STATES = {"queued": _l("waiting to be sent"), "skipped": _l("not sent: no mail server")}


@person_page.register_contact_section
def delivery_section(contact, user):
    """What became of the mail of an outbound email contact (from the mail log)."""
    if contact.channel != "email" or contact.direction != "out" or not contact.email_message_id:
        return None
    mail = db.session.scalar(select(OutgoingMail).where(  # by Message-ID: unique, indexed
        OutgoingMail.message_id == contact.email_message_id))
    if mail is None or mail.contact_id != contact.id:
        return None
    body = render_template("contacts/_delivery.html", mail=mail, states=DELIVERY_STATES)
    # body: an autoescaped template's output.
    return person_page.Section(title=_("Delivery"), body=Markup(body), order=5)  # nosec B704


def register(app):
    app.register_blueprint(bp)
