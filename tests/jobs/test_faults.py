"""Faults survived with nothing lost and nothing doubled (DESIGN §4, §8 Reliability).

Each test breaks a real server or process and asserts exactly one effect:
- Redis down during a request, then back: the request succeeds, the job runs once;
- Redis restarted and lost its queue: the outbox relays the job again, it runs once;
- a worker killed with `kill -9` in the middle of sending a mail: a new worker sends it,
  once, and logs it once;
- a poll killed with `kill -9` between the database commit and the IMAP \\Seen flag:
  the next poll creates no duplicate and sets the flag.
(The same email delivered twice is in test_mail_ingest.py.)
"""

import os
import subprocess
import sys
import time

from sqlalchemy import func, select

from cellule import outbox
from cellule.extensions import db
from cellule.jobs import drain, get_queue
from cellule.mailer import OutgoingMail, send_mail
from cellule.outbox import OutboxMessage
from cellule.redis_conn import get_redis
from contacts import operations
from contacts.models import Contact
from triage.examples import answers_for

from .conftest import ROOT, kill_group, make_email, wait_until


def outbox_rows(job_name="send_email"):
    """The outbox rows of one job (a worker also requests its periodic jobs)."""
    db.session.rollback()
    db.session.expire_all()
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.job_name == job_name).order_by(OutboxMessage.id)
    ).all()


def count(model, *where):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def imminent_call(client):
    """Log a call and its imminent-danger triage through the API; return the contact id."""
    response = client.post("/api/v1/contacts", json={
        "person": {"name": "Jan Peeters", "email": "jan.peeters@example.be", "language": "nl"},
        "channel": "phone", "direction": "in", "reasons": ["stress"],
        "summary": "Belt in paniek.",
    })
    assert response.status_code == 201, response.get_json()
    contact_id = response.get_json()["id"]
    response = client.post(f"/api/v1/contacts/{contact_id}/triage",
                           json={"answers": answers_for("imminent"), "language": "nl"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["case"]["level"] == "imminent"
    return contact_id


def test_with_redis_up_a_request_relays_its_jobs_at_once(app, smtp_server, api_client,
                                                         make_user):
    make_user("supervisor")
    client, _advisor = api_client("advisor")
    imminent_call(client)
    [row] = outbox_rows()
    assert row.status == "relayed"  # moved by the request itself, not the worker's next tick
    assert get_queue().job_ids == [str(row.id)]


def test_redis_down_during_a_request_then_up(app, redis_server, smtp_server, api_client,
                                             make_user):
    supervisor = make_user("supervisor")
    client, _advisor = api_client("advisor")
    redis_server.stop()

    started = time.monotonic()
    contact_id = imminent_call(client)  # two requests, each writing and requesting
    assert time.monotonic() - started < 4  # short socket timeouts: no request hangs on Redis

    # Everything is saved; the supervisor's alert mail waits in the outbox.
    assert db.session.get(Contact, contact_id) is not None
    [row] = outbox_rows()
    assert (row.job_name, row.status) == ("send_email", "pending")
    assert smtp_server.messages == []

    redis_server.start()  # back, and empty
    assert drain(app) == 1
    assert drain(app) == 0
    [mail] = smtp_server.messages
    assert mail["To"] == supervisor.email
    assert [r.status for r in outbox_rows()] == ["done"]


def test_while_redis_is_down_requests_do_not_wait_for_it_again_and_again(
    app, redis_server, smtp_server
):
    redis_server.stop()
    for n in range(3):
        send_mail("a@example.be", f"Objet {n}", "Texte")
        db.session.commit()
        started = time.monotonic()
        outbox.relay_committed(app)  # what each web request does after its view
        assert time.monotonic() - started < 1.5
    assert [r.status for r in outbox_rows()] == ["pending"] * 3
    redis_server.start()
    drain(app)
    assert len(smtp_server.messages) == 3


def test_redis_restarted_without_its_data_then_the_job_runs_once(app, redis_server,
                                                                 smtp_server):
    app.config["CELLULE_OUTBOX_LEASE"] = 0
    send_mail("a@example.be", "Objet", "Texte")
    db.session.commit()
    assert outbox.relay() == 1

    redis_server.stop()
    redis_server.start()  # the queued job is gone
    app.extensions.pop("cellule_redis", None)
    assert drain(app) == 1
    assert drain(app) == 0
    assert len(smtp_server.messages) == 1
    [row] = outbox_rows()
    assert (row.status, row.relay_count) == ("done", 2)


def test_a_worker_killed_mid_job_is_replaced_and_the_mail_goes_once(app, smtp_server,
                                                                     worker_process):
    person = operations.create_person(None, name="Jeanne Martin", email="jeanne@example.be")
    mail = send_mail(person.email, "Votre rendez-vous", "Bonjour", person_id=person.id)
    db.session.commit()
    smtp_server.stall_next = True

    first = worker_process()
    assert smtp_server.stalled.wait(30), "the first worker never reached the SMTP server"
    [row] = outbox_rows()
    assert row.status == "relayed"
    kill_group(first)  # kill -9, in the middle of the SMTP conversation

    second = worker_process()
    wait_until(lambda: outbox_rows()[0].status == "done", timeout=30,
               message="the new worker to send the mail")
    smtp_server.release.set()
    kill_group(second)

    assert len(smtp_server.messages) == 1
    db.session.rollback()
    sent = db.session.get(OutgoingMail, mail.id)
    assert sent.status == "sent"
    assert count(Contact, Contact.direction == "out") == 1
    [row] = outbox_rows()
    assert row.relay_count == 2 and "gone" in row.last_error


CRASHING_POLL = """
import os, signal
from wsgi import app
from contacts import mail_ingest

def crash(box, uid):
    os.kill(os.getpid(), signal.SIGKILL)  # after the commit, before the flag

mail_ingest.flag_seen = crash
with app.app_context():
    mail_ingest.ingest_mailbox()
"""


def test_a_poll_killed_between_the_commit_and_the_seen_flag(app, imap_server, tmp_path):
    imap_server.deliver(make_email(text="Je n'en peux plus.", message_id="<kill@example.be>"))
    config = app.config
    env = {
        **os.environ,
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": config["REDIS_URL"],
        "CELLULE_INSTANCE_PATH": str(tmp_path / "poll-instance"),
        "SECRET_KEY": config["SECRET_KEY"],
        "IMAP_HOST": "127.0.0.1",
        "IMAP_PORT": str(imap_server.port),
        "IMAP_SECURITY": "none",
        "IMAP_USERNAME": imap_server.user,
        "IMAP_PASSWORD": config["IMAP_PASSWORD"],
    }
    result = subprocess.run([sys.executable, "-c", CRASHING_POLL], cwd=ROOT, env=env,
                            capture_output=True, timeout=60)
    assert result.returncode == -9, result.stderr.decode()[-2000:]
    assert count(Contact, Contact.channel == "email") == 1
    assert imap_server.unseen_uids() == [1]

    # The dead poll's lock expires on its own within a minute; do not wait for it here.
    get_redis().delete("cellule:lock:ingest:INBOX")
    from contacts import mail_ingest

    assert mail_ingest.ingest_mailbox() == 0
    assert count(Contact, Contact.channel == "email") == 1
    assert imap_server.seen_uids() == [1]
