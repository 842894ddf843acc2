"""The case page card's form: a referral's next step (one button per step allowed), with
when it happened and a note; the partners' list filters."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Optional

from cellule import limits

from ..forms import ActionForm, LocalTimeField
from ..labels import REFERRAL_STATE_LABELS
from .models import STATES

# The buttons: a step, and for `sent` how the pack goes (`sent_email`, `sent_print`).
BUTTONS = {
    "accepted": _l("The person accepts"),
    "sent_email": _l("Email the handover pack"),
    "sent_print": _l("Handed over on paper"),
    "confirmed": _l("The partner confirms"),
    "attended": _l("Attended the first appointment"),
    "no_show": _l("Did not come"),
    "declined": _l("Declined"),
    "closed": _l("Close the referral"),
}


def buttons_for(next_states, has_email):
    """[(button value, label)] for a referral's allowed steps, in the table's order."""
    shown = []
    for state in next_states:
        if state == "sent":
            if has_email:
                shown.append(("sent_email", BUTTONS["sent_email"]))
            shown.append(("sent_print", BUTTONS["sent_print"]))
        else:
            shown.append((state, BUTTONS[state]))
    return shown


class StepForm(ActionForm):
    step = SelectField(_l("Step"), validators=[InputRequired()], choices=[
        SelectChoice(value, label) for value, label in BUTTONS.items()])
    at = LocalTimeField(_l("When (empty: now)"))
    note = StringField(_l("Note"), default="")

    def validate_note(self, field):
        if limits.too_long(field.data, limits.REASON):
            raise ValueError(limits.at_most(limits.REASON))

    def values(self):
        """(state, channel, at, note) for `operations.step`."""
        state, channel = self.step.data, None
        if state.startswith("sent_"):
            state, channel = "sent", state.removeprefix("sent_")
        return state, channel, self.at.data, self.note.data


class PartnerFilterForm(FlaskForm):
    """The partners' list: which partner, which state (GET)."""

    class Meta:
        csrf = False

    resource_id = SelectField(_l("Partner"), validate_choice=False, validators=[Optional()])
    state = SelectField(_l("State"), validate_choice=False, validators=[Optional()])

    def offer(self, resources):
        self.resource_id.choices = [SelectChoice("", _l("All partners"))] + [
            SelectChoice(str(r.id), r.name) for r in resources]
        self.state.choices = [SelectChoice("", _l("Every state"))] + [
            SelectChoice(s, REFERRAL_STATE_LABELS[s]) for s in STATES]
        return self
