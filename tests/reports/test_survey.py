"""The satisfaction survey: planned on close, mailed once, answered once, until it expires."""

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from cases import operations as ops
from cases.models import Task
from cases.survey import jobs as survey_module
from cases.survey.models import Survey, digest
from cases.survey.views import record_answer
from cellule.extensions import db
from cellule.jobs import drain
from cellule.mailer import OutgoingMail
from cellule.models import User
from cellule.outbox import OutboxMessage
from contacts.consent.operations import record_consent, withdraw_consent


@pytest.fixture
def close(make_user, make_person, make_case):
    """Close a new case of a person with `email` and `language`; return the case."""

    def closer(email="marie@example.org", language="fr", outcome="resolved", person=True,
               consent=True):
        advisor = make_user("advisor")
        who = make_person(email=email, language=language) if person else None
        if who is not None and consent:  # no survey without the survey consent (issue 20)
            record_consent(who, "survey", granted=True, channel="oral",
                           text_version="survey/v1", actor=advisor)
        case = make_case(person=who, opened="2025-03-01 10:00")
        ops.close_case(case, outcome, advisor, case.version)
        db.session.commit()
        return case

    return closer


@pytest.fixture
def sent_mail(app, monkeypatch):
    """Deliver mail to a list instead of an SMTP server."""
    delivered = []
    app.config["MAIL_SERVER"] = "smtp.invalid"
    monkeypatch.setattr("cellule.mailer.deliver", delivered.append)
    return delivered


def _survey(case):
    return db.session.scalar(select(Survey).where(Survey.case_id == case.id))


def _token(text):
    return re.search(r"/survey/([A-Za-z0-9_-]{20,})", text).group(1)


def test_closing_a_case_plans_a_survey_task_and_an_outbox_request(close):
    case = close()
    survey = _survey(case)
    assert survey.status == "pending" and survey.token_digest is None
    task = db.session.get(Task, survey.task_id)
    assert (task.kind, task.case_id, task.status) == ("survey", case.id, "open")
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.job_name == "send_survey"))
    assert (row.args, row.status) == ([survey.id], "pending")


def test_the_worker_mails_a_single_use_link_and_strikes_it_from_the_log(
        close, app, sent_mail):
    case = close(language="nl")
    assert drain(app) >= 2  # send_survey, then send_email
    survey = _survey(case)
    assert survey.status == "sent"
    assert survey.expires_at - survey.sent_at == timedelta(days=14)
    assert db.session.get(Task, survey.task_id).status == "done"
    (message,) = sent_mail
    assert message["To"] == "marie@example.org"
    token = _token(message.get_content())
    assert message.get_content().count("http://127.0.0.1:5000/survey/" + token) == 1
    # Only the digest is stored; the mail log keeps no usable link once sent.
    assert survey.token_digest == digest(token) and token not in survey.token_digest
    mail = db.session.get(OutgoingMail, survey.mail_id)
    assert mail.status == "sent" and token not in mail.body
    assert mail.person_id is None and mail.case_id == case.id  # not logged as a contact
    # A second run of the job sends nothing more.
    assert survey_module.send_survey(survey.id) == "sent"
    assert len(sent_mail) == 1


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [({"email": None}, "no address"), ({"outcome": "no_contact"}, "never reached"),
     ({"person": False}, "anonymous")],
)
def test_no_survey_without_someone_to_ask(close, kwargs, why):
    assert _survey(close(**kwargs)) is None, why


def test_no_survey_without_the_survey_consent(close):
    assert _survey(close(consent=False)) is None


def test_a_consent_withdrawn_before_sending_sends_nothing(close, app, sent_mail):
    case = close()
    withdraw_consent(case.person, "survey", actor=case.person.created_by or
                     db.session.scalar(select(User).limit(1)), channel="written")
    db.session.commit()
    drain(app)
    survey = _survey(case)
    assert survey.status == "not_sent" and not sent_mail
    assert db.session.get(Task, survey.task_id).status == "cancelled"


def test_the_link_works_once(close, app, client, sent_mail):
    case = close(language="nl")
    drain(app)
    token = _token(sent_mail[0].get_content())
    url = f"/survey/{token}"

    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="nl">' in html
    assert html.count('type="radio"') == 5 and 'name="comment"' in html

    assert client.post_form(url, {"comment": "no score"}).status_code == 422
    response = client.post_form(url, {"score": "4", "comment": "  Merci, très utile.  "})
    assert response.status_code == 200
    survey = _survey(case)
    assert (survey.status, survey.score, survey.comment) == ("answered", 4, "Merci, très utile.")

    again = client.post_form(url, {"score": "1"})
    assert again.status_code == 410
    assert client.get(url).status_code == 410
    db.session.expire_all()
    assert _survey(case).score == 4


def test_the_link_expires(close, app, client, sent_mail):
    case = close()
    drain(app)
    survey = _survey(case)
    token = _token(sent_mail[0].get_content())
    with time_machine.travel(survey.expires_at + timedelta(seconds=1), tick=False):
        assert client.get(f"/survey/{token}").status_code == 410
        assert client.post_form(f"/survey/{token}", {"score": "5"}).status_code == 410
    db.session.expire_all()
    assert _survey(case).status == "sent" and _survey(case).score is None
    # Just before the end it still works.
    with time_machine.travel(survey.expires_at - timedelta(seconds=1), tick=False):
        assert client.get(f"/survey/{token}").status_code == 200
        assert client.post_form(f"/survey/{token}", {"score": "5"}).status_code == 200


def test_two_simultaneous_answers_only_one_counts(close, app, sent_mail):
    case = close()
    drain(app)
    survey = _survey(case)
    assert record_answer(survey, 5, None) is True
    assert record_answer(survey, 1, None) is False
    db.session.commit()
    db.session.expire_all()
    assert _survey(case).score == 5


@pytest.mark.parametrize("token", ["x", "A" * 43, "../../etc/passwd" + "a" * 30])
def test_unknown_links_are_404(client, token):
    assert client.get(f"/survey/{token}").status_code == 404


def test_a_german_speaker_gets_the_survey_in_german(close, app, client, sent_mail):
    close(language="de")
    drain(app)
    token = _token(sent_mail[0].get_content())
    client.environ_base.pop("HTTP_ACCEPT_LANGUAGE")
    assert '<html lang="de">' in client.get(f"/survey/{token}").get_data(as_text=True)
