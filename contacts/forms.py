"""Forms of the advisor's desk: search, person, contact, internal referral, merge."""

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    SearchField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from cellule import limits

from . import validation
from .labels import (
    CHANNEL_LABELS,
    DIRECTION_LABELS,
    LANGUAGE_LABELS,
    REASON_LABELS,
    SECTOR_LABELS,
)
from .models import CHANNELS, DIRECTIONS, LANGUAGES, REASONS, SECTORS


def _choices(codes, labels, blank=None):
    choices = [SelectChoice("", blank)] if blank is not None else []
    return choices + [SelectChoice(code, labels[code]) for code in codes]


def cleaned(check, **kwargs):
    """A validator that runs a `validation.check_*` and keeps the cleaned value."""

    def validator(form, field):
        try:
            field.data = check(field.data, **kwargs)
        except ValueError as error:
            raise ValidationError(str(error)) from None

    return validator


def unique_affiliate(form, field):
    # As far as the signed-in user may know (contacts.claims): a number of a record they
    # may not see is no error, so that it reveals nothing.
    try:
        field.data = validation.check_affiliate_number(
            field.data, getattr(form, "person_id_for_unique", None), user=current_user
        )
    except ValueError as error:
        raise ValidationError(str(error)) from None


class SearchForm(FlaskForm):
    q = SearchField(
        _l("Search a person"),
        validators=[Optional(), Length(max=limits.SEARCH)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    # Where the results lead: "people" (the person page) or "pick" (the new-contact form).
    mode = HiddenField(default="people")
    pop = HiddenField()

    def terms(self):
        """The search as posted: (query, mode, screen-pop token or None)."""
        mode = "pick" if self.mode.data == "pick" else "people"
        return (self.q.data or "").strip(), mode, self.pop.data or None


class PersonFieldsMixin:
    """The person's details, shared by the person form and the new-contact form."""

    # `validation`'s checks enforce the limits of phone, email and number; `maxlength` shows them.
    name = StringField(
        _l("Name"), validators=[Length(max=limits.NAME)], render_kw={"autocomplete": "off"}
    )
    phone = TelField(
        _l("Phone"),
        validators=[cleaned(validation.check_phone)],
        render_kw={"autocomplete": "off", "maxlength": limits.PHONE},
    )
    email = EmailField(
        _l("Email"),
        validators=[cleaned(validation.check_email)],
        render_kw={"autocomplete": "off", "maxlength": limits.EMAIL},
    )
    affiliate_number = StringField(
        _l("Affiliate number"),
        validators=[unique_affiliate],
        render_kw={"autocomplete": "off", "maxlength": limits.AFFILIATE_NUMBER},
    )
    language = SelectField(
        _l("Language of the person"), choices=_choices(LANGUAGES, LANGUAGE_LABELS), default="fr"
    )
    starter = BooleanField(_l("Starter (less than 3 years of activity)"))
    sector = SelectField(
        _l("Sector"), choices=_choices(SECTORS, SECTOR_LABELS, blank="—"), default=""
    )
    confirm_duplicate = BooleanField(_l("This is a different person: create a new record"))

    def person_values(self):
        return {
            "name": self.name.data,
            "phone": self.phone.data,
            "email": self.email.data,
            "affiliate_number": self.affiliate_number.data,
            "language": self.language.data,
            "starter": bool(self.starter.data),
            "sector": self.sector.data or None,
        }


class PersonForm(PersonFieldsMixin, FlaskForm):
    def __init__(self, *args, person_id=None, **kwargs):
        self.person_id_for_unique = person_id
        super().__init__(*args, **kwargs)

    def validate_name(self, field):
        try:
            field.data = validation.check_name(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from None


class ContactForm(PersonFieldsMixin, FlaskForm):
    """A contact, with either a chosen person, a new person, or nobody (anonymous)."""

    person_id = HiddenField()
    pop = HiddenField()
    then = HiddenField()  # "triage": run the triage once the contact is saved
    anonymous = BooleanField(_l("Anonymous contact (no person recorded)"))
    channel = SelectField(
        _l("Channel"), choices=_choices(CHANNELS, CHANNEL_LABELS), default="phone"
    )
    direction = SelectField(
        _l("Direction"), choices=_choices(DIRECTIONS, DIRECTION_LABELS), default="in"
    )
    occurred_at = DateTimeLocalField(
        _l("When"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        tz=validation.local_zone,
        validators=[InputRequired(), cleaned(validation.check_instant, required=True)],
    )
    duration_minutes = IntegerField(
        _l("Duration (minutes)"),
        validators=[Optional(), NumberRange(min=0, max=validation.MAX_DURATION)],
        render_kw={"inputmode": "numeric", "min": 0, "max": validation.MAX_DURATION},
    )
    reasons = SelectMultipleField(_l("Reasons"), choices=_choices(REASONS, REASON_LABELS))
    summary = TextAreaField(
        _l("Summary"),
        validators=[Length(max=validation.MAX_SUMMARY)],
        render_kw={"rows": 6},
    )

    def contact_values(self):
        """The exchange's fields, as `operations.create_contact` takes them."""
        return {
            "channel": self.channel.data,
            "direction": self.direction.data,
            "occurred_at": self.occurred_at.data,
            "duration_minutes": self.duration_minutes.data,
            "reasons": self.reasons.data,
            "summary": (self.summary.data or "").strip(),
        }

    def validate_person_id(self, field):
        if field.data and not (field.data.isascii() and field.data.isdigit()):
            raise ValidationError(_l("Pick the person again."))

    def validate_name(self, field):
        if self.person_id.data or self.anonymous.data:
            return
        try:
            field.data = validation.check_name(field.data)
        except ValueError:
            raise ValidationError(
                _l("Pick a person, enter a new person's name, or mark the contact anonymous.")
            ) from None


class ReferralForm(FlaskForm):
    """The ambassador's short form: who, how to reach them, what was noticed, consent."""

    name = StringField(
        _l("Who is it?"),
        validators=[cleaned(validation.check_name)],
        render_kw={"autocomplete": "off", "maxlength": limits.NAME},
    )
    reach = StringField(
        _l("How to reach them"),
        validators=[Optional(), Length(max=limits.EMAIL)],
        render_kw={"autocomplete": "off"},
    )
    noticed = TextAreaField(
        _l("What did you notice?"),
        validators=[InputRequired(), Length(max=validation.MAX_SUMMARY)],
        render_kw={"rows": 5},
    )
    language = SelectField(
        _l("Language of the person"), choices=_choices(LANGUAGES, LANGUAGE_LABELS), default="fr"
    )
    consent = BooleanField(_l("They agree to be contacted by the listening cell"))

    def referral_values(self):
        """The referral's fields, as `operations.create_referral` takes them."""
        return {
            "name": self.name.data,
            "reach": self.reach.data,
            "noticed": self.noticed.data.strip(),
            "consent": self.consent.data,
            "language": self.language.data,
        }

    def validate_reach(self, field):
        value = " ".join((field.data or "").split())
        if "@" in value:
            try:
                validation.check_email(value)
            except ValueError as error:
                raise ValidationError(str(error)) from None
        field.data = value


class MergeForm(FlaskForm):
    winner_id = IntegerField(
        _l("Number of the record to keep"),
        validators=[InputRequired(), NumberRange(min=1, max=2**62)],
        render_kw={"inputmode": "numeric"},
    )
    confirm = BooleanField(
        _l("I checked: both records are the same person"), validators=[InputRequired()]
    )


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (mark handled)."""
