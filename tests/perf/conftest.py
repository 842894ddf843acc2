"""Fixtures of the query-budget tests: a statement counter and a small world with lists.

The world is sized so that one query per listed row (N+1) cannot hide under a budget:
every list the views show has more rows (people, contacts, cases, events, notes, tasks,
linked contacts, referrals) than any budget leaves spare.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from sqlalchemy import event

from cellule.extensions import db

ROWS = 12  # rows per list: more than any budget's slack


class QueryCounter:
    """Counts the statements the engine sends (all connections of the app's engine)."""

    def __init__(self):
        self.statements = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(" ".join(statement.split()))

    @property
    def count(self):
        return len(self.statements)

    def report(self):
        return "\n".join(f"{i + 1:3}. {s[:160]}" for i, s in enumerate(self.statements))


@pytest.fixture
def count_queries(app):
    """`with count_queries() as q: ...` then `q.count`, `q.report()`."""

    @contextmanager
    def counting():
        counter = QueryCounter()
        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)

    return counting


@dataclass
class World:
    users: dict = field(default_factory=dict)
    persons: list = field(default_factory=list)
    contacts: list = field(default_factory=list)
    cases: list = field(default_factory=list)
    case: object = None  # a case with long lists on its page
    tasks: list = field(default_factory=list)


