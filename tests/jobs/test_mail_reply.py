"""Email from Cellule: a reply leaves in its thread, is filed on the person and case, and
the person's answer comes back to that case (issue 15, "Reply from Cellule")."""

from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from sqlalchemy import func, select

from cases import operations as case_ops
from cases.models import Case, CaseContact
from cellule.extensions import db
from cellule.mailer import OutgoingMail
from cellule.types import utcnow
from contacts import mail_ingest, operations
from contacts.mail_parse import BoundedMailMessage
from contacts.models import Contact, Person
from contacts.replies import reply_subject
from contacts.reply_templates import ReplyTemplate
from tests.core.mail_helpers import delivered, mailbox, text_of  # noqa: F401  (the fixture)

from .conftest import make_email

ADDRESS = "sophie.martin@example.be"
TYPED = "Bonjour Madame Martin,\nJe vous appelle demain matin.\nLa cellule"


def with_headers(raw, **headers):
    """The message `raw` with these headers added (In_Reply_To → In-Reply-To)."""
    message = message_from_bytes(raw, policy=default_policy)
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message.as_bytes()


def ingest(raw, **where):
    contact, _ = mail_ingest.ingest_message(BoundedMailMessage.from_bytes(raw), **where)
    return contact.id


@pytest.fixture
def thread(app, make_user):
    """A person with an address, her email in the inbox (itself answering an older one),
    and her open case the email is linked to."""
    advisor = make_user("advisor", name="Claire Dumont")
    person = operations.create_person(advisor, name="Sophie Martin", email=ADDRESS,
                                      language="fr")
    db.session.commit()
    raw = with_headers(make_email(sender=ADDRESS, subject="AW: Besoin d'aide",
                                  text="Je n'en peux plus du travail.",
                                  message_id="<first@example.be>"),
                       References="<older@example.be>")
    email_id = ingest(raw)
    case = case_ops.open_case(person_id=person.id, level="elevated", route="information",
                              due_at=utcnow() + timedelta(days=2), actor=advisor)
    case_ops.link_contact(case, db.session.get(Contact, email_id), advisor)
    db.session.commit()
    return advisor, person.id, email_id, case.id


def send(client, url, body=TYPED, **fields):
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return client.post_form(url, {"subject": fields.pop("subject", None) or _subject(page),
                                  "body": body, "send": "Send", **fields})


def _subject(page):
    import html
    import re

    found = re.search(r'id="subject"[^>]*value="([^"]*)"', page.get_data(as_text=True))
    return html.unescape(found.group(1))


def outbound():
    db.session.expire_all()
    return db.session.scalars(select(Contact).where(Contact.direction == "out")
                              .order_by(Contact.id)).all()


def test_a_reply_is_threaded_filed_on_the_case_and_leaves_the_inbox(app, client, thread,
                                                                    mailbox):  # noqa: F811
    advisor, person_id, email_id, case_id = thread
    client.sign_in(advisor)
    page = client.get(f"/contacts/{email_id}/reply").get_data(as_text=True)
    assert 'value="Re: Besoin d&#39;aide"' in page and ADDRESS in page
    assert f'<option selected value="{case_id}">' in page  # the email's case

    response = send(client, f"/contacts/{email_id}/reply", case=str(case_id))
    assert response.status_code == 303
    assert "Your email is on its way." in client.get(response.location).get_data(as_text=True)

    [message] = delivered(app, mailbox, to=ADDRESS)
    assert message["From"] == "cellule@fund.test" and message["Reply-To"] == "cellule@fund.test"
    assert message["Subject"] == "Re: Besoin d'aide"
    assert message["In-Reply-To"] == "<first@example.be>"
    assert message["References"] == "<older@example.be> <first@example.be>"
    assert text_of(message).strip() == TYPED

    [reply] = outbound()  # filed once: the sent-mail hook did not file it again
    assert (reply.person_id, reply.channel, reply.handled_at is not None) == (
        person_id, "email", True)
    assert reply.email_message_id == message["Message-ID"] != "<first@example.be>"
    assert reply.email_sender == "cellule@fund.test"
    assert db.session.scalar(select(CaseContact.id).where(
        CaseContact.case_id == case_id, CaseContact.contact_id == reply.id))
    assert db.session.get(Case, case_id).first_response_at is not None
    assert not db.session.get(Contact, email_id).in_inbox
    assert f'href="/contacts/{email_id}"' not in client.get("/inbox").get_data(as_text=True)
    timeline = client.get(f"/people/{person_id}").get_data(as_text=True)
    assert f'href="/contacts/{reply.id}"' in timeline
    assert "sent at" in client.get(f"/contacts/{reply.id}").get_data(as_text=True)


