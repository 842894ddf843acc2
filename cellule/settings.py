"""Every setting read from the environment, in one table (issue 16).

The table feeds `cellule.config.build_config` (the environment, else the default, parsed)
and the README's configuration table (`python docs/settings.py`; a test keeps the two
equal). A setting is a `Setting`: its name (the environment variable), its parser, its
default (a value, or a function of the `Context` of the build), the README's text, and:

- `keys`: the configuration keys it fills (default: its own name; none when something
  reads it before the configuration exists);
- `row`: the setting whose README row it joins (the row lists the names together);
- `shown`: the README's default column, when the default's value does not say it;
- `production`: production refuses to start without it.

A blank value is the same as no value: the default.
"""

import secrets
from dataclasses import dataclass
from pathlib import Path


class ConfigError(RuntimeError):
    """Raised when the environment cannot give a safe configuration."""


@dataclass(frozen=True)
class Context:
    """What a default may depend on."""

    instance_path: str
    production: bool


@dataclass(frozen=True)
class Setting:
    name: str
    parse: object
    default: object
    doc: str = ""
    keys: tuple | None = None
    row: str | None = None
    shown: str | None = None
    production: bool = False

    @property
    def config_keys(self):
        return (self.name,) if self.keys is None else self.keys

    def default_for(self, context):
        return self.default(context) if callable(self.default) else self.default


# --------------------------------------------------------------------------- parsers


def flag(raw):
    """on/off: 1, true, yes, on — or 0, false, no, off."""
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("not a yes/no value")


def text(raw):
    return raw.strip()


def secret(raw):
    """Kept as given (a key or password may hold any character)."""
    return raw


def hosts(raw):
    return [h.strip() for h in raw.split(",") if h.strip()] or None


def word(raw):
    return raw.strip().lower()


def hours_per_name(raw):
    """`high=24,72,168; imminent=12,24,72`: whole hours (> 0, increasing) per name."""
    table = {}
    for clause in filter(None, (c.strip() for c in raw.split(";"))):
        name, _, values = clause.partition("=")
        hours = tuple(int(v) for v in values.split(",") if v.strip())
        if not name.strip() or not hours or any(h <= 0 for h in hours) or list(
                hours) != sorted(set(hours)):
            raise ValueError(f"{clause!r}: expected NAME=HOURS,HOURS,... (increasing)")
        table[name.strip().lower()] = hours
    return table or None


def months(raw):
    """`1,2,3,4,6,8,10,12`: whole months after a start (1 to 24, increasing)."""
    values = tuple(int(v) for v in raw.split(",") if v.strip())
    if not values or values[0] < 1 or values[-1] > 24 or list(values) != sorted(set(values)):
        raise ValueError("expected increasing months from 1 to 24")
    return values


