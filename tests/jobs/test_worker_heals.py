"""Workers that heal (DESIGN §9): a real `flask --app wsgi worker` process lives through
Redis and database outages, finishes every job exactly once and logs each outage once.
"""

import os
import signal
import time

import pytest
from sqlalchemy import create_engine, text

from cellule.mailer import send_mail

from .conftest import wait_until
from .test_faults import outbox_rows

MAILS = 6


def request_mails(prefix):
    subjects = [f"{prefix} {n}" for n in range(MAILS)]
    for subject in subjects:
        send_mail("jeanne@example.be", subject, "Bonjour")
    from cellule.extensions import db

    db.session.commit()
    return subjects


def read_log(tmp_path, number=1):
    with open(tmp_path / f"worker{number}.log", encoding="utf-8", errors="replace") as handle:
        return handle.read()


def test_a_busy_worker_lives_through_a_redis_outage_and_sends_every_mail_once(
    app, redis_server, smtp_server, worker_process, tmp_path
):
    smtp_server.delay = 0.5  # each delivery keeps the worker busy for half a second
    subjects = request_mails("Rendez-vous")
    worker = worker_process()

    # Stop Redis while the worker is in the middle of a delivery (a job under way).
    wait_until(lambda: len(smtp_server.messages) >= 1, timeout=30,
               message="the worker to send a first mail")
    wait_until(lambda: smtp_server.receiving > len(smtp_server.messages), timeout=10,
               message="a delivery in progress")
    redis_server.stop()
    time.sleep(20)
    assert worker.poll() is None, read_log(tmp_path)[-3000:]
    redis_server.start()  # back, and empty: the queued jobs are gone with it

    wait_until(lambda: all(r.status == "done" for r in outbox_rows()), timeout=60,
               message="every mail job to be done after the outage")
    wait_until(lambda: len(smtp_server.messages) >= MAILS, timeout=10,
               message="every mail to arrive")
    time.sleep(1)  # a mail sent twice would arrive now
    assert sorted(m["Subject"] for m in smtp_server.messages) == sorted(subjects)
    assert worker.poll() is None, "the worker exited"

    log = read_log(tmp_path)
    assert "unhandled exception" not in log
    assert "Traceback" not in log, log[-3000:]
    assert log.count("Redis unreachable") == 1, log[-3000:]
    assert log.count("Redis reachable again") == 1, log[-3000:]
    # RQ's own reconnection loop logs a line per attempt; ours says it once.
    assert "could not connect to Redis" not in log


def test_a_worker_started_while_redis_is_down_waits_for_it(
    app, redis_server, smtp_server, worker_process, tmp_path
):
    redis_server.stop()
    subjects = request_mails("Rappel")
    worker = worker_process()
    # It tells of the outage once it has failed for a while (Outage.GRACE): it is waiting.
    wait_until(lambda: "Redis unreachable" in read_log(tmp_path) or worker.poll() is not None,
               timeout=60, message="the worker to meet the outage")
    assert worker.poll() is None, read_log(tmp_path)[-3000:]
    redis_server.start()
    wait_until(lambda: len(smtp_server.messages) >= MAILS, timeout=60,
               message="every mail to arrive once Redis is up")
    assert sorted(m["Subject"] for m in smtp_server.messages) == sorted(subjects)
    assert worker.poll() is None
    assert "Traceback" not in read_log(tmp_path)


def test_a_worker_asked_to_stop_during_a_redis_outage_stops(
    app, redis_server, worker_process, tmp_path
):
    worker = worker_process()
    wait_until(lambda: b"Listening on" in (tmp_path / "worker1.log").read_bytes(), timeout=30,
               message="the worker to listen on its queues")
    redis_server.stop()
    # Asked to stop while it retries (it has told of the outage), not before it noticed.
    wait_until(lambda: "Redis unreachable" in read_log(tmp_path), timeout=30,
               message="the worker to meet the outage")
    worker.send_signal(signal.SIGTERM)  # what a service manager sends
    worker.wait(20)  # it does not wait for Redis to come back
    assert worker.returncode == 0, read_log(tmp_path)[-3000:]


@pytest.mark.skipif(not os.environ.get("CELLULE_TEST_DATABASE_URL"),
                    reason="a database that refuses connections needs PostgreSQL "
                    "(CELLULE_TEST_DATABASE_URL)")
def test_a_worker_lives_through_a_database_that_refuses_connections(
    app, redis_server, smtp_server, worker_process, tmp_path
):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    from cellule.extensions import db

    worker = worker_process()
    first = request_mails("Avant")
    wait_until(lambda: len(smtp_server.messages) >= MAILS, timeout=60,
               message="the mails requested before the outage")

    # This test's own database refuses every connection for 15 s; the server stays up.
    db.session.remove()
    db.engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
    try:
        time.sleep(15)
        assert worker.poll() is None, read_log(tmp_path)[-3000:]
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()

    second = request_mails("Après")
    wait_until(lambda: len(smtp_server.messages) >= 2 * MAILS, timeout=60,
               message="the mails requested after the outage")
    time.sleep(1)
    assert sorted(m["Subject"] for m in smtp_server.messages) == sorted(first + second)
    assert worker.poll() is None
    log = read_log(tmp_path)
    assert log.count("Database unreachable") == 1, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
