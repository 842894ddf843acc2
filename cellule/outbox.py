"""The transactional outbox: every job is requested by a row of the caller's transaction.

`request("send_email", mail.id)` adds a row to the current database transaction;
the job exists only if that transaction commits, and it is not lost when Redis
is down at that moment. The relay then moves due rows to RQ with the row id as
the RQ job id, so moving a row twice never makes two jobs:

- the worker process relays every `CELLULE_RELAY_INTERVAL` seconds (`jobs.Relay`);
- a web request relays the rows it committed right after its view returned, with
  Redis' short socket timeouts, and never fails because of it (`relay_after_request`).

Rows go `pending` → `relayed` → `done` (or `failed`). A relayed row is checked again
after a lease: a job that Redis lost, or whose worker died (its heartbeat key
expired, e.g. after `kill -9`), is put back to `pending` and relayed once more.
Jobs are idempotent, so a job that runs twice has no second effect.
"""

import logging
import secrets
import time
from datetime import timedelta

import redis
from flask import current_app, has_app_context
from rq import Queue
from rq.callbacks import Callback
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import JSON, CheckConstraint, Index, String, Text, delete, event, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from . import job_registry
from .extensions import database_unavailable, db, describe_database_error
from .redaction import redact as redact_personal
from .redis_conn import get_redis
from .types import UTCDateTime, utcnow

log = logging.getLogger(__name__)

STATUSES = ("pending", "relayed", "done", "failed")
# A row put back to pending this many times (worker deaths, lost jobs) fails for good:
# a job that kills its worker every time must not kill every worker forever.
MAX_RELAYS = 5
# After a relay failure in a web process, skip immediate relays for this long: during
# an outage each request would otherwise wait for Redis' connect timeout.
WEB_RELAY_PAUSE = 10.0

# RQ job meta set when a job failed while the database could not be reached (so its
# failure could not be written): reconcile then relays the row again instead of failing it.
DATABASE_DOWN_META = "database_unreachable"

_PENDING = "cellule_outbox_pending"  # session.info: rows added in the open transaction
_COMMITTED = "cellule_outbox_committed"  # session.info: rows committed, not yet relayed


class OutboxMessage(db.Model):
    """One requested job: its name, the ids it takes, and where it stands."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")", name="status_known"
        ),
        Index(
            "ix_outbox_pending",
            "run_after",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(
            "ix_outbox_relayed",
            "check_after",
            "id",
            postgresql_where=text("status = 'relayed'"),
            sqlite_where=text("status = 'relayed'"),
        ),
        Index("ix_outbox_job_status", "job_name", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_name: Mapped[str] = mapped_column(String(80))
    # The job's arguments: ids (integers or short strings), never objects.
    args: Mapped[list] = mapped_column(JSON, default=list)
    queue: Mapped[str] = mapped_column(String(40), default="default")
    # Optional deduplication key: a second request with the same key is the first one.
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # Written into the RQ job's meta: a job left in Redis by another database (a reset
    # demo, a restored backup) never passes for this row's job.
    token: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    run_after: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    relayed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    relay_count: Mapped[int] = mapped_column(default=0)
    # When the relay looks again at a relayed row (lost job, dead worker).
    check_after: Mapped[object | None] = mapped_column(UTCDateTime)
    done_at: Mapped[object | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    @property
    def rq_job_id(self):
        return str(self.id)

    @property
    def is_periodic(self):
        return (self.key or "").startswith("every:")

    def __repr__(self):
        return f"<OutboxMessage {self.id} {self.job_name} {self.status}>"


# --- Requesting jobs ---------------------------------------------------------


def _check_ids(ids):
    for value in ids:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(f"jobs take ids (int or str), not {type(value).__name__}")
        if isinstance(value, str) and len(value) > 200:
            raise ValueError("a job argument must be a short id")


def request(job_name, *ids, queue=None, run_after=None, key=None):
    """Request the job `job_name(*ids)` in the caller's transaction; return the outbox row.

    Nothing is sent to Redis here: the row commits (or rolls back) with the caller's
    change. With `key`, a row with the same key already requested is returned instead.
    """
    spec = job_registry.get_spec(job_name)
    _check_ids(ids)
    if key is not None:
        existing = db.session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
        if existing is not None:
            return existing
    row = OutboxMessage(
        job_name=job_name,
        args=list(ids),
        queue=queue or spec.queue,
        key=key,
        run_after=run_after or utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    db.session.info.setdefault(_PENDING, []).append(row.id)
    log.info("job %s requested (outbox %s)", job_name, row.id)
    return row


@event.listens_for(db.session, "after_commit")
def _remember_committed(session):
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_COMMITTED, []).extend(pending)


@event.listens_for(db.session, "after_rollback")
def _forget_rolled_back(session):
    session.info.pop(_PENDING, None)


# --- The relay -------------------------------------------------------------


def _config(name):
    return current_app.config[name]


def _locked(stmt):
    """Lock the selected rows on PostgreSQL, skipping those another relay holds."""
    if db.session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True)
    return stmt  # SQLite serialises writers itself


def _lease(now):
    return now + timedelta(seconds=_config("CELLULE_OUTBOX_LEASE"))


def _enqueue(row, connection):
    """Put the row's job on its RQ queue, with the row id as job id."""
    spec = job_registry.get_spec(row.job_name)
    queue = Queue(row.queue, connection=connection)
    options = dict(
        args=tuple(row.args),
        job_id=row.rq_job_id,
        timeout=spec.timeout,
        result_ttl=_config("CELLULE_JOB_RESULT_TTL"),
        failure_ttl=_config("CELLULE_JOB_FAILURE_TTL"),
        retry=job_registry.retry_policy(spec),
        meta={"outbox_token": row.token, "job_name": row.job_name},
        description=f"{row.job_name}({', '.join(map(str, row.args))}) outbox {row.id}",
        on_failure=Callback(spec.on_failure),
        unique=True,
    )
    try:
        queue.enqueue_call(spec.func, **options)
    except DuplicateJobError:
        try:
            existing = Job.fetch(row.rq_job_id, connection=connection)
        except NoSuchJobError:
            existing = None
        if existing is not None and existing.meta.get("outbox_token") == row.token:
            return  # an earlier relay enqueued it and died before its commit
        if existing is not None:
            log.warning("outbox %s: replacing a foreign RQ job with the same id", row.id)
            existing.delete()
        queue.enqueue_call(spec.func, **options)


