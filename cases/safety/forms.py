"""The safety plan's forms: the seven steps (one line a item), the directory's lines to
add, and the consent of an email send."""

from flask_babel import lazy_gettext as _l
from wtforms import Field, IntegerField, RadioField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from cellule.security import parse_id

from ..forms import ActionForm
from .labels import CONSENT_LABELS, STEP_HINTS, STEP_LABELS
from .models import CONSENT_CHANNELS, LANGUAGES, MAX_ITEM, MAX_ITEMS, STEPS

# A step's text area: its lines of at most MAX_ITEM characters (the operation checks them).
MAX_STEP_TEXT = MAX_ITEMS * (MAX_ITEM + 1)
STEP_LENGTH = Length(max=MAX_STEP_TEXT)

LANGUAGE_NAMES = {"fr": "Français", "nl": "Nederlands", "de": "Deutsch", "en": "English"}


class IdListField(Field):
    """Ids posted under one name (checked boxes); what is not an id is left out."""

    def process_formdata(self, valuelist):
        self.data = [i for i in (parse_id(v) for v in valuelist) if i]

    def _value(self):
        return ""


def resource_line(resource):
    """A directory entry as a line of the plan: its name and phone number."""
    return " — ".join(part for part in (resource.name, resource.phone) if part)


class SafetyPlanForm(ActionForm):
    """Write or review the plan: the version read (0: none yet), its language, the steps."""

    version = IntegerField(validators=[InputRequired(), NumberRange(min=0)])
    language = SelectField(_l("Language of the plan"),
                           choices=[SelectChoice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES])
    warning_signs = TextAreaField(STEP_LABELS["warning_signs"], validators=[STEP_LENGTH])
    coping = TextAreaField(STEP_LABELS["coping"], validators=[STEP_LENGTH])
    distractions = TextAreaField(STEP_LABELS["distractions"], validators=[STEP_LENGTH])
    people = TextAreaField(STEP_LABELS["people"], validators=[STEP_LENGTH])
    professionals = TextAreaField(STEP_LABELS["professionals"], validators=[STEP_LENGTH])
    environment = TextAreaField(STEP_LABELS["environment"], validators=[STEP_LENGTH])
    reasons_for_living = TextAreaField(STEP_LABELS["reasons_for_living"], validators=[STEP_LENGTH])
    resources = IdListField()

    hints = STEP_HINTS

    def fill(self, plan, language):
        """Show `plan` (or an empty plan in `language`) for editing."""
        self.version.data = plan.version if plan else 0
        self.language.data = plan.language if plan else language
        for step, lines in (plan.steps.items() if plan else ()):
            getattr(self, step).data = "\n".join(lines)

    def steps(self, resources):
        """{step: [lines]}, the picked directory entries added to the professionals."""
        steps = {step: (getattr(self, step).data or "").splitlines() for step in STEPS}
        picked = {r.id: r for r in resources}
        for resource_id in self.resources.data or []:
            line = resource_line(picked[resource_id]) if resource_id in picked else None
            if line and line not in steps["professionals"]:
                steps["professionals"].append(line)
        return steps


class SendPlanForm(ActionForm):
    """Email the plan: the person's consent to receive it so, and how they gave it."""

    consent = RadioField(_l("The person agrees to receive the plan by email"),
                         choices=[SelectChoice(c, CONSENT_LABELS[c]) for c in CONSENT_CHANNELS],
                         validators=[InputRequired(_l("Record the person's consent."))])
