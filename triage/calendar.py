"""The cell's business calendar (opening hours, time zone) built once per app from its
configuration: every deadline, reminder and out-of-hours answer is computed with it.

Flask-aware but free of blueprints, so that the API (`triage.api`), the other domains and
the app's registration (`triage.blueprint`) all import it without importing one another.
"""

from flask import current_app

from .business_time import BusinessCalendar


def get_calendar(app=None):
    """Return the cell's business calendar built from the app's configuration (cached)."""
    app = app or current_app._get_current_object()
    calendar = app.extensions.get("cellule_calendar")
    if calendar is None:
        calendar = BusinessCalendar(
            app.config["CELLULE_OPENING_HOURS"], app.config["CELLULE_TIMEZONE"],
            imminent_grace_minutes=app.config.get("CELLULE_IMMINENT_GRACE_MINUTES", 15),
        )
        app.extensions["cellule_calendar"] = calendar
    return calendar
