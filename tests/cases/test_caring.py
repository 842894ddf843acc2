"""Caring messages (issue 19): the schedule in the cell's calendar, the consent and address
they need, the words, sending once while the cell is open, a withdrawal that stops them,
the case page card and who may use it."""

from datetime import UTC, datetime

import pytest
import time_machine
from flask_babel import force_locale
from sqlalchemy import func, select

from cellule.audit import AuditEvent
from cellule.extensions import db

WEDNESDAY_10H = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)  # 10:00 in Brussels (CET)
MONDAY_10H = datetime(2026, 2, 16, 9, 0, tzinfo=UTC)  # the first message's day, open
ADDRESS = "marie.dubois@example.be"


def _local(moment):
    from triage.calendar import get_calendar

    return moment.astimezone(get_calendar().tz).strftime("%a %d %b %H:%M")


def consent(person, actor, granted=True):
    from contacts.consent.operations import current_text_version, record_consent

    record_consent(person, "caring_messages", granted=granted, channel="oral",
                   text_version=current_text_version("caring_messages"), actor=actor)
    db.session.commit()


@pytest.fixture
def advisor(make_user):
    return make_user("advisor", name="Claire Dumont")


@pytest.fixture
def case(triage, resources, make_person, advisor):
    """A high case of a person with an address, opened on a Wednesday at 10:00."""
    person = make_person(name="Marie Dubois", email=ADDRESS, language="fr")
    with time_machine.travel(WEDNESDAY_10H, tick=False):
        _run, case = triage("high", user=advisor, person=person, at=WEDNESDAY_10H)
    return case


@pytest.fixture
def series(case, advisor):
    from cases.caring import operations as caring

    consent(case.person, advisor)
    with time_machine.travel(WEDNESDAY_10H, tick=False):
        series = caring.start_series(case, advisor)
        db.session.commit()
    return series


def messages(series):
    from cases.caring.models import CaringMessage

    db.session.expire_all()
    return db.session.scalars(select(CaringMessage).where(CaringMessage.series_id == series.id)
                              .order_by(CaringMessage.number)).all()


def test_the_schedule_thins_out_over_a_year_in_the_cells_calendar(app):
    from cases.caring.operations import plan

    assert [(months, _local(due)) for months, due in plan(WEDNESDAY_10H)] == [
        (1, "Mon 16 Feb 08:30"),  # Saturday 14 February -> Monday's opening
        (2, "Mon 16 Mar 08:30"),  # Saturday again
        (3, "Tue 14 Apr 08:30"),  # a business day: its opening
        (4, "Fri 15 May 08:30"),  # Ascension Day, a holiday: the next business day
        (6, "Tue 14 Jul 08:30"),
        (8, "Mon 14 Sep 08:30"),
        (10, "Mon 16 Nov 08:30"),  # Saturday 14 November
        (12, "Thu 14 Jan 08:30"),  # 2027
    ]


def test_the_months_are_a_setting(app):
    from cases.caring.operations import plan

    app.config["CELLULE_CARING_MONTHS"] = (1, 12)
    assert [months for months, _due in plan(WEDNESDAY_10H)] == [1, 12]


def test_a_month_later_keeps_the_day_or_the_months_last(app):
    from zoneinfo import ZoneInfo

    from cases.caring.operations import add_months

    tz = ZoneInfo("Europe/Brussels")
    start = datetime(2026, 1, 31, 10, 0, tzinfo=tz)
    assert add_months(start, 1, tz).date().isoformat() == "2026-02-28"
    assert add_months(start, 12, tz).date().isoformat() == "2027-01-31"


def test_no_series_without_consent_or_address(case, advisor):
    from cases.caring import operations as caring

    with pytest.raises(caring.SeriesRefused) as refused:
        caring.start_series(case, advisor)
    assert set(refused.value.fields) == {"consent"}
    consent(case.person, advisor, granted=False)  # a recorded no is no consent either
    case.person.email = None
    with pytest.raises(caring.SeriesRefused) as refused:
        caring.start_series(case, advisor)
    assert set(refused.value.fields) == {"consent", "email"}


def test_a_series_plans_eight_messages_once(series, case, advisor):
    from cases.caring import operations as caring
    from cases.models import CaseEvent

    rows = messages(series)
    assert [(m.number, m.months, m.state) for m in rows] == [
        (i, n, "scheduled") for i, n in enumerate((1, 2, 3, 4, 6, 8, 10, 12), start=1)]
    assert (series.state, series.language, series.started_by_id) == ("active", "fr", advisor.id)
    assert db.session.scalar(select(CaseEvent.id).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "caring_started"))
    assert db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.object_type == "caring_series", AuditEvent.action == "create"))
    with pytest.raises(caring.SeriesRefused) as refused:
        caring.start_series(case, advisor)
    assert set(refused.value.fields) == {"series"}


