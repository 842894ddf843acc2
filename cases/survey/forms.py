"""The survey's form: a score from 1 to 5 and an optional comment."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from .models import MAX_COMMENT

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
