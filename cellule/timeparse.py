"""Dates and instants from outside — JSON bodies, forms, query strings, cursors — read in
one place and bounded to one sane range.

Python's datetimes span the years 1 to 9999, but `0001-01-01T00:00+05:00` converted to UTC,
or a day added to 9999-12-31, overflows (a 500), and the databases disagree on far years.
Nothing a listening cell records, plans or reports on lies before 1900 or after 2100:
outside that range a value is refused like a malformed one, with a message for its field.
"""

import re
from datetime import UTC, date, datetime

from flask_babel import lazy_gettext as _l

EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)
RANGE_TEXT = f"between {EARLIEST.isoformat()} and {LATEST.isoformat()}"
# Longer than any ISO 8601 date-time ("2025-01-31T12:34:56.123456+01:00:00" is 35).
MAX_LENGTH = 40
_YEAR = re.compile(r"\s*[+-]?(\d{1,8})-")


def openapi_instant(**extra):
    """The OpenAPI schema of an instant the API accepts (ISO 8601 with its offset, bounded)."""
    return {"type": "string", "format": "date-time", "maxLength": MAX_LENGTH,
            "description": f"ISO 8601 with its UTC offset, {RANGE_TEXT}", **extra}


def openapi_date(**extra):
    """The OpenAPI schema of a day the API accepts (bounded like instants)."""
    return {"type": "string", "format": "date", "maxLength": MAX_LENGTH,
            "description": f"YYYY-MM-DD, {RANGE_TEXT}", **extra}


class BadTime(ValueError):
    """Not a date or instant in the range; `str()` is the message for the field.

    `out_of_range`: well written, but before EARLIEST or after LATEST (years 0 and 10000,
    which Python cannot even represent, included).
    """

    def __init__(self, message, out_of_range=False):
        super().__init__(message)
        self.out_of_range = out_of_range


def _out_of_range():
    return BadTime(
        _l("Must be between %(earliest)s and %(latest)s.",
          earliest=EARLIEST.isoformat(), latest=LATEST.isoformat()),
        out_of_range=True,
    )


def _check_year(text):
    match = _YEAR.match(text)
    if match and not EARLIEST.year <= int(match.group(1)) <= LATEST.year:
        raise _out_of_range()


def parse_instant(value, tz=None):
    """Return an aware UTC datetime from ISO 8601 text or a datetime, within the range.

    A value without an offset is read in the time zone `tz`; without `tz` it is refused.
    """
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_LENGTH:
            raise BadTime(_l("Must be a date and time (ISO 8601)."))
        _check_year(text)
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise BadTime(_l("Must be a date and time (ISO 8601).")) from None
    if not isinstance(value, datetime):
        raise BadTime(_l("Must be a date and time (ISO 8601)."))
    # The date as written first: converting a date near year 1 or 9999 would overflow.
    if not EARLIEST <= value.date() <= LATEST:
        raise _out_of_range()
    if value.tzinfo is None:
        if tz is None:
            raise BadTime(_l("Must include a time zone offset (such as +01:00)."))
        value = value.replace(tzinfo=tz)
    value = value.astimezone(UTC)
    if not EARLIEST <= value.date() <= LATEST:
        raise _out_of_range()
    return value


def parse_date(value):
    """Return the date of ISO 8601 text (YYYY-MM-DD), within the range."""
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_LENGTH:
        raise BadTime(_l("Must be a date as YYYY-MM-DD."))
    _check_year(text)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadTime(_l("Must be a date as YYYY-MM-DD.")) from None
    if not EARLIEST <= day <= LATEST:
        raise _out_of_range()
    return day
