"""Job plumbing: `@job` and `periodic` (they fill `cellule.job_registry`), the idempotent job
wrapper, queues, and the worker.

A job is a module-level function decorated with `@job("name")`; it takes ids,
never objects, and may run twice without a second effect. Callers never enqueue
it directly: they request it with `cellule.outbox.request("name", *ids)` in
their own transaction, and the relay moves the request to RQ (DESIGN §4).

The wrapper runs each job in a fresh application context (its own database
session), skips it when its outbox row is already done, commits its work, then
marks the row done. The worker (`flask --app wsgi worker`) is an RQ
`SimpleWorker` with RQ's scheduler (for retries with back-off) plus a relay
thread that heartbeats, requests periodic jobs, checks leases and relays rows.
"""

import functools
import logging
import os
import signal
import threading
import time

import redis
from flask import current_app, has_app_context
from rq import Queue, SimpleWorker
from rq import get_current_job as rq_current_job
from rq.timeouts import TimerDeathPenalty
from sqlalchemy.exc import DBAPIError

from . import background, idempotency, outbox
from .extensions import database_unavailable, db, describe_database_error
from .job_registry import PERIODIC, SPECS, JobSpec, Periodic
from .redaction import install_log_filter
from .redis_conn import REDIS_OUTAGE, Outage, connect, get_redis

log = logging.getLogger(__name__)


def init_app(app):
    """Install the relay hook and the background services (settings: `cellule.settings`)."""
    app.after_request(outbox.relay_after_request)
    background.init_app(app)


# --- The registry (`cellule.job_registry`) ------------------------------------


def job(name, *, timeout=60, retries=None, queue="default"):
    """Register a job under `name`: `timeout` in seconds, `retries` back-off intervals
    (None: `CELLULE_JOB_RETRY_INTERVALS`; an empty tuple: never retried)."""

    def decorator(body):
        @functools.wraps(body)
        def run(*ids):
            return _run(SPECS[name], ids)

        SPECS[name] = JobSpec(name, run, body, timeout, retries, queue, record_failure)
        run.job_name = name
        return run

    return decorator


def periodic(name, every, enabled=None, queue="default"):
    """Request the job `name` every `every` seconds from the workers' relay."""
    PERIODIC[name] = Periodic(name, every, queue, enabled or (lambda app: True))


# --- Running a job -----------------------------------------------------------

_fallback_app = None
_fallback_lock = threading.Lock()


def job_app():
    """The application a job runs in: the worker's, else one built from the environment."""
    global _fallback_app
    if has_app_context():
        return current_app._get_current_object()
    with _fallback_lock:
        if _fallback_app is None:
            # Here, not at the top: the package's factory imports this module (a job run
            # outside any app, by a bare RQ worker, builds its own).
            from . import create_app

            _fallback_app = create_app()
        return _fallback_app


def _outbox_row_id(rq_job, job_name=None):
    """The outbox row an RQ job runs for (None for a direct call, even inside a job)."""
    if rq_job is None or not rq_job.meta.get("outbox_token") or not rq_job.id.isdigit():
        return None
    if job_name is not None and rq_job.meta.get("job_name") != job_name:
        return None
    return int(rq_job.id)


def _run(spec, ids):
    app = job_app()
    rq_job = rq_current_job()
    with app.app_context():
        row_id = _outbox_row_id(rq_job, spec.name)
        if row_id is not None:
            row = db.session.get(outbox.OutboxMessage, row_id)
            if row is None or row.token != rq_job.meta["outbox_token"]:
                log.warning("job %s %s: no matching outbox row, skipped", spec.name, rq_job.id)
                return None
            if row.status == "done":
                log.info("job %s (outbox %s) already done, skipped", spec.name, row_id)
                return None
            db.session.rollback()  # end the read; the job starts from fresh data
        try:
            result = spec.body(*ids)
            if row_id is not None:
                outbox.mark_done(row_id)  # in the transaction of the job's last writes
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        outbox.relay_committed(app)
        log.info("job %s%s done", spec.name, f" (outbox {row_id})" if row_id else "")
        return result


# --- Outages ------------------------------------------------------------------

DATABASE_OUTAGE = Outage("Database", log)


def _rollback_quietly():
    try:
        db.session.rollback()
    except Exception:  # the database itself may be the problem
        pass


