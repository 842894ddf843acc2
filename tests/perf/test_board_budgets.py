"""SQL budgets of the supervisor board (issue 18): each order (deadline, age, level) costs
what the deadline order did, the person of every row comes in the rows' own query, and a
bulk reassign costs a fixed number of statements per ticked case (its write, its event,
its audit row) on top of the board it answers."""

import pytest

from .conftest import ROWS

# The board's budget in test_query_budgets.py before issue 18 (the deadline order): the
# other orders, the person column (joined into the rows' query) add nothing.
BOARD = 6
BOARD_CALLS = {
    "board_due": "/board",
    "board_age": "/board?sort=age",
    "board_level": "/board?sort=level",
    "board_level_filtered": "/board?status=active&route=psychologist&sort=level",
}
# load, savepoint, version check/update, event, audit row, savepoint release, and the
# case's open follow-up contacts that go with it (issue 19: one SELECT; when it has some,
# their UPDATE and one INSERT of their audit rows — the world's second case has five)
PER_CASE = 7


def _board(world, path, results_only=False):
    headers = {"HX-Request": "true", "HX-Target": "board-results"} if results_only else {}
    return world.clients["supervisor"].get(path, headers=headers)


@pytest.mark.parametrize("name", sorted(BOARD_CALLS))
def test_board_budget(name, world, count_queries):
    path = BOARD_CALLS[name]
    _board(world, path)  # warm-up: first-request caches
    with count_queries() as queries:
        response = _board(world, path)
    assert response.status_code == 200
    assert queries.count <= BOARD, f"{name}: {queries.count}:\n{queries.report()}"


def test_the_results_of_a_filter_change_cost_no_more(world, count_queries):
    _board(world, "/board?sort=age", results_only=True)
    with count_queries() as queries:
        response = _board(world, "/board?sort=age", results_only=True)
    assert response.status_code == 200
    assert queries.count <= BOARD, queries.report()


def _bulk_request(world, n):
    """The board's bulk form as htmx posts it for the world's first `n` cases (the token
    and the versions read beforehand, not counted)."""
    from werkzeug.datastructures import MultiDict

    from cases.models import Case
    from cellule.extensions import db

    client = world.clients["supervisor"]
    token = client.csrf_token()
    data = [("cases", f"{c.id}:{c.version}")
            for c in (db.session.get(Case, i) for i in world.cases[:n])]
    data.append(("assignee_id", str(world.users["psychologist"].id)))
    headers = {"HX-Request": "true", "HX-Target": "board-results", "X-CSRFToken": token}
    return lambda: client.post("/board/reassign", data=MultiDict(data), headers=headers)


def test_bulk_reassign_costs_a_few_statements_per_case(world, count_queries):
    assert len(world.cases) >= 4 and ROWS >= 4
    counts, reports = [], []
    for n in (2, 4):
        send = _bulk_request(world, n)
        with count_queries() as queries:
            response = send()
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        counts.append(queries.count)
        reports.append(queries.report())
    two, four = counts
    assert four - two <= 2 * PER_CASE, f"{two} then {four} statements"
    assert two <= BOARD + 4 + 2 * PER_CASE, f"{two}:\n{reports[0]}"
