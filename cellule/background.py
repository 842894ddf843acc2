"""Whether the background work runs: the workers' heartbeat and the outbox backlog.

Every worker's relay pass stamps one Redis key with the time (`beat`); a worker silent
for longer than `CELLULE_WORKER_HEARTBEAT` seconds is taken for stopped. Jobs are due
when a pending row's time has come, or a relayed one waits for a worker. `/health`
answers 503 when workers are stale while jobs are due (DESIGN §9), and supervisors and
administrators see a banner "background work stopped since HH:MM" on every page.
"""

import logging
import time
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import format_datetime, format_time
from flask_login import current_user
from sqlalchemy import exists, func, select

from .extensions import db
from .mailbox import quarantine_pending_query
from .outbox import OutboxMessage
from .redis_conn import get_redis
from .roles import OVERSIGHT
from .types import utcnow

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "cellule:workers:heartbeat"
# The stamp outlives a dead worker by far: the banner can tell since when work stopped.
HEARTBEAT_KEEP = 7 * 86400  # seconds
# Seconds a page reuses the banner's state (its check costs a query and a Redis call).
BANNER_CACHE = 15.0
BANNER_ROLES = OVERSIGHT


def beat(connection):
    """Record that a worker's relay is alive now (called by each relay pass)."""
    connection.set(HEARTBEAT_KEY, f"{time.time():.3f}", ex=HEARTBEAT_KEEP)


def last_beat(connection):
    """When a worker last showed it was alive (an aware UTC datetime), or None."""
    raw = connection.get(HEARTBEAT_KEY)
    if raw is None:
        return None
    try:
        return datetime.fromtimestamp(float(raw), UTC)
    except (TypeError, ValueError):
        return None


def backlog(now=None, quarantine=False):
    """Return (the time the oldest due pending row came due or None, whether a relayed row
    waits), in one statement: `/health` uses it as its database check too. With
    `quarantine`, the same statement also counts the quarantined emails (a third value)."""
    now = now or utcnow()
    oldest = (
        select(func.min(OutboxMessage.run_after))
        .where(OutboxMessage.status == "pending", OutboxMessage.run_after <= now)
        .scalar_subquery()
    )
    waiting = exists().where(OutboxMessage.status == "relayed")
    columns = (oldest, waiting, quarantine_pending_query()) if quarantine else (oldest, waiting)
    return tuple(db.session.execute(select(*columns)).one())


def workers_state(heartbeat, now=None):
    """'ok' when a worker's heartbeat is recent enough, else 'stale'."""
    if heartbeat is None:
        return "stale"
    now = now or utcnow()
    limit = timedelta(seconds=current_app.config["CELLULE_WORKER_HEARTBEAT"])
    return "ok" if now - heartbeat <= limit else "stale"


def lag_seconds(oldest, now=None):
    """Age in whole seconds of the oldest due pending row (0 when none)."""
    if oldest is None:
        return 0
    return max(0, int(((now or utcnow()) - oldest).total_seconds()))


def stopped_since(now=None):
    """When the background work stopped (aware UTC datetime), or None while it runs or
    nothing is due. Never raises: a page must render whatever is down."""
    now = now or utcnow()
    try:
        oldest, waiting = backlog(now)
    except Exception:
        db.session.rollback()
        return None  # no database, no page either: nothing to add
    if oldest is None and not waiting:
        return None
    try:
        heartbeat = last_beat(get_redis())
    except Exception:
        heartbeat = None  # Redis down: no job can reach a worker
    if workers_state(heartbeat, now) == "ok":
        return None
    if heartbeat is not None:
        return heartbeat
    return oldest or now


def banner_since():
    """`stopped_since()`, remembered for `BANNER_CACHE` seconds by this process."""
    app = current_app._get_current_object()
    cached = app.extensions.get("cellule_background_banner")
    if cached is not None and time.monotonic() - cached[0] < BANNER_CACHE:
        return cached[1]
    since = stopped_since()
    app.extensions["cellule_background_banner"] = (time.monotonic(), since)
    return since


def init_app(app):
    """Give templates `background_stopped_since()`: the banner's time (in the cell's time
    zone and the user's language) for supervisors and administrators, None for everyone
    else or while the work runs."""
    def background_stopped_since():
        if not current_user.is_authenticated or current_user.role not in BANNER_ROLES:
            return None
        since = banner_since()
        if since is None:
            return None
        if utcnow() - since < timedelta(hours=12):
            return format_time(since, "short")
        return format_datetime(since, "short")  # a day ago or more: the date too

    app.jinja_env.globals["background_stopped_since"] = background_stopped_since
