"""The case page card's forms: start the caring messages (their language), stop them."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField, StringField

from ..forms import ActionForm
from .models import LANGUAGES

LANGUAGE_LABELS = {"fr": _l("French"), "nl": _l("Dutch"), "de": _l("German"), "en": _l("English")}
STOP_LABELS = {"asked_by_person": _l("The person asked to stop"),
               "team_decision": _l("The team decided to stop"),
               "consent_withdrawn": _l("Consent withdrawn"),
               "other": _l("Other reason (say which)")}


class StartForm(ActionForm):
    language = SelectField(_l("Language of the messages"), validate_choice=False)

    def offer(self, default):
        self.language.choices = [SelectChoice(code, LANGUAGE_LABELS[code]) for code in LANGUAGES]
        if not self.is_submitted():
            self.language.data = default if default in LANGUAGES else "fr"
        return self


class StopForm(ActionForm):
    reason = SelectField(_l("Why stop"), validate_choice=False, choices=[
        SelectChoice(code, label) for code, label in STOP_LABELS.items()
        if code != "consent_withdrawn"])
    note = StringField(_l("Note"), default="")
