"""Checks of people's and contacts' fields, shared by the forms and the JSON API.

Each `check_*` returns the cleaned value or raises ValueError with a message
for the person who typed it; the forms run them as validators, the API's request
schemas (`contacts.schemas`) as fields.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _

from cellule import limits
from cellule.timeparse import BadTime, parse_instant
from cellule.types import utcnow

from .claims import affiliate_number_taken
from .models import REASONS
from .normalise import normalise_affiliate_number, normalise_email

MAX_SUMMARY = limits.SUMMARY
MAX_DURATION = 24 * 60
FUTURE_SLACK = timedelta(minutes=10)


def check_name(value, required=True):
    if value is not None and not isinstance(value, str):
        raise ValueError(_("Must be text."))
    value = " ".join((value or "").split())
    if not value:
        if required:
            raise ValueError(_("A name is required."))
        return None
    if len(value) > limits.NAME:
        raise ValueError(_("At most %(max)s characters.", max=limits.NAME))
    return value


def check_phone(value):
    """Any text is accepted (kept as typed when it is not a number), within limits.PHONE."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(_("Must be text."))
    value = " ".join(value.split())
    if len(value) > limits.PHONE:
        raise ValueError(_("At most %(max)s characters.", max=limits.PHONE))
    return value or None


def check_email(value):
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(_("Must be text."))
    if len(value.strip()) > limits.EMAIL:
        raise ValueError(_("At most %(max)s characters.", max=limits.EMAIL))
    try:
        return normalise_email(value)
    except ValueError:
        raise ValueError(_("This is not a valid email address.")) from None


def check_affiliate_number(value, person_id=None, unique=True, user=None):
    """The cleaned number; with `unique`, refused when another record holds it — as far as
    `user` may know (contacts.claims: for someone who does not see every person, only
    their own records count, and a number of someone else's is filed aside)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(_("Must be text."))
    number = normalise_affiliate_number(value)
    if number is None:
        return None
    if len(number) > limits.AFFILIATE_NUMBER or not number.isalnum():
        raise ValueError(_("Letters and digits only, at most %(max)s.",
                           max=limits.AFFILIATE_NUMBER))
    if unique and affiliate_number_taken(number, user, person_id):
        raise ValueError(_("This affiliate number belongs to another person."))
    return number


def check_choice(value, choices, required=False, default=None):
    if value is None or value == "":
        if required:
            raise ValueError(_("This field is required."))
        return default
    if value not in choices:
        raise ValueError(_("Must be one of: %(choices)s.", choices=", ".join(choices)))
    return value


def check_bool(value, default=False):
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValueError(_("Must be true or false."))
    return value


def check_reasons(value):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise ValueError(_("Must be a list of reasons."))
    unknown = [r for r in value if r not in REASONS]
    if unknown:
        raise ValueError(_("Unknown reason: %(reason)s.", reason=unknown[0][:40]))
    return list(dict.fromkeys(value))


def check_duration(value):
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(_("Must be a whole number of minutes."))
    if not 0 <= value <= MAX_DURATION:
        raise ValueError(_("Between 0 and %(max)s minutes.", max=MAX_DURATION))
    return value


def check_summary(value):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(_("Must be text."))
    if len(value) > MAX_SUMMARY:
        raise ValueError(_("At most %(max)s characters.", max=MAX_SUMMARY))
    return value.strip()


def local_zone():
    return ZoneInfo(current_app.config["CELLULE_TIMEZONE"])


def check_instant(value, required=False):
    """Return an aware UTC datetime from an aware datetime or ISO-8601 text.

    A time without an offset is read in the cell's time zone; the future is refused.
    """
    if value is None or value == "":
        if required:
            raise ValueError(_("This field is required."))
        return None
    try:
        value = parse_instant(value, local_zone())  # bounded, in UTC
    except BadTime as error:
        # Well written but beyond the parser's range: say which of this field's own rules
        # it breaks, rather than the range.
        if error.out_of_range and isinstance(value, str):
            year = value.strip().lstrip("+").split("-", 1)[0]
            if year.isdigit() and int(year) > utcnow().year:
                raise ValueError(_("Must not be in the future.")) from None
            if year.isdigit():
                raise ValueError(_("Must be after the year 2000.")) from None
        raise
    if value > utcnow() + FUTURE_SLACK:
        raise ValueError(_("Must not be in the future."))
    if value.year < 2000:
        raise ValueError(_("Must be after the year 2000."))
    return value
