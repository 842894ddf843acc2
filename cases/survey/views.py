"""`/survey/<token>`: the public survey page (no sign-in), answered once."""

import logging

from flask import Blueprint, current_app, render_template, request
from flask_babel import force_locale
from sqlalchemy import select, update

from cellule import audit
from cellule.extensions import db
from cellule.types import utcnow

from .forms import SurveyForm
from .jobs import ui_language
from .models import MAX_COMMENT, Survey, digest

log = logging.getLogger(__name__)

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


bp = Blueprint("survey", __name__)


def _unknown_link():
    """The page of a link that names no survey (404), in the browser's language."""
    language = request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "fr"
    with force_locale(language):
        return render_template("cases/survey/closed.html", reason="unknown"), 404


def _take_answer(survey, form):
    """Record the form's answer: thanks, or "already answered" (410) when another came first."""
    taken = record_answer(survey, int(form.score.data), form.comment.data)
    db.session.commit()
    if not taken:
        return render_template("cases/survey/closed.html", reason="answered"), 410
    return render_template("cases/survey/thanks.html")


@bp.route("/survey/<token>", methods=["GET", "POST"])
def answer(token):
    """Show the survey of a link (no sign-in) and take its single answer."""
    survey = find(token)
    if survey is None:
        return _unknown_link()
    with force_locale(ui_language(survey.language)):
        state = survey.state()
        if state != "open":
            return render_template("cases/survey/closed.html", reason=state), 410
        form = SurveyForm()
        if form.validate_on_submit():
            return _take_answer(survey, form)
        status = 422 if form.errors else 200
        return render_template("cases/survey/form.html", form=form), status
