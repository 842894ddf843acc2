"""Reply templates: the texts advisors start an email from, kept by admins per language.

Two kinds (`ReplyTemplate.kind`):
- `reply`: picked by an advisor or psychologist in the reply form, then edited before
  sending (opening hours, crisis numbers, the offer of a call back, a route's resources);
- `out_of_hours`: the automatic answer to an email that arrives while the cell is closed
  (`contacts.auto_reply`), one active per language; without one the built-in text is used.

Placeholders in braces are filled when the template is used (`PLACEHOLDERS`, `apply`);
a template naming any other `{…}` is refused when saved. The texts a fresh cell starts
from (`DEFAULTS`) live in code, in the four languages the cell answers in (German has no
UI catalogue, so they are literal texts, not gettext strings): `flask demo` seeds them
and an admin adds them to an empty list with one button (`add_defaults`).

The admins' pages (`bp`, under /admin/reply-templates) list, create, edit, deactivate and
activate templates; every write is audited (`reply_template`, never the text).
"""

import logging
import re
from datetime import time

from babel.dates import format_date, format_time, get_day_names
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from cellule import audit, nav
from cellule.demo import seeder
from cellule.extensions import db
from cellule.permissions import ADMIN, roles_required
from cellule.types import UTCDateTime, utcnow
from triage.business_time import parse_opening_hours
from triage.calendar import get_calendar
from triage.crisis import crisis_lines
from triage.loader import get_script

log = logging.getLogger(__name__)

KINDS = ("reply", "out_of_hours")
LANGUAGES = ("fr", "nl", "de", "en")
LANGUAGE_NAMES = {"fr": "Français", "nl": "Nederlands", "de": "Deutsch", "en": "English"}
# Babel locales of the texts sent to people: Belgian forms, 24-hour times.
LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "de": "de_BE", "en": "en_GB"}
MAX_NAME = 120
MAX_SUBJECT = 200
MAX_BODY = 10_000
SCRIPT_ID = "cellule-triage"  # the triage script whose crisis lines templates give


class ReplyTemplate(db.Model):
    """One template in one language."""

    __tablename__ = "reply_templates"
    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")",
                        name="kind_known"),
        UniqueConstraint("kind", "language", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="reply")
    name: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def __repr__(self):
        return f"<ReplyTemplate {self.id} {self.kind} {self.language}>"


# --- Placeholders ------------------------------------------------------------

PLACEHOLDERS = ("first_name", "advisor_name", "opening_hours", "next_opening",
                "crisis_numbers")
PLACEHOLDER_RE = re.compile(r"\{([^{}\n]{0,60})\}")


def unknown_placeholders(text):
    """The `{…}` of `text` that are not placeholders, in order, each once."""
    found = []
    for name in PLACEHOLDER_RE.findall(text or ""):
        if name not in PLACEHOLDERS and name not in found:
            found.append(name)
    return found


def _locale(language):
    return LOCALES.get(language, LOCALES["fr"])