def record_failure(rq_job, connection, exc_type, exc_value, traceback):
    """RQ failure callback: note the error on the outbox row; fail it when no retry is left.

    A job that met the database unavailable did not fail: its RQ job is marked instead of
    its row (whether or not the database is back by now), RQ's retries run as usual, and
    once they are spent the relay's reconcile puts the row back to pending, so the job
    runs again after the outage (DESIGN §9). The mark is also set when the failure itself
    cannot be recorded for want of the database."""
    row_id = _outbox_row_id(rq_job)
    if row_id is None:
        return
    if database_unavailable(exc_value):
        DATABASE_OUTAGE.failed(describe_database_error(exc_value))
        rq_job.meta[outbox.DATABASE_DOWN_META] = True
        rq_job.save_meta()
        return
    if rq_job.meta.pop(outbox.DATABASE_DOWN_META, None):
        rq_job.save_meta()  # this failure is the job's own: its retries count again
    error = f"{exc_type.__name__}: {exc_value}" if exc_type else "failed"
    with job_app().app_context():
        try:
            outbox.mark_failed(row_id, error, final=not rq_job.should_retry)
        except Exception as failure:
            _rollback_quietly()
            if not database_unavailable(failure):
                raise
            DATABASE_OUTAGE.failed(describe_database_error(failure))
            rq_job.meta[outbox.DATABASE_DOWN_META] = True
            rq_job.save_meta()


def get_queue(name="default", app=None):
    """Return the named RQ queue on the app's Redis."""
    app = app or current_app._get_current_object()
    return Queue(name, connection=get_redis(app))


# --- The worker --------------------------------------------------------------


class Relay(threading.Thread):
    """The worker's relay loop: heartbeat, periodic jobs, leases, pending rows."""

    PURGE_EVERY = 3600.0  # seconds

    def __init__(self, app, worker_name):
        super().__init__(name="outbox-relay", daemon=True)
        self.app = app
        self.worker_name = worker_name
        self.stopping = threading.Event()
        self._failing = False
        self._purged_at = None

    def run(self):
        interval = self.app.config["CELLULE_RELAY_INTERVAL"]
        while True:
            self.tick()
            if self.stopping.wait(interval):
                return

    def stop(self):
        self.stopping.set()

    def tick(self):
        """One pass; errors are logged once per outage and never end the loop."""
        with self.app.app_context():
            try:
                connection = get_redis(self.app)
                connection.set(
                    outbox.worker_alive_key(self.worker_name),
                    os.getpid(),
                    ex=self.app.config["CELLULE_WORKER_HEARTBEAT"],
                )
                background.beat(connection)
                outbox.schedule_periodic()
                outbox.reconcile(connection=connection)
                while outbox.relay(connection=connection) == 100:
                    pass
                if self._purged_at is None or time.monotonic() - self._purged_at > self.PURGE_EVERY:
                    outbox.purge()
                    idempotency.purge()  # answers to Idempotency-Key older than 24 h
                    self._purged_at = time.monotonic()
            except (redis.RedisError, OSError) as error:
                _rollback_quietly()
                REDIS_OUTAGE.failed(error)
            except Exception as error:
                _rollback_quietly()
                if database_unavailable(error):
                    DATABASE_OUTAGE.failed(describe_database_error(error))
                    return
                if not self._failing:
                    log.warning("relay pass failed (will retry): %s", error)
                self._failing = True
            else:
                REDIS_OUTAGE.recovered()
                DATABASE_OUTAGE.recovered()
                if self._failing:
                    log.info("relay pass works again")
                self._failing = False


