"""SQL budget of the follow-up page (issue 19): a fixed number of statements, however many
attempts were logged (the attempts and their authors: one query each)."""

from datetime import UTC, datetime

import time_machine

from cellule.extensions import db

from ..cases.conftest import make_contact, triage  # noqa: F401  (fixtures)

# the session's user; the task and its case (the right to see it); the protocol; the
# planned tasks; the attempts (+ their authors); the failures in a row (2); the person
# (the email link); the audit row
BUDGET = 11


def test_follow_up_page_fits_its_budget(app, triage, login_as, client, count_queries):  # noqa: F811
    from cases.followup import operations as followup
    from cases.followup.operations import open_follow_ups

    at = datetime(2026, 1, 9, 15, 0, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        _run, case = triage("high", at=at)
    task = open_follow_ups(case.id)[0]
    advisor = login_as("advisor")
    url = f"/tasks/{task.id}/follow-up"
    client.get(url)  # warm-up: first-request caches
    counts = []
    for _round in range(2):
        for outcome in ("no_answer", "voicemail", "no_answer"):
            followup.log_attempt(task, outcome, "note", advisor)
        db.session.commit()
        db.session.expire_all()
        with count_queries() as queries:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(queries.count)
        assert queries.count <= BUDGET, queries.report()
    assert counts[0] == counts[1], counts
