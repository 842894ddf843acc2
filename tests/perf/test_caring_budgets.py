"""SQL budget of the case page's caring messages card (issue 19): one statement without a
series (the series and the follow-up state together), two more while one runs (its
messages' figures in one aggregate, the consent), however many messages were sent."""

from datetime import UTC, datetime

import time_machine

from cellule.extensions import db

from ..cases.conftest import make_contact, triage  # noqa: F401  (fixtures)

START = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Brussels
CARD_WITH_SERIES = 3


def _count(client, count_queries, url):
    client.get(url)  # warm-up: first-request caches
    with count_queries() as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert 'id="caring-card"' in response.get_data(as_text=True)
    return queries


def _card(queries):
    """The card's own statements: the caring tables' and the consent's reads."""
    return [s for s in queries.statements if s.startswith("SELECT") and (
        "FROM caring_" in s or "FROM cases LEFT OUTER JOIN caring_series" in s
        or "FROM consents" in s)]


def test_the_card_fits_its_budget_and_does_not_grow(app, triage, make_person, login_as,  # noqa: F811
                                                    client, count_queries):
    from cases.caring import operations as caring
    from contacts.consent.operations import current_text_version, record_consent

    advisor = login_as("advisor")
    person = make_person(email="lea@example.be")
    with time_machine.travel(START, tick=False):
        _run, case = triage("high", user=advisor, person=person, at=START)
    url = f"/cases/{case.id}"
    without = _count(client, count_queries, url)
    assert len(_card(without)) == 1, without.report()

    record_consent(person, "caring_messages", granted=True, channel="oral",
                   text_version=current_text_version("caring_messages"), actor=advisor)
    with time_machine.travel(START, tick=False):
        caring.start_series(db.session.get(type(case), case.id), advisor)
    db.session.commit()
    running = _count(client, count_queries, url)
    assert len(_card(running)) == CARD_WITH_SERIES, running.report()
    assert running.count == without.count + CARD_WITH_SERIES - 1, running.report()

    with time_machine.travel(datetime(2026, 5, 18, 9, 0, tzinfo=UTC), tick=False):
        assert caring.send_due() == 4  # four months on: four messages sent, four contacts
    db.session.expire_all()
    assert _count(client, count_queries, url).count == running.count
