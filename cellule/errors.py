"""Error pages and JSON errors; a 500 never shows a traceback.

An unavailable database (`extensions.database_unavailable`) is no bug: the request is rolled
back and answered 503 with Retry-After, and the log says so once per outage (`DatabaseOutage`).
"""

import logging
import threading
import time

from flask import current_app, g, has_request_context, render_template, request
from flask_wtf.csrf import CSRFError
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, SecurityError

from . import audit
from .api import PREFIX, ApiError, error_response
from .extensions import (
    database_locked,
    database_unavailable,
    db,
    describe_database_error,
    login_manager,
)
from .throttle import retry_after_seconds

log = logging.getLogger(__name__)

# Seconds a client is asked to wait when the database is unavailable (a restart takes a few).
DATABASE_RETRY_AFTER = 5

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


class DatabaseOutage:
    """This process's account of a database outage in the log: one line when requests start
    meeting it, one when a statement goes through again — not a traceback per request.

    A SQLite lock held by another process leaves reads working: only a write that goes
    through ends that outage.
    """

    def __init__(self):
        self.since = None  # monotonic time of the first failure
        self.locked = False
        self.answered = 0
        self._lock = threading.Lock()

    def failed(self, error):
        with self._lock:
            self.answered += 1
            if self.since is not None:
                return
            self.since, self.locked = time.monotonic(), database_locked(error)
        log.warning("Database unreachable: requests answer 503 until it is back (%s)",
                    describe_database_error(error))

    def statement_ran(self, conn, cursor, statement, parameters, context, executemany):
        """`after_cursor_execute` listener of the app's engine."""
        if self.since is None:
            return
        if self.locked and not (context is not None and (
                context.isinsert or context.isupdate or context.isdelete)):
            return
        with self._lock:
            since, answered = self.since, self.answered
            self.since, self.answered = None, 0
        if since is not None:
            log.warning("Database reachable again after %.0f s (%s answer(s) 503 meanwhile)",
                        time.monotonic() - since, answered)


def database_failed(error):
    """Tell this process's outage log that a request met the database unavailable."""
    current_app.extensions["cellule_database_outage"].failed(error)


@event.listens_for(Session, "after_commit")
def _committed(session):
    if has_request_context():
        g.cellule_database_committed = True


def _may_have_been_saved(error):
    """Whether the request's change may be in the database despite the outage: a commit went
    through earlier in this request, or the connection broke during the COMMIT itself (the
    server's answer is lost). A page read saves nothing of the user's."""
    if request.method in ("GET", "HEAD"):
        return False
    if g.get("cellule_database_committed"):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated and (
        error.statement is None)


def register(app):
    outage = app.extensions["cellule_database_outage"] = DatabaseOutage()
    with app.app_context():
        for engine in db.engines.values():
            event.listen(engine, "after_cursor_execute", outage.statement_ran)

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

        seconds = retry_after_seconds()
        if _is_api():
            response = app.make_response(error_response(429, MESSAGES[429]))
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

        db.session.rollback()
        if _is_api():
            return error_response(503, "service temporarily unavailable")
        return render_template("cellule/error.html", code=503, reason=None), 503

    def database_down(error):
        # Nothing half-written stays: the transaction is rolled back. The page must not
        # touch the database, so it is rendered as for a visitor (no menu, no name).

        unsure = _may_have_been_saved(error)
        outage.failed(error)
        try:
            db.session.rollback()
        except Exception:  # the connection itself may be what broke
            pass
        g._login_user = login_manager.anonymous_user()
        if _is_api():
            response = app.make_response(error_response(
                503, "database temporarily unavailable; " + (
                    "the change may have been saved: check before retrying" if unsure
                    else "nothing was saved")))
        else:
            page = render_template("cellule/error.html", code=503,
                                   reason="database_unsure" if unsure else "database")
            response = app.make_response((page, 503))
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response

    @app.after_request
    def commit_reads(response):
        # The request's reads and lists, written in its one transaction at its end when
        # it made no commit of its own (cellule.audit). What the audit cannot record is
        # not shown: an outage here answers 503 instead of the page.
        if not audit.pending():
            return response
        try:
            audit.commit_pending()
        except Exception as error:
            if database_unavailable(error):
                return database_down(error)
            log.exception("audit rows not written on %s %s", request.method, request.path)
            db.session.rollback()
            if _is_api():
                return app.make_response(error_response(500, "internal error"))
            return app.make_response(
                (render_template("cellule/error.html", code=500, reason=None), 500))
        return response

    @app.errorhandler(Exception)
    def unexpected(error):
        if database_unavailable(error):
            return database_down(error)
        # Logged with its traceback for the operators; the user sees a plain page.
        log.exception("unhandled error on %s %s", request.method, request.path)

        db.session.rollback()
        if _is_api():
            return error_response(500, "internal error")
        return render_template("cellule/error.html", code=500, reason=None), 500