def _clock(minutes, language):
    if minutes >= 24 * 60:
        return "24:00"
    return format_time(time(minutes // 60, minutes % 60), "short", locale=_locale(language))


def opening_hours_text(language, calendar=None):
    """The cell's opening hours in `language`, one line per run of days alike, e.g.
    "maandag – vrijdag: 08:30 – 17:00"."""
    calendar = calendar or get_calendar()
    week = parse_opening_hours(calendar.opening_hours)
    names = get_day_names("wide", locale=_locale(language))
    lines, day = [], 0
    while day < 7:
        last = day
        while last + 1 < 7 and week[last + 1] == week[day]:
            last += 1
        if week[day]:
            days = names[day] if last == day else f"{names[day]} – {names[last]}"
            hours = ", ".join(f"{_clock(s, language)} – {_clock(e, language)}"
                              for s, e in week[day])
            lines.append(f"{days}: {hours}")
        day = last + 1
    return "\n".join(lines)


def next_opening_text(language, now=None, calendar=None):
    """When the cell opens next (now when open), e.g. "lundi 16 mars 2026, 08:30"."""
    calendar = calendar or get_calendar()
    moment = calendar.next_opening(now or utcnow()).astimezone(calendar.tz)
    locale = _locale(language)
    return f"{format_date(moment, 'full', locale=locale)}, " \
           f"{format_time(moment, 'short', locale=locale)}"


def crisis_numbers_text(language):
    """The crisis lines for `language` (`triage.crisis`'s rule: the directory's, else the
    script's, 112 last), "name: phone" a line."""
    lines = crisis_lines(get_script(SCRIPT_ID), language)
    return "\n".join(f"{line.name}: {line.phone}" if line.name and line.name != line.phone
                     else line.phone for line in lines)


def fill(text, values):
    """Replace the placeholders of `text`; an empty name drops its leading space too
    ("Bonjour {first_name}," → "Bonjour," for an unknown sender)."""
    for name, value in values.items():
        if not value and name in ("first_name", "advisor_name"):
            text = re.sub(r" ?\{" + name + r"\}", "", text)
        text = text.replace("{" + name + "}", value or "")
    return text


def placeholder_values(language, *, person=None, user=None, now=None):
    first = ""
    if person is not None and person.name:
        first = (person.name.split() or [""])[0]
    return {
        "first_name": first,
        "advisor_name": user.name if user is not None else "",
        "opening_hours": opening_hours_text(language),
        "next_opening": next_opening_text(language, now),
        "crisis_numbers": crisis_numbers_text(language),
    }


# --- Using a template (the interface of the reply form and the automatic answer) -----


def templates_for(language=None, kind="reply"):
    """The active templates of a kind, those in `language` first, then by name."""
    rows = db.session.scalars(
        db.select(ReplyTemplate).where(ReplyTemplate.kind == kind,
                                       ReplyTemplate.active.is_(True))
        .order_by(ReplyTemplate.language, ReplyTemplate.name)
    ).all()
    return sorted(rows, key=lambda t: t.language != language)


def apply(template, *, person=None, user=None):
    """Return (subject, body) of `template` with its placeholders filled for this person
    (may be None: an unknown sender) and this staff member (None: the automatic answer),
    in the template's language."""
    values = placeholder_values(template.language, person=person, user=user)
    return fill(template.subject or "", values), fill(template.body, values)


def out_of_hours_template(language):
    """The active out-of-hours template of `language`, else the built-in one (not stored)."""
    row = db.session.scalars(
        select(ReplyTemplate).where(ReplyTemplate.kind == "out_of_hours",
                                    ReplyTemplate.language == language,
                                    ReplyTemplate.active.is_(True))
        .order_by(ReplyTemplate.id).limit(1)
    ).first()
    return row or default_template("out_of_hours", language)


# --- The built-in texts --------------------------------------------------------

_CALL_BACK = {
    "fr": ("Proposition de rappel", "Votre message à la cellule d'écoute",
           "Bonjour {first_name},\n\nMerci de nous avoir écrit. Je vous propose de vous "
           "appeler pour en parler : dites-moi à quel numéro et à quel moment cela vous "
           "convient.\n\nNous sommes joignables :\n{opening_hours}\n\nEn cas d'urgence, à "
           "tout moment :\n{crisis_numbers}\n\n{advisor_name}\nCellule d'écoute"),
    "nl": ("Terugbelaanbod", "Uw bericht aan de luistercel",
           "Beste {first_name},\n\nBedankt om ons te schrijven. Ik stel voor u te bellen om "
           "erover te praten: laat me weten op welk nummer en wanneer het u past.\n\nWe "
           "zijn bereikbaar:\n{opening_hours}\n\nIn nood, op elk moment:\n{crisis_numbers}"
           "\n\n{advisor_name}\nLuistercel"),
    "de": ("Rückrufangebot", "Ihre Nachricht an die Zuhörstelle",
           "Guten Tag {first_name},\n\nvielen Dank für Ihre Nachricht. Ich biete Ihnen an, "
           "Sie anzurufen, um darüber zu sprechen: Sagen Sie mir, unter welcher Nummer und "
           "wann es Ihnen passt.\n\nWir sind erreichbar:\n{opening_hours}\n\nIm Notfall, "
           "jederzeit:\n{crisis_numbers}\n\n{advisor_name}\nZuhörstelle"),
    "en": ("Call back offer", "Your message to the listening cell",
           "Hello {first_name},\n\nThank you for writing to us. I would like to call you to "
           "talk it over: tell me which number and what time suit you.\n\nWe can be "
           "reached:\n{opening_hours}\n\nIn an emergency, at any time:\n{crisis_numbers}"
           "\n\n{advisor_name}\nListening cell"),
}
_HOURS_AND_LINES = {
    "fr": ("Heures d'ouverture et numéros d'urgence", "Quand nous joindre",
           "Bonjour {first_name},\n\nLa cellule d'écoute est ouverte :\n{opening_hours}\n\n"
           "En dehors de ces heures, si vous êtes en danger ou avez des idées suicidaires, "
           "appelez :\n{crisis_numbers}\n\n{advisor_name}"),
    "nl": ("Openingsuren en noodnummers", "Wanneer u ons kunt bereiken",
           "Beste {first_name},\n\nDe luistercel is open:\n{opening_hours}\n\nBuiten die "
           "uren, als u in gevaar bent of aan zelfdoding denkt, bel:\n{crisis_numbers}\n\n"
           "{advisor_name}"),
    "de": ("Öffnungszeiten und Notrufnummern", "Wann Sie uns erreichen",
           "Guten Tag {first_name},\n\ndie Zuhörstelle ist geöffnet:\n{opening_hours}\n\n"
           "Außerhalb dieser Zeiten, wenn Sie in Gefahr sind oder an Suizid denken, rufen "
           "Sie an:\n{crisis_numbers}\n\n{advisor_name}"),
    "en": ("Opening hours and crisis numbers", "When to reach us",
           "Hello {first_name},\n\nThe listening cell is open:\n{opening_hours}\n\nOutside "
           "these hours, if you are in danger or thinking about suicide, call:\n"
           "{crisis_numbers}\n\n{advisor_name}"),
}
_OUT_OF_HOURS = {
    "fr": ("Réponse hors des heures d'ouverture", None,
           "Bonjour {first_name},\n\nMerci pour votre message. La cellule d'écoute est "
           "fermée en ce moment : nous le lirons dès notre réouverture, {next_opening}, et "
           "nous vous répondrons.\n\nNos heures d'ouverture :\n{opening_hours}\n\nSi vous "
           "êtes en danger ou avez des idées suicidaires, n'attendez pas, appelez "
           "maintenant :\n{crisis_numbers}\n\nCeci est une réponse automatique."),
    "nl": ("Antwoord buiten de openingsuren", None,
           "Beste {first_name},\n\nBedankt voor uw bericht. De luistercel is nu gesloten: "
           "we lezen het zodra we weer open zijn, {next_opening}, en antwoorden u dan.\n\n"
           "Onze openingsuren:\n{opening_hours}\n\nBent u in gevaar of denkt u aan "
           "zelfdoding, wacht dan niet en bel nu:\n{crisis_numbers}\n\nDit is een "
           "automatisch antwoord."),
    "de": ("Antwort außerhalb der Öffnungszeiten", None,
           "Guten Tag {first_name},\n\nvielen Dank für Ihre Nachricht. Die Zuhörstelle ist "
           "gerade geschlossen: Wir lesen sie, sobald wir wieder geöffnet sind, "
           "{next_opening}, und antworten Ihnen dann.\n\nUnsere Öffnungszeiten:\n"
           "{opening_hours}\n\nWenn Sie in Gefahr sind oder an Suizid denken, warten Sie "
           "nicht und rufen Sie jetzt an:\n{crisis_numbers}\n\nDies ist eine automatische "
           "Antwort."),
    "en": ("Out-of-hours answer", None,
           "Hello {first_name},\n\nThank you for your message. The listening cell is closed "
           "at the moment: we will read it as soon as we open again, {next_opening}, and "
           "answer you.\n\nOur opening hours:\n{opening_hours}\n\nIf you are in danger or "
           "thinking about suicide, do not wait: call now\n{crisis_numbers}\n\nThis is an "
           "automatic answer."),
}
DEFAULTS = (("reply", _CALL_BACK), ("reply", _HOURS_AND_LINES), ("out_of_hours", _OUT_OF_HOURS))


def default_template(kind, language):
    """The built-in out-of-hours template of `language` (French if unknown), not stored."""
    texts = _OUT_OF_HOURS if kind == "out_of_hours" else _CALL_BACK
    name, subject, body = texts.get(language) or texts["fr"]
    return ReplyTemplate(kind=kind, language=language if language in texts else "fr",
                         name=name, subject=subject, body=body, active=True)


def add_defaults(user=None):
    """Store the built-in templates missing from the table (by kind, language, name); an
    out-of-hours one only where the language has none active. Return how many."""
    existing = {(t.kind, t.language, t.name): t for t in db.session.scalars(
        select(ReplyTemplate)).all()}
    active_ooh = {t.language for t in existing.values() if t.kind == "out_of_hours" and t.active}
    added = 0
    for kind, texts in DEFAULTS:
        for language, (name, subject, body) in texts.items():
            if (kind, language, name) in existing or (
                    kind == "out_of_hours" and language in active_ooh):
                continue
            template = ReplyTemplate(kind=kind, language=language, name=name, subject=subject,
                                     body=body, active=True,
                                     updated_by_id=user.id if user else None)
            db.session.add(template)
            db.session.flush()
            audit.record("create", "reply_template", template.id,
                         {"kind": kind, "language": language, "built_in": True}, user=user)
            added += 1
    log.info("%s built-in reply template(s) added", added)
    return added


@seeder(15)
def seed(users_by_role):
    """Start the demo with the built-in templates in fr, nl, de and en."""
    add_defaults((users_by_role.get("admin") or [None])[0])


# --- The admins' pages ---------------------------------------------------------

bp = Blueprint("reply_templates", __name__, url_prefix="/admin/reply-templates")

nav.register("reply_templates.index", _l("Reply templates"), (ADMIN,), order=62,
             group=nav.ADMIN)

KIND_LABELS = {"reply": _l("Replies"), "out_of_hours": _l("Out-of-hours answers")}


def _kind_choices():
    return [SelectChoice("reply", _("Reply (picked by an advisor)")),
            SelectChoice("out_of_hours", _("Out-of-hours answer (sent automatically)"))]


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (deactivate, activate, add defaults)."""


class ReplyTemplateForm(FlaskForm):
    kind = SelectField(_l("Kind"))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=MAX_NAME)])
    language = SelectField(
        _l("Language of the text"),
        choices=[SelectChoice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
    )
    subject = StringField(_l("Subject"), validators=[Optional(), Length(max=MAX_SUBJECT)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=MAX_BODY)],
                         render_kw={"rows": 14})
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, *args, template=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.template = template
        self.kind.choices = _kind_choices()

    def validate_body(self, field):
        unknown = unknown_placeholders(field.data)
        if unknown:
            raise ValidationError(_(
                "Unknown placeholder {%(name)s}. Use %(known)s.", name=unknown[0],
                known=", ".join("{" + p + "}" for p in PLACEHOLDERS)))

    def validate_subject(self, field):
        unknown = unknown_placeholders(field.data)
        if unknown:
            raise ValidationError(_("Unknown placeholder {%(name)s}.", name=unknown[0]))

    def validate_name(self, field):
        if _clash(self.template, self.kind.data, self.language.data, name=field.data.strip()):
            raise ValidationError(_("A template of this kind and language already has this "
                                    "name."))

    def validate_active(self, field):
        if field.data and self.kind.data == "out_of_hours" and _clash(
                self.template, "out_of_hours", self.language.data, active=True):
            raise ValidationError(_(
                "Another out-of-hours answer in this language is active: deactivate it "
                "first (one per language is sent)."))


def _clash(template, kind, language, *, name=None, active=None):
    """Another template of this kind and language with this name, or active."""
    stmt = select(ReplyTemplate.id).where(ReplyTemplate.kind == kind,
                                          ReplyTemplate.language == language)
    if name is not None:
        stmt = stmt.where(ReplyTemplate.name == name)
    if active:
        stmt = stmt.where(ReplyTemplate.active.is_(True))
    if template is not None and template.id is not None:
        stmt = stmt.where(ReplyTemplate.id != template.id)
    return db.session.scalar(stmt.limit(1)) is not None


def get_template_or_404(template_id):
    template = db.session.get(ReplyTemplate, template_id)
    if template is None:
        abort(404)
    return template


def save_template(template, form, user):
    """Create (template None) or update a template from a valid form; audited."""
    action = "create" if template is None else "update"
    if template is None:
        template = ReplyTemplate()
        db.session.add(template)
    template.kind = form.kind.data
    template.language = form.language.data
    template.name = form.name.data.strip()
    template.subject = (form.subject.data or "").strip() or None
    template.body = form.body.data.replace("\r\n", "\n")
    template.active = form.active.data
    template.updated_by_id = user.id
    db.session.flush()
    audit.record(action, "reply_template", template.id,
                 {"kind": template.kind, "language": template.language,
                  "active": template.active})
    log.info("reply template %s %sd", template.id, action)
    return template


def set_active(template, active, user):
    """Activate or deactivate; False when it would make two active out-of-hours answers."""
    if active and template.kind == "out_of_hours" and _clash(
            template, "out_of_hours", template.language, active=True):
        return False
    template.active = active
    template.updated_by_id = user.id
    audit.record("activate" if active else "deactivate", "reply_template", template.id)
    log.info("reply template %s %s", template.id, "activated" if active else "deactivated")
    return True


def _grouped():
    """[(kind, label, [(language, name, [templates])])] for the list page."""
    rows = db.session.scalars(select(ReplyTemplate).order_by(
        ReplyTemplate.kind, ReplyTemplate.language, ReplyTemplate.active.desc(),
        ReplyTemplate.name)).all()
    groups = []
    for kind in KINDS:
        languages = [(lang, LANGUAGE_NAMES[lang],
                      [t for t in rows if t.kind == kind and t.language == lang])
                     for lang in LANGUAGES]
        groups.append((kind, KIND_LABELS[kind], [g for g in languages if g[2]]))
    return groups, len(rows)


def _render_index(status=200, error=None):
    groups, count = _grouped()
    return render_template("contacts/reply_templates.html", groups=groups, count=count,
                           form=ActionForm(), error=error,
                           language_names=LANGUAGE_NAMES), status


@bp.get("/")
@login_required
@roles_required(ADMIN)
def index():
    """List the templates by kind and language."""
    return _render_index()


def _render_form(form, template, status=200):
    return render_template("contacts/reply_template_form.html", form=form, template=template,
                           placeholders=PLACEHOLDERS), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
@roles_required(ADMIN)
def new():
    """Create a template."""
    form = ReplyTemplateForm()
    if request.method == "GET" and request.args.get("kind") in KINDS:
        form.kind.data = request.args["kind"]
    if not form.validate_on_submit():
        return _render_form(form, None, 422 if request.method == "POST" else 200)
    template = save_template(None, form, current_user)
    db.session.commit()
    flash(_("Template “%(name)s” saved.", name=template.name), "success")
    return redirect(url_for(".index"), 303)


@bp.route("/<int:template_id>", methods=["GET", "POST"])
@login_required
@roles_required(ADMIN)
def edit(template_id):
    """Edit a template."""
    template = get_template_or_404(template_id)
    form = ReplyTemplateForm(obj=template, template=template)
    if not form.validate_on_submit():
        return _render_form(form, template, 422 if request.method == "POST" else 200)
    save_template(template, form, current_user)
    db.session.commit()
    flash(_("Template “%(name)s” saved.", name=template.name), "success")
    return redirect(url_for(".index"), 303)


def _toggle(template_id, active):
    template = get_template_or_404(template_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not set_active(template, active, current_user):
        db.session.rollback()
        return _render_index(409, _(
            "Another out-of-hours answer in %(language)s is active: deactivate it first "
            "(one per language is sent).", language=LANGUAGE_NAMES[template.language]))
    db.session.commit()
    flash(_("Template “%(name)s” activated.", name=template.name) if active
          else _("Template “%(name)s” deactivated.", name=template.name), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:template_id>/deactivate")
@login_required
@roles_required(ADMIN)
def deactivate(template_id):
    """Stop offering (or sending) a template; it stays listed."""
    return _toggle(template_id, False)


@bp.post("/<int:template_id>/activate")
@login_required
@roles_required(ADMIN)
def activate(template_id):
    """Offer (or send) a template again."""
    return _toggle(template_id, True)


@bp.post("/defaults")
@login_required
@roles_required(ADMIN)
def defaults():
    """Add the built-in templates that are missing."""
    if not ActionForm().validate_on_submit():
        abort(400)
    added = add_defaults(current_user)
    db.session.commit()
    flash(ngettext("%(num)s built-in template added.", "%(num)s built-in templates added.",
                   added), "success")
    return redirect(url_for(".index"), 303)


def register(app):
    app.register_blueprint(bp)