def test_the_words_are_short_warm_and_give_the_crisis_lines(series, case):
    from cases.caring import operations as caring
    from cases.caring.texts import TEXTS

    subject, first = caring.compose(series, 1)
    _subject, second = caring.compose(series, 2)
    with force_locale("fr"):  # the series' language (the text until it is translated)
        year = str(TEXTS[-1])[:30]
    assert year in caring.compose(series, 8)[1] and year not in caring.compose(series, 7)[1]
    assert year in caring.compose(series, 2, last=True)[1]  # a shorter schedule ends the year
    with force_locale("en"):
        assert first != second and len({str(t) for t in TEXTS}) == 8
    assert "0800 32 123" in first and "112" in first  # the crisis panel's lines for fr
    assert "stop" in first.lower()
    assert "The listening cell" in first or "La cellule" in first  # signed by the cell
    for secret in (case.reference, "high", "Marie"):
        assert secret not in first and secret not in subject
    assert len(first) < 1200


def test_due_messages_go_once_while_the_cell_is_open(app, series, case):
    from cases.caring import operations as caring
    from cases.models import CaseContact
    from cellule.mailer import OutgoingMail
    from contacts.models import Contact

    answered = case.first_response_at
    early = datetime(2026, 2, 16, 6, 0, tzinfo=UTC)  # Monday 07:00: closed
    with time_machine.travel(early, tick=False):
        assert caring.send_due() == 0
    with time_machine.travel(MONDAY_10H, tick=False):
        assert caring.send_due() == 1
        assert caring.send_due() == 0  # a re-run sends nothing again
    first, *rest = messages(series)
    assert (first.state, first.sent_at) == ("sent", MONDAY_10H)
    assert {m.state for m in rest} == {"scheduled"}
    mail = db.session.get(OutgoingMail, first.mail_id)
    assert (mail.recipient, mail.key, mail.case_id) == (ADDRESS, f"caring:{first.id}", case.id)
    contact = db.session.get(Contact, first.contact_id)
    assert (contact.direction, contact.channel, contact.email_message_id) == (
        "out", "email", mail.message_id)
    assert db.session.scalar(select(CaseContact.id).where(
        CaseContact.case_id == case.id, CaseContact.contact_id == contact.id))
    assert db.session.get(type(case), case.id).first_response_at == answered  # answers nobody
    assert caring.send_message(first.id) == "sent"  # the job again: nothing more
    assert db.session.scalar(select(func.count(OutgoingMail.id)).where(
        OutgoingMail.key.like("caring:%"))) == 1


def test_a_late_run_sends_the_messages_missed_and_completes_the_series(app, series):
    from cases.caring import operations as caring

    after_a_year = datetime(2027, 1, 18, 9, 0, tzinfo=UTC)  # a Monday, open
    with time_machine.travel(after_a_year, tick=False):
        assert caring.send_due() == 8
    assert {m.state for m in messages(series)} == {"sent"}
    db.session.refresh(series)
    assert series.state == "completed"


def test_a_withdrawn_consent_stops_the_messages_at_sending(app, series, case, advisor):
    from cases.caring import operations as caring
    from cellule.mailer import OutgoingMail
    from contacts.consent.operations import withdraw_consent

    withdraw_consent(case.person, "caring_messages", actor=advisor, channel="oral")
    db.session.commit()
    with time_machine.travel(MONDAY_10H, tick=False):
        assert caring.send_due() == 0
    db.session.expire_all()
    assert (series.state, series.stop_reason, series.stopped_by_id) == (
        "stopped", "consent_withdrawn", None)
    assert {m.state for m in messages(series)} == {"cancelled"}
    assert not db.session.scalar(select(OutgoingMail.id).where(OutgoingMail.key.like("caring:%")))


def test_stopping_cancels_what_is_planned(series, advisor):
    from cases.caring import operations as caring

    with pytest.raises(caring.SeriesRefused) as refused:
        caring.stop_series(series, "other", "", advisor)
    assert set(refused.value.fields) == {"note"}
    caring.stop_series(series, "asked_by_person", None, advisor)
    db.session.commit()
    assert {m.state for m in messages(series)} == {"cancelled"}
    with time_machine.travel(MONDAY_10H, tick=False):
        assert caring.send_due() == 0


# --------------------------------------------------------------------------- the card


