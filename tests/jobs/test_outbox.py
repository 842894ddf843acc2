"""The outbox and its relay: requested in the caller's transaction, moved once, run once."""

from datetime import timedelta

import pytest
from rq.job import Job
from sqlalchemy import func, select

from cellule import job_registry, jobs, outbox
from cellule.extensions import db
from cellule.jobs import drain, get_queue, job
from cellule.outbox import OutboxMessage
from cellule.redis_conn import get_redis
from cellule.types import utcnow

# A job of the tests: it records each run (the effect is idempotent through its key).
RUNS = []


@job("test_record", timeout=30)
def record(value):
    """Append `value` to RUNS once per value, like an idempotent effect would."""
    RUNS.append(value)
    return value


@job("test_nested", timeout=30)
def nested(value):
    """Call another job's function directly, inside this job."""
    return record(value * 10)


@job("test_fail", timeout=30)
def always_fail(value):
    raise RuntimeError(f"broken on purpose {value}")


@pytest.fixture(autouse=True)
def clear_runs():
    RUNS.clear()
    yield
    RUNS.clear()


def rows():
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_a_request_is_a_row_of_the_callers_transaction(app):
    outbox.request("test_record", 1)
    db.session.rollback()
    assert rows() == []
    assert get_queue().count == 0

    row = outbox.request("test_record", 2)
    db.session.commit()
    assert row.status == "pending" and row.args == [2]
    assert get_queue().count == 0  # nothing reaches Redis before the relay


def test_jobs_take_ids_never_objects(app, make_user):
    user = make_user("advisor")
    with pytest.raises(TypeError):
        outbox.request("test_record", user)
    with pytest.raises(job_registry.UnknownJob):
        outbox.request("no_such_job", 1)


def test_a_key_makes_a_request_once(app):
    first = outbox.request("test_record", 1, key="once")
    second = outbox.request("test_record", 1, key="once")
    db.session.commit()
    assert first.id == second.id and len(rows()) == 1


def test_the_relay_moves_a_row_with_its_id_as_job_id_and_the_job_runs_once(app):
    row = outbox.request("test_record", 7)
    db.session.commit()
    assert outbox.relay() == 1
    rq_job = Job.fetch(str(row.id), connection=get_redis())
    assert rq_job.meta["outbox_token"] == row.token and rq_job.args == (7,)
    assert rq_job.timeout == 30 and rq_job.failure_ttl == app.config["CELLULE_JOB_FAILURE_TTL"]
    assert outbox.relay() == 0  # a relayed row is not moved again
    assert drain(app) == 1
    assert RUNS == [7]
    assert rows()[0].status == "done" and rows()[0].done_at is not None


def test_a_relay_that_dies_before_its_commit_makes_no_second_job(app):
    row = outbox.request("test_record", 3)
    db.session.commit()
    outbox._enqueue(row, get_redis())  # the job reached Redis, the commit never happened
    db.session.rollback()
    assert rows()[0].status == "pending"
    assert outbox.relay() == 1  # DuplicateJobError: the same row's job is already there
    assert get_queue().count == 1
    drain(app)
    assert RUNS == [3]


def test_a_job_left_in_redis_by_another_database_is_replaced(app):
    row = outbox.request("test_record", 4)
    db.session.commit()
    get_queue().enqueue_call(record, args=(999,), job_id=str(row.id),
                             meta={"outbox_token": "someone-else"})
    assert outbox.relay() == 1
    drain(app)
    assert RUNS == [4]


def test_a_job_whose_row_is_done_does_not_run_again(app):
    row = outbox.request("test_record", 5)
    db.session.commit()
    outbox.relay()
    drain(app)
    # The same job delivered a second time (e.g. re-relayed while its worker still ran).
    Job.fetch(str(row.id), connection=get_redis()).delete()
    get_queue().enqueue_call(record, args=(5,), job_id=str(row.id),
                             meta={"outbox_token": row.token, "job_name": "test_record"})
    jobs.make_worker(app, jobs.BurstWorker, relay=False).work(burst=True)
    assert RUNS == [5]


