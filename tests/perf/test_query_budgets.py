"""SQL query-count budgets of the main views and API calls (Zammad style).

Each call runs against a world where every list has `ROWS` (12) rows — people, cases,
timeline events, notes, tasks, linked contacts, referrals, case workers, inbox items —
so a query per row (N+1) cannot fit under its budget. A budget counts every statement
the request sends: the session or token check, the audit rows, the commit's
statements. Timings are not tested here (bench/ measures them); only the number of
round trips, which is what grows with the data when a view loads rows one by one.

When a change needs more queries, raise the budget in the same commit and say why.

A budget is a number, or {"sqlite": n, "postgresql": m} where the two differ: SQLite
sends one INSERT per ORM row whose id comes back (its RETURNING has no guaranteed order),
PostgreSQL one for all the rows of a table in a flush (the events, the audit rows).
"""

import pytest

from bench.presets import LEVEL_ANSWERS

from .conftest import ROWS, _triage_case

# name: (client, method, path or path(world), body or body(world), status, budget)
CALLS = {
    # --- API ---------------------------------------------------------------------
    "api_health": (None, "GET", "/api/v1/health", None, 200, 1),
    # + 1 (desk18): its safety yes gives the crisis lines, read from the resource directory.
    "api_triage_evaluate": ("api:advisor", "POST", "/api/v1/triage/evaluate",
                            {"answers": LEVEL_ANSWERS["serious"], "language": "fr"}, 200, 2),
    # Searches: + 1 for the word index, which a rare name leaves to the general query.
    "api_persons_search": ("api:advisor", "GET", "/api/v1/persons?q=lambert", None, 200, 4),
    "api_persons_phone": ("api:advisor", "GET", "/api/v1/persons?phone=0475123401", None,
                          200, 3),
    "api_persons_search_body": ("api:advisor", "POST", "/api/v1/persons/search",
                                {"q": "lambert"}, 200, 4),
    "api_persons_phone_body": ("api:advisor", "POST", "/api/v1/persons/search",
                               {"phone": "0475123401"}, 200, 3),
    "api_contact_create": ("api:advisor", "POST", "/api/v1/contacts",
                           lambda w: {"person_id": w.persons[1].id, "channel": "phone",
                                      "summary": "Appel."}, 201, 4),
    # A call whose token was last used over a minute ago: + 1, its last-used time (no
    # commit of its own: it joins the call's).
    "api_contact_create_touching": (
        "api:advisor", "POST", "/api/v1/contacts",
        lambda w: _stale_token(w) and {"person_id": w.persons[1].id, "channel": "phone"},
        201, 5),
    "api_contact_create_new_person": (
        "api:advisor", "POST", "/api/v1/contacts",
        {"person": {"name": "Pieter Peeters", "phone": "0486 22 41 07"}, "channel": "phone"},
        201, 7),  # + the person's rows of the search's word index
    "api_contacts_list": ("api:advisor", "GET", "/api/v1/contacts", None, 200, 3),
    "api_contact_get": ("api:advisor", "GET", lambda w: f"/api/v1/contacts/{w.contacts[0].id}",
                        None, 200, 3),
    "api_telephony_call": ("api:advisor", "POST", "/api/v1/telephony/calls",
                           {"call_id": "c-1", "from": "0475 12 34 01", "to": "02 511 22 33",
                            "event": "ringing"}, 200, 9),
    # Attached to the person's open case (raised, the contact linked — one INSERT that
    # does nothing when linked already — and an outbound one is the first response).
    # + 1 (desk18): the answer's crisis lines, read from the resource directory.
    "api_contact_triage": ("api:advisor", "POST",
                           lambda w: f"/api/v1/contacts/{w.contacts[3].id}/triage",
                           {"answers": LEVEL_ANSWERS["serious"], "language": "fr"}, 201,
                           {"sqlite": 16, "postgresql": 11}),
    # Opening the case: the token, the contact and its person, the run, the person's open
    # case (none), the reference, the case, then one flush — its link, events, audit rows
    # and the run's decision (issue 17: one flush, no savepoint, no existence check). Its
    # safety yes plans the follow-up (issue 19): the crisis line (when a contact falls in a
    # gap the cell leaves), the tasks and the protocol in one statement on PostgreSQL (the
    # protocol's INSERT a CTE of the tasks'; SQLite: two, and its event and audit rows one
    # INSERT each too); the administrators' delays come from a cache (one SELECT a minute).
    # The contact comes with its person (one query); the directory's crisis lines are read
    # once per request, for the answer and the protocol (cases.queries.active_crisis_lines).
    "api_contact_triage_opens": ("api:advisor", "POST",
                                 lambda w: _opening_triage(w),
                                 {"answers": LEVEL_ANSWERS["serious"], "language": "fr"}, 201,
                                 {"sqlite": 21, "postgresql": 12}),
    "api_cases_list": ("api:advisor", "GET", "/api/v1/cases", None, 200, 3),
    "api_cases_list_filtered": ("api:advisor", "GET",
                                "/api/v1/cases?status=active&route=psychologist", None, 200, 3),
    "api_cases_list_psychologist": ("api:psychologist", "GET", "/api/v1/cases", None, 200, 3),
    # The token, the case with its timeline and its triage runs' ids, tasks, notes, the read.
    "api_case_get": ("api:advisor", "GET", lambda w: f"/api/v1/cases/{w.case}", None, 200, 5),
    "api_case_note": ("api:advisor", "POST", lambda w: f"/api/v1/cases/{w.case}/notes",
                      {"body": "Rappel fait.", "visibility": "team"}, 201, 5),
    "api_tasks": ("api:advisor", "GET", "/api/v1/tasks", None, 200, 3),
    # --- HTML ----------------------------------------------------------------------
    # The advisor's home is their work (issue 18): the inbox's head, tasks, cases, duplicates;
    # every role's home has its own budget in test_home_budgets.py.
    "home": ("html:advisor", "GET", "/", None, 200, 10),
    # The account changes awaiting the supervisor's approval: their accounts and requesters
    # joined in (issue 14).
    "approvals": ("html:supervisor", "GET", "/approvals/", None, 200, 3),
    # The account page: the user, their sessions, their API tokens (one query each).
    "account_page": ("html:advisor", "GET", "/account/", None, 200, 3),
    # + 1: the listed people's open cases, in one query (issue 18: results show them).
    "people_search": ("html:advisor", "POST", "/people/search",
                      {"q": "lambert", "mode": "people"}, 200, 5),
    # The person and contact pages spend one statement on the triage they offer (DESIGN §9).
    "person_page": ("html:advisor", "GET", lambda w: f"/people/{w.persons[0].id}", None, 200,
                    13),
    # + 1: the person's consents with their recorders, for the call's panel (issue 20).
    "contact_page": ("html:advisor", "GET", lambda w: f"/contacts/{w.contacts[0].id}", None,
                     200, 6),
    "contact_form": ("html:advisor", "GET", lambda w: f"/contacts/new?person={w.persons[0].id}",
                     None, 200, 3),
    "inbox": ("html:advisor", "GET", "/inbox", None, 200, 4),
    # The reply form (issue 15): the email and its person, the templates, the person's open
    # cases (their list audited in one statement) and which of them the email is on.
    "reply_form": ("html:advisor", "GET", lambda w: f"/contacts/{_an_email(w)}/reply", None,
                   200, 8),
    "new_email_form": ("html:advisor", "GET",
                       lambda w: f"/people/{w.persons[0].id}/email?case={w.cases[0]}", None,
                       200, 6),
    # Pairs, twins, contact counts (test_possible_duplicates checks 12 and 24 pairs cost
    # the same).
    "possible_duplicates": ("html:advisor", "GET", "/people/duplicates", None, 200, 2),
    # + 1 (safety19): the safety plan card's newest version.
    # + 1 (reassess19): the re-assessments (the card and the timeline share the one query).
    # + 1 (caring19): the caring messages card's series and follow-up state (one query;
    # tests/perf/test_caring_budgets.py: two more while a series runs).
    # + 1 (appoint20): the appointments card's appointments with their slots and
    # psychologists (one query, however many).
    # + 1 (referral20): the referrals' dated steps (one query for all of them).
    "case_page": ("html:advisor", "GET", lambda w: f"/cases/{w.case}", None, 200, 21),
    "case_page_psychologist": ("html:psychologist", "GET", lambda w: f"/cases/{w.case}", None,
                               200, 21),
    "case_link_contact": ("html:advisor", "POST", lambda w: f"/cases/{w.cases[1]}/contacts",
                          lambda w: {"contact_id": str(w.contacts[3].id)}, 302,
                          {"sqlite": 9, "postgresql": 7}),
    # + 1 (appoint20): the next free appointment slot with its psychologist.
    "psychology_queue": ("html:psychologist", "GET", "/queues/psychology", None, 200, 5),
    "advisors_queue": ("html:advisor", "GET", "/queues/advisors", None, 200, 4),
    "my_cases": ("html:advisor", "GET", "/my/cases", None, 200, 4),
    "board": ("html:supervisor", "GET", "/board", None, 200, 6),
    # Closed rows print their assignee's name: one query for all of them (+ 1).
    "board_closed": ("html:supervisor", "GET", "/board?status=closed", None, 200, 7),
    "board_filtered": ("html:supervisor", "GET", "/board?status=active&route=psychologist",
                       None, 200, 6),
    "my_tasks": ("html:advisor", "GET", "/my/tasks", None, 200, 4),
    # The closing step lists the open tasks and their assignees in one query each; a
    # supervisor's page also carries the live alert region's first content (one query).
    "case_close_step": ("html:supervisor", "GET", lambda w: f"/cases/{w.case}/close", None,
                        200, 6),
    # Polled every 10 s by every supervisor's page: the session and one indexed query.
    "alerts_live": ("html:supervisor", "GET", "/alerts/live", None, 204, 2),
    # + 1: the person's consents for the call's panel (issue 20).
    "triage_start": ("html:advisor", "GET", lambda w: f"/contacts/{w.contacts[5].id}/triage",
                     None, 200, 6),
}


