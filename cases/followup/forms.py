"""The follow-up forms: an attempt, the protocol's end (checked by `operations`), and the
administrators' delays per level (the page checks what it parses; `operations` the rest)."""

import re

from flask_babel import gettext as _
from wtforms import StringField
from wtforms.validators import ValidationError

from ..forms import ActionForm
from ..labels import LEVEL_LABELS
from .models import DELAYS, MAX_CONTACTS, MAX_DELAY_HOURS


class AttemptForm(ActionForm):
    outcome = StringField(default="")
    note = StringField(default="")


class EndForm(ActionForm):
    state = StringField(default="")
    note = StringField(default="")


_HOURS = re.compile(r"\d{1,6}")
MAX_INPUT = 100  # characters of a level's field: ten delays and their commas, at most


def parse_hours(raw):
    """"24, 72, 168" → [24, 72, 168]; "" → None (the defaults). ValueError when a part is
    not a whole number of hours."""
    parts = [p.strip() for p in re.split(r"[,;\s]+", raw or "") if p.strip()]
    if not parts:
        return None
    if not all(_HOURS.fullmatch(p) for p in parts):
        raise ValueError(raw)
    return [int(p) for p in parts]


class DelaysField(StringField):
    """A level's follow-up contacts, in hours after the case opened or was raised, comma
    separated; empty keeps the defaults. `data` is the list of hours, or None."""

    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        if len(self.raw) > MAX_INPUT:
            self.data = None
            raise ValueError(_("At most %(max)s characters.", max=MAX_INPUT))
        try:
            self.data = parse_hours(self.raw)
        except ValueError:
            self.data = None
            raise ValueError(_("Write whole hours separated by commas, e.g. 24, 72, 168.")) \
                from None

    def _value(self):
        if getattr(self, "raw", None) is not None:
            return self.raw
        return ", ".join(str(h) for h in self.data) if self.data else ""

    def pre_validate(self, form):
        hours = self.data
        if hours is None:
            return
        if not 1 <= len(hours) <= MAX_CONTACTS:
            raise ValidationError(_("From 1 to %(max)s contacts.", max=MAX_CONTACTS))
        if any(not 1 <= h <= MAX_DELAY_HOURS for h in hours):
            raise ValidationError(_("Each delay from 1 hour to 366 days (%(max)s hours).",
                                    max=MAX_DELAY_HOURS))
        if hours != sorted(set(hours)):
            raise ValidationError(_("Each contact later than the one before: put the hours "
                                    "in increasing order, without repeats."))


class DelaysForm(ActionForm):
    """One field per level (named by the level's code)."""

    def levels(self):
        return [self[level] for level in DELAYS]

    def values(self):
        """{level: hours or None} as posted."""
        return {level: self[level].data for level in DELAYS}


for _level in DELAYS:
    setattr(DelaysForm, _level, DelaysField(LEVEL_LABELS[_level]))
del _level
