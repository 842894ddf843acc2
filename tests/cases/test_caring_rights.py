"""Caring messages and the person's rights, and the follow-up page's offer (issue 19): the
erasure clears why a series stopped, the access export lists the series and its messages,
an ended follow-up links to the case page's card."""

from datetime import UTC, datetime

import pytest
import time_machine

from cellule.extensions import db

WEDNESDAY_10H = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)  # 10:00 in Brussels (CET)
MONDAY_10H = datetime(2026, 2, 16, 9, 0, tzinfo=UTC)  # the first message's day, open
STOP_NOTE = "Sa sœur a appelé : il est hospitalisé à Namur"


@pytest.fixture
def advisor(make_user):
    return make_user("advisor", name="Claire Dumont")


@pytest.fixture
def case(triage, resources, make_person, advisor):
    """A high case (its follow-up protocol planned) of a person with an address."""
    person = make_person(name="Marc Lambert", email="marc.lambert@example.be", language="fr")
    with time_machine.travel(WEDNESDAY_10H, tick=False):
        _run, case = triage("high", user=advisor, person=person, at=WEDNESDAY_10H)
    return case


@pytest.fixture
def series(case, advisor):
    from cases.caring import operations as caring
    from contacts.consent.operations import current_text_version, record_consent

    record_consent(case.person, "caring_messages", granted=True, channel="oral",
                   text_version=current_text_version("caring_messages"), actor=advisor)
    with time_machine.travel(WEDNESDAY_10H, tick=False):
        series = caring.start_series(case, advisor)
        db.session.commit()
    return series


def test_erasure_clears_why_the_series_stopped(series, advisor, make_user):
    from cases.caring import operations as caring
    from cases.caring.models import CaringSeries
    from cases.rights.erasure import erase_person

    caring.stop_series(series, "other", STOP_NOTE, advisor)
    db.session.commit()
    series_id, person = series.id, series.case.person
    erase_person(person, make_user("supervisor"), "Request by letter", force=True,
                 force_reason="The person asked for it in writing")
    db.session.commit()
    db.session.expire_all()
    kept = db.session.get(CaringSeries, series_id)
    assert kept.stop_note is None
    assert (kept.state, kept.stop_reason) == ("stopped", "other")  # the figures stay


def test_the_access_export_lists_the_series_and_its_messages(series, login_as, client):
    from cases.caring import operations as caring
    from cases.rights.export import person_data

    with time_machine.travel(MONDAY_10H, tick=False):
        assert caring.send_due() == 1
    person = series.case.person
    [exported] = person_data(person)["caring_series"]
    assert (exported["case_id"], exported["state"], exported["language"]) == (
        series.case_id, "active", "fr")
    assert [m["months"] for m in exported["messages"]] == [1, 2, 3, 4, 6, 8, 10, 12]
    assert [m["state"] for m in exported["messages"]][:2] == ["sent", "scheduled"]
    assert exported["messages"][0]["sent_at"].startswith("2026-02-16")

    login_as("supervisor")
    client.post_form("/language", {"language": "en"})
    page = client.get(f"/rights/people/{person.id}/export").get_data(as_text=True)
    assert "Caring messages" in page and "1 of 8" in page and "2026-02-16" in page


def test_an_ended_follow_up_links_to_the_caring_messages_offer(case, advisor, client):
    from cases.caring import operations as caring
    from cases.followup.operations import open_follow_ups
    from contacts.consent.operations import current_text_version, record_consent

    task_id = open_follow_ups(case.id)[0].id
    client.sign_in(advisor)
    client.post_form("/language", {"language": "en"})
    url = f"/tasks/{task_id}/follow-up"
    assert 'id="caring-offer-link"' not in client.get(url).get_data(as_text=True)  # running
    assert client.post_form(f"{url}/end", {"state": "completed"}).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert 'id="caring-offer-link"' in page
    assert f'href="/cases/{case.id}#caring-card"' in page and "Offer caring messages" in page

    case = db.session.merge(case)
    record_consent(case.person, "caring_messages", granted=True, channel="oral",
                   text_version=current_text_version("caring_messages"), actor=advisor)
    caring.start_series(case, advisor)  # started: nothing more to offer
    db.session.commit()
    assert 'id="caring-offer-link"' not in client.get(url).get_data(as_text=True)
