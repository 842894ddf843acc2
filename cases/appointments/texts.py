"""The appointments' words: the modes, states and the person's emails (confirmation,
reminder, cancellation), in English msgids rendered in the person's language."""

from babel.dates import format_datetime
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from triage.calendar import get_calendar

MODE_LABELS = {"video": _l("Video call"), "phone": _l("Phone call"), "on_site": _l("On site")}
STATE_LABELS = {"booked": _l("Booked"), "cancelled": _l("Cancelled"),
                "attended": _l("Attended"), "no_show": _l("Did not come")}
LANGUAGE_LABELS = {"fr": _l("French"), "nl": _l("Dutch"), "de": _l("German"),
                   "en": _l("English")}
WEEKDAY_LABELS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"),
                  _l("Friday"), _l("Saturday"), _l("Sunday"))


def mode_label(mode):
    return str(MODE_LABELS.get(mode, mode))


def when(moment, language):
    """The start in the cell's zone, in words of `language`."""
    return format_datetime(moment, "EEEE d MMMM y, HH:mm", tzinfo=get_calendar().tz,
                           locale=language)


def _parts(appointment):
    slot = appointment.slot
    return {"when": when(slot.starts_at, appointment.language),
            "minutes": slot.minutes, "mode": mode_label(slot.mode)}


def confirmation(appointment):
    """(subject, body) of the booking's email."""
    with force_locale(appointment.language):
        parts = _parts(appointment)
        subject = _("Your appointment with a psychologist")
        body = "\n\n".join((
            _("Hello,"),
            _("An appointment with a psychologist of the cell is booked for you on "
              "%(when)s (%(minutes)s minutes, %(mode)s).", **parts),
            _("The invitation is attached: open it to add the appointment to your calendar."),
            _("If you cannot come, answer this email and we will find another time."),
            _("The cell")))
        return subject, body


def reminder(appointment):
    """(subject, body) of the reminder, 24 hours before."""
    with force_locale(appointment.language):
        parts = _parts(appointment)
        subject = _("Reminder: your appointment tomorrow")
        body = "\n\n".join((
            _("Hello,"),
            _("This is a reminder of your appointment with a psychologist of the cell on "
              "%(when)s (%(minutes)s minutes, %(mode)s).", **parts),
            _("If you cannot come, answer this email and we will find another time."),
            _("The cell")))
        return subject, body


def cancellation(appointment):
    """(subject, body) of the cancellation's email."""
    with force_locale(appointment.language):
        parts = _parts(appointment)
        subject = _("Your appointment is cancelled")
        body = "\n\n".join((
            _("Hello,"),
            _("Your appointment with a psychologist of the cell on %(when)s is cancelled.",
              **parts),
            _("We will contact you to find another time. You can also answer this email."),
            _("The cell")))
        return subject, body
