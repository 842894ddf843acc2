"""The out-of-hours automatic answer (RFC 3834): an email that arrives while the cell is
closed gets one answer a day per sender, in their language, with the opening hours and the
crisis numbers — never to automatic, list or robot mail; a red-flagged one also alerts the
on-duty supervisors. Real Dovecot poll, real aiosmtpd, the outbox drained by a worker."""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
import time_machine
from sqlalchemy import select

from cellule.extensions import db
from cellule.jobs import drain
from cellule.mailer import OutgoingMail
from contacts import mail_ingest, operations
from contacts.mail_parse import BoundedMailMessage

from .conftest import email_contacts

# Friday 13 March 2026, 20:00 in Brussels: closed until Monday 08:30.
FRIDAY_EVENING = datetime(2026, 3, 13, 19, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 3, 14, 10, 0, tzinfo=UTC)
MONDAY_MORNING = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)  # 10:00, open
SENDER = "annelies.desmet@example.be"


@pytest.fixture
def clock():
    """Travel to a moment (time then runs on); `clock.to(moment)`."""

    class Clock:
        traveller = None

        def to(self, moment):
            self.stop()
            self.traveller = time_machine.travel(moment, tick=True)
            self.traveller.start()

        def stop(self):
            if self.traveller is not None:
                self.traveller.stop()
                self.traveller = None

    clock = Clock()
    clock.to(FRIDAY_EVENING)
    yield clock
    clock.stop()


@pytest.fixture
def answering(app, clock):
    app.config["CELLULE_OUT_OF_HOURS_REPLY"] = True
    return app


def message(sender=SENDER, subject="Hulp gevraagd", text="Ik weet het niet meer.",
            display="Annelies De Smet", date=None, **headers):
    """The bytes of an email sent now (or at `date`); `headers` added (None: left out)."""
    msg = EmailMessage()
    if sender is not None:
        msg["From"] = f"{display} <{sender}>" if sender else "<>"
    msg["To"] = "cellule@fund.test"
    msg["Subject"] = subject
    if date is not False:
        msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="example.be")
    msg.set_content(text)  # before the headers: it clears the Content-* ones
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    return msg.as_bytes()


def ingest(raw):
    contact, created = mail_ingest.ingest_message(BoundedMailMessage.from_bytes(raw))
    assert created
    return contact


def answers():
    db.session.rollback()
    db.session.expire_all()
    return db.session.scalars(
        select(OutgoingMail).where(OutgoingMail.auto_submitted == "auto-replied")
        .order_by(OutgoingMail.id)).all()


def text_of(received):
    return received.get_content().replace("\r\n", "\n")


# --- The answer ------------------------------------------------------------------


def test_an_email_out_of_hours_gets_one_answer_in_dutch_through_the_real_poll(
    answering, imap_server, smtp_server, client, login_as, caplog
):
    operations.create_person(None, name="Annelies De Smet", email=SENDER, language="nl")
    db.session.commit()
    imap_server.deliver(message(subject="Hulp gevraagd", text="Ik kan niet meer slapen."))
    assert mail_ingest.ingest_mailbox() == 1
    [contact] = email_contacts()
    drain(answering)

    [received] = smtp_server.messages
    assert received["To"] == SENDER
    assert received["Auto-Submitted"] == "auto-replied"
    assert received["Subject"] == "Auto: Hulp gevraagd"
    assert received["In-Reply-To"] == contact.email_message_id
    assert contact.email_message_id in received["References"]
    body = text_of(received)
    assert body.startswith("Beste Annelies,\n")
    assert "maandag – vrijdag: 08:30 – 17:00" in body
    assert "maandag 16 maart 2026, 08:30" in body  # the next opening
    assert "Zelfmoordlijn 1813: 1813" in body and "Noodnummer 112: 112" in body
    # Not filed as a contact of the person: only the incoming email is there.
    [mail] = answers()
    assert mail.person_id is None and mail.contact_id is None
    assert [c.direction for c in email_contacts()] == ["in"]
    # The incoming contact's page says it was answered.
    login_as("advisor")
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "An automatic out-of-hours answer was sent (NL)." in page
    assert "handling failed" not in caplog.text


def test_one_answer_per_sender_per_day_then_one_the_next_day(answering, clock, smtp_server):
    ingest(message(subject="Eerste"))
    ingest(message(subject="Tweede"))
    ingest(message(sender="other@example.org", subject="Autre"))
    drain(answering)
    assert sorted(m["Subject"] for m in smtp_server.messages) == ["Auto: Autre",
                                                                  "Auto: Eerste"]
    clock.to(SATURDAY)
    ingest(message(subject="Derde"))
    drain(answering)
    assert [m["Subject"] for m in smtp_server.messages][-1] == "Auto: Derde"
    assert len(smtp_server.messages) == 3
    # No address in the keys.
    assert all(SENDER not in mail.key and "example" not in mail.key for mail in answers())


def test_no_answer_while_the_cell_is_open(answering, clock, smtp_server):
    clock.to(MONDAY_MORNING)
    ingest(message())
    drain(answering)
    assert answers() == [] and smtp_server.messages == []


def test_no_answer_when_the_setting_is_off(answering, smtp_server):
    answering.config["CELLULE_OUT_OF_HOURS_REPLY"] = False
    ingest(message())
    assert answers() == []