def _triage_case(client, contact_id, level):
    from bench.presets import LEVEL_ANSWERS

    response = client.post(f"/api/v1/contacts/{contact_id}/triage",
                           json={"answers": LEVEL_ANSWERS[level], "language": "fr"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["case"]["id"]


@pytest.fixture
def world(app, make_user, api_client, database_snapshot):
    """People, contacts, cases in both queues, one case with long lists, tasks, an inbox.

    Returns a World; `world.clients[role]` are logged-in HTML clients and
    `world.api[role]` API clients (advisor, psychologist, supervisor). Built once (~5 s),
    its rows, tokens and session cookies are put back for each test.
    """
    from cellule.models import User
    from contacts.models import Contact, Person

    saved = database_snapshot("perf.world", lambda: _build_world(app, make_user, api_client))
    _tokens_just_used()
    get = db.session.get
    w = World(users={role: get(User, id) for role, id in saved["users"].items()},
              persons=[get(Person, id) for id in saved["persons"]],
              contacts=[get(Contact, id) for id in saved["contacts"]],
              cases=saved["cases"], case=saved["case"], tasks=saved["tasks"])
    cookie = app.config["SESSION_COOKIE_NAME"]
    w.api, w.clients = {}, {}
    for role, token in saved["tokens"].items():
        w.api[role] = app.test_client()
        w.api[role].environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    for role, value in saved["cookies"].items():
        w.clients[role] = app.test_client()
        w.clients[role].set_cookie(cookie, value)
    return w


def _tokens_just_used():
    """Mark the tokens used now: no call of a test writes their last-used time (at most once
    a minute, cellule.api) unless the test makes it older (test_query_budgets)."""
    from sqlalchemy import update

    from cellule.models import ApiToken
    from cellule.types import utcnow

    db.session.execute(update(ApiToken).values(last_used_at=utcnow()))
    db.session.commit()


def _build_world(app, make_user, api_client):
    """Make the world's rows and sign its clients in; return their ids, tokens, cookies."""
    from cases import operations as ops
    from cases.demo import RESOURCES
    from cases.models import Case, Resource
    from contacts import operations as contacts_ops

    w = World()
    advisor_api, advisor = api_client("advisor")
    psychologist_api, psychologist = api_client("psychologist")
    supervisor_api, supervisor = api_client("supervisor")
    make_user("supervisor")  # an on-duty colleague (imminent alerts go to every one)
    ambassador = make_user("ambassador")
    workers = [make_user("advisor") for _ in range(ROWS)]  # the select lists' case workers
    w.users = {"advisor": advisor, "psychologist": psychologist, "supervisor": supervisor,
               "ambassador": ambassador}
    w.api = {"advisor": advisor_api, "psychologist": psychologist_api,
             "supervisor": supervisor_api}
    resources = [Resource(**values) for values in RESOURCES]
    db.session.add_all(resources)
    db.session.commit()

    levels = ("elevated", "serious", "at_risk", "high")
    for i in range(ROWS):
        person = contacts_ops.create_person(
            advisor, name=f"Jeanne Lambert {i}", phone=f"0475 12 34 {i:02d}",
            email=f"jeanne{i}@example.be", affiliate_number=f"BE-1000{i:02d}")
        first = contacts_ops.create_contact(advisor, person=person, channel="phone",
                                            summary="Retard de cotisations, dort mal.")
        second = contacts_ops.create_contact(advisor, person=person, channel="phone",
                                             direction="out", summary="Rappel.")
        db.session.commit()
        w.persons.append(person)
        w.contacts += [first, second]
        w.cases.append(_triage_case(advisor_api, first.id, levels[i % len(levels)]))
    # The inbox: emails and internal referrals nobody handled yet.
    for i in range(ROWS):
        contacts_ops.create_contact(None, person=w.persons[i], channel="email",
                                    email_sender=f"jeanne{i}@example.be",
                                    email_subject="Aide", email_body="Pouvez-vous rappeler ?",
                                    mailbox="INBOX", mailbox_uidvalidity=1, mailbox_uid=i + 1,
                                    email_message_id=f"<m{i}@example.be>")
    db.session.commit()

    # One case with long lists: notes, tasks, linked contacts, referrals.
    case = db.session.get(Case, w.cases[0])
    person = w.persons[0]
    for i in range(ROWS):
        contact = contacts_ops.create_contact(advisor, person=person, channel="phone",
                                              summary=f"Suivi {i}.")
        ops.link_contact(case, contact, advisor)
        ops.add_note(case, f"Note {i}", "team" if i % 2 else "clinical",
                     psychologist if i % 2 == 0 else advisor)
        task = ops.create_task(title=f"Rappel {i}", kind="callback", actor=advisor,
                               assignee=advisor, case=db.session.get(Case, w.cases[i]))
        w.tasks.append(task.id)
        ops.create_task(title=f"Suivi {i}", kind="check_in", actor=advisor,
                        assignee=psychologist, case=case)
        free = next(r for r in resources if r.kind in ("self_help", "rights_info", "workshop")
                    and not r.price_cents)
        ops.add_referral(resource=free, actor=advisor, case=case)
    db.session.commit()
    w.case = case.id
    # Closed cases, each by another case worker: the board names their assignees.
    for i in range(ROWS):
        person = contacts_ops.create_person(advisor, name=f"Marc Closé {i}")
        contact = contacts_ops.create_contact(advisor, person=person, channel="phone")
        db.session.commit()
        closed = db.session.get(Case, _triage_case(advisor_api, contact.id, "at_risk"))
        ops.reassign_case(closed, workers[i], supervisor, closed.version)
        db.session.flush()
        ops.close_case(closed, "resolved", supervisor, closed.version)
        db.session.commit()

    cookie = app.config["SESSION_COOKIE_NAME"]
    cookies = {}
    for role in ("advisor", "psychologist", "supervisor", "ambassador"):
        client = app.test_client()
        response = client.login(w.users[role])
        assert response.status_code == 302, response.get_data(as_text=True)
        cookies[role] = client.get_cookie(cookie).value
    return {"users": {role: user.id for role, user in w.users.items()},
            "persons": [p.id for p in w.persons], "contacts": [c.id for c in w.contacts],
            "cases": w.cases, "case": w.case, "tasks": w.tasks, "cookies": cookies,
            "tokens": {role: client.environ_base["HTTP_AUTHORIZATION"].split()[1]
                       for role, client in w.api.items()}}