def test_the_persons_answer_threads_back_to_the_case(app, client, thread, make_user,
                                                     mailbox):  # noqa: F811
    advisor, person_id, email_id, case_id = thread
    # A second record with her address: the mailbox alone cannot tell who wrote.
    operations.create_person(advisor, name="Sophie Martin-Leroy", email=ADDRESS)
    db.session.commit()
    client.sign_in(advisor)
    send(client, f"/contacts/{email_id}/reply", case=str(case_id))
    [message] = delivered(app, mailbox)

    answer = with_headers(make_email(sender=ADDRESS, subject="Re: Besoin d'aide",
                                     text="Merci, demain c'est bien."),
                          In_Reply_To=message["Message-ID"],
                          References=f"{message['References']} {message['Message-ID']}")
    answer_id = ingest(answer)
    contact = db.session.get(Contact, answer_id)
    assert contact.person_id == person_id and contact.in_inbox
    assert contact.email_references.split() == [
        "<older@example.be>", "<first@example.be>", message["Message-ID"]]
    assert db.session.scalar(select(CaseContact.id).where(
        CaseContact.case_id == case_id, CaseContact.contact_id == answer_id))

    # The Reply button on it continues the same thread.
    send(client, f"/contacts/{answer_id}/reply")
    second = delivered(app, mailbox)[-1]
    assert second["In-Reply-To"] == contact.email_message_id
    assert second["References"].split()[-2:] == [message["Message-ID"],
                                                 contact.email_message_id]


def test_the_answer_polled_from_dovecot_files_on_the_case(app, client, thread, imap_server,
                                                          mailbox):  # noqa: F811
    advisor, person_id, email_id, case_id = thread
    client.sign_in(advisor)
    send(client, f"/contacts/{email_id}/reply", case=str(case_id))
    [message] = delivered(app, mailbox)
    imap_server.deliver(with_headers(make_email(sender=ADDRESS, text="Oui, merci."),
                                     In_Reply_To=message["Message-ID"]))
    assert mail_ingest.ingest_mailbox() == 1
    db.session.expire_all()
    answer = db.session.scalar(select(Contact).where(Contact.mailbox_uid == 1))
    assert answer.person_id == person_id
    assert db.session.scalar(select(CaseContact.id).where(
        CaseContact.case_id == case_id, CaseContact.contact_id == answer.id))


def test_an_unknown_in_reply_to_stays_unlinked(app, thread):
    raw = with_headers(make_email(sender="someone@example.org", text="Bonjour"),
                       In_Reply_To="<never-sent@fund.test>")
    contact = db.session.get(Contact, ingest(raw))
    assert contact.person_id is None and contact.in_inbox
    assert contact.email_references == "<never-sent@fund.test>"
    assert db.session.scalar(select(func.count(CaseContact.id)).where(
        CaseContact.contact_id == contact.id)) == 0


def test_a_closed_case_does_not_take_the_answer(app, client, thread, mailbox):  # noqa: F811
    advisor, person_id, email_id, case_id = thread
    client.sign_in(advisor)
    send(client, f"/contacts/{email_id}/reply", case=str(case_id))
    [message] = delivered(app, mailbox)
    case = db.session.get(Case, case_id)
    case_ops.close_case(case, "resolved", advisor, case.version)
    db.session.commit()
    answer_id = ingest(with_headers(make_email(sender=ADDRESS, text="Encore moi."),
                                    In_Reply_To=message["Message-ID"]))
    contact = db.session.get(Contact, answer_id)
    assert contact.person_id == person_id and contact.in_inbox
    assert not db.session.scalar(select(CaseContact.id).where(
        CaseContact.contact_id == answer_id))


def test_an_email_known_by_its_bytes_is_answered_without_in_reply_to(
    app, client, make_user, mailbox  # noqa: F811
):
    raw = (b"From: Lies <lies@example.be>\nTo: cellule@fund.test\nSubject: Vraag\n"
           b"Date: Tue, 10 Mar 2026 10:00:00 +0100\n\nIk heb een vraag.\n")
    email_id = ingest(raw)
    assert mail_ingest.RAW_ID.match(db.session.get(Contact, email_id).email_message_id)
    client.sign_in(make_user("psychologist"))
    assert send(client, f"/contacts/{email_id}/reply").status_code == 303
    [message] = delivered(app, mailbox, to="lies@example.be")
    assert message["In-Reply-To"] is None and message["References"] is None
    assert message["Subject"] == "Re: Vraag"
    [reply] = outbound()
    assert reply.person_id is None  # an unknown sender: the reply stays anonymous too


def test_a_new_email_from_the_case_page_is_filed_on_that_case(app, client, thread,
                                                              mailbox):  # noqa: F811
    advisor, person_id, email_id, case_id = thread
    client.sign_in(advisor)
    case_page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    url = f"/people/{person_id}/email?case={case_id}"
    assert f'href="{url}"' in case_page
    page = client.get(url).get_data(as_text=True)
    assert f'<option selected value="{case_id}">' in page
    response = send(client, url, subject="Votre rendez-vous", case=str(case_id))
    assert response.status_code == 303
    [message] = delivered(app, mailbox)
    assert message["Subject"] == "Votre rendez-vous" and message["In-Reply-To"] is None
    reply = outbound()[-1]
    assert db.session.scalar(select(CaseContact.id).where(CaseContact.contact_id == reply.id))
    assert db.session.get(Contact, email_id).in_inbox  # a new email answers nothing


