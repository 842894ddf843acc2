"""Configuration: the settings of `cellule.settings` read from the environment (and `.env`),
the fixed ones, and the SQLAlchemy engine options."""

import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from . import settings
from .settings import ConfigError, normalise_database_url  # noqa: F401  (their old home)

LANGUAGES = ("fr", "nl", "de", "en")


def engine_options(config):
    """The SQLAlchemy engine options for the configured database, over those given.

    `hide_parameters`: SQL errors in logs never show the values (personal data). On
    PostgreSQL, a short connect timeout (libpq's default waits for the operating system,
    minutes for an unreachable host) and a pool timeout shorter than gunicorn's, so that an
    outage gives a quick 503 instead of hung requests. No `pool_pre_ping` (a round trip on
    every request, measured in bench/RESULTS.md): a connection idle for a while is pinged
    before use instead, a broken one replaced (`extensions.ping_idle_connections`), and
    PostgreSQL's are renewed after `pool_recycle` seconds."""
    options = {"pool_pre_ping": False, "hide_parameters": True}
    given = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    url = make_url(str(config["SQLALCHEMY_DATABASE_URI"]))
    if url.get_backend_name() == "postgresql":
        options["pool_recycle"] = 1800
        options["pool_timeout"] = config["DATABASE_POOL_TIMEOUT"]
        connect_args = {}
        if "connect_timeout" not in url.query:  # a URL's own setting wins
            connect_args["connect_timeout"] = config["DATABASE_CONNECT_TIMEOUT"]
        options["connect_args"] = {**connect_args, **given.pop("connect_args", {})}
    return {**options, **given}


# Settings that do not come from the environment.
FIXED = {
    # Completed by `engine_options` once the URL is final (tests may change it).
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "SESSION_COOKIE_NAME": "cellule_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "BABEL_DEFAULT_LOCALE": "fr",
    "LANGUAGES": LANGUAGES,
    "RQ_QUEUES": ("default",),
}


def build_config(instance_path, secret_key=None, environ=None):
    """Return the settings dictionary for an app whose instance folder is `instance_path`:
    every setting of `cellule.settings.SETTINGS` from `environ` (default: the process
    environment), else its default; `secret_key`, when given (an app built with its own
    settings), replaces SECRET_KEY."""
    environ = os.environ if environ is None else environ
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    env = settings.read(settings.BY_NAME["CELLULE_ENV"], environ, None)
    context = settings.Context(str(instance_path), env == "production")
    given = {"SECRET_KEY": secret_key} if secret_key else {}
    config = {**FIXED, **settings.values(environ, context, given)}
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=config["CELLULE_SESSION_MINUTES"])
    return config
