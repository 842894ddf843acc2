"""Flask extensions, created unbound and bound to the app in `create_app`; and what counts
as the database being unavailable (web and workers answer it alike)."""

import logging
import sqlite3
import time

from flask_babel import Babel
from flask_htmx import HTMX
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

try:
    import psycopg
except ImportError:  # pragma: no cover - SQLite-only installs
    psycopg = None

# Stable constraint names, so that migrations can name what they alter on
# SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
htmx = HTMX()


# PostgreSQL's SQLSTATEs that mean "the server cannot serve you now", not "this statement is
# wrong": connection exceptions (class 08), shut down / crashed / starting up, too many
# connections. Client-side failures (refused, timed out, closed) carry no SQLSTATE.
PG_UNAVAILABLE = ("08", "57P01", "57P02", "57P03", "53300")
# SQLite: another process holds the lock beyond the busy timeout, or the file cannot be opened.
SQLITE_LOCKS = {"SQLITE_BUSY", "SQLITE_LOCKED"}
SQLITE_UNAVAILABLE = SQLITE_LOCKS | {"SQLITE_CANTOPEN"}


def database_unavailable(error):
    """Tell whether `error` says the database cannot be reached or used for a moment — a lost
    or refused connection, a pool timeout, a SQLite lock held too long — rather than a bug or
    bad data (a ProgrammingError or an IntegrityError stays what it is). Looks through the
    errors it was raised from, too."""
    for _ in range(5):
        if error is None:
            return False
        if _unavailable(error):
            return True
        error = error.__cause__
    return False


def database_locked(error):
    """Tell whether `error` is SQLite's lock held beyond the busy timeout (reads still work)."""
    orig = getattr(error, "orig", error)
    return isinstance(orig, sqlite3.OperationalError) and orig.sqlite_errorname in SQLITE_LOCKS


def describe_database_error(error):
    """The driver's first line, without SQL or values: "OperationalError: connection failed…"."""
    orig = getattr(error, "orig", None) or error
    lines = str(orig).strip().splitlines() or [""]
    return f"{type(orig).__name__}: {lines[0][:200]}"


def _unavailable(error):
    if isinstance(error, DisconnectionError | PoolTimeoutError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True  # the dialect saw the connection break
    orig = getattr(error, "orig", error)
    if isinstance(orig, sqlite3.OperationalError):
        return orig.sqlite_errorname in SQLITE_UNAVAILABLE
    if psycopg is not None and isinstance(orig, psycopg.OperationalError):
        state = orig.sqlstate
        return state is None or state.startswith(PG_UNAVAILABLE)
    return False


def tolerate_lost_connection_at_teardown(app):
    """Replace Flask-SQLAlchemy's end-of-request `session.remove()` by one that survives a
    connection the database dropped meanwhile (a restart between the view and the teardown):
    its ROLLBACK fails on a dead socket after the answer was decided, and Flask lets a
    teardown error escape to the WSGI server, which would turn that answer into a 500. The
    session is discarded either way; the pool has already thrown the dead connection away."""
    funcs = app.teardown_appcontext_funcs
    for index, func in enumerate(funcs):
        if getattr(func, "__func__", None) is SQLAlchemy._teardown_session:
            funcs[index] = _remove_session


def _remove_session(exc):
    try:
        db.session.remove()
    except DBAPIError as error:
        if not database_unavailable(error):
            raise
        db.session.registry.clear()
        logging.getLogger(__name__).warning(
            "database connection lost at the end of a request (%s); answer sent",
            describe_database_error(error))


# A pooled connection that sat unused longer than this is pinged before a request gets it
# (`ping_idle_connections`); one used a moment ago is not.
PING_IDLE_AFTER = 10.0  # seconds


def ping_idle_connections(app):
    """Ping a pooled connection before use only when it sat idle `PING_IDLE_AFTER` seconds.

    `pool_pre_ping` (off, cellule.config) pings at every checkout: one more round trip per
    request, for connections a busy worker used milliseconds ago. A database restart that
    meets busy workers is seen by the request that was using the connection (503), and
    SQLAlchemy then invalidates the whole pool, so that every other connection is made anew
    at its next checkout (its optimistic disconnect handling); one that happens while a
    worker sits idle is caught here, where the checkout of a connection that fails its ping
    raises DisconnectionError and the pool retries with a fresh one (the pessimistic
    handling, for the idle connections only). `pool_recycle` (PostgreSQL) renews every
    connection after half an hour, before a firewall or the server drops it silently."""
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "postgresql":
                _ping_when_idle(engine)


def _ping_when_idle(engine):
    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record):
        record.info["cellule_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy):
        since = record.info.pop("cellule_idle_since", None)
        if since is None or time.monotonic() - since < PING_IDLE_AFTER:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError("idle pooled connection lost") from error
