"""Psychologists' appointments (issue 20, DESIGN §10): each psychologist publishes slots
(one, or a weekly pattern; video, phone or on site; languages) on "My availability"; from a
case the team books a free slot; the person gets a confirmation email with an `.ics`
invitation and a reminder 24 hours before (outbox); the cell cancels (METHOD:CANCEL), the
psychologist records attended or no-show; the case timeline shows each step.

Modules: `models`, `operations`, `texts` (the emails' words), `ics` (RFC 5545 by
`icalendar`), `forms`, `views` ("My availability", the case page's card), `jobs`
(`remind_appointments`, every minute), `api` + `schemas` (`/api/v1/slots`,
`/api/v1/appointments`), `demo` (the psychologists' weeks and a few bookings in `flask demo`).
"""

from cellule import mailer

from . import (
    ics,
    jobs,  # noqa: F401  (the job registers itself)
)
from .models import Appointment, Slot  # noqa: F401  (the tables must be known)


def register(app):
    """Register the pages, the API, the invitations' attachments and the card's global."""
    from . import api, demo, views  # noqa: F401  (demo: its seeder registers itself)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.api_bp)
    app.jinja_env.globals["appointments_view"] = views.card_context
    app.jinja_env.globals["next_free_slot"] = views.next_free_slot  # the psychology queue
    mailer.register_attachment("appointment_invite", ics.invite_attachment)
    mailer.register_attachment("appointment_cancel", ics.cancel_attachment)
