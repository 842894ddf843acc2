"""SQL budgets of issue 19/20's small pieces (gaps19): the API's directory, one statement
for the entries whatever their number; the follow-up page of an ended protocol, one more
for the caring messages' offer."""

from datetime import UTC, datetime

import time_machine

from cellule.extensions import db

from ..cases.conftest import make_contact, triage  # noqa: F401  (fixtures)
from ..cases.test_directory import run_seed

# the token with its user, the entries
DIRECTORY = 2
# the session's user; the task; its case; the protocol; the planned tasks; the attempts;
# the failures in a row (2); the offer (the case's series and follow-up state); the audit row
FOLLOW_UP_ENDED = 10


def test_the_directory_fits_its_budget_and_does_not_grow(app, api_client, count_queries):
    from cases.models import Resource

    client, _user = api_client("advisor")
    client.get("/api/v1/resources")  # warm-up
    counts = []
    for more in (False, True):
        if more:  # twenty more entries: the same statements
            db.session.add_all([Resource(name=f"Partenaire {i}", kind="workshop",
                                         languages=["fr"]) for i in range(20)])
            db.session.commit()
        else:
            run_seed()
        with count_queries() as queries:
            response = client.get("/api/v1/resources?language=fr")
        assert response.status_code == 200 and response.get_json()["items"]
        counts.append(queries.count)
        assert queries.count <= DIRECTORY, queries.report()
    assert counts[0] == counts[1], counts


def test_an_ended_follow_up_page_fits_its_budget(app, triage, login_as, client,  # noqa: F811
                                                 count_queries):
    from cases.followup import operations as followup
    from cases.followup.operations import open_follow_ups

    at = datetime(2026, 1, 9, 15, 0, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        _run, case = triage("high", at=at)
    task = open_follow_ups(case.id)[0]
    advisor = login_as("advisor")
    followup.end_protocol(followup.protocol_of(case.id), "completed", None, advisor)
    db.session.commit()
    url = f"/tasks/{task.id}/follow-up"
    client.get(url)  # warm-up
    db.session.expire_all()
    with count_queries() as queries:
        response = client.get(url)
    assert 'id="caring-offer-link"' in response.get_data(as_text=True)
    assert queries.count <= FOLLOW_UP_ENDED, queries.report()
