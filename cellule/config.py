"""Configuration read from the environment (and `.env`), with embedded defaults."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

LANGUAGES = ("fr", "nl", "de", "en")


class ConfigError(RuntimeError):
    """Raised when the environment cannot give a safe configuration."""


def _bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url):
    """Return a SQLAlchemy URL that uses psycopg 3 for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def engine_options(config):
    """The SQLAlchemy engine options for the configured database, over those given.

    `hide_parameters`: SQL errors in logs never show the values (personal data). On
    PostgreSQL, a short connect timeout (libpq's default waits for the operating system,
    minutes for an unreachable host) and a pool timeout shorter than gunicorn's, so that an
    outage gives a quick 503 instead of hung requests. `pool_pre_ping` replaces a pooled
    connection that a database restart left broken before a request uses it."""
    from sqlalchemy.engine import make_url

    options = {"pool_pre_ping": True, "hide_parameters": True}
    given = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    url = make_url(str(config["SQLALCHEMY_DATABASE_URI"]))
    if url.get_backend_name() == "postgresql":
        options["pool_timeout"] = config["DATABASE_POOL_TIMEOUT"]
        connect_args = {}
        if "connect_timeout" not in url.query:  # a URL's own setting wins
            connect_args["connect_timeout"] = config["DATABASE_CONNECT_TIMEOUT"]
        options["connect_args"] = {**connect_args, **given.pop("connect_args", {})}
    return {**options, **given}


def _secret_key(instance_path, production, given=None):
    key = given or os.environ.get("SECRET_KEY")
    if key:
        return key
    if production:
        # A generated key in production would silently log everyone out on
        # each deploy and differ between gunicorn hosts.
        raise ConfigError("SECRET_KEY must be set in production.")
    key_file = Path(instance_path) / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _trusted_hosts(production):
    hosts = [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()]
    if production and not hosts:
        # Without it, a forged Host header could steer generated absolute links.
        raise ConfigError("TRUSTED_HOSTS must be set in production (e.g. cellule.fund.be).")
    return hosts or None


def build_config(instance_path, secret_key=None):
    """Return the settings dictionary for an app whose instance folder is `instance_path`;
    `secret_key`, when given (an app built with its own settings), replaces SECRET_KEY."""
    env = os.environ.get("CELLULE_ENV", "development").strip().lower()
    production = env == "production"
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + str(Path(instance_path) / "cellule.db")
    )
    return {
        "ENV_NAME": env,
        "SECRET_KEY": _secret_key(instance_path, production, secret_key),
        # Keys of the secrets stored encrypted (TOTP seeds); empty: derived from SECRET_KEY.
        "CELLULE_DATA_KEYS": os.environ.get("CELLULE_DATA_KEYS", ""),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        # Completed by `engine_options` once the URL is final (tests may change it).
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # Seconds PostgreSQL may take to accept a connection, and a request may wait for a
        # free pooled one, before it answers 503 (a job is retried later).
        "DATABASE_CONNECT_TIMEOUT": int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "3")),
        "DATABASE_POOL_TIMEOUT": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
        # Empty means: start an embedded Redis server under instance/.
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "REDIS_SOCKET_TIMEOUT": float(os.environ.get("REDIS_SOCKET_TIMEOUT", "0.5")),
        "SESSION_COOKIE_NAME": "cellule_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(
            minutes=int(os.environ.get("CELLULE_SESSION_MINUTES", "480"))
        ),
        # Server-side session limits (cellule.sessions): absolute lifetime, idle timeout,
        # and how recent a sign-in must be before a sensitive action (re-authentication).
        "CELLULE_SESSION_MINUTES": int(os.environ.get("CELLULE_SESSION_MINUTES", "480")),
        "CELLULE_IDLE_MINUTES": int(os.environ.get("CELLULE_IDLE_MINUTES", "30")),
        "CELLULE_REAUTH_MINUTES": int(os.environ.get("CELLULE_REAUTH_MINUTES", "10")),
        # API tokens (cellule.tokens): the term of a new token, and the longest one may choose.
        "API_TOKEN_DAYS": int(os.environ.get("API_TOKEN_DAYS", "180")),
        "API_TOKEN_MAX_DAYS": int(os.environ.get("API_TOKEN_MAX_DAYS", "365")),
        # Failed sign-in attempts allowed per account and per client address (Flask-Limiter
        # on Redis, moving window; a 429 with Retry-After past them, never a hard lock-out).
        "CELLULE_LOGIN_LIMIT_ACCOUNT": os.environ.get(
            "CELLULE_LOGIN_LIMIT_ACCOUNT", "10 per 15 minutes"
        ),
        "CELLULE_LOGIN_LIMIT_IP": os.environ.get("CELLULE_LOGIN_LIMIT_IP", "50 per 15 minutes"),
        # Host names the app answers to (Host header); required in production.
        "TRUSTED_HOSTS": _trusted_hosts(production),
        # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
        "CELLULE_PROXY_COUNT": int(os.environ.get("CELLULE_PROXY_COUNT", "0")),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(2 * 1024 * 1024))),
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("CELLULE_TIMEZONE", "Europe/Brussels"),
        "LANGUAGES": LANGUAGES,
        "CELLULE_TIMEZONE": os.environ.get("CELLULE_TIMEZONE", "Europe/Brussels"),
        "CELLULE_OPENING_HOURS": os.environ.get(
            "CELLULE_OPENING_HOURS", "mon-fri 08:30-17:00"
        ),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "cellule@localhost"),
        # Where people's answers go (Reply-To of mail to a person): the mailbox Cellule
        # polls. Empty: MAIL_DEFAULT_SENDER.
        "MAIL_REPLY_TO": os.environ.get("MAIL_REPLY_TO", ""),
        # An email arriving while the cell is closed gets one automatic answer (RFC 3834).
        "CELLULE_OUT_OF_HOURS_REPLY": _bool("CELLULE_OUT_OF_HOURS_REPLY", True),
        "IMAP_HOST": os.environ.get("IMAP_HOST", ""),
        "IMAP_PORT": int(os.environ.get("IMAP_PORT", "993")),
        "IMAP_USERNAME": os.environ.get("IMAP_USERNAME", ""),
        "IMAP_PASSWORD": os.environ.get("IMAP_PASSWORD", ""),
        "IMAP_MAILBOX": os.environ.get("IMAP_MAILBOX", "INBOX"),
        # A larger message is quarantined without being downloaded or parsed.
        "MAIL_MAX_MESSAGE_BYTES": int(os.environ.get("MAIL_MAX_MESSAGE_BYTES",
                                                     str(25 * 1024 * 1024))),
        "RQ_QUEUES": ("default",),
    }
