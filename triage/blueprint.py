"""The triage domain's Flask side: the stateless evaluation API and the business calendar.

The engine modules (`loader`, `engine`, `scoring`, `business_time`, `lexicon`)
stay free of Flask; this module and `api.py` are the only ones that know the app.
"""

from flask import current_app

from .business_time import BusinessCalendar


def get_calendar(app=None):
    """Return the cell's business calendar built from the app's configuration (cached)."""
    app = app or current_app._get_current_object()
    calendar = app.extensions.get("cellule_calendar")
    if calendar is None:
        calendar = BusinessCalendar(
            app.config["CELLULE_OPENING_HOURS"], app.config["CELLULE_TIMEZONE"]
        )
        app.extensions["cellule_calendar"] = calendar
    return calendar


def register(app):
    from .api import bp as api_bp

    # A broken opening-hours setting stops the app at start-up, not mid-call.
    get_calendar(app)
    app.register_blueprint(api_bp)