class CelluleWorker(SimpleWorker):
    """An RQ worker that runs jobs in its own process, with a relay thread beside it."""

    app = None
    relay = None
    jobs_run = 0
    stop_requested = False  # by a signal: `run_worker` then does not start it again
    # Seconds the forked scheduler gets to stop before it is killed (it may be waiting
    # for an unreachable Redis; its locks expire on their own).
    SCHEDULER_STOP_WAIT = 5.0

    def request_stop(self, signum, frame):
        self.stop_requested = True
        retry = self.connection.get_retry()
        if hasattr(retry, "give_up"):
            retry.give_up()  # during an outage, stop instead of waiting for Redis
        try:
            super().request_stop(signum, frame)
        except redis.RedisError:
            self._stop_requested = True

    def handle_exception(self, job, *exc_info):
        # A job that met the database unavailable is no bug: no traceback, and the
        # outage itself is logged once (it runs again once the database is back, see
        # `record_failure`).
        if database_unavailable(exc_info[1]):
            DATABASE_OUTAGE.failed(describe_database_error(exc_info[1]))
            log.info("job %s postponed: the database is unreachable", job.id)
            return
        super().handle_exception(job, *exc_info)

    def stop_scheduler(self):
        process = self.scheduler._process
        if process is None or not process.pid:
            return
        try:
            os.kill(process.pid, signal.SIGTERM)
        except OSError:
            pass
        process.join(self.SCHEDULER_STOP_WAIT)
        if process.is_alive():
            process.kill()
            process.join()

    def execute_job(self, job, queue):
        self.jobs_run += 1
        if self.relay is None:
            # No relay thread heartbeats for this worker (burst mode): vouch for it for
            # as long as the job may run, so that no relay takes it for dead meanwhile.

            ttl = (job.timeout if job.timeout and job.timeout > 0 else 600) + 60
            self.connection.set(outbox.worker_alive_key(self.name), os.getpid(), ex=ttl)
        return super().execute_job(job, queue)

    def run_maintenance_tasks(self):
        # Started here, after RQ forked its scheduler process at the start of work():
        # a fork never copies a running relay thread.
        if self.relay is None and self.app is not None:
            self.relay = Relay(self.app, self.name)
            self.relay.tick()  # heartbeat before the first job is taken
            self.relay.start()
        super().run_maintenance_tasks()

    def work(self, *args, **kwargs):
        try:
            return super().work(*args, **kwargs)
        finally:
            if self.relay is not None:
                self.relay.stop()
                self.relay.join(5)
                self.relay = None


class BurstWorker(CelluleWorker):
    """A worker that runs the jobs waiting now and stops (`worker --burst`, tests)."""

    def subscribe(self):
        # RQ's command channel (stop a job, shut down) is for long-running workers; its
        # listener thread would only delay the end of a burst by a second.
        pass


class ThreadWorker(CelluleWorker):
    """A worker that runs jobs in a background thread of the web process (demo only).

    Signals can only be handled by the main thread, so job time limits use a
    timer instead and no signal handlers are installed.
    """

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        pass


def make_worker(app, worker_class=CelluleWorker, name=None, relay=True, patient=False):
    """Return a worker listening on the app's queues with a blocking connection
    (`patient`: one that waits for Redis through an outage, see `PatientRetry`)."""
    connection = connect(app, blocking=True, patient=patient)
    queues = [Queue(q, connection=connection) for q in app.config["RQ_QUEUES"]]
    worker = worker_class(queues, connection=connection, name=name)
    if relay and isinstance(worker, CelluleWorker):
        worker.app = app
    return worker


# Back-off between two starts of a worker loop that ended on an error, in seconds.
RESTART_BACKOFF = (1.0, 60.0)


def run_worker(app, worker_class=CelluleWorker, sleep=time.sleep):
    """Run a long-running worker until a signal stops it (`flask --app wsgi worker`).

    Its Redis connection waits through outages; should its loop still end on an
    error (RQ quits on any exception it does not expect), a new worker with a new
    name starts after a capped exponential back-off. The job the old one had under
    way comes back through the outbox: its heartbeat key expires and the relay puts
    the row back to pending. It never exits on a transient error. Its logs and RQ's go
    through `RedactingFilter`: a refused recipient's address stays out of them.
    """
    install_log_filter()
    delay, cap = RESTART_BACKOFF
    while True:
        worker = make_worker(app, worker_class, patient=True)
        started = time.monotonic()
        try:
            worker.work(with_scheduler=True)
            reason = "its loop ended"
        except (redis.RedisError, OSError, DBAPIError) as error:
            reason = str(error)
        if worker.stop_requested:
            return
        if time.monotonic() - started > 10 * cap:
            delay = RESTART_BACKOFF[0]  # it had worked for a while: a new outage
        log.warning("worker %s stopped (%s); a new worker starts in %.0f s",
                    worker.name, reason, delay)
        sleep(delay)
        delay = min(delay * 2, cap)


def drain(app, rounds=20):
    """Relay and run every due job until none is left (burst mode); return jobs run."""
    ran = 0
    for _ in range(rounds):
        with app.app_context():
            outbox.reconcile()
            moved = outbox.relay()
            while moved and moved % 100 == 0:
                moved += outbox.relay()
        worker = make_worker(app, BurstWorker, relay=False)
        worker.work(burst=True, with_scheduler=True)  # also enqueues due retries
        done = worker.jobs_run
        ran += done
        if not moved and not done:
            break
    return ran


def ping(value):
    """Return `value`; a trivial job used to check that a worker runs jobs."""
    log.info("ping job ran")
    return value