def _an_email(world):
    """The id of an incoming email of the world's inbox (of its first person)."""
    from sqlalchemy import select

    from cellule.extensions import db
    from contacts.models import Contact

    return db.session.scalar(select(Contact.id).where(
        Contact.channel == "email", Contact.person_id == world.persons[0].id))


def _uncased_contact(world):
    """A contact of a person whose case is closed: a triage on it opens a new case."""
    from sqlalchemy import select

    from cases.models import Case
    from cellule.extensions import db
    from contacts.models import Contact

    return db.session.scalar(
        select(Contact.id).join(Case, Case.person_id == Contact.person_id)
        .where(Case.status == "closed").order_by(Contact.id).limit(1))


def _opening_triage(world):
    """The triage call that opens a case, the administrators' follow-up delays read
    beforehand (their per-process cache, a first-request cache like the GETs' warm-up)."""
    from cases.followup.operations import stored_delays

    stored_delays()
    return f"/api/v1/contacts/{_uncased_contact(world)}/triage"


def _stale_token(world):
    """Make the advisor's token last used two minutes ago (its next call writes the time)."""
    from datetime import timedelta

    from sqlalchemy import update

    from cellule.extensions import db
    from cellule.models import ApiToken
    from cellule.types import utcnow

    db.session.execute(update(ApiToken).where(ApiToken.user_id == world.users["advisor"].id)
                       .values(last_used_at=utcnow() - timedelta(minutes=2)))
    db.session.commit()
    return True