@pytest.mark.parametrize("headers", [
    {"Auto_Submitted": "auto-generated"},
    {"Auto_Submitted": "auto-replied"},
    {"Auto_Submitted": "auto-notified; owner-email=x@example.be"},
    {"List_Id": "<help.lists.example.be>"},
    {"List_Unsubscribe": "<mailto:leave@lists.example.be>"},
    {"List_Post": "<mailto:help@lists.example.be>"},
    {"Precedence": "bulk"},
    {"Precedence": "junk"},
    {"Precedence": "list"},
    {"X_Auto_Response_Suppress": "All"},
    {"X_Auto_Response_Suppress": "DR, OOF"},
    {"X_Auto_Response_Suppress": "AutoReply"},
    {"Return_Path": "<>"},
], ids=lambda h: "-".join(f"{k}:{v}" for k, v in h.items()))
def test_automatic_and_list_mail_gets_no_answer(answering, headers):
    ingest(message(**headers))
    assert answers() == []


@pytest.mark.parametrize("sender", [
    "no-reply@bank.example", "noreply@bank.example", "do-not-reply@fund.example",
    "donotreply@fund.example", "MAILER-DAEMON@mx.example", "postmaster@mx.example",
    "bounce-1234@news.example", "bounces+abc@news.example", "help-request@lists.example",
    "owner-help@lists.example", "cellule@fund.test", "inbox@fund.test",
])
def test_robots_and_the_cell_itself_get_no_answer(answering, sender):
    answering.config.update(MAIL_DEFAULT_SENDER="Cellule <cellule@fund.test>",
                            MAIL_REPLY_TO="inbox@fund.test")
    ingest(message(sender=sender))
    assert answers() == []


@pytest.mark.parametrize("raw", [
    pytest.param(lambda: message(sender=""), id="empty-from"),
    pytest.param(lambda: message(sender=None), id="no-from"),
    pytest.param(lambda: message(date=datetime.now(UTC) - timedelta(hours=25)), id="old"),
    pytest.param(lambda: message(date=False), id="no-date"),
])
def test_no_sender_or_an_old_message_gets_no_answer(answering, raw):
    ingest(raw())
    assert answers() == []


def test_auto_submitted_no_is_a_person_writing(answering):
    ingest(message(Auto_Submitted="no"))
    assert len(answers()) == 1


def test_a_mail_imported_again_is_not_answered_twice(answering, tmp_path):
    path = tmp_path / "help.eml"
    path.write_bytes(message())
    for _ in range(2):
        result = answering.test_cli_runner().invoke(args=["mail", "import", str(path)])
        assert result.exit_code == 0, result.output
    assert len(answers()) == 1


# --- The language --------------------------------------------------------------------


@pytest.mark.parametrize("text, headers, starts", [
    ("Ik kan niet meer, ik heb hulp nodig voor mijn zaak.", {}, "Beste,"),
    ("Je ne sais plus quoi faire, j'ai besoin d'aide pour mon commerce.", {}, "Bonjour,"),
    ("Ich weiß nicht mehr weiter und ich brauche Hilfe mit meinem Betrieb.", {},
     "Guten Tag,"),
    ("I cannot sleep and I need help with my business.", {}, "Hello,"),
    ("Zie bijlage.", {"Content_Language": "de-BE"}, "Guten Tag,"),
])
def test_an_unknown_sender_is_answered_in_the_language_of_their_text(
    answering, text, headers, starts
):
    ingest(message(sender="someone@example.org", display="", subject="?", text=text,
                   **headers))
    [mail] = answers()
    assert mail.body.startswith(starts)


def test_without_a_clear_language_the_answer_is_in_french_dutch_and_german(answering):
    ingest(message(sender="someone@example.org", subject="12345", text="+32 475 12 34 56"))
    [mail] = answers()
    assert mail.body.startswith("Bonjour,")
    assert "Beste," in mail.body and "Guten Tag," in mail.body


def test_the_active_out_of_hours_template_of_the_language_is_used(answering):
    from contacts.reply_templates import ReplyTemplate

    db.session.add(ReplyTemplate(kind="out_of_hours", language="nl", name="Dicht",
                                 body="Dag {first_name}, we zijn dicht.\n{crisis_numbers}"))
    db.session.commit()
    operations.create_person(None, name="Annelies De Smet", email=SENDER, language="nl")
    db.session.commit()
    ingest(message())
    [mail] = answers()
    assert mail.body.startswith("Dag Annelies, we zijn dicht.\nZelfmoordlijn 1813: 1813")


# --- The supervisors' alert ------------------------------------------------------------


def test_a_red_flagged_email_out_of_hours_alerts_the_on_duty_supervisor(
    answering, smtp_server, make_user
):
    on_duty = make_user("supervisor", on_duty=True)
    off_duty = make_user("supervisor", on_duty=False)
    contact = ingest(message(subject="Ik stop ermee",
                             text="Ik wil er een eind aan maken, het heeft geen zin meer."))
    assert contact.red_flagged
    drain(answering)
    to_staff = [m for m in smtp_server.messages if m["To"] != SENDER]
    assert [m["To"] for m in to_staff] == [on_duty.email]
    assert off_duty.email not in [m["To"] for m in smtp_server.messages]
    body = text_of(to_staff[0])
    assert f"/contacts/{contact.id}" in body
    for private in ("eind aan maken", "Ik stop ermee", SENDER, "Annelies"):
        assert private not in body and private not in to_staff[0]["Subject"]
    # The person is answered too; a second email alerts again (its own contact), once.
    assert [m["To"] for m in smtp_server.messages].count(SENDER) == 1
    ingest(message(subject="Nog eens", text="Ik wil er een eind aan maken."))
    drain(answering)
    assert [m["To"] for m in smtp_server.messages].count(on_duty.email) == 2
    assert [m["To"] for m in smtp_server.messages].count(SENDER) == 1


def test_a_red_flagged_email_in_opening_hours_alerts_no_one_by_mail(
    answering, clock, smtp_server, make_user
):
    make_user("supervisor", on_duty=True)
    clock.to(MONDAY_MORNING)
    ingest(message(text="Ik wil er een eind aan maken."))
    drain(answering)
    assert smtp_server.messages == []
