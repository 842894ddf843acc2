"""HTTP security: headers on every response, proxies and hosts, re-authentication, HTML
sanitising.

- A strict Content-Security-Policy: scripts and styles only from our own files (no inline
  script or style attribute, no eval — htmx runs with `allowEval:false`), no framing.
- `Cache-Control: no-store` on everything but static files: pages and API answers carry
  health data, which must not stay in browser or proxy caches.
- `recent_auth_required`: the decorator for sensitive actions (role change, export,
  erasure…): the user must have proved who they are within the last minutes.
- `sanitize_html` / the `safe_email_html` filter: HTML of received emails, cleaned by nh3.
"""

from functools import wraps
from urllib.parse import urlsplit

import nh3
from flask import abort, redirect, request, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import sessions, throttle
from .auth import safe_next
from .extensions import htmx, login_manager
from .redaction import install_log_filter, install_log_redaction


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: at most 2**31 - 1, the largest id a table can hold, so a
    huge number in a URL is a 404 rather than a database overflow (a 500)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits, min, MAX_ID if max is None else max, signed)


MAX_ID = 2**31 - 1


def parse_id(value):
    """A record id from a form or query value: a positive 32-bit integer written in ASCII
    digits, else None (so "²", "٣" or a 40-digit number is "no such record", never a 500)."""
    value = (value or "").strip() if isinstance(value, str) else ""
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def register(app):
    """Install the headers, proxy handling, sessions and sign-in throttling on `app`."""
    proxies = app.config["CELLULE_PROXY_COUNT"]
    if proxies:
        # Trust X-Forwarded-For/-Proto/-Host/-Port from exactly that many proxies.
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    app.wsgi_app = refuse_undecodable_query(app.wsgi_app)

    install_log_redaction()
    install_log_filter()
    sessions.register(app)
    throttle.init_app(app)
    app.jinja_env.filters["safe_email_html"] = safe_email_html

    @app.before_request
    def refuse_nul_characters():
        # A NUL character is never meaningful input, and PostgreSQL refuses it in text
        # (the driver would raise, turning bad input into a 500): refuse it up front.
        if _has_nul(request):
            abort(400)

    @app.after_request
    def headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        h.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if app.config["SESSION_COOKIE_SECURE"]:
            h.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        # Pages and API answers may carry personal data: never cache them.
        if not request.path.startswith("/static/"):
            h["Cache-Control"] = "no-store"
            h.setdefault("Pragma", "no-cache")
        response.vary.add("HX-Request")
        response.vary.add("Cookie")
        return response


def refuse_undecodable_query(wsgi_app):
    """Answer 400 to a query string of raw bytes that are not UTF-8 (browsers %-escape
    them; werkzeug keeps escapes that are not UTF-8 as text): werkzeug cannot decode it,
    not even to render the error page, so it is refused before the app runs."""

    def middleware(environ, start_response):
        try:
            environ.get("QUERY_STRING", "").encode("latin-1").decode("utf-8")
        except UnicodeError:
            start_response("400 Bad Request", [
                ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "12"),
                ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store")])
            return [b"bad request\n"]
        return wsgi_app(environ, start_response)

    return middleware


def _has_nul(req):
    for values in (req.args, req.view_args or {}):
        for value in values.values() if not hasattr(values, "lists") else values.listvalues():
            items = value if isinstance(value, list) else [value]
            if any(isinstance(v, str) and "\x00" in v for v in items):
                return True
    if req.method in ("POST", "PUT", "PATCH", "DELETE"):
        if req.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for values in req.form.listvalues():
                if any("\x00" in v for v in values):
                    return True
        elif req.is_json:
            body = req.get_data(cache=True)
            if b"\\u0000" in body or b"\x00" in body:
                return True
    return False


# --- Re-authentication ----------------------------------------------------------


def _return_path():
    """Where to come back after re-authenticating: this page, or for a POST the page the form
    was on (when it is ours)."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if parts.netloc == request.host:
        path = parts.path + ("?" + parts.query if parts.query else "")
        if safe_next(path):
            return path
    return url_for("main.home")


def recent_auth_required(view=None, *, minutes=None):
    """Require a sign-in or re-authentication (password + code when enrolled) within the
    last `minutes` (default `CELLULE_REAUTH_MINUTES`) before running the view.

    Use under `login_required`: `@recent_auth_required` or `@recent_auth_required(minutes=5)`.
    Otherwise the user is sent to the confirmation page and back (htmx: `HX-Redirect`).
    """

    def decorator(func):
        @wraps(func)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if sessions.auth_is_recent(minutes):
                return func(*args, **kwargs)
            target = url_for("account.confirm", next=_return_path())
            if htmx:
                return htmx_response(redirect=target)
            return redirect(target, 303)

        return wrapped

    return decorator(view) if view is not None else decorator


# --- HTML from emails -------------------------------------------------------------

EMAIL_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl",
    "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "kbd", "li", "ol", "p",
    "pre", "q", "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
EMAIL_ATTRIBUTES = {
    "a": {"href", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}


def sanitize_html(html):
    """Return `html` (e.g. the body of a received email) reduced to harmless markup.

    Kept: text formatting, lists, tables and links (http, https, mailto; opened with
    `rel="noopener noreferrer nofollow"`). Dropped: scripts, styles and their content,
    event handlers, style attributes, images (remote images are tracking beacons), forms,
    frames, comments.
    """
    if not html:
        return ""
    return nh3.clean(
        str(html),
        tags=EMAIL_TAGS,
        clean_content_tags={"script", "style", "template", "title", "head"},
        attributes=EMAIL_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def safe_email_html(html):
    """Jinja filter: `{{ contact.body_html|safe_email_html }}` renders sanitised HTML."""
    # The markup was just sanitised by nh3.
    return Markup(sanitize_html(html))  # nosec B704