def relay(ids=None, limit=100, connection=None):
    """Move due pending rows (or only `ids`) to RQ; return how many were moved.

    Raises the Redis error when Redis is down; the rows moved before it stay relayed.
    """
    now = utcnow()
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.run_after <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if ids is not None:
        stmt = stmt.where(OutboxMessage.id.in_(ids))
    rows = db.session.scalars(_locked(stmt)).all()
    if not rows:
        db.session.rollback()
        return 0
    connection = connection or get_redis()
    moved = 0
    try:
        for row in rows:
            try:
                _enqueue(row, connection)
            except job_registry.UnknownJob as error:
                _fail(row, now, str(error))
                continue
            row.status = "relayed"
            row.relayed_at = now
            row.relay_count += 1
            row.check_after = _lease(now)
            moved += 1
    finally:
        db.session.commit()
    if moved:
        log.info("relayed %s job(s) to Redis", moved)
    return moved


def redact(error):
    """An error message fit for the failed-jobs page and the logs: no email addresses, no
    phone numbers (`cellule.redaction.redact`, the logs' rule)."""
    return redact_personal(error or "")[:4000]


def _fail(row, now, error):
    row.status = "failed"
    row.failed_at = now
    row.last_error = redact(error)
    log.warning("outbox %s (%s) failed: %s", row.id, row.job_name, row.last_error[:200])


def _back_to_pending(row, now, reason):
    if row.relay_count >= MAX_RELAYS:
        _fail(row, now, f"{reason}; gave up after {row.relay_count} relays")
        return
    row.status = "pending"
    row.run_after = now
    row.check_after = None
    row.last_error = reason
    log.warning("outbox %s (%s): %s; relaying it again", row.id, row.job_name, reason)


def worker_alive_key(worker_name):
    return f"cellule:worker-alive:{worker_name}"


def _abandoned(job, connection, now):
    """Tell whether a started job's worker died (or overran its time limit)."""
    if not job.worker_name or not connection.exists(worker_alive_key(job.worker_name)):
        return f"worker {job.worker_name or '?'} is gone"
    if job.started_at and job.timeout and job.timeout > 0:
        limit = job.started_at + timedelta(seconds=job.timeout + _config("CELLULE_OUTBOX_LEASE"))
        if now > limit:
            return "the job overran its time limit"
    return None


def reconcile(limit=100, connection=None):
    """Look again at relayed rows whose lease ended; return how many went back to pending."""
    now = utcnow()
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "relayed", OutboxMessage.check_after <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    rows = db.session.scalars(_locked(stmt)).all()
    if not rows:
        db.session.rollback()
        return 0
    connection = connection or get_redis()
    requeued = 0
    try:
        for row in rows:
            try:
                job = Job.fetch(row.rq_job_id, connection=connection)
            except NoSuchJobError:
                job = None
            if job is None or job.meta.get("outbox_token") != row.token:
                _back_to_pending(row, now, "the job was lost from Redis")
                requeued += 1
                continue
            status = job.get_status(refresh=False)
            if status == JobStatus.FINISHED:
                row.status, row.done_at = "done", now
            elif status == JobStatus.FAILED and job.meta.get(DATABASE_DOWN_META):
                job.delete()
                _back_to_pending(row, now, "it failed while the database was unreachable")
                requeued += 1
            elif status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                result = job.latest_result()
                error = (result.exc_string or "") if result is not None else ""
                _fail(row, now, _last_line(error) or f"the job was {status}")
            elif status == JobStatus.STARTED and (reason := _abandoned(job, connection, now)):
                job.delete()
                _back_to_pending(row, now, reason)
                requeued += 1
            else:
                row.check_after = _lease(now)  # queued, scheduled for a retry, or running
    finally:
        db.session.commit()
    return requeued


