"""The survey's sending: planned when a case closes, mailed once by the `send_survey` job.

See the package's docstring for the rules (who is asked, the single-use token).
"""

import logging
import re
import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from cellule import audit, outbox
from cellule.extensions import db
from cellule.jobs import job
from cellule.mailer import on_sent, send_mail
from cellule.types import utcnow
from contacts.consent.operations import has_consent

from .. import operations as ops
from ..models import Case
from ..routing import STORED_TITLES
from ..signals import case_closed
from .models import Survey, digest

log = logging.getLogger(__name__)

# Outcomes after which nobody is asked how it went: the cell never reached the person.
SKIP_OUTCOMES = ("no_contact",)
_LINK = re.compile(r"(/survey/)[A-Za-z0-9_-]{20,}")


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
    if not has_consent(person.id, "survey"):  # no record: no consent (issue 20)
        log.info("case %s: no survey, the person did not consent to one", case.id)
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
    if not has_consent(person.id, "survey"):  # withdrawn since the case closed
        survey.status = "not_sent"
        _finish_task(survey, "cancelled")
        log.info("survey %s not sent: the survey consent was withdrawn", survey.id)
        return survey.status
    token = secrets.token_urlsafe(32)
    at = utcnow()
    survey.token_digest = digest(token)
    survey.sent_at = at
    survey.expires_at = at + timedelta(days=int(_config("CELLULE_SURVEY_DAYS", 14)))
    subject, body = _message(survey, survey_url(token))
    try:
        # No person_id: the invitation is not logged as a contact (see the package docstring).
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
