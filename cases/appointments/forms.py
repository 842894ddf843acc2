"""The appointments' forms: a weekly pattern and a single slot ("My availability"),
removing a slot, booking one from a case, cancelling, recording the outcome."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    TimeField,
    widgets,
)
from wtforms.validators import InputRequired, NumberRange

from ..forms import ActionForm, LocalTimeField
from .models import LANGUAGES, MAX_MINUTES, MIN_MINUTES, MODES
from .texts import LANGUAGE_LABELS, MODE_LABELS, WEEKDAY_LABELS


class _Checkboxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _modes():
    return [SelectChoice(code, MODE_LABELS[code]) for code in MODES]


def _languages():
    return [SelectChoice(code, LANGUAGE_LABELS[code]) for code in LANGUAGES]


class _SlotFields(ActionForm):
    minutes = IntegerField(_l("Minutes"), default=50, validators=[
        InputRequired(_l("Say how long.")),
        NumberRange(MIN_MINUTES, MAX_MINUTES, _l("From 15 to 180 minutes."))])
    mode = SelectField(_l("How"), choices=_modes())
    # No `required` on the boxes (a browser would want every one ticked): the operation
    # refuses none ticked.
    languages = _Checkboxes(_l("Languages"), choices=_languages(), default=["fr"])


class WeeklyForm(_SlotFields):
    weekday = SelectField(_l("Day of the week"), coerce=int, choices=[
        SelectChoice(i, label) for i, label in enumerate(WEEKDAY_LABELS)])
    start = TimeField(_l("Start time"), validators=[InputRequired(_l("Give a time."))])
    first = DateField(_l("From"), validators=[InputRequired(_l("Give a date."))])
    last = DateField(_l("To"), validators=[InputRequired(_l("Give a date."))])


class SingleSlotForm(_SlotFields):
    starts_at = LocalTimeField(_l("Date and time"),
                               validators=[InputRequired(_l("Give a date and time."))])


class BookForm(ActionForm):
    slot_id = IntegerField(_l("Slot"), validators=[InputRequired(_l("Choose a slot."))])


class OutcomeForm(ActionForm):
    outcome = SelectField(_l("Outcome"), choices=[
        SelectChoice("attended", _l("Attended")), SelectChoice("no_show", _l("Did not come"))])
    back = HiddenField()  # "availability": the action came from "My availability"
