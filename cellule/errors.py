"""Error pages and JSON errors; a 500 never shows a traceback."""

import logging

from flask import render_template, request
from flask_wtf.csrf import CSRFError
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException, SecurityError

from .api import PREFIX, ApiError, error_response

log = logging.getLogger(__name__)

MESSAGES = {
    400: "bad request",
    401: "authentication required",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    409: "conflict",
    413: "request too large",
    415: "unsupported media type",
    422: "unprocessable entity",
    429: "too many requests",
    503: "service temporarily unavailable",
}


def _is_api():
    return request.path.startswith(PREFIX + "/") or request.path == PREFIX


def register(app):
    @app.errorhandler(ApiError)
    def api_error(error):
        return error.response()

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if _is_api():
            return error_response(400, "CSRF token missing or invalid")
        return render_template("cellule/error.html", code=400, reason="csrf"), 400

    @app.errorhandler(SecurityError)
    def untrusted_host(error):
        # A Host header not in TRUSTED_HOSTS: no URL can be built, answer plainly.
        return app.response_class("bad request\n", 400, mimetype="text/plain")

    @app.errorhandler(HTTPException)
    def http_error(error):
        code = error.code or 500
        if code == 429:
            return too_many_requests()
        if _is_api():
            return error_response(code, MESSAGES.get(code, error.name.lower()))
        return render_template("cellule/error.html", code=code, reason=None), code

    def too_many_requests():
        # Sign-in throttling (cellule.throttle): say how long to wait, never lock out.
        from .throttle import retry_after_seconds

        seconds = retry_after_seconds()
        if _is_api():
            response = error_response(429, MESSAGES[429])
        else:
            minutes = max(1, -(-seconds // 60))
            page = render_template("cellule/error.html", code=429, reason=None, minutes=minutes)
            response = app.make_response((page, 429))
        response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(RedisError)
    def redis_down(error):
        # Raised by the sign-in throttle (errors are not swallowed: no unthrottled sign-in).
        log.error("Redis unavailable on %s %s: %s", request.method, request.path, error)
        from .extensions import db

        db.session.rollback()
        if _is_api():
            return error_response(503, "service temporarily unavailable")
        return render_template("cellule/error.html", code=503, reason=None), 503

    @app.errorhandler(Exception)
    def unexpected(error):
        # Logged with its traceback for the operators; the user sees a plain page.
        log.exception("unhandled error on %s %s", request.method, request.path)
        from .extensions import db

        db.session.rollback()
        if _is_api():
            return error_response(500, "internal error")
        return render_template("cellule/error.html", code=500, reason=None), 500
