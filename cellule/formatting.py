"""Numbers, percentages, durations and money in the user's locale (Babel), one way everywhere.

Templates use the filters of the same names (`register`); Python code (the dashboard's SVG
charts, flashes) calls the functions. A missing value is shown as a dash.
"""

from babel.dates import format_timedelta
from babel.numbers import format_percent as babel_format_percent
from flask_babel import format_currency, format_decimal, get_locale
from flask_babel import gettext as _

DASH = "—"
CURRENCY = "EUR"


def number(value, decimals=1):
    """A count or a measure: grouped digits, at most `decimals` decimals ("1 234", "3,5")."""
    if value is None:
        return DASH
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return format_decimal(value, pattern)


def percent(value, decimals=1):
    """A percentage given from 0 to 100, in the locale's pattern ("71,8 %", "71.8%")."""
    if value is None:
        return DASH
    locale = get_locale()
    pattern = locale.percent_formats[None].pattern
    if decimals:
        pattern = pattern.replace("#,##0", "#,##0." + "#" * decimals, 1)
    return babel_format_percent(value / 100, pattern, locale=locale)


def hours(value, decimals=1):
    """A duration in hours ("3,5 h")."""
    if value is None:
        return DASH
    return _("%(hours)s h", hours=number(value, decimals))


def duration(delta):
    """A length of time in Babel's short words ("3 days", "2 h", "3 j")."""
    return format_timedelta(delta, format="short", locale=get_locale())


def money(cents):
    """An amount in euro cents, in the locale's currency pattern ("45,00 €", "€ 45,00")."""
    if cents is None:
        return DASH
    return format_currency(cents / 100, CURRENCY)


def price(cents):
    """A price per session: the amount, or "free" for none or zero."""
    return money(cents) if cents else _("free")


FILTERS = {"number": number, "percent": percent, "hours": hours, "money": money,
           "price": price}


def register(app):
    app.jinja_env.filters.update(FILTERS)