def normalise_database_url(url):
    """Return a SQLAlchemy URL that uses psycopg 3 for PostgreSQL."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


PARSE_ERRORS = {
    int: "a whole number",
    float: "a number",
    flag: "on or off (1/0, true/false, yes/no)",
    months: "increasing whole months from 1 to 24, e.g. 1,2,3,4,6,8,10,12",
}


def _sqlite(context):
    return "sqlite:///" + str(Path(context.instance_path) / "cellule.db")


def _in_production(context):
    return context.production


def _stored_key(context):
    """Outside production: the key kept in the instance folder (made on first use)."""
    key_file = Path(context.instance_path) / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


# --------------------------------------------------------------------------- the table

_S = Setting
_MAIL = "MAIL_SERVER"
_IMAP = "IMAP_HOST"

SETTINGS = (
    _S("CELLULE_ENV", word, "development", keys=("ENV_NAME",),
       doc="`production` requires `SECRET_KEY` and `TRUSTED_HOSTS` and turns on Secure "
           "cookies and HSTS"),
    _S("DATABASE_URL", normalise_database_url, _sqlite, keys=("SQLALCHEMY_DATABASE_URI",),
       shown="`sqlite:///instance/cellule.db`",
       doc="SQLAlchemy URL; `postgresql://…` uses psycopg 3"),
    _S("DATABASE_CONNECT_TIMEOUT", int, 3,
       doc="seconds PostgreSQL may take to accept a connection, and a request may wait for "
           "a free pooled one; past them — and whenever the database is unreachable (or a "
           "SQLite lock outlasts its 5 s busy timeout) — pages and API calls answer 503 with "
           "`Retry-After` and nothing saved, the log says so once per outage, and jobs run "
           "again once it is back"),
    _S("DATABASE_POOL_TIMEOUT", float, 10.0, row="DATABASE_CONNECT_TIMEOUT"),
    _S("REDIS_URL", text, "", shown="*(empty: embedded server)*",
       doc="`redis://host:6379/0` in production"),
    _S("REDIS_SOCKET_TIMEOUT", float, 0.5,
       doc="seconds a Redis server may take to answer (the sign-in throttle and the jobs)"),
    # A generated key in production would log everyone out on each deploy and differ between
    # hosts; without trusted hosts, a forged Host header could steer generated links.
    _S("SECRET_KEY", secret, _stored_key, production=True,
       shown="generated into `instance/secret_key`", doc="session and CSRF signing key"),
    _S("CELLULE_DATA_KEYS", secret, "", shown="*(derived from `SECRET_KEY`)*",
       doc="comma-separated Fernet keys that encrypt the stored TOTP seeds; the first "
           "encrypts, all decrypt (rotate: new key first, `flask --app wsgi users "
           "rotate-data-key`, then drop the old one). Set it in production, so that changing "
           "`SECRET_KEY` keeps the second factors"),
    _S("CELLULE_INSTANCE_PATH", text, "", keys=(), shown="`./instance`",
       doc="where the SQLite file, secret key and embedded Redis live"),
    _S("CELLULE_TIMEZONE", text, "Europe/Brussels",
       keys=("CELLULE_TIMEZONE", "BABEL_DEFAULT_TIMEZONE"), doc="the cell's time zone"),
    _S("CELLULE_OPENING_HOURS", text, "mon-fri 08:30-17:00",
       doc="opening hours for deadlines (e.g. `mon-thu 08:30-17:00; fri 08:30-12:00`)"),
    _S("CELLULE_IMMINENT_GRACE_MINUTES", int, 15,
       doc="an imminent case's first response is due this many minutes after the triage "
           "(clock time, any hour); later, it is late everywhere"),
    _S("CELLULE_SESSION_MINUTES", int, 480,
       doc="absolute session lifetime (checked on the server)"),
    _S("CELLULE_IDLE_MINUTES", int, 30, doc="a session unused this long ends"),
    _S("API_TOKEN_DAYS", int, 180,
       doc="term of a new API token, and the longest its owner may choose; an expired token "
           "answers 401 `token expired`"),
    _S("API_TOKEN_MAX_DAYS", int, 365, row="API_TOKEN_DAYS"),
    _S("CELLULE_REAUTH_MINUTES", int, 10,
       doc="sensitive actions (role change, export, erasure) ask for the password (and "
           "code) again after this"),
    _S("CELLULE_LOGIN_LIMIT_ACCOUNT", text, "10 per 15 minutes",
       doc="failed sign-ins allowed per account before a 429 with `Retry-After` (moving "
           "window, no lock-out)"),
    _S("CELLULE_LOGIN_LIMIT_IP", text, "50 per 15 minutes",
       doc="failed sign-ins allowed per client address"),
    _S("CELLULE_SETUP_LINK_LIMIT", text, "20/hour",
       doc="look-ups of unknown or spent set-up links allowed per client address before a "
           "429"),
    _S("TRUSTED_HOSTS", hosts, None, production=True, shown="*(any)*",
       doc="comma-separated host names the app answers to"),
    _S("CELLULE_PROXY_COUNT", int, 0,
       doc="reverse proxies in front whose `X-Forwarded-For/-Proto/-Host` are trusted (set "
           "`1` behind one proxy)"),
    _S("CELLULE_BASE_URL", text, "", shown="*(first of `TRUSTED_HOSTS`, over HTTPS)*",
       doc="public address of the application in mailed links (e.g. "
           "`https://cellule.fund.be`)"),
    _S("SESSION_COOKIE_SECURE", flag, _in_production,
       keys=("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"), shown="on in production",
       doc="send cookies over HTTPS only"),
    _S("MAX_CONTENT_LENGTH", int, 2 * 1024 * 1024, doc="largest request body, in bytes"),
    _S("MAIL_SERVER", text, "", shown="",
       doc="outgoing mail (SMTP); with `MAIL_SERVER` empty mails are logged as not sent"),
    _S("MAIL_PORT", int, 25, row=_MAIL),
    _S("MAIL_USERNAME", text, "", row=_MAIL),
    _S("MAIL_PASSWORD", secret, "", row=_MAIL),
    _S("MAIL_USE_TLS", flag, False, row=_MAIL),
    _S("MAIL_DEFAULT_SENDER", text, "cellule@localhost", row=_MAIL),
    _S("CELLULE_OUT_OF_HOURS_REPLY", flag, True,
       doc="an email that arrives while the cell is closed gets one automatic answer a day "
           "per sender (opening hours, crisis numbers), never to automatic or list mail "
           "(RFC 3834)"),
    _S("CELLULE_SECURITY_CONTACT", text, "", shown="*(none)*",
       doc="whom the mail telling an owner that their second factor was removed says to call "
           "(e.g. a phone number); empty: a supervisor of the cell"),
    _S("MAIL_REPLY_TO", text, "", shown="`MAIL_DEFAULT_SENDER`",
       doc="Reply-To of mail to people: the address of the mailbox Cellule polls, so their "
           "answers come back to it"),
    _S("MAIL_TIMEOUT", float, 30.0, shown="`30`",
       doc="seconds an SMTP or IMAP server may take to answer"),
    _S("IMAP_TIMEOUT", float, 30.0, row="MAIL_TIMEOUT"),
    _S("IMAP_HOST", text, "", shown="",
       doc="the cell's mailbox, polled every minute by the workers when `IMAP_HOST` is set"),
    _S("IMAP_PORT", int, 993, row=_IMAP),
    _S("IMAP_USERNAME", text, "", row=_IMAP),
    _S("IMAP_PASSWORD", secret, "", row=_IMAP),
    _S("IMAP_MAILBOX", text, "INBOX", row=_IMAP),
    _S("IMAP_SECURITY", word, "ssl", doc="`ssl` (IMAPS), `starttls`, or `none`"),
    _S("CELLULE_REMINDER_MINUTES", int, 60,
       doc="how long before a task's or case's deadline its assignee is reminded"),
    _S("CELLULE_JOB_RETRY_INTERVALS", text, "10,60,300",
       doc="back-off between the retries of a failing job, in seconds"),
    _S("CELLULE_RELAY_INTERVAL", float, 2.0,
       doc="seconds: outbox relay pass, worker heartbeat lifetime (a silent worker is taken "
           "for dead and its job re-run), recheck of a relayed job"),
    _S("CELLULE_WORKER_HEARTBEAT", int, 20, row="CELLULE_RELAY_INTERVAL"),
    _S("CELLULE_OUTBOX_LEASE", int, 30, row="CELLULE_RELAY_INTERVAL"),
    _S("CELLULE_OUTBOX_KEEP_DAYS", int, 7,
       doc="done outbox rows kept (days); failed RQ jobs kept in Redis (s) — the outbox "
           "keeps failures until retried"),
    _S("CELLULE_JOB_FAILURE_TTL", int, 86400, row="CELLULE_OUTBOX_KEEP_DAYS"),
    _S("CELLULE_JOB_RESULT_TTL", int, 600,
       doc="seconds the result of a finished RQ job stays in Redis"),
    _S("CELLULE_ABANDONED_DRAFT_MINUTES", int, 20,
       doc="a triage draft with an imminent or high answer left untouched this long is saved "
           "incomplete by the sweep, which opens the case at the level answered"),
    _S("MAIL_MAX_MESSAGE_BYTES", int, 25 * 1024 * 1024,
       doc="larger incoming emails are quarantined without being downloaded"),
    _S("CELLULE_REPORT_MIN_COUNT", int, 5,
       doc="counts below this are suppressed in the reports' API and CSV export"),
    _S("CELLULE_SATISFACTION_TARGET", float, 0.7,
       doc="share of satisfied survey answers (4 or 5) the cell aims at"),
    _S("CELLULE_SURVEY_DAYS", int, 14, doc="days a satisfaction-survey link stays valid"),
    _S("CELLULE_FOLLOW_UP_DELAYS", hours_per_name, None,
       shown="*(none: what administrators set on the \"Follow-up delays\" page, else 24, "
             "72, 168, 720, 2160 hours at every level)*",
       doc="an override of the follow-up protocol's contacts per level, in hours after the "
           "case opened or was raised, e.g. `imminent=12,24,72,168,720; "
           "high=24,72,168,720,2160`: a level named here ignores the admin page; a level not "
           "named keeps what the page set, else the defaults"),
    _S("CELLULE_CARING_MONTHS", months, (1, 2, 3, 4, 6, 8, 10, 12),
       shown="`1,2,3,4,6,8,10,12`",
       doc="months after their start at which caring messages are emailed (with the person's "
           "consent; one text each; a message due while the cell is closed goes at the next "
           "opening)"),
    _S("CELLULE_REFERRAL_CONFIRM_DAYS", int, 5,
       doc="business days after a referral's handover pack was sent without the partner's "
           "confirmation, then after the confirmation without the first appointment's outcome, "
           "before the case's assignee gets a reminder task"),
    _S("CELLULE_REFERRAL_OUTCOME_DAYS", int, 10, row="CELLULE_REFERRAL_CONFIRM_DAYS"),
    _S("CELLULE_RETENTION_YEARS", int, None, shown="*(none: nothing is anonymised)*",
       doc="years after which a daily run anonymises closed cases, people with nothing "
           "since, and old anonymous contacts (`0`: none; `flask --app wsgi retention purge "
           "--dry-run` shows what a run would do)"),
)

BY_NAME = {s.name: s for s in SETTINGS}


# --------------------------------------------------------------------------- reading


def parse(setting, raw):
    """The value of `setting` from its raw text; a ConfigError names it when it is wrong."""
    try:
        return setting.parse(raw)
    except ValueError:
        wanted = PARSE_ERRORS.get(setting.parse, "a valid value")
        # The value itself is not repeated: it may be a secret.
        raise ConfigError(f"{setting.name} must be {wanted}.") from None


def read(setting, environ, context):
    """The value of `setting` in `environ`, else its default (production may refuse)."""
    raw = environ.get(setting.name)
    if raw is not None and raw.strip():
        value = parse(setting, raw)
    elif setting.production and context.production:
        value = None
    else:
        return setting.default_for(context)
    if setting.production and context.production and not value:
        raise ConfigError(f"{setting.name} must be set in production.")
    return value


def values(environ, context, given=None):
    """The configuration keys the table fills: {key: value}; `given` values win."""
    given = given or {}
    config = {}
    for setting in SETTINGS:
        value = given[setting.name] if setting.name in given else read(setting, environ, context)
        for key in setting.config_keys:
            config[key] = value
    return config


# --------------------------------------------------------------------------- the README


def _shown(setting):
    if setting.shown is not None:
        return setting.shown
    value = setting.default
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value in (None, "") else f"`{value}`"


def _rows():
    rows = {}
    for setting in SETTINGS:
        rows.setdefault(setting.row or setting.name, []).append(setting)
    return rows.values()


def _row(members):
    lead = members[0]
    names = ", ".join(f"`{s.name}`" for s in members)
    if lead.shown is not None or len(members) == 1:
        default = _shown(lead)
    else:
        default = ", ".join(_shown(s) for s in members)
    if lead.production:
        default = (default + "; " if default else "") + "**required** in production"
    return "|" + "|".join(f" {cell} " if cell else " " for cell in (names, default, lead.doc)) + "|"


def readme_table():
    """The README's configuration table (markdown), one row per setting or group."""
    head = ["| variable | default | meaning |", "|---|---|---|"]
    return "\n".join(head + [_row(members) for members in _rows()]) + "\n"
