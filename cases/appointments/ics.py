"""The appointment's invitation as an iCalendar file (RFC 5545, written by `icalendar`).

`METHOD:REQUEST` when booked, `METHOD:CANCEL` when the cell cancels, both with the
appointment's stable `UID` (the cancel's `SEQUENCE` one higher, so calendars replace the
event); the times with `TZID=Europe/Brussels` (the cell's zone) and its VTIMEZONE. The
mailer builds it at sending time (`mailer.register_attachment`): the mail log holds only
"appointment_invite:<id>" / "appointment_cancel:<id>".
"""

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event, vCalAddress, vText

from cellule.extensions import db
from triage.calendar import get_calendar

from .models import Appointment
from .texts import mode_label

PRODID = "-//Cellule//Appointments//EN"


def calendar_bytes(appointment, method):
    """The .ics of `appointment` for `method` ("REQUEST" or "CANCEL")."""
    slot, tz = appointment.slot, get_calendar().tz
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", method)
    event = Event()
    event.add("uid", appointment.uid)
    event.add("sequence", appointment.sequence if method == "CANCEL" else 0)
    event.add("dtstamp", appointment.cancelled_at if method == "CANCEL"
              else appointment.booked_at)
    event.add("dtstart", slot.starts_at.astimezone(tz))
    event.add("dtend", slot.ends_at.astimezone(tz))
    with force_locale(appointment.language):
        event.add("summary", _("Appointment with a psychologist of the cell"))
        event.add("description", mode_label(slot.mode))
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{_address(sender)}")
    organizer.params["cn"] = vText("Cellule")
    event.add("organizer", organizer)
    person = appointment.case.person
    if person is not None and person.email:
        attendee = vCalAddress(f"mailto:{person.email}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee)
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def _address(sender):
    return sender.rpartition("<")[2].strip(">").strip() or sender


def _attachment(method):
    def build(appointment_id):
        appointment = db.session.get(Appointment, appointment_id)
        name = "invitation.ics" if method == "REQUEST" else "cancellation.ics"
        return name, "text/calendar", calendar_bytes(appointment, method)
    return build


invite_attachment = _attachment("REQUEST")
cancel_attachment = _attachment("CANCEL")
