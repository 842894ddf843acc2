"""The consent form: one purpose's answer (yes or no) as the person gave it, on the
text version shown to the advisor (a hidden field: the words the page showed)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, SubmitField
from wtforms.validators import AnyOf, InputRequired

from . import texts
from .models import CHANNELS, PURPOSES

PURPOSE_LABELS = {
    "cell_processing": _l("Processing by the cell"),
    "share_psychologist": _l("Sharing with a psychologist"),
    "share_partner": _l("Sharing with a partner"),
    "paid_coaching": _l("Paid coaching"),
    "outreach": _l("Contact on the cell's initiative"),
    "survey": _l("Satisfaction survey"),
    "caring_messages": _l("Caring messages"),
}
CHANNEL_LABELS = {"oral": _l("Oral (during a call)"), "written": _l("Written"),
                  "web": _l("Web form")}
STATE_LABELS = {"granted": _l("agreed"), "refused": _l("refused"), "withdrawn": _l("withdrawn"),
                None: _l("not asked")}
# Paid coaching is asked with each coaching referral, at the price shown there.
RECORDED_HERE = tuple(p for p in PURPOSES if p != "paid_coaching")


class ConsentForm(FlaskForm):
    """A person's answer for one purpose (the URL's; the form's prefix too, so that a page
    holds one form a purpose): "Agrees" or "Refuses" (a withdrawal if a yes stands)."""

    text_version = HiddenField(validators=[InputRequired(), AnyOf(tuple(texts.TEXTS))])
    channel = SelectField(_l("How"), default="oral",
                          choices=[SelectChoice(c, CHANNEL_LABELS[c]) for c in CHANNELS],
                          validators=[InputRequired()])
    agree = SubmitField(_l("Agrees"))
    refuse = SubmitField(_l("Refuses"))

    def values(self):
        """The operation's keywords."""
        return {"granted": bool(self.agree.data) and not self.refuse.data,
                "channel": self.channel.data, "text_version": self.text_version.data}


class WithdrawForm(FlaskForm):
    """Withdraw a purpose's standing yes (paid coaching included); prefix "w-<purpose>"."""

    channel = SelectField(_l("How"), default="oral",
                          choices=[SelectChoice(c, CHANNEL_LABELS[c]) for c in CHANNELS],
                          validators=[InputRequired()])
    withdraw = SubmitField(_l("Withdraw"))
