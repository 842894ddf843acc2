"""Caring messages by the real mail path (issue 19): the periodic job requested by the
workers' relay sends each due message once through the outbox and SMTP (aiosmtpd), a real
worker process does the same, and the person's answer — ingested as the mailbox poll
files it — lands in the inbox on the case, closed or not."""

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
import time_machine
from sqlalchemy import select

from cases import operations as case_ops
from cases.caring import operations as caring
from cases.caring.models import CaringMessage
from cases.models import Case, CaseContact
from cellule import outbox
from cellule.extensions import db
from cellule.jobs import drain
from cellule.types import utcnow
from contacts import mail_ingest
from contacts.consent.operations import current_text_version, record_consent
from contacts.mail_parse import BoundedMailMessage
from contacts.models import Contact

from .conftest import make_email, wait_until

ADDRESS = "marie.dubois@example.be"
START = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Brussels
MONDAY_10H = datetime(2026, 2, 16, 9, 0, tzinfo=UTC)  # the first message is due at 08:30


@pytest.fixture
def series_case(app, make_user, make_person):
    """An open case of a person who consented, with an address, and its series."""
    advisor = make_user("advisor")
    person = make_person(name="Marie Dubois", email=ADDRESS, language="fr")
    record_consent(person, "caring_messages", granted=True, channel="oral",
                   text_version=current_text_version("caring_messages"), actor=advisor)
    case = case_ops.open_case(person_id=person.id, level="at_risk", route="coaching",
                              due_at=START + timedelta(days=2), actor=advisor)
    db.session.flush()
    caring.start_series(case, advisor, at=START)
    db.session.commit()
    return case.id, advisor


def answer_to(message, text="Merci pour votre message."):
    raw = make_email(sender=ADDRESS, subject="Re: " + message["Subject"], text=text)
    answer = message_from_bytes(raw, policy=default_policy)
    answer["In-Reply-To"] = message["Message-ID"]
    answer["References"] = message["Message-ID"]
    contact, _ = mail_ingest.ingest_message(BoundedMailMessage.from_bytes(answer.as_bytes()))
    return contact.id


def linked(case_id, contact_id):
    return db.session.scalar(select(CaseContact.id).where(
        CaseContact.case_id == case_id, CaseContact.contact_id == contact_id))


def test_the_relay_s_job_sends_once_and_the_answer_lands_on_the_case(app, series_case,
                                                                    smtp_server):
    case_id, _advisor = series_case
    for minutes in (0, 5, 10):  # the workers request the job every five minutes
        with time_machine.travel(MONDAY_10H + timedelta(minutes=minutes), tick=True):
            assert "send_caring_messages" in outbox.schedule_periodic()
            drain(app)
    [message] = smtp_server.messages
    assert message["To"] == ADDRESS and message["From"] == "cellule@fund.test"
    assert message["Reply-To"] == "cellule@fund.test"
    text = message.get_content()
    assert "0800 32 123" in text or "112" in text  # the crisis lines
    sent = db.session.scalar(select(CaringMessage).where(CaringMessage.number == 1))
    outbound = db.session.get(Contact, sent.contact_id)
    assert outbound.email_message_id == message["Message-ID"]
    assert linked(case_id, outbound.id)

    answer_id = answer_to(message)
    answer = db.session.get(Contact, answer_id)
    assert answer.in_inbox and answer.person_id == db.session.get(Case, case_id).person_id
    assert linked(case_id, answer_id)  # on the case


def test_the_answer_files_on_the_case_even_once_it_closed(app, series_case, smtp_server,
                                                         make_user):
    case_id, _advisor = series_case
    with time_machine.travel(MONDAY_10H, tick=True):
        assert caring.send_due() == 1
        drain(app)
    [message] = smtp_server.messages
    case = db.session.get(Case, case_id)
    case_ops.close_case(case, "resolved", make_user("supervisor"), case.version,
                        default_task_status="cancelled")
    db.session.commit()
    answer_id = answer_to(message, "Merci, je vais mieux.")
    assert db.session.get(Contact, answer_id).in_inbox
    assert linked(case_id, answer_id)
    assert not db.session.get(Case, case_id).is_open  # still closed


def test_a_worker_process_sends_the_messages_due(app, make_user, make_person, smtp_server,
                                                 redis_server, worker_process):
    from triage.business_time import BusinessCalendar

    always = "mon-sun 00:00-24:00"
    if not BusinessCalendar(always, "Europe/Brussels").is_open(utcnow()):
        pytest.skip("a public holiday: the cell is closed all day")
    app.config["CELLULE_OPENING_HOURS"] = always
    app.extensions.pop("cellule_calendar", None)
    advisor = make_user("advisor")
    person = make_person(email=ADDRESS)
    record_consent(person, "caring_messages", granted=True, channel="oral",
                   text_version=current_text_version("caring_messages"), actor=advisor)
    case = case_ops.open_case(person_id=person.id, level="at_risk", route="coaching",
                              due_at=utcnow() + timedelta(days=2), actor=advisor)
    db.session.flush()
    series = caring.start_series(case, advisor, at=utcnow() - timedelta(days=70))
    db.session.commit()  # two months ago: two messages are due

    worker_process(CELLULE_OPENING_HOURS=always)
    wait_until(lambda: len(smtp_server.messages) >= 2, timeout=60,
               message="the worker to send the two caring messages")
    db.session.expire_all()
    states = db.session.scalars(select(CaringMessage.state).where(
        CaringMessage.series_id == series.id).order_by(CaringMessage.number)).all()
    assert states == ["sent", "sent"] + ["scheduled"] * 6
    assert len(smtp_server.messages) == 2
