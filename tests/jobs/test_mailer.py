"""Outgoing mail over SMTP (aiosmtpd on loopback): logged, sent once, an outbound contact."""

import pytest
from rq.job import Job
from sqlalchemy import select

from cellule import outbox
from cellule.extensions import db
from cellule.jobs import BurstWorker, drain, get_queue, make_worker
from cellule.mailer import notify_once, send_email, send_mail
from cellule.outbox import OutboxMessage
from cellule.redis_conn import get_redis
from contacts import operations
from contacts.models import Contact

from .conftest import free_port


@pytest.fixture
def person(app):
    person = operations.create_person(None, name="Jeanne Martin", email="jeanne@example.be")
    db.session.commit()
    return person


def outbound_contacts():
    db.session.expire_all()
    return db.session.scalars(
        select(Contact).where(Contact.direction == "out").order_by(Contact.id)
    ).all()


def test_a_mail_to_a_person_is_sent_once_and_logged_as_an_outbound_contact(
    app, smtp_server, person, make_user
):
    advisor = make_user("advisor")
    mail = send_mail(person.email, "Votre demande", "Bonjour,\nnous vous rappelons demain.",
                     person_id=person.id, created_by_id=advisor.id)
    db.session.commit()
    assert drain(app) == 1

    [message] = smtp_server.messages
    assert message["To"] == "jeanne@example.be"
    assert message["From"] == "cellule@fund.test"
    assert message["Message-ID"] == mail.message_id
    assert message.get_content().replace("\r\n", "\n") == "Bonjour,\nnous vous rappelons demain.\n"
    db.session.expire_all()
    assert (mail.status, mail.sent_at is not None) == ("sent", True)
    [contact] = outbound_contacts()
    assert (contact.person_id, contact.channel, contact.email_message_id) == (
        person.id, "email", mail.message_id)
    assert contact.handled_by_id == advisor.id and contact.handled_at is not None
    assert mail.contact_id == contact.id


def test_running_the_send_job_twice_sends_nothing_more(app, smtp_server, person):
    mail = send_mail(person.email, "Objet", "Texte", person_id=person.id)
    db.session.commit()
    drain(app)
    row = db.session.scalar(select(OutboxMessage))
    # The same job again, as if a worker died after sending and before marking it done.
    Job.fetch(str(row.id), connection=get_redis()).delete()
    row.status = "relayed"
    db.session.commit()
    get_queue().enqueue_call(send_email, args=(mail.id,), job_id=str(row.id),
                             meta={"outbox_token": row.token, "job_name": "send_email"})
    make_worker(app, BurstWorker, relay=False).work(burst=True)
    send_email(mail.id)  # and called directly
    assert len(smtp_server.messages) == 1
    assert len(outbound_contacts()) == 1


def test_a_mail_key_requests_one_mail(app, smtp_server):
    first = send_mail("a@example.be", "S", "B", key="welcome:1")
    second = send_mail("a@example.be", "S", "B", key="welcome:1")
    db.session.commit()
    assert first.id == second.id
    drain(app)
    assert len(smtp_server.messages) == 1


def test_notices_are_decided_once_per_key(app, smtp_server, make_user):
    users = [make_user("supervisor"), make_user("supervisor")]
    messages = [(u, "Alerte", "Texte") for u in users]
    assert notify_once("alert:x", kind="alert", object_type="case", object_id=1,
                       messages=messages) is not None
    db.session.commit()
    assert notify_once("alert:x", kind="alert", object_type="case", object_id=1,
                       messages=messages) is None
    db.session.commit()
    drain(app)
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(u.email for u in users)
    assert all(m["Auto-Submitted"] == "auto-generated" for m in smtp_server.messages)


@pytest.mark.parametrize("recipient", ["", "a@b.be, c@d.be", "x <a@b.be>", "no-at-sign"])
def test_only_one_plain_address_is_accepted(app, recipient):
    with pytest.raises(ValueError):
        send_mail(recipient, "S", "B")


def test_header_injection_in_the_subject_is_flattened(app, smtp_server):
    send_mail("a@example.be", "Hello\r\nBcc: victim@example.be", "B")
    db.session.commit()
    drain(app)
    [message] = smtp_server.messages
    assert message["Bcc"] is None and "Bcc" in message["Subject"]


def test_without_an_smtp_server_the_mail_is_kept_unsent(app, person):
    app.config["MAIL_SERVER"] = ""
    mail = send_mail(person.email, "S", "B", person_id=person.id)
    db.session.commit()
    drain(app)
    db.session.expire_all()
    assert mail.status == "skipped" and outbound_contacts() == []


def test_an_smtp_server_that_refuses_fails_the_job_after_its_retries(app, smtp_server, person):
    app.config["MAIL_PORT"] = free_port()  # nobody listens there
    mail = send_mail(person.email, "S", "B", person_id=person.id)
    db.session.commit()
    drain(app)
    [row] = outbox.failed_rows()
    assert row.job_name == "send_email" and "ConnectionRefusedError" in row.last_error
    db.session.expire_all()
    assert mail.status == "queued"

    # The server is back: the retry button sends it, once.
    app.config["MAIL_PORT"] = smtp_server.port
    outbox.retry(row)
    db.session.commit()
    drain(app)
    assert len(smtp_server.messages) == 1 and outbound_contacts()[0].person_id == person.id
