"""The satisfaction survey: a single-use link mailed when a case closes, a public page.

- On `case_closed` (in the closing transaction): a `survey` task on the case, a
  survey row, and an outbox request for the `send_survey` job. Nothing is asked of
  people without an email address, nor of people the cell never reached
  (outcome `no_contact`).
- `send_survey` (idempotent: it acts on a `pending` survey only) draws a random
  token, stores only its SHA-256, and mails the link through the mailer in the
  person's language. The mail is about the case, not logged as a contact with the
  person (an invitation is not an exchange, and the statistics count exchanges),
  and once it is sent the token is struck from the mail log.
- `/survey/<token>`: no sign-in; 1–5 and an optional comment; the answer is taken
  by a conditional UPDATE, so the link works exactly once, and only until
  `expires_at` (`CELLULE_SURVEY_DAYS`, default 14).
"""

import hashlib
import logging
import re
import secrets
from datetime import timedelta

from babel.dates import format_date
from flask import Blueprint, current_app, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from cellule import audit, limits, outbox
from cellule.extensions import db
from cellule.jobs import job
from cellule.mailer import on_sent, send_mail
from cellule.types import UTCDateTime, utcnow

from . import operations as ops
from .models import Case, Task
from .routing import STORED_TITLES
from .signals import case_closed

log = logging.getLogger(__name__)

STATUSES = ("pending", "sent", "not_sent", "answered")
# Outcomes after which nobody is asked how it went: the cell never reached the person.
SKIP_OUTCOMES = ("no_contact",)
MAX_COMMENT = limits.COMMENT
_LINK = re.compile(r"(/survey/)[A-Za-z0-9_-]{20,}")


