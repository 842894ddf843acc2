"""The triage domain's Flask side: the stateless evaluation API and the business calendar.

The engine modules (`loader`, `engine`, `scoring`, `business_time`, `lexicon`)
stay free of Flask; this module, `calendar.py` and `api.py` are the only ones that know
the app.
"""

from .api import bp as api_bp
from .calendar import get_calendar


def register(app):
    # A broken opening-hours setting stops the app at start-up, not mid-call.
    get_calendar(app)
    app.register_blueprint(api_bp)