def _resolve(value, world):
    return value(world) if callable(value) else value


def _budget(budget):
    """The call's budget on the test's database (see the module's docstring)."""
    from cellule.extensions import db

    return budget[db.engine.dialect.name] if isinstance(budget, dict) else budget


def _prepare(name, world, app):
    """The call's (who, method, path, body, status, budget, CSRF token): its path and body
    resolved, a GET sent once before (first-request caches), an HTML form's token read
    (neither counted)."""
    who, method, path, body, status, budget = CALLS[name]
    path, body = _resolve(path, world), _resolve(body, world)
    token = None
    if method == "GET":
        _send(world, app, who, method, path, body)  # warm-up: first-request caches
    elif who and who.startswith("html:"):
        token = world.clients[who.split(":")[1]].csrf_token()  # not counted
    return who, method, path, body, status, _budget(budget), token


def _send(world, app, who, method, path, body, token=None):
    if who is None:
        return app.test_client().open(path, method=method)
    kind, role = who.split(":")
    if kind == "api":
        return world.api[role].open(path, method=method, json=body)
    client = world.clients[role]
    if method == "GET":
        return client.get(path)
    # As htmx sends it: the CSRF token in a header (read from the page beforehand).
    return client.post(path, data=body, headers={"HX-Request": "true", "X-CSRFToken": token})


@pytest.mark.parametrize("name", sorted(CALLS))
def test_query_budget(name, world, app, count_queries):
    who, method, path, body, status, budget, token = _prepare(name, world, app)
    with count_queries() as queries:
        response = _send(world, app, who, method, path, body, token)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert queries.count <= budget, (
        f"{name}: {queries.count} statements for a budget of {budget}:\n{queries.report()}"
    )


def test_lists_do_not_grow_with_their_rows(world, app, count_queries):
    """The board, a queue and a case page cost the same with 12 rows as with 24."""
    from cases.models import Case
    from cellule.extensions import db

    def counts():
        result = []
        for who, path in (("html:supervisor", "/board"), ("html:advisor", f"/cases/{world.case}"),
                          ("api:advisor", "/api/v1/cases")):
            _send(world, app, who, "GET", path, None)
            with count_queries() as queries:
                _send(world, app, who, "GET", path, None)
            result.append(queries.count)
        return result

    before = counts()
    advisor_api = world.api["advisor"]
    from contacts import operations as contacts_ops

    advisor = world.users["advisor"]
    for i in range(ROWS):
        person = contacts_ops.create_person(advisor, name=f"Marc Dubois {i}")
        contact = contacts_ops.create_contact(advisor, person=person, channel="phone")
        db.session.commit()
        _triage_case(advisor_api, contact.id, "elevated")
    case = db.session.get(Case, world.case)
    assert case is not None
    assert counts() == before


@pytest.mark.parametrize("name", sorted(CALLS))
def test_one_checkout_and_one_commit_per_request(name, world, app):
    """A request takes one connection from the pool and commits at most once: its reads'
    audit rows are written in its own transaction, at its end (cellule.audit)."""
    from sqlalchemy import event

    from cellule.extensions import db

    who, method, path, body, status, _budget, token = _prepare(name, world, app)
    seen = {"checkouts": 0, "commits": 0}

    def checkout(*args):
        seen["checkouts"] += 1

    def commit(*args):
        seen["commits"] += 1

    event.listen(db.engine.pool, "checkout", checkout)
    event.listen(db.engine, "commit", commit)
    try:
        response = _send(world, app, who, method, path, body, token)
    finally:
        event.remove(db.engine.pool, "checkout", checkout)
        event.remove(db.engine, "commit", commit)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert seen["checkouts"] <= 1 and seen["commits"] <= 1, (name, seen)