class Survey(db.Model):
    """One satisfaction survey for one closed case."""

    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")", name="status_known"
        ),
        CheckConstraint("score IS NULL OR (score >= 1 AND score <= 5)", name="score_range"),
        Index("ix_surveys_sent_at", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    # SHA-256 of the link's token (256 random bits); the token itself is never stored.
    token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[object | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[object | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[object | None] = mapped_column(UTCDateTime)
    score: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    mail_id: Mapped[int | None]

    case: Mapped[Case] = relationship()
    task: Mapped[Task | None] = relationship()

    def state(self, at=None):
        """`pending`, `not_sent`, `open` (answerable), `answered` or `expired`."""
        if self.status == "sent":
            return "expired" if self.expires_at <= (at or utcnow()) else "open"
        return self.status

    def __repr__(self):
        return f"<Survey {self.id} {self.status}>"


def digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _config(name, default):
    return current_app.config.get(name, default)


def base_url():
    """The public address the links point to: `CELLULE_BASE_URL`, else the first trusted
    host over HTTPS, else the development server."""
    configured = _config("CELLULE_BASE_URL", "")
    if configured:
        return configured.rstrip("/")
    hosts = _config("TRUSTED_HOSTS", None)
    if hosts:
        return "https://" + hosts[0]
    return "http://127.0.0.1:5000"


def survey_url(token):
    """The absolute link to the survey page (built without a request: jobs send it)."""
    path = current_app.url_map.bind("localhost").build("survey.answer", {"token": token})
    return base_url() + path


def ui_language(language):
    """The person's language if the interface has it, else the default one."""
    languages = current_app.config["LANGUAGES"]
    return language if language in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


# --------------------------------------------------------------------------- creation


@case_closed.connect
def on_case_closed(sender, case_id, **extra):
    """Plan the survey of a case that just closed (in the closing transaction)."""
    create_survey(db.session.get(Case, case_id))


def create_survey(case):
    """Add the survey task, the survey and the request to send it; return the survey or None."""
    if case is None or case.outcome in SKIP_OUTCOMES:
        return None
    person = case.person
    if person is None or not person.email:
        return None
    if db.session.scalar(select(Survey.id).where(Survey.case_id == case.id)):
        return None
    task = ops.create_task(title=STORED_TITLES["survey"], kind="survey", actor=None, case=case,
                           code="survey")
    survey = Survey(case_id=case.id, task_id=task.id, language=person.language or "fr")
    db.session.add(survey)
    db.session.flush()
    outbox.request("send_survey", survey.id, key=f"survey:{survey.id}")
    audit.record("create", "survey", survey.id, {"case_id": case.id})
    log.info("survey %s planned for case %s", survey.id, case.id)
    return survey


def _finish_task(survey, status):
    task = survey.task
    if task is None or task.status != "open":
        return
    task.status = status
    task.done_at = utcnow()
    ops.add_event(survey.case, "task_done" if status == "done" else "task_cancelled", None,
                  task_id=task.id, task_kind=task.kind)
    audit.record("update", "task", task.id, {"status": status})


def _message(survey, link):
    language = ui_language(survey.language)
    with force_locale(language):
        until = format_date(survey.expires_at.astimezone(_tz()), "long", locale=language)
        subject = _("How did it go with the listening cell?")
        body = "\n\n".join((
            _("Hello,"),
            _("You were recently in touch with the listening cell of your social insurance "
              "fund. Would you tell us how it went? It takes one minute: one question and, "
              "if you wish, a comment."),
            link,
            _("The link works once, until %(date)s. Your answer is only used, without your "
              "name, for our statistics.", date=until),
            _("Thank you,\nThe listening cell"),
        ))
    return str(subject), str(body)


def _tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo(current_app.config["CELLULE_TIMEZONE"])


@job("send_survey", timeout=60)
def send_survey(survey_id):
    """Mail the survey link once; return the survey's status."""
    survey = db.session.scalar(select(Survey).where(Survey.id == survey_id).with_for_update())
    if survey is None:
        log.warning("survey %s: no such survey", survey_id)
        return None
    if survey.status != "pending":
        log.info("survey %s already %s", survey.id, survey.status)
        return survey.status
    person = survey.case.person
    if person is None or not person.email:
        survey.status = "not_sent"
        _finish_task(survey, "cancelled")
        log.info("survey %s not sent: no email address", survey.id)
        return survey.status
    token = secrets.token_urlsafe(32)
    at = utcnow()
    survey.token_digest = digest(token)
    survey.sent_at = at
    survey.expires_at = at + timedelta(days=int(_config("CELLULE_SURVEY_DAYS", 14)))
    subject, body = _message(survey, survey_url(token))
    try:
        # No person_id: the invitation is not logged as a contact (see the module docstring).
        mail = send_mail(person.email, subject, body, key=f"survey:{survey.id}",
                         case_id=survey.case_id)
    except ValueError:  # not a single plain address: nobody to ask
        survey.token_digest = survey.sent_at = survey.expires_at = None
        survey.status = "not_sent"
        _finish_task(survey, "cancelled")
        log.info("survey %s not sent: unusable email address", survey.id)
        return survey.status
    survey.mail_id = mail.id
    survey.status = "sent"
    _finish_task(survey, "done")
    audit.record("update", "survey", survey.id, {"status": "sent", "mail_id": mail.id})
    log.info("survey %s sent (mail %s)", survey.id, mail.id)
    return survey.status


@on_sent
def strike_token(mail):
    """Once the invitation left, keep no usable link in the mail log."""
    if (mail.key or "").startswith("survey:"):
        mail.body = _LINK.sub(r"\1…", mail.body)


# --------------------------------------------------------------------------- answering


def find(token):
    """Return the survey of a link's token, or None."""
    token = (token or "").strip()
    if not 20 <= len(token) <= 100:
        return None
    return db.session.scalar(select(Survey).where(Survey.token_digest == digest(token)))


def record_answer(survey, score, comment, at=None):
    """Take the answer if the survey is still open; return whether it was taken.

    One conditional UPDATE: of two simultaneous answers, only one finds it open.
    """
    at = at or utcnow()
    if score not in range(1, 6):
        raise ValueError("score must be 1 to 5")
    comment = (comment or "").strip()[:MAX_COMMENT] or None
    taken = db.session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.status == "sent", Survey.expires_at > at)
        .values(status="answered", answered_at=at, score=score, comment=comment)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken:
        audit.record("answer", "survey", survey.id)
        log.info("survey %s answered", survey.id)
    return bool(taken)


SCORE_LABELS = {
    1: _l("1 — very dissatisfied"),
    2: _l("2 — dissatisfied"),
    3: _l("3 — neither satisfied nor dissatisfied"),
    4: _l("4 — satisfied"),
    5: _l("5 — very satisfied"),
}


class SurveyForm(FlaskForm):
    score = RadioField(
        _l("How satisfied are you with the help you received?"),
        choices=[SelectChoice(str(n), SCORE_LABELS[n]) for n in range(1, 6)],
        validators=[InputRequired(message=_l("Please choose an answer from 1 to 5."))],
    )
    comment = TextAreaField(
        _l("Would you like to add something? (optional)"),
        validators=[Optional(), Length(max=MAX_COMMENT)],
    )


bp = Blueprint("survey", __name__)


@bp.route("/survey/<token>", methods=["GET", "POST"])
def answer(token):
    """Show the survey of a link (no sign-in) and take its single answer."""
    survey = find(token)
    if survey is None:
        language = request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "fr"
        with force_locale(language):
            return render_template("cases/survey/closed.html", reason="unknown"), 404
    with force_locale(ui_language(survey.language)):
        state = survey.state()
        if state != "open":
            return render_template("cases/survey/closed.html", reason=state), 410
        form = SurveyForm()
        if form.validate_on_submit():
            taken = record_answer(survey, int(form.score.data), form.comment.data)
            db.session.commit()
            if not taken:
                return render_template("cases/survey/closed.html", reason="answered"), 410
            return render_template("cases/survey/thanks.html")
        status = 422 if form.errors else 200
        return render_template("cases/survey/form.html", form=form), status
