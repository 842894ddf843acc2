"""The rights pages' forms: find a record by its number, erase it with a reason."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from cellule import limits


class FindForm(FlaskForm):
    person_id = IntegerField(_l("Person number"), validators=[InputRequired(),
                                                              NumberRange(min=1)])


class EraseForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        description=_l("E.g. the request's date and reference. Do not write the person's name."),
        validators=[InputRequired(), Length(min=5, max=limits.ERASURE_REASON)],
    )
    force = BooleanField(_l("Erase even though a case is open"))
    force_reason = TextAreaField(_l("Why the open case may be dropped"),
                                 validators=[Optional(), Length(max=limits.ERASURE_REASON)])
    confirm = BooleanField(_l("I understand that this cannot be undone."),
                           validators=[InputRequired()])
