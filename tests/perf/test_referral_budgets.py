"""SQL budgets of a referral's life (issue 20): the case page's referrals card costs one
statement for the steps of all its referrals (none without referrals), and one more, the
consent, while a handover is the next step — however many referrals and steps; the
partners' list is a fixed number of statements however many rows it shows."""

import pytest

from cellule.extensions import db

from ..cases.conftest import make_contact, resources, triage  # noqa: F401  (fixtures)

PARTNERS_BUDGET = 6


def _card(queries):
    return [s for s in queries.statements if s.startswith("SELECT") and (
        "FROM referral_events" in s or "FROM consents" in s)]


def _get(client, count_queries, url, marker):
    client.get(url)  # warm-up: first-request caches
    with count_queries() as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert marker in response.get_data(as_text=True)
    return queries


def _refer(case, resource, actor, steps=()):
    from cases import operations as ops
    from cases.referrals import operations as referrals

    referral = ops.add_referral(resource=resource, actor=actor, case=case, note="x")
    db.session.flush()
    for state in steps:
        referrals.step(referral, state, actor)
    db.session.commit()
    return referral


def test_the_card_costs_one_statement_and_does_not_grow(app, triage, resources,  # noqa: F811
                                                        login_as, client, count_queries):
    advisor = login_as("advisor")
    _run, case = triage("elevated", user=advisor)
    url = f"/cases/{case.id}"
    resource = resources["Urgences 112"]
    one = _refer(case, resource, advisor)
    first = _get(client, count_queries, url, 'id="referrals-card"')
    assert len(_card(first)) == 1, first.report()  # the steps (no handover is next)
    for _ in range(4):
        _refer(db.session.get(type(case), case.id), resource, advisor, ("accepted", "declined"))
    db.session.expire_all()
    more = _get(client, count_queries, url, 'id="referrals-card"')
    assert more.count == first.count, more.report()
    from cases.referrals import operations as referrals

    referrals.step(db.session.get(type(one), one.id), "accepted", advisor)
    db.session.commit()
    waiting = _get(client, count_queries, url, "referral-step")
    assert len(_card(waiting)) == 2, waiting.report()  # and the consent


@pytest.mark.parametrize("rows", [1, 12])
def test_the_partners_list_has_a_fixed_budget(app, triage, resources, make_user,  # noqa: F811
                                              login_as, client, count_queries, rows):
    advisor = make_user("advisor")
    _run, case = triage("elevated", user=advisor)
    free = [r for r in resources.values() if not r.is_paid]
    for index in range(rows):
        resource = free[index % len(free)]
        _refer(db.session.get(type(case), case.id), resource, advisor)
    login_as("supervisor")
    queries = _get(client, count_queries, "/referrals/partners", "partner-referrals")
    assert queries.count <= PARTNERS_BUDGET, queries.report()
