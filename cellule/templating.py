"""Template helpers available on every page."""

from flask import g, has_app_context, request
from flask_babel import LazyString, format_datetime, get_locale, get_translations
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from . import formatting, limits, nav
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
            "nav_groups": lambda: nav.groups_for(current_user, request.endpoint),
            "nav_shortcuts": lambda: nav.shortcuts_for(current_user),
            "home_actions": lambda: nav.home_actions(current_user, request.endpoint),
            "home_panels": lambda: nav.panels_for(current_user),
            "language_form": lambda: LanguageForm(
                formdata=None, language=_current_language(), next=request.full_path.rstrip("?")
            ),
            "csrf_token_value": generate_csrf,
            "role_label": lambda role: ROLE_LABELS.get(role, role),
            "get_locale": _current_language,
            "limits": limits,  # maxlength="{{ limits.NOTE }}"
        }

    formatting.register(app)  # number, percent, hours, money, price
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": (
        format_datetime(value, fmt) if value else ""
    )
    # Templates call `_()` hundreds of times per list page; Flask-Babel finds the catalogue
    # anew on every call. Remember each message once per request and language instead.
    app.jinja_env.install_gettext_callables(
        gettext=_memoised("gettext"),
        ngettext=_memoised("ngettext"),
        pgettext=_memoised("pgettext"),
        npgettext=_memoised("npgettext"),
        newstyle=True,
    )


def _memoised(method):
    """A Jinja gettext callable that looks each message up once per request and language."""
    name = "u" + method

    def translate(*args):
        if not has_app_context():
            return getattr(get_translations(), name)(*args)
        memo = g.setdefault("_translations_memo", {})
        key = (method, get_locale(), args)
        try:
            return memo[key]
        except KeyError:
            text = memo[key] = getattr(get_translations(), name)(*args)
            return text

    return translate


class Translated:
    """A module's label dicts with their lazy strings translated once, at first use.

    A lazy string looks up the catalogue each time it is printed; a list page prints the
    same few labels on every row. Build one per rendering (the language may differ).
    Values stay markup-safe strings, as the lazy strings were.
    """

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        value = getattr(self._module, name)
        if isinstance(value, dict):
            value = {key: Markup(str(text)) if isinstance(text, LazyString) else text  # nosec B704
                     for key, text in value.items()}
            setattr(self, name, value)
        return value


def _current_language():
    return str(get_locale())
