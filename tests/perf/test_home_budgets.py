"""SQL budgets of the role homes (issue 18): each panel a few rows and, past them, one
capped count — so a home costs a fixed number of statements, however much work waits.

The world (tests/perf/conftest.py) gives every list more rows than a panel shows: 12
inbox items, 12 tasks, 12 cases in the queues, 12 closed cases."""

import pytest

from .conftest import ROWS

# role: budget (every statement of the request: the session check, the panels, the audit rows)
BUDGETS = {
    # the user; the inbox head (+ its people and authors) and count; duplicates; tasks (+
    # their cases) and count; my cases; the audit rows
    "advisor": 10,
    # the user; the queue head and count; my cases; my tasks; the audit rows
    "psychologist": 8,
    # the user; approvals; the inbox; duplicates; high and late cases and counts; the queues'
    # heads and counts; tasks; failed jobs, mailbox; the live alerts; the audit rows
    "supervisor": 17,
    # the user; my referrals (+ their people) and count; the audit rows
    "ambassador": 5,
}


def _home(client, count_queries):
    client.get("/")  # warm-up: first-request caches (the background banner, the catalogue)
    with count_queries() as queries:
        response = client.get("/")
    assert response.status_code == 200
    return queries


def _more_work(world):
    """ROWS more of everything the homes list: referrals, tasks due today, late cases."""
    from datetime import timedelta

    from cases import operations as ops
    from cellule.extensions import db
    from cellule.types import utcnow
    from contacts import operations as contacts_ops

    ambassador, advisor = world.users["ambassador"], world.users["advisor"]
    for i in range(ROWS):
        contacts_ops.create_referral(ambassador, name=f"Collègue {i}",
                                     reach=f"0476 00 11 {i:02d}", noticed="Épuisé.")
        for user in (advisor, world.users["psychologist"], world.users["supervisor"]):
            ops.create_task(title=f"Rappel {i}", kind="callback", actor=advisor,
                            assignee=user, due_at=utcnow() - timedelta(hours=1))
    db.session.commit()


@pytest.mark.parametrize("role", sorted(BUDGETS))
def test_each_home_fits_its_budget_and_does_not_grow(role, world, count_queries):
    client = world.clients[role]
    _more_work(world)
    first = _home(client, count_queries)
    assert first.count <= BUDGETS[role], f"{role}: {first.count}\n{first.report()}"
    # Twice the rows, the same statements: past a panel's rows, one capped count.
    _more_work(world)
    assert _home(client, count_queries).count == first.count


def test_the_admin_home_fits_its_budget(app, make_user, count_queries):
    # the user; accounts and approvals (one statement); resources; failed jobs; quarantine
    client = app.test_client()
    assert client.login(make_user("admin")).status_code == 302
    queries = _home(client, count_queries)
    assert queries.count <= 5, queries.report()