def test_the_delivery_state_is_shown_until_sent(app, client, thread):
    advisor, person_id, email_id, case_id = thread
    client.sign_in(advisor)
    send(client, f"/contacts/{email_id}/reply", case="")
    reply = outbound()[-1]
    assert "waiting to be sent" in client.get(f"/contacts/{reply.id}").get_data(as_text=True)
    app.config["MAIL_SERVER"] = ""
    from cellule.jobs import drain

    drain(app)
    assert "not sent: no mail server" in client.get(f"/contacts/{reply.id}").get_data(
        as_text=True)
    assert not db.session.scalar(select(CaseContact.id).where(
        CaseContact.contact_id == reply.id))  # "No case" chosen


def test_a_template_fills_the_first_name_and_the_advisors_name(app, client, thread):
    advisor, person_id, email_id, case_id = thread
    db.session.add(ReplyTemplate(kind="reply", name="Rappel", language="fr",
                                 subject="Votre message",
                                 body="Bonjour {first_name},\nJe vous rappelle.\n{advisor_name}"))
    db.session.commit()
    template_id = db.session.scalar(select(ReplyTemplate.id))
    client.sign_in(advisor)
    url = f"/contacts/{email_id}/reply"
    client.get(url)
    response = client.post_form(url, {"subject": "Re: Besoin d'aide", "body": "",
                                      "template": str(template_id),
                                      "use_template": "Use this template"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Bonjour Sophie,\nJe vous rappelle.\nClaire Dumont</textarea>" in page
    assert 'value="Re: Besoin d&#39;aide"' in page  # a reply keeps its subject
    assert db.session.scalar(select(func.count(OutgoingMail.id))) == 0  # nothing sent


def test_bad_input_is_a_422_naming_the_field(app, client, thread):
    advisor, person_id, email_id, case_id = thread
    client.sign_in(advisor)
    response = send(client, f"/contacts/{email_id}/reply", body="  ")
    assert response.status_code == 422
    assert "Write the text of your email." in response.get_data(as_text=True)
    response = send(client, f"/contacts/{email_id}/reply", body="x" * 20_001)
    assert response.status_code == 422 and 'id="body-error"' in response.get_data(as_text=True)
    db.session.add(ReplyTemplate(kind="reply", name="Horaires", language="fr", body="…"))
    db.session.commit()
    response = client.post_form(f"/contacts/{email_id}/reply",
                                {"template": "", "use_template": "Use this template"})
    assert response.status_code == 422
    assert "Choose a template first." in response.get_data(as_text=True)
    response = send(client, f"/contacts/{email_id}/reply", case="999999")
    assert response.status_code == 422 and 'id="case-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(OutgoingMail.id))) == 0


def test_someone_without_an_address_cannot_be_written_to(app, client, make_user):
    advisor = make_user("advisor")
    person = operations.create_person(advisor, name="Marc Dubois", phone="0475 12 34 56")
    db.session.commit()
    client.sign_in(advisor)
    response = client.get(f"/people/{person.id}/email")
    assert response.status_code == 422
    assert "There is no email address to write to." in response.get_data(as_text=True)
    assert "Write an email" not in client.get(f"/people/{person.id}").get_data(as_text=True)


@pytest.mark.parametrize("role", ["ambassador", "admin"])
def test_ambassadors_and_admins_do_not_write_from_cellule(app, client, thread, make_user,
                                                          role):
    advisor, person_id, email_id, case_id = thread
    client.sign_in(make_user(role))
    assert client.get(f"/contacts/{email_id}/reply").status_code == 403
    assert client.get(f"/people/{person_id}/email").status_code == 403


def test_only_incoming_emails_can_be_answered(app, client, thread):
    advisor, person_id, email_id, case_id = thread
    person = db.session.get(Person, person_id)
    call = operations.create_contact(advisor, channel="phone", person=person)
    db.session.commit()
    client.sign_in(advisor)
    assert client.get(f"/contacts/{call.id}/reply").status_code == 404
    assert client.get("/contacts/999999/reply").status_code == 404
    send(client, f"/contacts/{email_id}/reply")
    reply = outbound()[-1]
    assert client.get(f"/contacts/{reply.id}/reply").status_code == 404
    page = client.get(f"/contacts/{reply.id}").get_data(as_text=True)
    assert f'href="/contacts/{reply.id}/reply"' not in page
    assert f'href="/contacts/{email_id}/reply"' in client.get(
        f"/contacts/{email_id}").get_data(as_text=True)


@pytest.mark.parametrize("subject, expected", [
    ("Besoin d'aide", "Re: Besoin d'aide"),
    ("RE: Re: Besoin d'aide", "Re: Besoin d'aide"),
    ("AW: Antw: Hulp", "Re: Hulp"),
    ("Antw:Hulp", "Re: Hulp"),
    ("Re[2]: Hilfe", "Re: Hilfe"),
    ("", "Re:"),
])
def test_the_reply_subject_has_one_re(subject, expected):
    assert reply_subject(subject) == expected