def test_a_job_lost_by_redis_is_relayed_again_after_its_lease(app):
    app.config["CELLULE_OUTBOX_LEASE"] = 0
    outbox.request("test_record", 6)
    db.session.commit()
    outbox.relay()
    get_redis().flushdb()  # Redis restarted without its data
    assert outbox.reconcile() == 1
    assert rows()[0].status == "pending" and "lost" in rows()[0].last_error
    assert drain(app) == 1
    assert RUNS == [6] and rows()[0].status == "done" and rows()[0].relay_count == 2


def test_a_job_still_queued_keeps_its_lease(app):
    app.config["CELLULE_OUTBOX_LEASE"] = 0
    outbox.request("test_record", 8)
    db.session.commit()
    outbox.relay()
    assert outbox.reconcile() == 0
    assert rows()[0].status == "relayed" and get_queue().count == 1


def test_a_failing_job_is_retried_then_failed_and_can_be_run_again(app):
    row = outbox.request("test_fail", 1)
    db.session.commit()
    drain(app)
    failed = rows()[0]
    assert failed.status == "failed" and failed.failed_at is not None
    assert "RuntimeError: broken on purpose 1" in failed.last_error
    assert outbox.failed_rows() == [failed]

    # Fixed: the job now succeeds; the retry button puts the row back.
    failed.job_name = "test_record"
    outbox.retry(failed)
    db.session.commit()
    assert drain(app) == 1
    assert RUNS == [1] and rows()[0].status == "done" and outbox.failed_rows() == []
    assert row.id == rows()[0].id


def test_an_unknown_job_fails_its_row_instead_of_stopping_the_relay(app):
    good = outbox.request("test_record", 1)
    db.session.add(OutboxMessage(job_name="vanished_job", args=[1]))
    db.session.commit()
    assert outbox.relay() == 1
    statuses = {r.job_name: r.status for r in rows()}
    assert statuses == {"test_record": "relayed", "vanished_job": "failed"}
    assert good.id in [r.id for r in rows()]


def test_rows_due_later_wait(app):
    outbox.request("test_record", 1, run_after=utcnow() + timedelta(minutes=5))
    db.session.commit()
    assert outbox.relay() == 0 and drain(app) == 0


def test_periodic_jobs_are_requested_once_per_slot_and_not_while_one_runs(app, monkeypatch):
    monkeypatch.setattr(job_registry, "PERIODIC",
                        {"test_record": job_registry.Periodic("test_record", 60)})
    now = utcnow().replace(second=5)
    assert outbox.schedule_periodic(now) == ["test_record"]
    assert outbox.schedule_periodic(now + timedelta(seconds=30)) == []  # same slot
    assert outbox.schedule_periodic(now + timedelta(seconds=60)) == []  # the first is pending
    row = rows()[0]
    row.status = "done"
    db.session.commit()
    assert outbox.schedule_periodic(now + timedelta(seconds=60)) == ["test_record"]
    assert len(rows()) == 2


def test_only_the_latest_failure_of_a_periodic_job_is_kept(app, monkeypatch):
    monkeypatch.setattr(job_registry, "PERIODIC",
                        {"test_fail": job_registry.Periodic("test_fail", 60)})
    now = utcnow().replace(second=5)
    for minute in range(3):
        outbox.schedule_periodic(now + timedelta(minutes=minute))
        drain(app)
    assert [r.status for r in rows()] == ["failed"]


def test_done_rows_are_purged_after_some_days(app):
    outbox.request("test_record", 1)
    db.session.commit()
    drain(app)
    assert outbox.purge(utcnow()) == 0
    assert outbox.purge(utcnow() + timedelta(days=8)) == 1
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_worker_burst_relays_and_runs_the_outbox(app):
    outbox.request("test_record", 11)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert "1 job(s) run" in result.output
    assert RUNS == [11]


def test_errors_kept_and_logged_carry_no_email_address():
    error = "SMTPRecipientsRefused: {'jeanne.martin@example.be': (550, b'unknown user')}"
    assert outbox.redact(error) == "SMTPRecipientsRefused: {'…@…': (550, b'unknown user')}"


def test_a_job_calling_another_job_directly_runs_both_bodies(app):
    outbox.request("test_nested", 4)
    db.session.commit()
    assert drain(app) == 1
    assert RUNS == [40] and [r.status for r in rows()] == ["done"]
