"""Template helpers available on every page."""

from flask import g, has_app_context, request
from flask_babel import LazyString, format_datetime, get_locale, get_translations
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_context
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
    # Templates call `_()` hundreds of times per list page (a 50-row queue: ~430 calls).
    # Jinja's new-style callables reach the catalogue through two indirections (`_` →
    # context.call → the new-style wrapper → context.call) and Flask-Babel finds the catalogue
    # anew on every call: ~10 µs a call. Installed as new-style (`{% trans %}` and the
    # escaping of variables behave as Jinja documents), then `_`, `gettext` and `ngettext`
    # replaced by callables one call deep with the same result, each message looked up once
    # per request and language: ~2 µs.
    app.jinja_env.install_gettext_callables(
        gettext=_lookup_gettext,
        ngettext=_lookup_ngettext,
        pgettext=_memoised("pgettext"),
        npgettext=_memoised("npgettext"),
        newstyle=True,
    )
    gettext, ngettext = _new_style_gettext(), _new_style_ngettext()
    app.jinja_env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext)


def _memo():
    """This request's translations, per language: {(method, args): text}."""
    if not has_app_context():
        return None
    request_globals = vars(g._get_current_object())  # one look through the proxy, not three
    # The language Flask-Babel's get_locale() caches in its namespace of `g` (force_locale
    # changes it there); get_locale() itself when it is not there yet.
    locale = getattr(request_globals.get("_flask_babel"), "babel_locale", None) or get_locale()
    memos = request_globals.setdefault("_translations_memo", {})
    memo = memos.get(locale)
    if memo is None:
        memo = memos[locale] = {}
    return memo


def _memoised(method):
    """A gettext callable that looks each message up once per request and language."""
    name = "u" + method

    def translate(*args):
        memo = _memo()
        if memo is None:
            return getattr(get_translations(), name)(*args)
        key = (method, args)
        try:
            return memo[key]
        except KeyError:
            text = memo[key] = getattr(get_translations(), name)(*args)
            return text

    return translate


_lookup_gettext, _lookup_ngettext = _memoised("gettext"), _memoised("ngettext")


def _template_text(message, autoescape):
    """A catalogue message as Jinja's new-style gettext gives it: markup-safe when the template
    autoescapes (the message is the application's own text from its catalogues, never user
    input; `%` then escapes the variables put into it), as is otherwise."""
    return Markup(message) if autoescape else message  # nosec B704


def _new_style_gettext():
    """Jinja's new-style `gettext`, one call deep: the message, marked safe when the template
    autoescapes, always %-formatted with its variables (escaped); without variables, the
    finished text is remembered too."""

    @pass_context
    def gettext(context, string, /, **variables):
        autoescape = context.eval_ctx.autoescape
        if variables:
            return _template_text(_lookup_gettext(string), autoescape) % variables
        memo = _memo()
        key = ("gettext%", string, autoescape)
        if memo is not None and key in memo:
            return memo[key]
        done = _template_text(_lookup_gettext(string), autoescape) % {}
        if memo is not None:
            memo[key] = done
        return done

    return gettext


def _new_style_ngettext():
    """Jinja's new-style `ngettext`, one call deep (`num` a variable unless given)."""

    @pass_context
    def ngettext(context, singular, plural, num, /, **variables):
        variables.setdefault("num", num)
        text = _lookup_ngettext(singular, plural, num)
        return _template_text(text, context.eval_ctx.autoescape) % variables

    return ngettext


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
