"""A job that meets the database unavailable is postponed, never failed for good: it runs
again once the database is back (DESIGN §9, issue 13).

- Both databases, in-process: the outage ends at the very moment the job fails (a lost
  connection reconnected, a SQLite lock let go) — its last try, no retry left — and the job
  still runs again and is done, instead of being listed as failed.
- PostgreSQL, a real `flask --app wsgi worker` behind a TCP proxy that the test cuts: the job
  it takes meanwhile is done once after the outage, which its log tells in one line.
"""

import sqlite3

import pytest
from rq.job import Job
from sqlalchemy import event, select
from sqlalchemy.engine import make_url

from cellule import create_app, jobs, outbox
from cellule.extensions import database_unavailable, db
from cellule.jobs import BurstWorker, drain, make_worker
from cellule.mailer import OutgoingMail, send_mail
from cellule.outbox import DATABASE_DOWN_META, OutboxMessage
from cellule.redis_conn import get_redis
from tests.conftest import TEST_DATABASE_URL, base_config, serve_app
from tests.servers import TcpProxy

from .conftest import wait_until
from .test_worker_heals import read_log

ON_POSTGRESQL = bool(TEST_DATABASE_URL)


@pytest.fixture
def proxy(database_url):
    """A cuttable TCP proxy in front of the test's PostgreSQL (None on SQLite)."""
    if not ON_POSTGRESQL:
        yield None
        return
    url = make_url(database_url)
    with TcpProxy(url.host, url.port or 5432) as running:
        yield running


@pytest.fixture
def app(database_url, redis_url, tmp_path, proxy):
    """The suite's `app`, reaching PostgreSQL through `proxy`; on SQLite with a short busy
    timeout (a held lock is an outage within a fraction of a second)."""
    config = base_config(database_url, redis_url)
    if proxy is not None:
        config["SQLALCHEMY_DATABASE_URI"] = proxy.url_for(database_url)
    else:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 0.3}}
    yield from serve_app(config, tmp_path)
    jobs.DATABASE_OUTAGE.recovered()  # this process's outage state, for the next test


def mail_rows():
    db.session.rollback()
    db.session.expire_all()
    mails = db.session.scalars(select(OutgoingMail)).all()
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.job_name == "send_email")).all()
    return mails, rows


def test_a_job_whose_last_try_meets_the_database_unavailable_runs_again_once_it_is_back(
    app, database_url, proxy
):
    app.config["MAIL_SERVER"] = ""  # the job's effect is then its own row: "skipped"
    app.config["CELLULE_JOB_RETRY_INTERVALS"] = ""  # its last try: no retry left
    app.config["CELLULE_OUTBOX_LEASE"] = 0  # the relay looks at the job again at once
    send_mail("jeanne@example.be", "Rappel", "Bonjour")
    db.session.commit()
    assert outbox.relay() == 1  # in Redis, waiting for a worker

    # The outage: the connection cut, or another process holding SQLite's write lock. It
    # ends at the first error the job meets (before its failure is recorded).
    met = []
    if proxy is not None:
        db.engine.dispose()
        proxy.cut()
        end_outage = proxy.restore
    else:
        holder = sqlite3.connect(make_url(database_url).database)
        holder.execute("BEGIN IMMEDIATE")
        end_outage = holder.rollback

    @event.listens_for(db.engine, "handle_error")
    def outage_over(context):
        if database_unavailable(context.sqlalchemy_exception or context.original_exception):
            met.append(type(context.original_exception).__name__)
            end_outage()

    make_worker(app, BurstWorker, relay=False).work(burst=True)
    assert met, "the job did not meet the outage"
    event.remove(db.engine, "handle_error", outage_over)
    (row,) = mail_rows()[1]
    job = Job.fetch(row.rq_job_id, connection=get_redis())
    assert job.meta.get(DATABASE_DOWN_META) and row.status == "relayed"

    drain(app)
    mails, rows = mail_rows()
    assert [r.status for r in rows] == ["done"], rows[0].last_error
    assert [m.status for m in mails] == ["skipped"]


@pytest.mark.skipif(not ON_POSTGRESQL, reason="cutting a worker's connection needs PostgreSQL "
                    "behind a TCP proxy (CELLULE_TEST_DATABASE_URL)")
def test_a_worker_cut_from_the_database_does_the_job_it_took_once_the_database_is_back(
    app, database_url, proxy, redis_server, smtp_server, worker_process, tmp_path
):
    worker = worker_process(DATABASE_URL=proxy.url_for(database_url))
    wait_until(lambda: b"Listening on" in (tmp_path / "worker1.log").read_bytes(), timeout=30,
               message="the worker to listen on its queues")
    proxy.cut()

    # The test relays the job itself, on its own connection: the worker takes it at once.
    direct = create_app(base_config(database_url, redis_server.url), tmp_path / "direct")
    # As the worker's: one retry a second later, a second's lease before the relay looks again.
    direct.config.update(CELLULE_JOB_RETRY_INTERVALS="1", CELLULE_OUTBOX_LEASE=1)
    with direct.app_context():
        send_mail("jeanne@example.be", "Rendez-vous", "Bonjour")
        db.session.commit()
        assert outbox.relay() == 1
        (row,) = mail_rows()[1]
        job_id = row.rq_job_id

        def given_up_for_now():
            job = Job.fetch(job_id, connection=get_redis())
            return job.get_status() == "failed" and job.meta.get(DATABASE_DOWN_META)

        # Tried, retried after its back-off, then left for the outbox to run again.
        wait_until(given_up_for_now, timeout=30, message="the job to meet the outage")
        wait_until(lambda: "Database unreachable" in read_log(tmp_path), timeout=30,
                   message="the worker to log the outage")
        assert worker.poll() is None
        proxy.restore()

        wait_until(lambda: [r.status for r in mail_rows()[1]] == ["done"], timeout=60,
                   message="the job to be done after the outage")
        db.engine.dispose()
    # The recovery is told at the end of the relay pass that found the database again,
    # which may finish (its purges) after the job it relayed is done.
    wait_until(lambda: "Database reachable again" in read_log(tmp_path), timeout=30,
               message="the worker to log the recovery")
    assert [m["Subject"] for m in smtp_server.messages] == ["Rendez-vous"]
    assert worker.poll() is None
    log = read_log(tmp_path)
    assert "Traceback" not in log, log[-3000:]
    assert log.count("Database unreachable") == 1, log[-3000:]
    assert log.count("Database reachable again") == 1, log[-3000:]
