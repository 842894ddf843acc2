"""The follow-up page's forms: an attempt, the protocol's end (checked by `operations`)."""

from wtforms import StringField

from ..forms import ActionForm


class AttemptForm(ActionForm):
    outcome = StringField(default="")
    note = StringField(default="")


class EndForm(ActionForm):
    state = StringField(default="")
    note = StringField(default="")
