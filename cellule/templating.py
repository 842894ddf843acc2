"""Template helpers available on every page."""

from flask import request
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from . import nav
from .forms import LanguageForm

ROLE_LABELS = {
    "ambassador": _l("ambassador"),
    "advisor": _l("advisor"),
    "psychologist": _l("psychologist"),
    "supervisor": _l("supervisor"),
    "admin": _l("administrator"),
}


def register(app):
    @app.context_processor
    def globals_():
        return {
            "nav_items": lambda: nav.items_for(current_user, request.endpoint),
            "home_panels": lambda: nav.panels_for(current_user),
            "language_form": lambda: LanguageForm(
                formdata=None, language=_current_language(), next=request.full_path.rstrip("?")
            ),
            "csrf_token_value": generate_csrf,
            "role_label": lambda role: ROLE_LABELS.get(role, role),
            "get_locale": _current_language,
        }

    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": (
        format_datetime(value, fmt) if value else ""
    )


def _current_language():
    from flask_babel import get_locale

    return str(get_locale())