def _last_line(text_):
    lines = [line for line in (text_ or "").strip().splitlines() if line.strip()]
    return lines[-1][:4000] if lines else ""


def schedule_periodic(now=None):
    """Request the periodic jobs whose slot began; return the names requested.

    One row per job and slot (its key), and none while an earlier run is still
    pending or running: several workers may call this at once.
    """
    now = now or utcnow()
    requested = []
    for periodic in job_registry.PERIODIC.values():
        if not periodic.enabled(current_app):
            continue
        slot = int(now.timestamp() // periodic.every)
        key = f"every:{periodic.name}:{slot}"
        busy = db.session.scalar(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.job_name == periodic.name,
                OutboxMessage.status.in_(("pending", "relayed")),
            )
            .limit(1)
        )
        if busy or db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)):
            db.session.rollback()
            continue
        row = OutboxMessage(job_name=periodic.name, args=[], queue=periodic.queue, key=key)
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another worker requested this slot first
            continue
        requested.append(periodic.name)
    return requested


def purge(now=None):
    """Delete done rows older than `CELLULE_OUTBOX_KEEP_DAYS`; return how many."""
    now = now or utcnow()
    cutoff = now - timedelta(days=_config("CELLULE_OUTBOX_KEEP_DAYS"))
    count = db.session.execute(
        delete(OutboxMessage).where(OutboxMessage.status == "done", OutboxMessage.done_at < cutoff)
    ).rowcount
    db.session.commit()
    return count


# --- Bookkeeping done by the jobs themselves ---------------------------------


def mark_done(row_id):
    """Record, in the current transaction, that the row's job ran to its end (a later run
    of it does nothing)."""
    row = db.session.get(OutboxMessage, row_id)
    if row is None:
        return
    row.status = "done"
    row.done_at = utcnow()
    row.failed_at = None
    row.check_after = None
    if row.is_periodic:
        # A successful run supersedes the failures of earlier runs of the same job.
        db.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.job_name == row.job_name,
                OutboxMessage.status == "failed",
                OutboxMessage.key.like("every:%"),
            )
        )


def mark_failed(row_id, error, final):
    """Record a failed run; `final` when no retry is left."""
    row = db.session.get(OutboxMessage, row_id)
    if row is None or row.status == "done":
        return
    row.last_error = redact(error)
    if final:
        now = utcnow()
        _fail(row, now, error)
        if row.is_periodic:
            # Keep only the latest failure of a periodic job, not one a minute.
            db.session.execute(
                delete(OutboxMessage).where(
                    OutboxMessage.job_name == row.job_name,
                    OutboxMessage.status == "failed",
                    OutboxMessage.key.like("every:%"),
                    OutboxMessage.id != row.id,
                )
            )
    db.session.commit()


def failed_rows(limit=200):
    """Return the failed rows, newest first."""
    return db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == "failed")
        .order_by(OutboxMessage.failed_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    ).all()


def retry(row):
    """Put a failed row back to pending for a fresh run (its RQ job is replaced)."""
    if row.status != "failed":
        raise ValueError("only a failed job can be retried")
    row.status = "pending"
    row.run_after = utcnow()
    row.failed_at = None
    row.check_after = None
    row.relay_count = 0
    # A new token: the failed RQ job left in Redis is then replaced, not taken for this run.
    row.token = secrets.token_hex(16)
    db.session.flush()
    db.session.info.setdefault(_PENDING, []).append(row.id)
    log.info("outbox %s (%s) retried", row.id, row.job_name)


# --- Relaying what a request or a job committed ------------------------------


def relay_committed(app=None):
    """Relay at once the rows this session committed; never raise.

    Called after a web request's view and after each job: the job usually starts
    within milliseconds instead of at the worker's next relay tick. When Redis is
    down the rows simply wait for the worker's relay.
    """
    app = app or current_app._get_current_object()
    ids = db.session.info.pop(_COMMITTED, None)
    if not ids or not has_app_context():
        return 0
    paused_until = app.extensions.get("cellule_relay_paused_until", 0.0)
    if time.monotonic() < paused_until:
        return 0
    try:
        return relay(ids=ids)
    except (redis.RedisError, OSError) as error:
        app.extensions["cellule_relay_paused_until"] = time.monotonic() + WEB_RELAY_PAUSE
        log.warning("immediate relay skipped, the worker will relay later: %s", error)
    except Exception as error:
        if database_unavailable(error):  # no bug: no traceback, the worker relays it
            log.warning("immediate relay skipped, the worker will relay later: %s",
                        describe_database_error(error))
        else:
            log.exception("immediate relay failed; the worker will relay later")
    try:
        db.session.rollback()
    except Exception:  # the database itself may be the problem
        log.warning("rollback after a failed relay failed", exc_info=True)
    return 0


def relay_after_request(response):
    """`after_request` hook: relay the jobs the request committed."""
    if db.session.info.get(_COMMITTED):
        relay_committed()
    return response