def test_the_card_starts_and_stops_the_series(case, advisor, client):
    client.sign_in(advisor)
    client.post_form("/language", {"language": "en"})
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="caring-card"' in page and "Start the caring messages" in page

    refused = client.post_form(f"/cases/{case.id}/caring", {"language": "fr"})
    assert refused.status_code == 422
    assert "has not given their consent to caring messages" in refused.get_data(as_text=True)

    consent(db.session.get(type(case), case.id).person, advisor)
    started = client.post_form(f"/cases/{case.id}/caring", {"language": "nl"})
    assert started.status_code == 303
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Caring messages planned." in page
    assert 'id="caring-sent">0 of 8' in page and 'id="caring-next"' in page
    assert "Caring messages started" in page  # the timeline

    stopped = client.post_form(f"/cases/{case.id}/caring/stop",
                               {"reason": "asked_by_person", "note": ""})
    assert stopped.status_code == 303
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="caring-state">Stopped' in page and "The person asked to stop" in page
    assert "Stop the caring messages" not in page


def test_the_card_offers_the_series_once_the_follow_up_ended(case, advisor, client):
    from cases.followup.operations import end_protocol, protocol_of

    client.sign_in(advisor)
    assert "caring-offered" not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    end_protocol(protocol_of(case.id), "completed", None, advisor)
    db.session.commit()
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "caring-offered" in page and 'id="caring-offer"' in page


@pytest.mark.parametrize("role, status", [("ambassador", 403), ("admin", 403),
                                          ("psychologist", 404)])
def test_who_may_not_start_them(app, triage, make_person, make_user, client, role, status):
    from cases.caring.models import CaringSeries

    advisor = make_user("advisor")
    person = make_person(email=ADDRESS)
    consent(person, advisor)
    _run, case = triage("at_risk", user=advisor, person=person)  # an advisors' case
    client.sign_in(make_user(role))
    assert client.post_form(f"/cases/{case.id}/caring", {"language": "fr"}).status_code == status
    assert client.post_form(f"/cases/{case.id}/caring/stop",
                            {"reason": "team_decision"}).status_code == status
    assert db.session.scalar(select(func.count(CaringSeries.id))) == 0


def test_a_psychologist_of_the_case_may(case, make_user, advisor, client):
    consent(case.person, advisor)
    client.sign_in(make_user("psychologist"))  # a high case: the psychologists' route
    assert client.post_form(f"/cases/{case.id}/caring", {"language": "fr"}).status_code == 303


# --------------------------------------------------------------------------- the API


def test_the_api_starts_reads_and_stops_a_series(case, advisor, api_client):
    from cases.caring.models import CaringSeries

    client, _user = api_client("advisor")
    url = f"/api/v1/cases/{case.id}/caring-messages"
    assert client.get(url).status_code == 404  # none yet
    refused = client.post(url, json={"language": "nl"})
    assert refused.status_code == 409 and "consent" in refused.get_json()["fields"]
    consent(case.person, advisor)
    assert client.post(url, json={"language": "xx"}).status_code == 422
    headers = {"Idempotency-Key": "caring-1"}
    started = client.post(url, json={"language": "nl"}, headers=headers)
    assert started.status_code == 201, started.get_json()
    again = client.post(url, json={"language": "nl"}, headers=headers)
    assert (again.status_code, again.get_json()) == (201, started.get_json())
    assert db.session.query(CaringSeries).count() == 1
    body = client.get(url).get_json()
    assert "state" in body, body
    assert (body["state"], body["language"], len(body["messages"])) == ("active", "nl", 8)
    assert {m["state"] for m in body["messages"]} == {"scheduled"}
    assert client.post(url, json={"language": "nl"}).status_code == 409  # one per case

    stop = f"{url}/stop"
    assert client.post(stop, json={"reason": "other"}).status_code == 422  # say why
    assert client.post(stop, json={"reason": "consent_withdrawn"}).status_code == 422
    stopped = client.post(stop, json={"reason": "team_decision"})
    assert stopped.status_code == 200 and stopped.get_json()["state"] == "stopped"
    assert {m["state"] for m in stopped.get_json()["messages"]} == {"cancelled"}
    assert client.post(stop, json={"reason": "team_decision"}).status_code == 409


def test_the_api_refuses_who_may_not(app, triage, make_person, make_user, api_client):
    advisor = make_user("advisor")
    person = make_person(email=ADDRESS)
    consent(person, advisor)
    _run, case = triage("at_risk", user=advisor, person=person)
    url = f"/api/v1/cases/{case.id}/caring-messages"
    for role, status in (("ambassador", 403), ("admin", 403), ("psychologist", 404)):
        client, _user = api_client(role)
        assert client.post(url, json={}).status_code == status, role
        assert client.get(url).status_code == status, role


def test_openapi_documents_the_caring_messages(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert {"201", "409", "422"} <= set(
        spec["paths"]["/cases/{id}/caring-messages"]["post"]["responses"])
    assert "200" in spec["paths"]["/cases/{id}/caring-messages"]["get"]["responses"]
    assert "/cases/{id}/caring-messages/stop" in spec["paths"]
