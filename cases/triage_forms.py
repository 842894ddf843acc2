"""Forms of the triage screen: a section's fixed fields, the decision, the sign-off.

The questions of a section are not fields here: their ids, types and ranges come from the
versioned script, and `parse_section` reads them from the same form data by the script's
own checks (a form class per script version would copy those checks into validators). The
pages are written by hand in `templates/triage/`, so these forms only read what they post.

CSRF is checked for every POST by `CSRFProtect` (a form field, or htmx's header); the forms
do not check it a second time.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, StringField, TextAreaField
from wtforms.validators import AnyOf

from cellule.security import parse_id

from .routing import Decision


class YesField(Field):
    """A tick posted as `y` (the pages' checkboxes); any other value, or none, is False."""

    def process_formdata(self, valuelist):
        self.data = bool(valuelist) and valuelist[0] == "y"

    def process_data(self, value):
        self.data = bool(value)


class IdListField(Field):
    """Every id a group of checkboxes posts, in order; what is no record id is left out."""

    def process_formdata(self, valuelist):
        self.data = [i for i in map(parse_id, valuelist) if i]

    def process_data(self, value):
        self.data = list(value or ())


class _TriageForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect has checked the request already


class SectionForm(_TriageForm):
    """The fixed fields of a section of the script (and of its live re-render)."""

    # The button pressed: next (answers required), back, or hangup (the person hung up).
    action = StringField(default="next")
    immediate_danger = YesField()
    resources_given = YesField()
    run_id = StringField(default="")  # the draft of the live form (empty before it is stored)
    section = StringField(default="")

    def draft_id(self):
        """The draft the live form names (None before the run is stored)."""
        return parse_id(self.run_id.data)


class DecisionForm(_TriageForm):
    """The decision on the proposal; level and route are the proposal's unless posted."""

    level = StringField()
    route = StringField()
    reason = StringField(default="")
    resources_given = YesField()
    open_case_anyway = YesField()
    coaching_resource_id = StringField()
    coaching_consent = YesField()
    info_resource_ids = IdListField()

    @classmethod
    def for_run(cls, run, formdata):
        return cls(formdata=formdata, level=run.proposed_level or "",
                   route=run.proposed_route or "")

    def decision(self):
        """The routing.Decision this form records."""
        return Decision(
            level=self.level.data,
            route=self.route.data,
            reason=self.reason.data,
            resources_given=self.resources_given.data,
            open_case_anyway=self.open_case_anyway.data,
            coaching_resource_id=parse_id(self.coaching_resource_id.data),
            coaching_consent=self.coaching_consent.data,
            info_resource_ids=self.info_resource_ids.data,
        )


class SignoffForm(_TriageForm):
    """Approve or reject a requested downgrade, with a note (its length is checked by
    `routing.sign_off`, the rule's one place)."""

    decision = StringField(validators=[AnyOf(("approve", "reject"),
                                              message=_l("Choose approve or reject."))])
    note = TextAreaField()

    def approve(self):
        return self.decision.data == "approve"
